// Reads a response body (its reader taken here) in a JS loop and hands each chunk to Rust through one long-lived
// callback: one promise per stream instead of a Rust future (and its closures) per read.
// `onChunk` returns false when the agent no longer wants the stream; the body is then
// cancelled here, which also ends the fetch (after an abort() it is already errored, and the
// cancel's rejection is ignored). Resolves true at the end of the body, false when stopped;
// rejects when reading fails.
export async function pump(body, onChunk) {
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    if (value instanceof Uint8Array && onChunk(value) === false) {
      reader.cancel().catch(() => {});
      return false;
    }
  }
}

// Message objects built in one call each (no per-key string crossing the boundary).
export function textBlock(content) {
  return { type: 'text', content };
}

// The streaming case in one call: array[index] (an assistant message) replaced by a copy
// whose content and last block (a text block) grew by `delta`; the other blocks are kept.
export function growAt(array, index, delta) {
  const m = array[index];
  const blocks = m.blocks.slice();
  const last = blocks.length - 1;
  blocks[last] = { type: 'text', content: blocks[last].content + delta };
  array[index] = assistantMessage(m.content + delta, blocks, m.isError === true);
}

export function userMessage(content) {
  return { role: 'user', content };
}

export function assistantMessage(content, blocks, isError) {
  return isError ? { role: 'assistant', content, blocks, isError: true } : { role: 'assistant', content, blocks };
}

// fetch(url, init) in one call from Rust: `headers` is "name\nvalue\n" repeated (header
// names and values cannot contain a line feed).
export function startFetch(url, method, headers, body, signal, keepalive) {
  if (typeof globalThis.fetch !== 'function') throw new TypeError('fetch is not available in this environment');
  const h = {};
  const parts = headers.split('\n');
  for (let i = 0; i + 1 < parts.length; i += 2) h[parts[i]] = parts[i + 1];
  return globalThis.fetch(url, { method, headers: h, body, signal, keepalive });
}

// Node's timers keep the process alive unless unref'd; the agents' shared timer is left to
// fire when nothing waits for it any more (cheaper than clearing and setting one per turn)
// and must not hold Node up meanwhile.
export function holdTimer(id, hold) {
  const f = hold ? id.ref : id.unref;
  if (typeof f === 'function') f.call(id);
}

// A response's status and the two headers the agent reads, in one string (header values
// cannot contain a line feed); undefined when `r` is not a Response.
export function responseHead(r) {
  if (typeof Response !== 'function' || !(r instanceof Response)) return undefined;
  const h = r.headers;
  return `${r.status}\n${h.get('content-type') ?? ''}\n${h.get('retry-after') ?? ''}`;
}
