// SPEC §8 and PROTOCOL §4: listThreads, resumeThread, deleteThread and the history errors.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { HistoryDisabledError, SessionWithoutOwnerError, ThreadNotFoundError } from 'kapa-agent-wasm';
import { startMockServer, stream, ev, reply, gate } from './helpers/mock-server.mjs';
import { makeAgent, sleep, waitFor, toolCallsOf, isPlainDeep, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const defTool = (name, execute, extra = {}) => ({ name, description: name, parameters: { type: 'object', properties: {} }, execute, ...extra });
const THREADS = '/agent/v1/projects/proj_1/agent/threads/';

test('history methods reject with HistoryDisabledError and send nothing unless enableHistory is true', async () => {
  for (const enableHistory of [undefined, false]) {
    const { agent, token } = makeAgent(server, enableHistory === undefined ? {} : { enableHistory });
    for (const call of [() => agent.listThreads(), () => agent.listThreads({ limit: 1 }), () => agent.resumeThread('thr_1'), () => agent.deleteThread('thr_1')]) {
      await assert.rejects(call(), (e) => e instanceof HistoryDisabledError && e instanceof Error && e.name === 'HistoryDisabledError');
    }
    assert.equal(token.calls, 0);
  }
  assert.equal(server.requests.length, 0);
});

test('listThreads: GET with Bearer, no params by default, mapping to camelCase', async () => {
  server.queue(
    'listThreads',
    reply(200, {
      threads: [
        { id: 'thr_1', title: 'Install help', created_at: '2026-03-17T09:54:51.165812Z', updated_at: '2026-03-17T10:00:00Z', message_count: 4 },
        { id: 'thr_2', title: 'Other', created_at: '2026-03-16T09:00:00Z', updated_at: '2026-03-16T09:30:00+01:00', message_count: 0 },
      ],
      next_cursor: 'cur_2',
    }),
  );
  const { agent } = makeAgent(server, { enableHistory: true });
  const res = await agent.listThreads();
  const r = server.requests[0];
  assert.equal(r.method, 'GET');
  assert.equal(r.path, THREADS);
  assert.deepEqual(r.query, {});
  assert.equal(r.headers.authorization, 'Bearer tok-1');
  assert.deepEqual(res, {
    threads: [
      { id: 'thr_1', title: 'Install help', createdAt: '2026-03-17T09:54:51.165812Z', updatedAt: '2026-03-17T10:00:00Z', messageCount: 4 },
      { id: 'thr_2', title: 'Other', createdAt: '2026-03-16T09:00:00Z', updatedAt: '2026-03-16T09:30:00+01:00', messageCount: 0 },
    ],
    nextCursor: 'cur_2',
  });
  assert.equal(isPlainDeep(res), null);
});

test('listThreads: limit and cursor sent only when given; nextCursor null', async () => {
  server.queue('listThreads', reply(200, { threads: [], next_cursor: null }), reply(200, { threads: [], next_cursor: null }), reply(200, { threads: [], next_cursor: null }));
  const { agent } = makeAgent(server, { enableHistory: true });
  assert.deepEqual(await agent.listThreads({ limit: 5, cursor: 'a b/c' }), { threads: [], nextCursor: null });
  await agent.listThreads({ limit: 20 });
  await agent.listThreads({ cursor: 'xyz' });
  assert.deepEqual(server.requests.map((r) => r.query), [{ limit: '5', cursor: 'a b/c' }, { limit: '20' }, { cursor: 'xyz' }]);
});

const STORED = {
  id: 'thr_old',
  title: 'Old chat',
  messages: [
    { role: 'user', content: 'What time is it?' },
    {
      role: 'assistant',
      content: 'Checking.It is noon.',
      blocks: [
        { type: 'text', content: 'Checking.' },
        {
          type: 'tool_calls',
          tool_calls: [
            { id: 's1', name: 'search_knowledge_base', arguments: { query: 'time' }, status: 'completed', duration_ms: 40, sources: [{ title: 'Clock', source_url: 'https://x/clock', source_type: 'doc', source_visibility: 'public' }] },
            { id: 'c1', name: 'get_time', arguments: {}, status: 'completed', result: { t: 'noon' }, duration_ms: 5 },
            { id: 'c2', name: 'risky', arguments: { a: 1 }, status: 'approval_requested' },
            { id: 'c3', name: 'get_time', arguments: {}, status: 'executing' },
            { id: 'c4', name: 'get_time', arguments: {}, status: 'pending' },
            { id: 'c5', name: 'get_time', arguments: {}, status: 'error', error: 'boom' },
            { id: 'c6', name: 'risky', arguments: {}, status: 'denied' },
          ],
        },
        { type: 'text', content: 'It is noon.' },
      ],
    },
    { role: 'user', content: 'thanks' },
    { role: 'assistant', content: 'Oops', blocks: [{ type: 'text', content: 'Oops' }], is_error: true },
  ],
};

test('resumeThread: replaces messages, maps fields, re-attaches display meta, stops unfinished calls, never runs them', async () => {
  let ran = 0;
  server.queue('getThread', reply(200, STORED));
  const { agent, log } = makeAgent(server, {
    enableHistory: true,
    builtinToolMeta: { search_knowledge_base: { displayName: 'Searching' } },
    tools: [defTool('get_time', () => ran++, { displayName: 'Clock' }), defTool('risky', () => ran++, { needsApproval: true })],
  });
  const r = await agent.resumeThread('thr_old');
  assert.equal(r, undefined);
  assert.equal(server.requests[0].method, 'GET');
  assert.equal(server.requests[0].path, THREADS + 'thr_old/');
  assert.equal(server.requests[0].headers.authorization, 'Bearer tok-1');
  const msgs = agent.getMessages();
  assert.equal(log.last(), msgs);
  assert.equal(msgs.length, 4);
  assert.deepEqual(msgs[0], { role: 'user', content: 'What time is it?' });
  assert.deepEqual(msgs[3], { role: 'assistant', content: 'Oops', blocks: [{ type: 'text', content: 'Oops' }], isError: true });
  const a = msgs[1];
  assert.deepEqual(Object.keys(a).sort(), ['blocks', 'content', 'role']);
  assert.equal(a.content, 'Checking.It is noon.');
  assert.deepEqual(a.blocks.map((b) => b.type), ['text', 'tool_calls', 'text']);
  assert.deepEqual(a.blocks[1].toolCalls, [
    { id: 's1', name: 'search_knowledge_base', arguments: { query: 'time' }, status: 'completed', durationMs: 40, sources: [{ title: 'Clock', sourceUrl: 'https://x/clock', sourceType: 'doc', sourceVisibility: 'public' }], displayName: 'Searching' },
    { id: 'c1', name: 'get_time', arguments: {}, status: 'completed', result: { t: 'noon' }, durationMs: 5, displayName: 'Clock' },
    { id: 'c2', name: 'risky', arguments: { a: 1 }, status: 'stopped', needsApproval: true },
    { id: 'c3', name: 'get_time', arguments: {}, status: 'stopped', displayName: 'Clock' },
    { id: 'c4', name: 'get_time', arguments: {}, status: 'stopped', displayName: 'Clock' },
    { id: 'c5', name: 'get_time', arguments: {}, status: 'error', error: 'boom', displayName: 'Clock' },
    { id: 'c6', name: 'risky', arguments: {}, status: 'denied', needsApproval: true },
  ]);
  assert.equal(isPlainDeep(msgs), null);
  assert.equal(agent.getThreadId(), 'thr_old');
  assert.deepEqual(log.threadIds, ['thr_old']);
  assert.deepEqual(log.events.map((e) => [e.type, e.data]), [['thread_resumed', { threadId: 'thr_old' }]]);
  assert.equal(log.streaming.length, 0);
  // restored calls are never run, approvals on them do nothing
  agent.approveToolCall('c2');
  await sleep(20);
  assert.equal(ran, 0);
  assert.equal(log.eventsOf('tool_approved').length, 0);
  // the next turn continues the resumed thread
  server.queue('chat', stream([ev.text('You are welcome.'), ev.done('thr_old')]));
  await agent.sendMessage('bye');
  const chat = server.requestsTo('chat')[0];
  assert.equal(chat.body.thread_id, 'thr_old');
  assert.deepEqual(chat.body.input, { type: 'user_message', content: 'bye' });
  assert.equal(agent.getMessages().length, 6);
  assert.equal(agent.getMessages()[0], msgs[0], 'resumed messages keep identity');
});

test('resumeThread: same thread id does not fire onThreadIdChange; replaces the current conversation', async () => {
  server.queue('chat', stream([ev.start('thr_x'), ev.text('first'), ev.done('thr_x')]));
  server.queue('getThread', reply(200, { id: 'thr_x', title: 't', messages: [{ role: 'user', content: 'only' }] }));
  const { agent, log } = makeAgent(server, { enableHistory: true });
  await agent.sendMessage('hello');
  await agent.resumeThread('thr_x');
  assert.deepEqual(log.threadIds, ['thr_x']);
  assert.deepEqual(agent.getMessages(), [{ role: 'user', content: 'only' }]);
  assert.deepEqual(log.eventsOf('thread_resumed').map((e) => e.data), [{ threadId: 'thr_x' }]);
});

test('resumeThread rejects while a turn runs and changes nothing', async () => {
  const g = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.text('streaming')], { tail: [g.item, Buffer.from('event: done\ndata: {"thread_id":"thr_1"}\n\n')] }));
  const { agent, log } = makeAgent(server, { enableHistory: true });
  const p = agent.sendMessage('hi');
  await waitFor(() => agent.getMessages().length === 2);
  const before = agent.getMessages();
  await assert.rejects(agent.resumeThread('thr_other'), Error);
  assert.equal(agent.getMessages(), before);
  assert.equal(agent.getThreadId(), 'thr_1');
  assert.equal(server.requestsTo('getThread').length, 0);
  g.release();
  await p;
  assert.equal(log.eventsOf('thread_resumed').length, 0);
});

