// Scenarios for tests/wasm_glue.rs: each drives an Agent (created in Rust, handed over as a
// JS object) against a stubbed fetch and throws on the first failed check. They exercise the
// glue: tool calls, abort signals, callbacks that throw, re-entrancy, freeing mid-turn.

const enc = new TextEncoder();

// The raw Rust agent has one entry point, `call(op, a, b)` (src/wasm/agent.rs; the package's
// lib/agent.js gives it agent-core's method names): the scenarios use the names.
const OPS = { sendMessage: 0, stopGeneration: 1, resetConversation: 2, approveToolCall: 3, rejectToolCall: 4, getMessages: 6, getIsStreaming: 7, getThreadId: 8 };
function api(raw) {
  const agent = { free: () => raw.free() };
  for (const [name, op] of Object.entries(OPS)) agent[name] = (a, b) => raw.call(op, a, b);
  return agent;
}

function sse(events) {
  return events.map(([type, content]) => `event: ${type}\ndata: ${JSON.stringify(content)}\n\n`).join('');
}

function check(cond, message) {
  if (!cond) throw new Error('check failed: ' + message);
}

async function waitFor(pred, what, ms = 3000) {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Replace fetch: each call takes the next scripted answer (a string body, or 'hang'). */
function stubFetch(answers) {
  const calls = [];
  globalThis.fetch = (url, init) => {
    const answer = answers.shift();
    const call = { url, init, body: init.body ? JSON.parse(init.body) : null, signal: init.signal };
    calls.push(call);
    if (answer === 'hang' || answer === undefined) {
      return new Promise((_, reject) => {
        init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    const bytes = enc.encode(answer);
    const body = new ReadableStream({
      start(controller) {
        // Two reads, split inside the text, to exercise incremental decoding.
        const mid = Math.floor(bytes.length / 2);
        controller.enqueue(bytes.slice(0, mid));
        controller.enqueue(bytes.slice(mid));
        controller.close();
      },
    });
    return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
  };
  return calls;
}

export function makeOptions(extra) {
  const log = { messages: [], streaming: [], events: [], threadIds: [], tokenCalls: 0 };
  const options = {
    projectId: 'p',
    integrationId: 'i',
    baseUrl: 'https://agent.test',
    getSessionToken: async () => {
      log.tokenCalls++;
      return { token: 'secret-token', expiresAt: Date.now() + 3600_000 };
    },
    onMessagesChange: (m) => log.messages.push(m),
    onStreamingChange: (s) => log.streaming.push(s),
    onThreadIdChange: (t) => log.threadIds.push(t),
    onEvent: (e) => log.events.push(e),
    ...extra,
  };
  return { options, log };
}

const toolTurn = (name, args = {}) =>
  sse([
    ['stream_start', { thread_id: 'thr_1' }],
    ['tool_call', { id: 'call_1', name, arguments: args, executor: 'client' }],
    ['requires_action', { tool_call_ids: ['call_1'] }],
  ]);
const textTurn = (text) => sse([['text_delta', { text }], ['done', { thread_id: 'thr_1' }]]);

/** A tool that never settles: stop aborts its signal, marks it stopped, resolves sendMessage. */
export async function scenarioStopAbortsTool(agent, state) {
  agent = api(agent);
  const calls = stubFetch([toolTurn('slow')]);
  const done = agent.sendMessage('run slow');
  await waitFor(() => state.signal, 'execute to be called');
  check(state.signal.aborted === false, 'signal starts not aborted');
  check(state.toolCallId === 'call_1', 'toolCallId passed to execute');
  check(state.context && state.context.page === 'test', 'context passed to execute');
  agent.stopGeneration();
  await done;
  check(state.signal.aborted === true, 'signal aborted on stop');
  const msgs = agent.getMessages();
  const call = msgs[1].blocks[0].toolCalls[0];
  check(call.status === 'stopped', 'call stopped, got ' + call.status);
  check(calls.length === 1, 'no further request after stop');
  check(agent.getIsStreaming() === false, 'not streaming after stop');
}

/** Callbacks that throw do not break the agent; later callbacks still fire. */
export async function scenarioThrowingCallbacks(agent, log) {
  agent = api(agent);
  stubFetch([textTurn('one'), textTurn('two')]);
  await agent.sendMessage('first');
  await agent.sendMessage('second');
  check(log.count >= 4, 'onMessagesChange kept being called: ' + log.count);
  const msgs = agent.getMessages();
  check(msgs.length === 4 && msgs[3].content === 'two', 'second turn completed');
}

/** Callbacks and tools that call back into the agent. */
export async function scenarioReentrancy(agent, state) {
  agent = api(agent);
  stubFetch([toolTurn('reenter'), textTurn('after tool'), textTurn('from callback')]);
  await agent.sendMessage('go');
  check(state.inner instanceof Error, 'sendMessage from a tool rejects with an Error: ' + state.inner);
  check(!/recursive/i.test(state.inner.message), 'no recursive-use error: ' + state.inner.message);
  check(state.messagesSeenInTool >= 2, 'getMessages works inside a tool');
  check(state.getMessagesInCallback, 'getMessages inside onMessagesChange returned the same array');
  await waitFor(() => state.secondTurn === 'done', 'the turn started from onEvent');
  const msgs = agent.getMessages();
  check(msgs[msgs.length - 1].content === 'from callback', 'turn started from a callback ran');
}

/** Sync, async, throwing (non-Error) and non-JSON tools. */
export async function scenarioToolResults(agent) {
  agent = api(agent);
  const run = async (name) => {
    const calls = stubFetch([toolTurn(name), textTurn('ok')]);
    await agent.sendMessage('call ' + name);
    return calls[1].body.input.results[0];
  };
  const sync = await run('sync');
  check(sync.status === 'completed' && sync.output.n === 1, 'sync result: ' + JSON.stringify(sync));
  const asyncR = await run('async');
  check(asyncR.status === 'completed' && asyncR.output.when === 'later', 'async result: ' + JSON.stringify(asyncR));
  const thrown = await run('throws_string');
  check(thrown.status === 'error' && thrown.error === 'plain string', 'non-Error throw: ' + JSON.stringify(thrown));
  const big = await run('bigint');
  check(big.status === 'error' && /BigInt/.test(big.error), 'BigInt result: ' + JSON.stringify(big));
  const cyc = await run('cycle');
  check(cyc.status === 'error' && /cycl/.test(cyc.error), 'cyclic result: ' + JSON.stringify(cyc));
  const undef = await run('undef');
  check(undef.status === 'completed' && undef.output === null, 'undefined → null: ' + JSON.stringify(undef));
}

/** free() mid-turn aborts the request and settles the sendMessage promise. */
export async function scenarioFreeMidTurn(agent) {
  agent = api(agent);
  const calls = stubFetch(['hang']);
  const done = agent.sendMessage('hello');
  await waitFor(() => calls.length === 1, 'the request to start');
  agent.free();
  await done;
  check(calls[0].signal.aborted, 'request aborted when the agent is freed');
}

/** The session token never reaches messages, events or error texts. */
export async function scenarioTokenNotLeaked(agent, log) {
  agent = api(agent);
  globalThis.fetch = async () => new Response('bad token secret-token', { status: 500 });
  await agent.sendMessage('hi');
  const everything = JSON.stringify([log.messages, log.events]);
  check(everything.includes('Agent request failed: 500'), 'the failure is shown: ' + everything);
  check(!everything.includes('secret-token'), 'the token is scrubbed: ' + everything);
}

export function makeToolOptions(state) {
  return makeOptions({
    context: { page: 'test' },
    tools: [
      {
        name: 'slow',
        description: 'never settles',
        parameters: { type: 'object', properties: {} },
        execute: (_args, context, { signal, toolCallId }) => {
          state.signal = signal;
          state.toolCallId = toolCallId;
          state.context = context;
          return new Promise(() => {});
        },
      },
    ],
  });
}

export function makeReentrantOptions(state, getAgent) {
  const made = makeOptions({
    tools: [
      {
        name: 'reenter',
        description: 'calls back into the agent',
        parameters: { type: 'object' },
        execute: async () => {
          state.messagesSeenInTool = api(getAgent()).getMessages().length;
          try {
            await api(getAgent()).sendMessage('nested');
          } catch (e) {
            state.inner = e;
          }
          return { ok: true };
        },
      },
    ],
    onMessagesChange: (m) => {
      state.getMessagesInCallback = api(getAgent()).getMessages() === m;
    },
    onEvent: (e) => {
      if (e.type === 'response_completed' && !state.secondTurn) {
        state.secondTurn = 'started';
        api(getAgent()).sendMessage('again').then(() => (state.secondTurn = 'done'));
      }
    },
  });
  return made.options;
}

export function makeResultOptions() {
  const cyc = {};
  cyc.self = cyc;
  const tool = (name, execute) => ({ name, description: name, parameters: { type: 'object' }, execute });
  return makeOptions({
    tools: [
      tool('sync', () => ({ n: 1 })),
      tool('async', async () => ({ when: 'later' })),
      tool('throws_string', () => {
        throw 'plain string';
      }),
      tool('bigint', () => ({ n: 10n })),
      tool('cycle', () => cyc),
      tool('undef', () => undefined),
    ],
  }).options;
}

export function makeThrowingOptions(log) {
  log.count = 0;
  return makeOptions({
    onMessagesChange: () => {
      log.count++;
      throw new Error('UI bug');
    },
    onEvent: () => {
      throw new Error('analytics bug');
    },
    onStreamingChange: () => {
      throw 'not even an Error';
    },
  }).options;
}

/**
 * AgentOptions split as the package entry hands them to the Rust agent (pkg-template/lib/
 * options.js checks and splits them; these options are valid, so only the split is done here).
 */
export function splitOptions(options) {
  const tools = options.tools ?? [];
  const config = {
    projectId: options.projectId,
    integrationId: options.integrationId,
    baseUrl: options.baseUrl,
    tools: tools.map(({ name, description, parameters, needsApproval }) => ({ name, description, parameters, needsApproval })),
  };
  const js = {
    getSessionToken: options.getSessionToken,
    onMessagesChange: options.onMessagesChange,
    onStreamingChange: options.onStreamingChange,
    onThreadIdChange: options.onThreadIdChange,
    onEvent: options.onEvent,
    context: options.context ?? {},
    // The entry's `check` validates the arguments (pkg-template/lib/options.js; tested in
    // tests/js): these scenarios accept every call.
    tools: tools.map(({ name, execute }) => ({ name, execute, check: () => null })),
  };
  return { config, js };
}
