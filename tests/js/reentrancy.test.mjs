// DESIGN "wasm skin": callbacks that call back into the agent, callbacks that throw.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'kapa-agent-wasm';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, toolCallsOf, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const defTool = (name, execute, extra = {}) => ({ name, description: name, parameters: { type: 'object', properties: {} }, execute, ...extra });
const BAD = /recursive use|already borrowed|already mutably borrowed|unreachable|RuntimeError/i;

function captureUncaught() {
  const errs = [];
  const h = (e) => errs.push(e);
  process.on('uncaughtException', h);
  process.on('unhandledRejection', h);
  return { errs, stop: () => (process.off('uncaughtException', h), process.off('unhandledRejection', h)) };
}

test('onMessagesChange calling getMessages / getIsStreaming / getThreadId', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('a'), ev.text('b'), ev.done('thr_1')], { chunkSize: 8 }));
  const checks = [];
  let agent;
  ({ agent } = makeAgent(server, {
    onMessagesChange: (m) => {
      checks.push([agent.getMessages() === m, agent.getIsStreaming(), agent.getThreadId()]);
    },
  }));
  await agent.sendMessage('hi');
  assert.ok(checks.length >= 2);
  for (const [same] of checks) assert.equal(same, true, 'getMessages() inside the callback is the array passed');
  assert.equal(checks[0][1], true);
});

test('a tool calling sendMessage gets a clean rejection; the turn goes on', async () => {
  let inner;
  let agent;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]), stream([ev.text('done'), ev.done('thr_1')]));
  ({ agent } = makeAgent(server, {
    tools: [
      defTool('t', async () => {
        const state = [agent.getIsStreaming(), agent.getMessages().length, agent.getThreadId()];
        try {
          await agent.sendMessage('from a tool');
          inner = 'resolved';
        } catch (e) {
          inner = e;
        }
        return state;
      }),
    ],
  }));
  await agent.sendMessage('go');
  assert.ok(inner instanceof Error, `expected an Error, got ${inner}`);
  assert.doesNotMatch(String(inner.message), BAD);
  const call = toolCallsOf(agent.getMessages()[1])[0];
  assert.equal(call.status, 'completed');
  assert.deepEqual(call.result, [true, 2, 'thr_1']);
  assert.deepEqual(agent.getMessages().map((m) => m.content), ['go', 'done']);
});

test('a tool calling approve/reject/updateOptions/clearSession re-entrantly', async () => {
  let agent;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.toolCall('c2', 'risky'), ev.requiresAction(['c1', 'c2'])]), stream([ev.text('ok'), ev.done('thr_1')]));
  ({ agent } = makeAgent(server, {
    tools: [
      defTool('t', async () => {
        await waitFor(() => toolCallsOf(agent.getMessages()[1])[1]?.status === 'approval_requested');
        agent.approveToolCall('c2');
        agent.updateOptions({ customInstructions: 'changed by tool' });
        agent.clearSession();
        return 'x';
      }),
      defTool('risky', () => 'y', { needsApproval: true }),
    ],
  }));
  await agent.sendMessage('go');
  assert.deepEqual(toolCallsOf(agent.getMessages()[1]).map((c) => c.status), ['completed', 'completed']);
  assert.equal(server.requestsTo('chat')[1].body.custom_instructions, 'changed by tool');
});

test('onMessagesChange calling stopGeneration at the first content', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('first')], { keepOpen: true }));
  let agent;
  let stopped = false;
  ({ agent } = makeAgent(server, {
    onMessagesChange: (m) => {
      if (!stopped && m[1]) {
        stopped = true;
        agent.stopGeneration();
      }
    },
  }));
  const { errs, stop } = captureUncaught();
  await agent.sendMessage('hi');
  stop();
  assert.deepEqual(errs, []);
  assert.equal(agent.getIsStreaming(), false);
  assert.equal(agent.getMessages()[1].content, 'first');
  server.queue('chat', stream([ev.text('next'), ev.done('thr_1')]));
  await agent.sendMessage('again');
  assert.equal(agent.getMessages()[3].content, 'next');
});

