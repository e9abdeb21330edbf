// Agent factory and small utilities for the black-box tests.
import { Agent, ready } from 'kapa-agent-wasm';

export { ready };
import { startMockServer } from './mock-server.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls predicate until it returns truthy; returns its value. */
export async function waitFor(predicate, { timeout = 5000, interval = 2, message } = {}) {
  const start = Date.now();
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() - start > timeout) {
      throw new Error(`waitFor timed out${message ? ': ' + message : ''} (${predicate.toString().slice(0, 200)})`);
    }
    await sleep(interval);
  }
}

/** A fake getSessionToken: tokens 'tok-1', 'tok-2', ... valid for `ttlMs`. */
export function tokenSource({ ttlMs = 3_600_000, shape = 'normalized', delayMs = 0 } = {}) {
  const src = {
    calls: 0,
    issued: [],
    impl: null,
    fn: async () => {
      src.calls++;
      const n = src.calls;
      if (delayMs) await sleep(delayMs);
      if (src.impl) return src.impl(n);
      const token = `tok-${n}`;
      src.issued.push(token);
      if (shape === 'raw') {
        return { session_token: token, expires_at: new Date(Date.now() + ttlMs).toISOString() };
      }
      return { token, expiresAt: Date.now() + ttlMs };
    },
  };
  return src;
}

/**
 * Builds an Agent against the mock server with recording callbacks.
 * Returns { agent, server, token, log } where log has:
 *   messages: every array passed to onMessagesChange
 *   streaming: every value passed to onStreamingChange
 *   threadIds: every value passed to onThreadIdChange
 *   events: every event passed to onEvent
 */
export function makeAgent(server, overrides = {}, { tokenOpts } = {}) {
  const token = tokenSource(tokenOpts);
  const log = { messages: [], streaming: [], threadIds: [], events: [] };
  const options = {
    projectId: 'proj_1',
    integrationId: 'int_1',
    baseUrl: server.baseUrl,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    getSessionToken: token.fn,
    onMessagesChange: (m) => log.messages.push(m),
    onStreamingChange: (s) => log.streaming.push(s),
    onThreadIdChange: (t) => log.threadIds.push(t),
    onEvent: (e) => log.events.push(e),
    ...overrides,
  };
  const agent = new Agent(options);
  log.last = () => log.messages[log.messages.length - 1];
  log.eventsOf = (type) => log.events.filter((e) => e.type === type);
  log.eventTypes = () => log.events.map((e) => e.type);
  return { agent, server, token, log, options };
}

/** Runs fn(ctx) with a fresh mock server that is closed afterwards. */
export async function withServer(fn) {
  const server = await startMockServer();
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** The last message of the agent's current messages. */
export function lastMsg(agent) {
  const m = agent.getMessages();
  return m[m.length - 1];
}

/** All tool calls of an assistant message, flattened. */
export function toolCallsOf(msg) {
  return (msg.blocks || []).filter((b) => b.type === 'tool_calls').flatMap((b) => b.toolCalls);
}

export function isPlainDeep(v, path = '$', seen = new Set(), allowNull = false) {
  if (v === null || typeof v !== 'object') {
    if (v === undefined) return `${path} is undefined`;
    if (typeof v === 'bigint') return `${path} is a BigInt`;
    if (typeof v === 'function') return `${path} is a function`;
    return null;
  }
  if (seen.has(v)) return null;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = isPlainDeep(v[i], `${path}[${i}]`, seen, allowNull);
      if (r) return r;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return `${path} is not a plain object (${v.constructor?.name})`;
  for (const [k, val] of Object.entries(v)) {
    if (val === null && !allowNull) return `${path}.${k} is null`;
    const r = isPlainDeep(val, `${path}.${k}`, seen, allowNull);
    if (r) return r;
  }
  return null;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

