// The fault matrix's page: one Agent at a time, built from named options (page.evaluate cannot
// pass functions), recording everything the user would see. Served by the test runner at
// /__harness/ on the dev server's origin (Playwright route), under the server's own CSP.
import { Agent } from '/pkg/index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const obj = { type: 'object', properties: {} };

const H = {
  agent: null,
  snapshots: [],
  events: [],
  streaming: [],
  threadIds: [],
  tokenCalls: 0,
  tokensSeen: [],
  callbackThrows: 0,
  late: {},
  toolLog: [],
};
window.H = H;

// Test tools. Descriptions avoid words the embedded backend's tool matcher would pick up.
const TOOLS = {
  get_time: { execute: () => ({ time: '2026-01-01T00:00:00Z' }) },
  throws_string: { execute: () => { throw 'plain string failure'; } },
  throws_object: { execute: () => { throw { code: 42 }; } },
  never: {
    execute: (_a, _c, opts) => {
      H.late.neverSignal = opts.signal;
      opts.signal.addEventListener('abort', () => { H.late.neverAborted = true; });
      return new Promise(() => {});
    },
  },
  slow: {
    execute: async (args, _c, opts) => {
      H.late.slowSignal = opts.signal;
      opts.signal.addEventListener('abort', () => { H.late.slowAborted = true; });
      await sleep(typeof args.ms === 'number' ? args.ms : 400);
      H.late.slowFinished = true;
      return { late: 'result from slow' };
    },
  },
  returns_fn: { execute: () => () => 1 },
  returns_cycle: { execute: () => { const o = { a: 1 }; o.self = o; return o; } },
  returns_bigint: { execute: () => ({ n: 10n }) },
  reenter_send: {
    execute: async () => {
      try {
        const p = H.agent.sendMessage('sent from inside a tool');
        await p;
        return { outcome: 'resolved' };
      } catch (e) {
        return { outcome: 'rejected', isError: e instanceof Error, message: String(e && e.message) };
      }
    },
  },
  reenter_get: {
    execute: () => {
      const m = H.agent.getMessages();
      return { count: m.length, roles: m.map((x) => x.role) };
    },
  },
  approve_me: { needsApproval: true, execute: () => ({ approved: true }) },
};

function toolDefs(names) {
  return names.map((name) => ({
    name,
    description: `qqz harness tool ${name.replace(/_/g, ' ')}`,
    parameters: obj,
    ...TOOLS[name],
  }));
}

// What the agent asked the network for (chat requests only): the Idempotency-Key and how the
// attempt ended. The browser itself may resend a request whose reused connection died, so the
// server's log can hold more entries than the agent made attempts.
const realFetch = window.fetch.bind(window);
H.fetches = [];
window.fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  if (!String(url).includes('/agent/chat/')) return realFetch(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  const entry = { key: headers.get('idempotency-key'), outcome: 'pending' };
  H.fetches.push(entry);
  try {
    const res = await realFetch(input, init);
    entry.outcome = res.status;
    return res;
  } catch (e) {
    entry.outcome = `network error (${e.name})`;
    // Ends the injected resets before the agent sees the error, so its retry gets through.
    if (H.clearFaultsOnNetworkError) await realFetch('/__faults', { method: 'DELETE' });
    throw e;
  }
};

let releaseToken = null;
async function getToken(mode) {
  H.tokenCalls += 1;
  switch (mode) {
    case 'reject': throw new Error('token service is down');
    case 'hang': return new Promise(() => {});
    case 'bad': return { nope: 1 };
    case 'gate': {
      await new Promise((r) => { releaseToken = r; });
      return getToken.real();
    }
    case 'lie': {
      // The token lives as long as the server says, but the page claims an hour.
      const s = await getToken.real();
      return { token: s.session_token, expiresAt: Date.now() + 3_600_000 };
    }
    default: return getToken.real();
  }
}
getToken.real = async () => {
  const res = await fetch('/api/session', { method: 'POST' });
  if (!res.ok) throw new Error(`session endpoint answered ${res.status}`);
  const s = await res.json();
  H.tokensSeen.push(s.session_token);
  return s;
};

H.releaseToken = () => releaseToken && releaseToken();

H.make = (o = {}) => {
  if (H.agent) { try { H.agent.resetConversation(); H.agent.free?.(); } catch { /* already gone */ } }
  Object.assign(H, { clearFaultsOnNetworkError: false, fetches: [], snapshots: [], events: [], streaming: [], threadIds: [], tokenCalls: 0, callbackThrows: 0, late: {}, toolLog: [] });
  const tokenMode = { value: o.token ?? 'ok' };
  H.tokenMode = tokenMode;
  const throwing = !!o.callbacksThrow;
  const maybeThrow = (what) => {
    if (throwing) { H.callbackThrows += 1; throw new Error(`boom from ${what}`); }
  };
  const options = {
    projectId: 'demo',
    integrationId: 'demo-integration',
    baseUrl: location.origin,
    retry: o.retry ?? { baseDelayMs: 20, maxDelayMs: 80 },
    tools: toolDefs(o.tools ?? []),
    getSessionToken: () => getToken(tokenMode.value),
    onMessagesChange: (m) => { H.snapshots.push(m); maybeThrow('onMessagesChange'); },
    onStreamingChange: (s) => { H.streaming.push(s); maybeThrow('onStreamingChange'); },
    onThreadIdChange: (id) => { H.threadIds.push(id); maybeThrow('onThreadIdChange'); },
    onEvent: (e) => { H.events.push(e); maybeThrow('onEvent'); },
  };
  if (o.idleTimeoutMs !== undefined) options.idleTimeoutMs = o.idleTimeoutMs;
  if (o.sessionTokenTimeoutMs !== undefined) options.sessionTokenTimeoutMs = o.sessionTokenTimeoutMs;
  H.agent = new Agent(options);
  return true;
};

/** Starts a turn; `H.turn` is its promise, `H.turnDone` flips when it settles. */
H.start = (text) => {
  H.turnDone = false;
  H.turnOutcome = null;
  const t0 = performance.now();
  H.turn = H.agent.sendMessage(text).then(
    (v) => { H.turnDone = true; H.turnOutcome = { resolved: true, value: v ?? null, ms: performance.now() - t0 }; },
    (e) => { H.turnDone = true; H.turnOutcome = { resolved: false, error: String(e && e.message), ms: performance.now() - t0 }; },
  );
  return true;
};

/** Everything the user sees, as plain data. */
H.view = () => ({
  messages: H.agent.getMessages(),
  events: H.events.map((e) => ({ type: e.type, data: e.data })),
  streaming: H.streaming.slice(),
  threadIds: H.threadIds.slice(),
  isStreaming: H.agent.getIsStreaming(),
  tokenCalls: H.tokenCalls,
  callbackThrows: H.callbackThrows,
  late: { ...H.late, neverSignal: undefined, slowSignal: undefined,
    neverSignalAborted: H.late.neverSignal?.aborted, slowSignalAborted: H.late.slowSignal?.aborted },
  outcome: H.turnOutcome,
  fetches: H.fetches.map((f) => ({ ...f })),
});

/** Status of every tool call of the last assistant message. */
H.calls = () => {
  const last = [...H.agent.getMessages()].reverse().find((m) => m.role === 'assistant');
  if (!last) return [];
  return last.blocks.filter((b) => b.type === 'tool_calls').flatMap((b) => b.toolCalls);
};

document.getElementById('state').textContent = 'ready';
document.body.classList.add('ready');