test('onEvent calling resetConversation on message_sent', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('x'), ev.done('thr_1')], { keepOpen: true }));
  let agent;
  const types = [];
  ({ agent } = makeAgent(server, {
    onEvent: (e) => {
      types.push(e.type);
      if (e.type === 'message_sent' && types.length === 1) agent.resetConversation();
    },
  }));
  const { errs, stop } = captureUncaught();
  let syncErr;
  let p;
  try {
    p = agent.sendMessage('hi');
  } catch (e) {
    syncErr = e;
  }
  await p;
  stop();
  assert.equal(syncErr, undefined);
  assert.deepEqual(errs, []);
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getIsStreaming(), false);
  assert.ok(types.includes('conversation_reset'));
});

test('onStreamingChange(false) starting the next turn does not break the agent', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('one'), ev.done('thr_1')]), stream([ev.text('two'), ev.done('thr_1')]));
  let agent;
  let second;
  ({ agent } = makeAgent(server, {
    onStreamingChange: (s) => {
      if (!s && !second) {
        try {
          second = agent.sendMessage('follow-up');
        } catch (e) {
          second = Promise.reject(e);
        }
      }
    },
  }));
  await agent.sendMessage('first');
  let outcome;
  try {
    await second;
    outcome = 'ok';
  } catch (e) {
    outcome = e;
  }
  if (outcome !== 'ok') {
    assert.ok(outcome instanceof Error);
    assert.doesNotMatch(outcome.message, BAD);
  } else {
    await waitFor(() => !agent.getIsStreaming());
    assert.deepEqual(agent.getMessages().map((m) => m.content), ['first', 'one', 'follow-up', 'two']);
  }
});

test('callbacks that throw do not break the agent', async () => {
  const { errs, stop } = captureUncaught();
  const origErr = console.error;
  const origWarn = console.warn;
  console.error = () => {};
  console.warn = () => {};
  try {
    server.queue('chat', stream([ev.start('thr_1'), ev.text('a'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])], { chunkSize: 20 }), stream([ev.text('b'), ev.done('thr_1')]));
    let msgCalls = 0;
    const agent = new Agent({
      projectId: 'proj_1',
      integrationId: 'int_1',
      baseUrl: server.baseUrl,
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
      tools: [defTool('t', () => 'r')],
      onMessagesChange: () => {
        msgCalls++;
        throw new Error('render failed');
      },
      onStreamingChange: () => {
        throw new Error('spinner failed');
      },
      onThreadIdChange: () => {
        throw 'not even an Error';
      },
      onEvent: () => {
        throw new TypeError('analytics failed');
      },
    });
    let syncErr;
    let p;
    try {
      p = agent.sendMessage('hi');
    } catch (e) {
      syncErr = e;
    }
    assert.equal(syncErr, undefined, 'sendMessage must not throw because a callback threw');
    await p;
    assert.ok(msgCalls >= 3);
    const m = agent.getMessages();
    assert.equal(m[1].content, 'ab');
    assert.ok(!m[1].isError);
    assert.equal(toolCallsOf(m[1])[0].status, 'completed');
    assert.equal(agent.getIsStreaming(), false);
    assert.equal(agent.getThreadId(), 'thr_1');
    assert.equal(server.requests.length, 2);
    agent.resetConversation();
    assert.deepEqual(agent.getMessages(), []);
    await sleep(10);
  } finally {
    console.error = origErr;
    console.warn = origWarn;
    stop();
  }
  assert.deepEqual(errs, []);
});

test('several agents on one page are independent', async () => {
  server.queue('chat', stream([ev.start('thr_a'), ev.text('A'), ev.done('thr_a')], { chunkSize: 5 }), stream([ev.start('thr_b'), ev.text('B'), ev.done('thr_b')], { chunkSize: 5 }));
  const one = makeAgent(server);
  const two = makeAgent(server, { projectId: 'proj_2' });
  await Promise.all([one.agent.sendMessage('1'), two.agent.sendMessage('2')]);
  assert.equal(one.agent.getMessages().length, 2);
  assert.equal(two.agent.getMessages().length, 2);
  assert.notEqual(one.agent.getThreadId(), two.agent.getThreadId());
  assert.equal(one.token.calls, 1);
  assert.equal(two.token.calls, 1);
});

