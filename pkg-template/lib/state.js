// The checks on an exported state (STATE.md) that must throw at construction, before the
// WebAssembly module has loaded: a TypeError naming `initialState`. The restore rules (what a
// restored call or turn becomes) are the Rust core's (src/machine/state.rs); these checks
// accept exactly the shapes it reads, so that a state that passes here is restored there.

export const STATE_VERSION = 1;

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const STATUSES = ['pending', 'approval_requested', 'executing', 'completed', 'error', 'denied', 'stopped'];

const optional = (o, key, test) => o[key] === undefined || test(o[key]);
const isString = (v) => typeof v === 'string';

function isSource(s) {
  return isObject(s) && isString(s.title) && isString(s.sourceUrl)
    && optional(s, 'sourceType', isString) && optional(s, 'sourceVisibility', isString);
}

function isCall(c) {
  return isObject(c) && isString(c.id) && isString(c.name) && STATUSES.includes(c.status)
    && optional(c, 'error', isString)
    && optional(c, 'durationMs', (d) => typeof d === 'number')
    && optional(c, 'displayName', isString)
    && optional(c, 'needsApproval', (b) => typeof b === 'boolean')
    && optional(c, 'sources', (s) => Array.isArray(s) && s.every(isSource))
    && optional(c, 'guardian', (g) => isObject(g) && isString(g.pendingActionId) && isString(g.status));
}

function isBlock(b) {
  if (!isObject(b)) return false;
  if (b.type === 'text') return isString(b.content);
  return b.type === 'tool_calls' && Array.isArray(b.toolCalls) && b.toolCalls.every(isCall);
}

function isMessage(m) {
  if (!isObject(m) || !isString(m.content)) return false;
  if (m.role === 'user') return true;
  return m.role === 'assistant'
    && optional(m, 'blocks', (b) => Array.isArray(b) && b.every(isBlock))
    && optional(m, 'isError', (e) => typeof e === 'boolean');
}

/**
 * `state` (an object, or JSON text of one) checked against this agent's ids: the state as plain
 * JSON data, or a TypeError saying what is wrong (naming `initialState`).
 */
export function checkState(state, projectId, integrationId) {
  const fail = (why) => {
    throw new TypeError(`options.initialState ${why}`);
  };
  let s = state;
  if (typeof s === 'string') {
    try {
      s = JSON.parse(s);
    } catch {
      fail('must be an object or the JSON text of one (exportState())');
    }
  }
  if (!isObject(s)) fail('must be an object or the JSON text of one (exportState())');
  // Plain JSON data from here on (getters, prototypes and undefined members left behind).
  try {
    s = JSON.parse(JSON.stringify(s));
  } catch (e) {
    fail(`is not JSON data: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (s.version !== STATE_VERSION) {
    fail(`has version ${JSON.stringify(s.version)}; this package reads version ${STATE_VERSION}`);
  }
  if (s.projectId !== projectId || s.integrationId !== integrationId) {
    fail('belongs to another projectId or integrationId');
  }
  if (!(s.threadId === undefined || s.threadId === null || (isString(s.threadId) && s.threadId !== ''))) {
    fail('.threadId must be a string or null');
  }
  if (!Array.isArray(s.messages) || !s.messages.every(isMessage)) {
    fail('.messages must be an array of messages');
  }
  return s;
}

/** The state of an empty conversation. */
export function emptyState(projectId, integrationId) {
  return { version: STATE_VERSION, projectId, integrationId, threadId: null, messages: [] };
}
