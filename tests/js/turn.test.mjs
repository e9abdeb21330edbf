// SPEC §3 (a turn) and PROTOCOL §2 (the chat request).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { startMockServer, stream, ev, gate } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, UUID_RE, isPlainDeep, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const simple = (tid = 'thr_1', text = 'Hello!') => stream([ev.start(tid), ev.text(text), ev.done(tid)]);

test('sendMessage: user message, onStreamingChange(true) and message_sent happen synchronously', async () => {
  const g = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.text('x')], { tail: [g.item, Buffer.from(`event: done\ndata: {"thread_id":"thr_1"}\n\n`)] }));
  const { agent, log } = makeAgent(server);
  const text = 'Héllo 😀';
  const p = agent.sendMessage(text);
  assert.ok(p && typeof p.then === 'function', 'returns a promise');
  // No await yet: all three must already have happened.
  assert.equal(log.messages.length, 1);
  assert.deepEqual(log.messages[0], [{ role: 'user', content: text }]);
  assert.deepEqual(log.streaming, [true]);
  assert.deepEqual(log.events.map((e) => [e.type, e.data]), [['message_sent', { messageLength: text.length }]]);
  assert.equal(text.length, 8, 'UTF-16 units');
  assert.equal(agent.getIsStreaming(), true);
  assert.deepEqual(agent.getMessages(), [{ role: 'user', content: text }]);
  g.release();
  await p;
  assert.deepEqual(log.streaming, [true, false]);
});

test('whitespace-only text does nothing', async () => {
  const { agent, log, token } = makeAgent(server);
  for (const t of ['', '   ', '\n\t ', '\u00a0\u2003']) {
    await agent.sendMessage(t);
  }
  await sleep(20);
  assert.equal(log.messages.length, 0);
  assert.equal(log.streaming.length, 0);
  assert.equal(log.events.length, 0);
  assert.equal(server.requests.length, 0);
  assert.equal(token.calls, 0);
  assert.deepEqual(agent.getMessages(), []);
});

test('non-string text throws TypeError synchronously', async () => {
  const { agent, log } = makeAgent(server);
  for (const v of [42, null, undefined, { text: 'hi' }, ['hi']]) {
    let ret;
    assert.throws(() => {
      ret = agent.sendMessage(v);
    }, TypeError, `sendMessage(${JSON.stringify(v)})`);
    if (ret && ret.catch) ret.catch(() => {});
  }
  await sleep(10);
  assert.equal(log.messages.length, 0);
  assert.equal(server.requests.length, 0);
});

test('text is sent exactly as given, not trimmed', async () => {
  server.queue('chat', simple());
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('  padded\n');
  assert.equal(server.requests[0].body.input.content, '  padded\n');
  assert.deepEqual(log.messages[0][0], { role: 'user', content: '  padded\n' });
  assert.deepEqual(log.eventsOf('message_sent')[0].data, { messageLength: 9 });
});

test('sendMessage rejects with an Error while a turn runs and changes nothing', async () => {
  const g = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.text('partial')], { tail: [g.item, Buffer.from(`event: done\ndata: {"thread_id":"thr_1"}\n\n`)] }));
  const { agent, log } = makeAgent(server);
  const p = agent.sendMessage('first');
  await waitFor(() => agent.getMessages().length === 2);
  const before = agent.getMessages();
  const nMsgCalls = log.messages.length;
  const nEvents = log.events.length;
  await assert.rejects(agent.sendMessage('second'), (e) => e instanceof Error);
  assert.equal(agent.getMessages(), before);
  assert.equal(log.messages.length, nMsgCalls);
  assert.equal(log.events.length, nEvents);
  assert.deepEqual(log.streaming, [true]);
  g.release();
  await p;
  assert.equal(server.requests.length, 1);
  assert.deepEqual(agent.getMessages().map((m) => m.content), ['first', 'partial']);
});

test('request: path, method, headers and minimal body', async () => {
  server.queue('chat', simple());
  const { agent } = makeAgent(server);
  await agent.sendMessage('How do I get started?');
  assert.equal(server.requests.length, 1);
  const r = server.requests[0];
  assert.equal(r.method, 'POST');
  assert.equal(r.path, '/agent/v1/projects/proj_1/agent/chat/');
  assert.equal(r.headers['authorization'], 'Bearer tok-1');
  assert.match(r.headers['content-type'], /^application\/json/);
  assert.equal(r.headers['accept'], 'text/event-stream');
  assert.match(r.headers['idempotency-key'], UUID_RE);
  assert.deepEqual(r.body, {
    integration_id: 'int_1',
    model: 'kapa-agent-1.0',
    thread_id: null,
    input: { type: 'user_message', content: 'How do I get started?' },
    tools: [],
  });
});