test('approveToolCall called from onMessagesChange as soon as approval is requested (auto-approve UI)', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('r1', 'risky'), ev.requiresAction(['r1'])]), stream([ev.text('done'), ev.done('thr_1')]));
  let agent;
  let ran = 0;
  ({ agent } = makeAgent(server, {
    tools: [defTool('risky', () => ++ran, { needsApproval: true })],
    onMessagesChange: (m) => {
      const c = m[1] && toolCallsOf(m[1])[0];
      if (c && c.status === 'approval_requested') agent.approveToolCall(c.id);
    },
  }));
  await agent.sendMessage('go');
  assert.equal(ran, 1);
  assert.equal(toolCallsOf(agent.getMessages()[1])[0].status, 'completed');
  assert.equal(agent.getMessages()[1].content, 'done');
});

test('a tool calling resetConversation synchronously from execute', async () => {
  let agent;
  let signal;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]));
  ({ agent } = makeAgent(server, {
    tools: [
      defTool('t', (_a, _c, o) => {
        signal = o.signal;
        agent.resetConversation();
        return 'after reset';
      }),
    ],
  }));
  const { errs, stop } = captureUncaught();
  await agent.sendMessage('go');
  await sleep(30);
  stop();
  assert.deepEqual(errs, []);
  assert.equal(signal.aborted, true);
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getThreadId(), null);
  assert.equal(agent.getIsStreaming(), false);
  assert.equal(server.requests.length, 1, 'the result after reset is dropped');
});

test('onEvent(tool_executed) calling stopGeneration: results are not sent', async () => {
  let agent;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]));
  ({ agent } = makeAgent(server, {
    tools: [defTool('t', () => 'r')],
    onEvent: (e) => {
      if (e.type === 'tool_executed') agent.stopGeneration();
    },
  }));
  await agent.sendMessage('go');
  await sleep(30);
  assert.equal(server.requests.length, 1);
  assert.equal(agent.getIsStreaming(), false);
});

test('sendMessage called from onMessagesChange during the synchronous part of sendMessage rejects cleanly', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('one'), ev.done('thr_1')]));
  let agent;
  let inner;
  ({ agent } = makeAgent(server, {
    onMessagesChange: (m) => {
      if (m.length === 1 && !inner) {
        try {
          inner = agent.sendMessage('nested');
        } catch (e) {
          inner = Promise.reject(e);
        }
        inner.catch(() => {});
      }
    },
  }));
  await agent.sendMessage('outer');
  const r = await inner.then(() => 'resolved', (e) => e);
  assert.ok(r instanceof Error, `nested sendMessage should reject, got ${r}`);
  assert.doesNotMatch(r.message, BAD);
  assert.deepEqual(agent.getMessages().map((m) => m.content), ['outer', 'one']);
  assert.equal(server.requests.length, 1);
});

test('a page whose performance.now and Date.now call back into the agent: the clocks are read before the agent borrows its state', async () => {
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.toolCall('c1', 'risky'), ev.requiresAction(['c1'])], { chunkSize: 16 }),
    stream([ev.text('a'), ev.text('b'), ev.done('thr_1')], { chunkSize: 8 }),
  );
  let agent;
  ({ agent } = makeAgent(server, { tools: [defTool('risky', () => 'ran', { needsApproval: true })] }));
  const perf = performance.now;
  const date = Date.now;
  let reads = 0;
  // What a page (or a test framework's fake timers) may do: the built-ins replaced by code
  // that looks at the agent.
  performance.now = function () {
    reads++;
    agent.getMessages();
    agent.getIsStreaming();
    return perf.call(performance);
  };
  Date.now = () => {
    agent.getThreadId();
    return date();
  };
  const { errs, stop } = captureUncaught();
  try {
    const done = agent.sendMessage('go');
    await waitFor(() => agent.getMessages()[1] && toolCallsOf(agent.getMessages()[1])[0]?.status === 'approval_requested');
    agent.approveToolCall('c1');
    await done;
    await assert.rejects(agent.resumeThread(''), TypeError);
  } finally {
    performance.now = perf;
    Date.now = date;
    stop();
  }
  assert.deepEqual(errs, []);
  assert.ok(reads > 0, 'the replaced performance.now was used');
  assert.equal(toolCallsOf(agent.getMessages()[1])[0].status, 'completed');
  assert.equal(agent.getMessages()[1].content, 'ab');
  // The module still works afterwards (a trap would have broken every later call).
  server.queue('chat', stream([ev.text('next'), ev.done('thr_1')]));
  await agent.sendMessage('again');
  assert.equal(agent.getMessages()[3].content, 'next');
});
