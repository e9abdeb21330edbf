// Reads a response body in a JS loop and hands each chunk to Rust through one long-lived
// callback: one promise per stream instead of a Rust future (and its closures) per read.
// `onChunk` returns false when the agent no longer wants the stream; the body is then
// cancelled here, which also ends the fetch (after an abort() it is already errored, and the
// cancel's rejection is ignored). Resolves true at the end of the body, false when stopped;
// rejects when reading fails.
export async function pump(reader, onChunk) {
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

export function assistantMessage(content, blocks, isError) {
  return isError ? { role: 'assistant', content, blocks, isError: true } : { role: 'assistant', content, blocks };
}