test('request: full body with every option, context never sent, tools as JSON Schema', async () => {
  server.queue('chat', simple());
  const params = { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] };
  const { agent } = makeAgent(server, {
    model: 'kapa-agent-9',
    customInstructions: 'Answer briefly.',
    user: { email: 'a@example.com', unique_client_id: 'u-42', extra: { nested: true } },
    sourceGroupIdsInclude: ['sg_1', 'sg_2'],
    context: { secret: 'do-not-send', userId: 7 },
    builtinToolMeta: { search_knowledge_base: { displayName: 'Searching docs' } },
    tools: [
      { name: 'get_current_time', description: 'Get the current time', parameters: params, execute: () => 'now', displayName: 'Clock' },
      { name: 'zod_tool', description: 'Zod', parameters: z.object({ n: z.number() }), execute: () => 1, needsApproval: true },
    ],
  });
  await agent.sendMessage('hi');
  const body = server.requests[0].body;
  assert.ok(!server.requests[0].rawBody.includes('do-not-send'), 'context must never be sent');
  assert.equal(body.model, 'kapa-agent-9');
  assert.equal(body.custom_instructions, 'Answer briefly.');
  assert.deepEqual(body.user, { email: 'a@example.com', unique_client_id: 'u-42', extra: { nested: true } });
  assert.deepEqual(body.source_group_ids_include, ['sg_1', 'sg_2']);
  assert.equal(body.integration_id, 'int_1');
  assert.deepEqual(
    Object.keys(body).sort(),
    ['custom_instructions', 'input', 'integration_id', 'model', 'source_group_ids_include', 'thread_id', 'tools', 'user'],
  );
  assert.equal(body.tools.length, 2);
  assert.deepEqual(body.tools[0], { name: 'get_current_time', description: 'Get the current time', parameters: params });
  assert.deepEqual(Object.keys(body.tools[1]).sort(), ['description', 'name', 'parameters']);
  assert.equal(body.tools[1].name, 'zod_tool');
  assert.equal(body.tools[1].parameters.type, 'object');
  assert.deepEqual(body.tools[1].parameters.properties.n.type, 'number');
  assert.deepEqual(body.tools[1].parameters.required, ['n']);
  assert.ok(!('~standard' in body.tools[1].parameters));
});

test('request: source_group_ids_include omitted when empty; optional fields never null', async () => {
  server.queue('chat', simple());
  const { agent } = makeAgent(server, { sourceGroupIdsInclude: [] });
  await agent.sendMessage('hi');
  const r = server.requests[0];
  assert.ok(!('source_group_ids_include' in r.body));
  assert.ok(!('custom_instructions' in r.body));
  assert.ok(!('user' in r.body));
  assert.ok(!/null/.test(r.rawBody.replace('"thread_id":null', '')), r.rawBody);
});

test('request: projectId is URL-encoded in the path', async () => {
  server.queue('chat', simple());
  const { agent } = makeAgent(server, { projectId: 'proj/1 x?' });
  await agent.sendMessage('hi');
  assert.equal(server.requests[0].path, '/agent/v1/projects/proj%2F1%20x%3F/agent/chat/');
});

test('request: baseUrl with a path prefix', async () => {
  server.queue('chat', simple());
  const { agent } = makeAgent(server, { baseUrl: server.baseUrl + '/prefix' });
  await agent.sendMessage('hi');
  assert.equal(server.requests[0].path, '/prefix/agent/v1/projects/proj_1/agent/chat/');
});

test('thread id: null on the first turn, then the server id; onThreadIdChange fires on change only', async () => {
  server.queue('chat', simple('thr_A'), simple('thr_A'));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('one');
  assert.equal(agent.getThreadId(), 'thr_A');
  assert.deepEqual(log.threadIds, ['thr_A']);
  await agent.sendMessage('two');
  assert.equal(server.requests[0].body.thread_id, null);
  assert.equal(server.requests[1].body.thread_id, 'thr_A');
  assert.deepEqual(log.threadIds, ['thr_A']);
});

test('thread id: a done with a different thread_id updates it; a stream without stream_start is legal', async () => {
  server.queue('chat', stream([ev.text('a'), ev.done('thr_B')]));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('one');
  assert.equal(agent.getThreadId(), 'thr_B');
  assert.deepEqual(log.threadIds, ['thr_B']);
  server.queue('chat', stream([ev.start('thr_B'), ev.text('b'), ev.done('thr_C')]));
  await agent.sendMessage('two');
  assert.equal(agent.getThreadId(), 'thr_C');
  assert.deepEqual(log.threadIds, ['thr_B', 'thr_C']);
  assert.equal(log.eventsOf('response_completed').at(-1).data.threadId, 'thr_C');
});

test('Idempotency-Key is fresh for each logical request', async () => {
  server.queue('chat', simple(), simple());
  const { agent } = makeAgent(server);
  await agent.sendMessage('one');
  await agent.sendMessage('two');
  const [a, b] = server.requests.map((r) => r.headers['idempotency-key']);
  assert.match(a, UUID_RE);
  assert.match(b, UUID_RE);
  assert.notEqual(a, b);
});