test('resumeThread: 404 → ThreadNotFoundError, 403 session_without_owner → SessionWithoutOwnerError, 500 → Error; state unchanged', async () => {
  server.queue('getThread', reply(404, { detail: 'not found' }), reply(403, { code: 'session_without_owner' }), reply(500, 'kaput'));
  const { agent, log } = makeAgent(server, { enableHistory: true });
  await assert.rejects(agent.resumeThread('missing'), (e) => e instanceof ThreadNotFoundError && e instanceof Error && e.name === 'ThreadNotFoundError');
  await assert.rejects(agent.resumeThread('x'), (e) => e instanceof SessionWithoutOwnerError && e instanceof Error && e.name === 'SessionWithoutOwnerError');
  await assert.rejects(agent.resumeThread('y'), (e) => e instanceof Error && !(e instanceof ThreadNotFoundError) && /500/.test(e.message) && /kaput/.test(e.message));
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getThreadId(), null);
  assert.equal(log.events.length, 0);
});

test('listThreads: 403 → SessionWithoutOwnerError; other errors → Error with the status', async () => {
  server.queue('listThreads', reply(403, { code: 'session_without_owner' }), reply(418, 'teapot'));
  const { agent } = makeAgent(server, { enableHistory: true });
  await assert.rejects(agent.listThreads(), SessionWithoutOwnerError);
  await assert.rejects(agent.listThreads(), (e) => e instanceof Error && e.message === 'Agent request failed: 418 teapot');
});

