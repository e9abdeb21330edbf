// SPEC §6: stopGeneration and resetConversation.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev, gate } from './helpers/mock-server.mjs';
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
const hanging = (events) => stream(events, { keepOpen: true });
const calls = (agent) => toolCallsOf(agent.getMessages().at(-1));

test('stop before any content: no assistant message, generation_stopped, promise resolves, request aborted', async () => {
  server.queue('chat', hanging([ev.start('thr_1')]));
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await waitFor(() => agent.getThreadId() === 'thr_1');
  agent.stopGeneration();
  await p;
  assert.deepEqual(agent.getMessages(), [{ role: 'user', content: 'hi' }]);
  assert.deepEqual(log.streaming, [true, false]);
  assert.equal(agent.getIsStreaming(), false);
  assert.deepEqual(log.eventsOf('generation_stopped').map((e) => e.data), [{ threadId: 'thr_1' }]);
  assert.equal(log.eventsOf('response_completed').length, 0);
  assert.equal(log.eventsOf('response_error').length, 0);
  await waitFor(() => server.requests[0].finished, { message: 'request was not aborted' });
  assert.equal(server.requests[0].aborted, true);
});

test('stop before the response even starts (threadId null)', async () => {
  const g = gate();
  server.queue('chat', (async () => (await g.item.wait, stream([ev.text('late'), ev.done('t')])))());
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await server.waitForRequests(1);
  agent.stopGeneration();
  await p;
  g.release();
  assert.deepEqual(log.eventsOf('generation_stopped').map((e) => e.data), [{ threadId: null }]);
  assert.equal(agent.getMessages().length, 1);
  await sleep(30);
  assert.equal(agent.getMessages().length, 1, 'a late response is not applied');
});

test('stop after content: content kept, no isError, no error block', async () => {
  server.queue('chat', hanging([ev.start('thr_1'), ev.text('Partial answer')]));
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await waitFor(() => agent.getMessages()[1]?.content === 'Partial answer');
  agent.stopGeneration();
  await p;
  assert.deepEqual(agent.getMessages()[1], { role: 'assistant', content: 'Partial answer', blocks: [{ type: 'text', content: 'Partial answer' }] });
  assert.deepEqual(log.eventTypes(), ['message_sent', 'generation_stopped']);
});

test('stop while a tool executes: call stopped, signal aborted, late result dropped, no further request', async () => {
  let signal;
  const tg = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.toolCall('c2', 'slow'), ev.requiresAction(['c1', 'c2'])]));
  const { agent, log } = makeAgent(server, {
    tools: [defTool('slow', async (_a, _c, o) => ((signal = o.signal), await tg.item.wait, 'late'))],
  });
  const p = agent.sendMessage('go');
  await waitFor(() => calls(agent).length === 2 && calls(agent).every((c) => c.status === 'executing'));
  let abortEvents = 0;
  signal.addEventListener('abort', () => abortEvents++);
  agent.stopGeneration();
  await p;
  assert.equal(signal.aborted, true);
  assert.equal(abortEvents, 1);
  assert.deepEqual(calls(agent).map((c) => c.status), ['stopped', 'stopped']);
  tg.release();
  await sleep(50);
  assert.deepEqual(calls(agent).map((c) => c.status), ['stopped', 'stopped'], 'late result dropped');
  assert.equal(server.requestsTo('chat').length, 1, 'no tool_results after stop');
  assert.equal(log.eventsOf('tool_executed').length, 0, 'stopped calls fire no tool_executed');
  assert.deepEqual(log.eventsOf('generation_stopped').map((e) => e.data), [{ threadId: 'thr_1' }]);
  assert.ok(!('isError' in agent.getMessages()[1]));
  assert.deepEqual(log.streaming, [true, false]);
});

test('stop while waiting for approval and while calls are pending', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('a', 'risky'), ev.requiresAction(['a'])]));
  const { agent, log } = makeAgent(server, { tools: [defTool('risky', () => 1, { needsApproval: true })] });
  let p = agent.sendMessage('go');
  await waitFor(() => calls(agent)[0]?.status === 'approval_requested');
  agent.stopGeneration();
  await p;
  assert.equal(calls(agent)[0].status, 'stopped');
  agent.approveToolCall('a');
  await sleep(20);
  assert.equal(calls(agent)[0].status, 'stopped');
  assert.equal(log.eventsOf('tool_approved').length, 0);

  server.queue('chat', hanging([ev.toolCall('b', 'risky')]));
  p = agent.sendMessage('again');
  await waitFor(() => calls(agent)[0]?.id === 'b');
  assert.equal(calls(agent)[0].status, 'pending');
  agent.stopGeneration();
  await p;
  assert.equal(calls(agent)[0].status, 'stopped');
  assert.equal(server.requestsTo('chat').length, 2);
});

test('stopGeneration with no turn running does nothing', async () => {
  const { agent, log } = makeAgent(server);
  agent.stopGeneration();
  server.queue('chat', stream([ev.start('thr_1'), ev.text('x'), ev.done('thr_1')]));
  await agent.sendMessage('hi');
  const n = log.messages.length;
  agent.stopGeneration();
  await sleep(10);
  assert.equal(log.messages.length, n);
  assert.equal(log.eventsOf('generation_stopped').length, 0);
  assert.deepEqual(log.streaming, [true, false]);
});

