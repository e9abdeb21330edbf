// Pre-encoded workloads: the same answer as Kapa's record framing (what the Agent and the
// limit read) and as the AI SDK's UI message stream (SSE, what the peer reads), each split
// into network reads of a fixed size (a read may end inside a frame or a UTF-8 character).
// Runs unchanged in Node and in the browser.

const enc = new TextEncoder();
const RS = '\u241E';

// A deterministic stream of short deltas ("a few bytes"), a few with multi-byte characters.
const WORDS = ['the ', 'agent ', 'loop ', 'runs ', 'in ', 'wasm; ', 'each ', 'token ', 'is ', 'a ',
  'delta ', 'of ', 'text, ', 'café ', 'naïve ', 'über ', '— ', 'and ', '`npm` ', 'so ', 'on.\n'];
export function makeDeltas(count, seed = 7) {
  let s = seed >>> 0;
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = WORDS[(s >>> 8) % WORDS.length];
  }
  return out;
}
/** Deltas until the answer reaches `bytes` UTF-8 bytes. */
export function deltasOfSize(bytes) {
  const all = [];
  let n = 0;
  const pool = makeDeltas(4096, 11);
  for (let i = 0; n < bytes; i++) {
    const d = pool[i % pool.length];
    all.push(d);
    n += enc.encode(d).length;
  }
  return all;
}

// ---- Kapa record framing -------------------------------------------------------------
const rec = (type, content) => JSON.stringify({ chunk: { type, content, stream_end: type === 'done' || type === 'requires_action' || type === 'error' } }) + RS;
const sse = (type, content) => `event: ${type}\ndata: ${JSON.stringify(content)}\n\n`;

/** A text answer as Kapa events: [[type, content], ...]. */
export function kapaAnswerEvents(deltas, threadId = 'thr_bench') {
  const ev = [['stream_start', { thread_id: threadId }]];
  for (const d of deltas) ev.push(['text_delta', { text: d }]);
  ev.push(['done', { thread_id: threadId }]);
  return ev;
}
export const encodeRecords = (events) => enc.encode(events.map(([t, c]) => rec(t, c)).join(''));
export const encodeKapaSse = (events) => enc.encode(events.map(([t, c]) => sse(t, c)).join(''));

// ---- AI SDK UI message stream (SSE of UIMessageChunk JSON, ending with [DONE]) ----------
const ui = (o) => `data: ${JSON.stringify(o)}\n\n`;
export function uiAnswerParts(deltas, { start = true, finish = true, id = 'txt_1' } = {}) {
  const parts = [];
  if (start) parts.push({ type: 'start' }, { type: 'start-step' });
  parts.push({ type: 'text-start', id });
  for (const d of deltas) parts.push({ type: 'text-delta', id, delta: d });
  parts.push({ type: 'text-end', id });
  if (finish) parts.push({ type: 'finish-step' }, { type: 'finish' });
  return parts;
}
export const encodeUi = (parts) => enc.encode(parts.map(ui).join('') + 'data: [DONE]\n\n');

/** Split bytes into reads of `size` bytes (copies, like network reads). */
export function split(bytes, size) {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

// ---- The tool turn ---------------------------------------------------------------------
// Stream 1: a server tool (search) with its result and sources, some text, a client tool
// call, requires_action. Stream 2 (after tool_results): the rest of the answer, done.
const SOURCES = Array.from({ length: 5 }, (_, i) => ({
  title: `Install|Quickstart ${i}`, source_url: `https://docs.example.com/install/${i}`,
  source_type: 'doc', source_visibility: 'public',
}));
export function toolTurn(deltasBefore, deltasAfter) {
  const k1 = [['stream_start', { thread_id: 'thr_tools' }],
    ['tool_call', { id: 'call_s1', name: 'search_knowledge_base', arguments: { query: 'install' }, executor: 'server' }],
    ['tool_result', { id: 'call_s1', status: 'completed', sources: SOURCES, duration_ms: 120 }]];
  for (const d of deltasBefore) k1.push(['text_delta', { text: d }]);
  k1.push(['tool_call', { id: 'call_c1', name: 'get_current_time', arguments: {}, executor: 'client' }]);
  k1.push(['requires_action', { tool_call_ids: ['call_c1'] }]);
  const k2 = [];
  for (const d of deltasAfter) k2.push(['text_delta', { text: d }]);
  k2.push(['done', { thread_id: 'thr_tools' }]);

  const u1 = [{ type: 'start' }, { type: 'start-step' },
    { type: 'tool-input-available', toolCallId: 'call_s1', toolName: 'search_knowledge_base', input: { query: 'install' }, providerExecuted: true },
    { type: 'tool-output-available', toolCallId: 'call_s1', output: { sources: SOURCES }, providerExecuted: true },
    ...SOURCES.map((s, i) => ({ type: 'source-url', sourceId: `src_${i}`, url: s.source_url, title: s.title })),
    ...uiAnswerParts(deltasBefore, { start: false, finish: false, id: 'txt_1' }),
    { type: 'tool-input-available', toolCallId: 'call_c1', toolName: 'get_current_time', input: {} },
    { type: 'finish-step' }, { type: 'finish' }];
  const u2 = [{ type: 'start' }, { type: 'start-step' },
    ...uiAnswerParts(deltasAfter, { start: false, finish: false, id: 'txt_2' }),
    { type: 'finish-step' }, { type: 'finish' }];
  return { kapa: [k1, k2], ui: [u1, u2], deltas: deltasBefore.length + deltasAfter.length };
}

// ---- Earlier messages ------------------------------------------------------------------
/** A stored thread (history GET answer, §4) with `n` earlier messages. */
export function storedThread(n) {
  const messages = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) messages.push({ role: 'user', content: `Question ${i}: how do I configure the agent for case ${i}?` });
    else {
      const content = `Answer ${i}: `.padEnd(400, 'lorem ipsum dolor sit amet ');
      messages.push({ role: 'assistant', content, blocks: [{ type: 'text', content }] });
    }
  }
  return { id: 'thr_hist', title: 'Earlier conversation', messages };
}
/** The same earlier messages as AI SDK UIMessages. */
export function uiHistory(n) {
  return storedThread(n).messages.map((m, i) => ({
    id: `m${i}`, role: m.role, parts: [{ type: 'text', text: m.content, ...(m.role === 'assistant' ? { state: 'done' } : {}) }],
  }));
}

/**
 * Build one workload: the bytes each contender reads.
 * kind 'answer': { deltas, readSize, framing: 'records'|'sse' }
 */
export function answerWorkload(deltas, readSize) {
  const events = kapaAnswerEvents(deltas);
  return {
    deltas: deltas.length,
    textBytes: enc.encode(deltas.join('')).length,
    kapa: [split(encodeRecords(events), readSize)],
    kapaSse: [split(encodeKapaSse(events), readSize)],
    ui: [split(encodeUi(uiAnswerParts(deltas)), readSize)],
  };
}
export function toolWorkload(readSize) {
  const t = toolTurn(makeDeltas(500, 3), makeDeltas(2000, 5));
  return {
    deltas: t.deltas,
    kapa: t.kapa.map((ev) => split(encodeRecords(ev), readSize)),
    ui: t.ui.map((p) => split(encodeUi(p), readSize)),
  };
}