test('history: 401 refreshes the token and retries once; 503 is retried', async () => {
  server.queue('listThreads', reply(401, 'x'), reply(503, 'busy'), reply(200, { threads: [], next_cursor: null }));
  const { agent, token } = makeAgent(server, { enableHistory: true });
  assert.deepEqual(await agent.listThreads(), { threads: [], nextCursor: null });
  assert.equal(token.calls, 2);
  assert.equal(server.requests.length, 3);
  assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-2', 'Bearer tok-2']);
});

test('history: network failure → Error "Network error: …"', async () => {
  const { agent } = makeAgent({ baseUrl: 'http://127.0.0.1:1' }, { enableHistory: true, retry: { maxRetries: 0 } });
  await assert.rejects(agent.listThreads(), (e) => e instanceof Error && /^Network error: /.test(e.message));
});

test('deleteThread of another thread: DELETE, thread_deleted, current conversation untouched', async () => {
  server.queue('chat', stream([ev.start('thr_cur'), ev.text('x'), ev.done('thr_cur')]));
  server.queue('deleteThread', { status: 204 });
  const { agent, log } = makeAgent(server, { enableHistory: true });
  await agent.sendMessage('hi');
  const before = agent.getMessages();
  const r = await agent.deleteThread('thr_other');
  assert.equal(r, undefined);
  const del = server.requestsTo('deleteThread')[0];
  assert.equal(del.method, 'DELETE');
  assert.equal(del.path, THREADS + 'thr_other/');
  assert.equal(del.headers.authorization, 'Bearer tok-1');
  assert.equal(agent.getMessages(), before);
  assert.equal(agent.getThreadId(), 'thr_cur');
  assert.deepEqual(log.events.slice(-1).map((e) => [e.type, e.data]), [['thread_deleted', { threadId: 'thr_other' }]]);
  assert.equal(log.eventsOf('conversation_reset').length, 0);
});

test('deleteThread of the current thread: resets (conversation_reset) then thread_deleted', async () => {
  server.queue('chat', stream([ev.start('thr_cur'), ev.text('x'), ev.done('thr_cur')]));
  server.queue('deleteThread', { status: 204 });
  const { agent, log, token } = makeAgent(server, { enableHistory: true });
  await agent.sendMessage('hi');
  const n = log.events.length;
  await agent.deleteThread('thr_cur');
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getThreadId(), null);
  assert.deepEqual(log.threadIds, ['thr_cur', null]);
  assert.deepEqual(log.events.slice(n).map((e) => [e.type, e.data]), [['conversation_reset', {}], ['thread_deleted', { threadId: 'thr_cur' }]]);
  assert.equal(token.calls, 1);
});