test('after stop, sendMessage works at once; a new user_message follows unanswered calls', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]));
  const { agent, log } = makeAgent(server, { tools: [defTool('slow', () => new Promise(() => {}))] });
  const p = agent.sendMessage('go');
  await waitFor(() => calls(agent)[0]?.status === 'executing');
  agent.stopGeneration();
  server.queue('chat', stream([ev.text('fresh'), ev.done('thr_1')]));
  const p2 = agent.sendMessage('next'); // at once, without awaiting p
  await Promise.all([p, p2]);
  assert.deepEqual(agent.getMessages().map((m) => m.content), ['go', '', 'next', 'fresh']);
  const b = server.requestsTo('chat')[1].body;
  assert.deepEqual(b.input, { type: 'user_message', content: 'next' });
  assert.equal(b.thread_id, 'thr_1');
  assert.deepEqual(log.streaming, [true, false, true, false]);
});

test('resetConversation mid-turn: aborts, empties messages, thread id null, conversation_reset, token kept', async () => {
  let signal;
  server.queue('chat', stream([ev.start('thr_1'), ev.text('x')]), stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]));
  const { agent, log, token } = makeAgent(server, { tools: [defTool('slow', (_a, _c, o) => ((signal = o.signal), new Promise(() => {})))] });
  // first a completed-by-error turn just to set a thread id
  await agent.sendMessage('one');
  assert.equal(agent.getThreadId(), 'thr_1');
  const p = agent.sendMessage('two');
  await waitFor(() => calls(agent)[0]?.status === 'executing');
  const evBefore = log.events.length;
  agent.resetConversation();
  await p;
  assert.equal(signal.aborted, true);
  assert.deepEqual(agent.getMessages(), []);
  assert.deepEqual(log.last(), []);
  assert.equal(agent.getThreadId(), null);
  assert.deepEqual(log.threadIds, ['thr_1', null]);
  const newEvents = log.events.slice(evBefore);
  assert.deepEqual(newEvents.map((e) => [e.type, e.data]), [['conversation_reset', {}]], 'no generation_stopped on reset');
  assert.equal(agent.getIsStreaming(), false);
  assert.equal(log.streaming.at(-1), false);
  // token kept; sendMessage works at once with thread_id null
  server.queue('chat', stream([ev.start('thr_2'), ev.text('new'), ev.done('thr_2')]));
  await agent.sendMessage('three');
  assert.equal(token.calls, 1, 'cached token kept across reset');
  const last = server.requestsTo('chat').at(-1);
  assert.equal(last.body.thread_id, null);
  assert.equal(last.headers.authorization, 'Bearer tok-1');
  assert.deepEqual(agent.getMessages().map((m) => m.content), ['three', 'new']);
});

test('resetConversation when idle: empties; no onThreadIdChange if the thread id was already null', async () => {
  const { agent, log } = makeAgent(server);
  agent.resetConversation();
  assert.deepEqual(log.threadIds, []);
  assert.deepEqual(log.eventsOf('conversation_reset').map((e) => e.data), [{}]);
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(log.streaming.length, 0);
});

test('resetConversation after a completed turn', async () => {
  server.queue('chat', stream([ev.start('thr_9'), ev.text('x'), ev.done('thr_9')]));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  agent.resetConversation();
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getThreadId(), null);
  assert.deepEqual(log.threadIds, ['thr_9', null]);
  assert.deepEqual(log.streaming, [true, false]);
  assert.equal(log.eventsOf('generation_stopped').length, 0);
});

test('free() while a tool runs: its signal aborts, the sendMessage promise settles, nothing more is sent', async () => {
  let signal;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]));
  const { agent } = makeAgent(server, { tools: [defTool('slow', (_a, _c, o) => ((signal = o.signal), new Promise((r) => setTimeout(() => r('late'), 100))))] });
  assert.equal(typeof agent.free, 'function');
  const p = agent.sendMessage('go');
  await waitFor(() => signal);
  agent.free();
  assert.equal(signal.aborted, true);
  const settled = await Promise.race([p.then(() => 'resolved', () => 'rejected'), sleep(1000).then(() => 'pending')]);
  assert.notEqual(settled, 'pending', 'the promise of the running turn must settle');
  await sleep(150);
  assert.equal(server.requestsTo('chat').length, 1);
});

test('stop during a retry back-off: no further request', async () => {
  server.queue('chat', { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }, stream([ev.text('should not be sent'), ev.done('t')]));
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await server.waitForRequests(1);
  await sleep(50);
  agent.stopGeneration();
  await p;
  await sleep(1300);
  assert.equal(server.requests.length, 1);
  assert.deepEqual(agent.getMessages(), [{ role: 'user', content: 'hi' }]);
  assert.deepEqual(log.eventsOf('generation_stopped').map((e) => e.data), [{ threadId: null }]);
});

test('stop and reset while getSessionToken is pending: no request is sent', async () => {
  for (const how of ['stop', 'reset']) {
    server.reset();
    const { agent, token, log } = makeAgent(server, {}, { tokenOpts: { delayMs: 100 } });
    const p = agent.sendMessage('hi');
    await waitFor(() => token.calls === 1);
    if (how === 'stop') agent.stopGeneration();
    else agent.resetConversation();
    await p;
    await sleep(200);
    assert.equal(server.requests.length, 0, how);
    assert.equal(agent.getIsStreaming(), false);
    assert.deepEqual(log.streaming, [true, false]);
    // the token that arrived late is still usable (or refetched), and the agent works
    server.queue('chat', stream([ev.text('after'), ev.done('t')]));
    await agent.sendMessage('again');
    assert.equal(agent.getMessages().at(-1).content, 'after', how);
  }
});

test('stopGeneration twice: one generation_stopped', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('x')], { keepOpen: true }));
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await waitFor(() => agent.getMessages().length === 2);
  agent.stopGeneration();
  agent.stopGeneration();
  await p;
  agent.stopGeneration();
  assert.equal(log.eventsOf('generation_stopped').length, 1);
  assert.deepEqual(log.streaming, [true, false]);
});