test('a completed turn: messages, events, streaming flag, promise value', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('Hello'), ev.text(', world'), ev.done('thr_1')], { chunkSize: 7 }));
  const { agent, log } = makeAgent(server);
  const res = await agent.sendMessage('hi');
  assert.equal(res, undefined);
  const msgs = agent.getMessages();
  assert.deepEqual(msgs, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello, world', blocks: [{ type: 'text', content: 'Hello, world' }] },
  ]);
  assert.equal(isPlainDeep(msgs), null);
  assert.deepEqual(log.streaming, [true, false]);
  assert.equal(agent.getIsStreaming(), false);
  assert.deepEqual(log.eventTypes(), ['message_sent', 'response_completed']);
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 0 });
  assert.equal(log.last(), msgs, 'getMessages() is the last array handed to onMessagesChange');
});

test('the assistant message appears with the first content, not before', async () => {
  const g = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.text(''), ev.ping()], { tail: [g.item, Buffer.from(`event: text_delta\ndata: {"text":"late"}\n\nevent: done\ndata: {"thread_id":"thr_1"}\n\n`)] }));
  const { agent } = makeAgent(server);
  const p = agent.sendMessage('hi');
  await waitFor(() => agent.getThreadId() === 'thr_1');
  await sleep(30);
  assert.equal(agent.getMessages().length, 1, 'no assistant message before content (empty deltas create nothing)');
  g.release();
  await p;
  assert.deepEqual(agent.getMessages()[1], { role: 'assistant', content: 'late', blocks: [{ type: 'text', content: 'late' }] });
});

test('all changes of one network read are delivered in one onMessagesChange call', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('a'), ev.text('b'), ev.text('c'), ev.done('thr_1')]));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(log.messages.length, 2, `got ${log.messages.length} onMessagesChange calls`);
  assert.equal(log.messages[1][1].content, 'abc');
});

test('messages are plain objects; structural sharing across calls and turns', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('one'), ev.text(' more'), ev.done('thr_1')], { chunkSize: 10 }));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('first');
  const afterFirst = agent.getMessages();
  assert.equal(agent.getMessages(), afterFirst, 'same array until the next change');
  server.queue('chat', stream([ev.text('two'), ev.text(' and more'), ev.done('thr_1')], { chunkSize: 10 }));
  const p = agent.sendMessage('second');
  const withUser2 = log.last();
  assert.notEqual(withUser2, afterFirst, 'a new array on change');
  assert.equal(withUser2[0], afterFirst[0], 'unchanged user message keeps identity');
  assert.equal(withUser2[1], afterFirst[1], 'unchanged assistant message keeps identity');
  await p;
  for (let i = 1; i < log.messages.length; i++) {
    assert.notEqual(log.messages[i], log.messages[i - 1], 'each call gets a new array');
  }
  const final = agent.getMessages();
  assert.equal(final[0], afterFirst[0]);
  assert.equal(final[1], afterFirst[1]);
  for (const arr of log.messages.slice(-3)) {
    assert.equal(arr[0], afterFirst[0]);
    assert.equal(arr[1], afterFirst[1]);
    if (arr[2]) assert.equal(arr[2], withUser2[2]);
  }
  assert.ok(Array.isArray(final));
  for (const m of final) assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepEqual(Object.keys(final[0]).sort(), ['content', 'role']);
  assert.deepEqual(Object.keys(final[3]).sort(), ['blocks', 'content', 'role']);
  assert.equal(isPlainDeep(final), null);
});

test('event objects carry type and data as plain objects', async () => {
  server.queue('chat', simple());
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  for (const e of log.events) {
    assert.equal(typeof e.type, 'string');
    assert.equal(isPlainDeep(e.data, '$', new Set(), true), null);
  }
});

test('a turn without any thread id: done {} completes with threadId null', async () => {
  server.queue('chat', stream([ev.text('no thread'), { type: 'done', content: {} }]));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(agent.getThreadId(), null);
  assert.deepEqual(log.threadIds, []);
  assert.deepEqual(log.eventsOf('response_completed').map((e) => e.data), [{ threadId: null, toolCallCount: 0 }]);
  assert.ok(!('isError' in agent.getMessages()[1]));
});

// Speed is measured by the benchmark (bench/), never by timing a test; this checks correctness.
test('a long answer of 10 000 deltas arrives whole', async () => {
  const parts = Array.from({ length: 10000 }, (_, i) => `tok${i % 10} `);
  server.queue('chat', stream([ev.start('thr_1'), ...parts.map(ev.text), ev.done('thr_1')], { chunkSize: 4096, delay: 0 }));
  const { agent } = makeAgent(server);
  await agent.sendMessage('long');
  assert.equal(agent.getMessages()[1].content, parts.join(''));
  assert.equal(agent.getMessages()[1].blocks.length, 1);
});

test('onMessagesChange is not called when nothing changed (pings, empty deltas, same thread id)', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.ping(), ev.text(''), ev.ping(), ev.text('a'), ev.ping(), ev.text(''), ev.done('thr_1')], { chunkSize: 12, delay: 2 }));
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(log.messages.length, 2, `calls: ${JSON.stringify(log.messages.map((m) => m.map((x) => x.content)))}`);
});