test('deleteThread: 404 → ThreadNotFoundError, 403 → SessionWithoutOwnerError, nothing reset', async () => {
  server.queue('chat', stream([ev.start('thr_cur'), ev.text('x'), ev.done('thr_cur')]));
  server.queue('deleteThread', reply(404, ''), reply(403, { code: 'session_without_owner' }));
  const { agent, log } = makeAgent(server, { enableHistory: true });
  await agent.sendMessage('hi');
  await assert.rejects(agent.deleteThread('thr_cur'), ThreadNotFoundError);
  await assert.rejects(agent.deleteThread('thr_cur'), SessionWithoutOwnerError);
  assert.equal(agent.getMessages().length, 2);
  assert.equal(agent.getThreadId(), 'thr_cur');
  assert.equal(log.eventsOf('thread_deleted').length + log.eventsOf('conversation_reset').length, 0);
});

test('thread ids are URL-encoded in history paths', async () => {
  server.queue('deleteThread', { status: 204 });
  const { agent } = makeAgent(server, { enableHistory: true });
  await agent.deleteThread('a/b c');
  assert.equal(server.requests[0].path, THREADS + 'a%2Fb%20c/');
});

test('a 403 without the session_without_owner code is a plain Error', async () => {
  server.queue('listThreads', reply(403, { code: 'forbidden' }));
  const { agent } = makeAgent(server, { enableHistory: true });
  await assert.rejects(agent.listThreads(), (e) => e instanceof Error && !(e instanceof SessionWithoutOwnerError) && /403/.test(e.message));
});

test('deleteThread of the current thread during a turn: the turn ends, conversation reset, thread_deleted', async () => {
  let signal;
  server.queue('chat', stream([ev.start('thr_live'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]));
  server.queue('deleteThread', { status: 204 });
  const { agent, log } = makeAgent(server, { enableHistory: true, tools: [defTool('slow', (_a, _c, o) => ((signal = o.signal), new Promise(() => {})))] });
  const p = agent.sendMessage('hi');
  await waitFor(() => signal);
  await agent.deleteThread('thr_live');
  await p;
  assert.equal(signal.aborted, true);
  assert.deepEqual(agent.getMessages(), []);
  assert.equal(agent.getThreadId(), null);
  assert.equal(agent.getIsStreaming(), false);
  assert.deepEqual(log.streaming, [true, false]);
  const tail = log.events.slice(-2).map((e) => e.type);
  assert.deepEqual(tail, ['conversation_reset', 'thread_deleted']);
  assert.equal(server.requestsTo('chat').length, 1);
});

test('history: getSessionToken failing rejects with an Error naming the session token', async () => {
  const { agent, token } = makeAgent(server, { enableHistory: true });
  token.impl = () => {
    throw new Error('no session for you');
  };
  await assert.rejects(agent.listThreads(), (e) => e instanceof Error && /session token/i.test(e.message) && /no session for you/.test(e.message));
  assert.equal(server.requests.length, 0);
});

test('history arguments the page got wrong: a TypeError rejection naming them, nothing sent', async () => {
  const { agent, token } = makeAgent(server, { enableHistory: true });
  const cases = [
    [() => agent.listThreads(42), 'listThreads(params): params must be an object'],
    [() => agent.listThreads(() => {}), 'listThreads(params): params must be an object'],
    [() => agent.listThreads({ limit: 0 }), 'listThreads: limit must be a positive whole number'],
    [() => agent.listThreads({ limit: 1.5 }), 'listThreads: limit must be a positive whole number'],
    [() => agent.listThreads({ limit: '5' }), 'listThreads: limit must be a positive whole number'],
    [() => agent.listThreads({ limit: 1_000_001 }), 'listThreads: limit must be a positive whole number'],
    [() => agent.listThreads({ cursor: 7 }), 'listThreads: cursor must be a string'],
    [() => agent.resumeThread(''), 'resumeThread(threadId): threadId must be a non-empty string'],
    [() => agent.resumeThread(7), 'resumeThread(threadId): threadId must be a non-empty string'],
    [() => agent.deleteThread(undefined), 'deleteThread(threadId): threadId must be a non-empty string'],
  ];
  for (const [call, message] of cases) {
    const p = call();
    assert.ok(p instanceof Promise, message);
    await assert.rejects(p, (e) => e instanceof TypeError && e.message === message);
  }
  assert.equal(token.calls, 0);
  assert.equal(server.requests.length, 0);
  // The accepted edges: null params and cursor, the largest limit.
  server.queue('listThreads', reply(200, { threads: [], next_cursor: null }));
  server.queue('listThreads', reply(200, { threads: [], next_cursor: null }));
  await agent.listThreads(null);
  await agent.listThreads({ limit: 1_000_000, cursor: null });
  assert.equal(server.requestsTo('listThreads').length, 2);
  assert.match(server.requestsTo('listThreads')[1].url, /limit=1000000/);
});
