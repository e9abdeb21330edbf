// The three contenders, each driven through the same fetch stub. Runs in Node and the browser.
import { storedThread, uiHistory } from './workloads.mjs';

const RS = '\u241E';
const BASE = 'http://bench.invalid';

// ---- The fetch stub --------------------------------------------------------------------
// Each POST takes the next pre-split stream from `stub.queue` and answers a real Response
// whose body is a ReadableStream enqueuing one pre-split chunk per pull (= one network read).
export const stub = { queue: [], thread: null, reads: 0, contentType: 'text/plain; charset=utf-8', posts: 0, deadline: Infinity, timedOut: false };
/** Arm the per-sample time limit: past it, the stub errors the stream (a slow contender's
 * sample ends there and is reported as a lower bound). The whole turn may run in microtasks,
 * so a timer could not interrupt it: the check sits in the stream itself. */
function arm(limitMs) { stub.deadline = limitMs ? performance.now() + limitMs : Infinity; stub.timedOut = false; }
export function installFetch() {
  globalThis.fetch = async (url, init = {}) => {
    const u = String(url);
    const method = (init.method || 'GET').toUpperCase();
    if (method === 'GET') {
      if (u.includes('/threads/') && stub.thread) {
        return new Response(JSON.stringify(stub.thread), { status: 200, headers: { 'content-type': 'application/json' } });
      }
      return new Response('not found', { status: 404 });
    }
    stub.posts++;
    const chunks = stub.queue.shift();
    if (!chunks) return new Response('no stream queued', { status: 500 });
    let i = 0;
    const body = new ReadableStream({
      pull(c) {
        if (performance.now() > stub.deadline) { stub.timedOut = true; c.error(new TypeError('bench: sample time limit')); return; }
        if (i < chunks.length) { stub.reads++; c.enqueue(chunks[i++]); } else c.close();
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': stub.contentType } });
  };
}

const now = () => performance.now();
const tokenFn = () => ({ token: 't', expiresAt: Date.now() + 3600e3 });
const timeTool = {
  name: 'get_current_time',
  description: 'Get the current date and time',
  parameters: { type: 'object', properties: {} },
  execute: () => ({ time: '2026-01-01T00:00:00Z' }),
};

// ---- Ours: the package's Agent ---------------------------------------------------------
/**
 * One turn of the Agent. `w` = { streams: [[chunk...]...], earlier, tools, sse, throttleMs }.
 * Setup (agent, history) is untimed; the timed part is sendMessage → its promise (the turn
 * has ended, after the final onMessagesChange).
 */
export async function runOurs(Agent, w) {
  let calls = 0; let last = null; let firstTextAt = 0;
  const opts = {
    projectId: 'bench', integrationId: 'int_bench', baseUrl: BASE,
    getSessionToken: tokenFn,
    onMessagesChange: (m) => {
      calls++; last = m;
      if (!firstTextAt) { const a = m[m.length - 1]; if (a && a.role === 'assistant' && a.content) firstTextAt = now(); }
    },
    onStreamingChange: () => {},
    enableHistory: !!w.earlier,
    tools: w.tools ? [timeTool] : [],
  };
  if (w.throttleMs !== undefined) opts.throttleMs = w.throttleMs;
  const agent = new Agent(opts);
  if (w.earlier) {
    stub.thread = storedThread(w.earlier);
    await agent.resumeThread('thr_hist');
  }
  stub.contentType = w.sse ? 'text/event-stream' : 'text/plain; charset=utf-8';
  stub.queue = w.streams.slice();
  stub.reads = 0; calls = 0; firstTextAt = 0;
  arm(w.limitMs);
  const t0 = now();
  await agent.sendMessage('How do I get started?');
  const t1 = now();
  const reads = stub.reads;
  const msgs = agent.getMessages();
  const text = msgs[msgs.length - 1]?.content ?? '';
  agent.free();
  return { ms: t1 - t0, calls, reads, textLength: text.length, messages: msgs.length, firstMs: firstTextAt ? firstTextAt - t0 : null, timedOut: stub.timedOut };
}

// ---- The limit: decode frames and append text, nothing else ----------------------------
export async function runLimit(w) {
  stub.contentType = 'text/plain; charset=utf-8';
  stub.queue = w.streams.slice();
  stub.reads = 0;
  arm(w.limitMs);
  const t0 = now();
  let text = '';
  for (let s = 0; s < w.streams.length; s++) {
    const res = await fetch(`${BASE}/chat`, { method: 'POST', body: '{}' });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let end = false;
    while (!end) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let pos = 0; let i;
      while ((i = buf.indexOf(RS, pos)) >= 0) {
        const c = JSON.parse(buf.slice(pos, i)).chunk;
        pos = i + 1;
        if (c.type === 'text_delta') text += c.content.text;
        else if (c.type === 'tool_call' && c.content.executor === 'client') timeTool.execute(c.content.arguments);
        else if (c.type === 'done' || c.type === 'requires_action' || c.type === 'error') { end = true; break; }
      }
      buf = buf.slice(pos);
    }
    if (end) reader.cancel().catch(() => {});
  }
  const t1 = now();
  return { ms: t1 - t0, calls: 0, reads: stub.reads, textLength: text.length, messages: 0, timedOut: stub.timedOut };
}

// ---- The peer: the AI SDK's AbstractChat with a ChatState like @ai-sdk/react's ----------
// Two ChatStates. The default one ('peer') is the cheapest honest UI state: every change
// gives a new messages array and a new (shallow-copied) object for the changed message, so a
// UI can tell what changed, like the Agent's onMessagesChange. 'peerReact' is what
// @ai-sdk/react's ChatState does: a structuredClone of the changed message on every change.
class BenchChatState {
  #messages;
  status = 'ready';
  error = undefined;
  calls = 0;
  constructor(messages = []) { this.#messages = messages; }
  get messages() { return this.#messages; }
  set messages(m) { this.#messages = [...m]; this.calls++; }
  pushMessage = (m) => { this.#messages = this.#messages.concat(m); this.calls++; };
  popMessage = () => { this.#messages = this.#messages.slice(0, -1); this.calls++; };
  // As @ai-sdk/react: a deep snapshot of the changed message, a new array, notify.
  replaceMessage = (index, m) => {
    this.#messages = [...this.#messages.slice(0, index), this.snapshot(m), ...this.#messages.slice(index + 1)];
    this.calls++;
  };
  snapshot = (v) => ({ ...v });
}
class ReactLikeChatState extends BenchChatState {
  snapshot = (v) => structuredClone(v);
}

export async function runPeer(ai, w, { react = false } = {}) {
  const { AbstractChat, DefaultChatTransport, lastAssistantMessageIsCompleteWithToolCalls } = ai;
  class BenchChat extends AbstractChat {}
  const State = react ? ReactLikeChatState : BenchChatState;
  const state = new State(w.earlier ? uiHistory(w.earlier) : []);
  let chat;
  chat = new BenchChat({
    state,
    transport: new DefaultChatTransport({ api: `${BASE}/api/chat` }),
    onToolCall: ({ toolCall }) => {
      if (toolCall.toolName === 'get_current_time') {
        chat.addToolOutput({ tool: 'get_current_time', toolCallId: toolCall.toolCallId, output: timeTool.execute() });
      }
    },
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
  });
  stub.contentType = 'text/event-stream';
  stub.queue = w.streams.slice();
  stub.reads = 0; state.calls = 0;
  arm(w.limitMs);
  const t0 = now();
  await chat.sendMessage({ text: 'How do I get started?' });
  const t1 = now();
  if (chat.status === 'error' && !stub.timedOut) throw chat.error;
  const last = chat.messages[chat.messages.length - 1];
  const text = last.parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
  return { ms: t1 - t0, calls: state.calls, reads: stub.reads, textLength: text.length, messages: chat.messages.length, timedOut: stub.timedOut };
}
