// SPEC §4 (failure) and §7 / PROTOCOL §5 (session token, retries).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev, reply } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, toolCallsOf, UUID_RE, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const ok = (tid = 'thr_1', text = 'fine') => stream([ev.start(tid), ev.text(text), ev.done(tid)]);
const defTool = (name, execute, extra = {}) => ({ name, description: name, parameters: { type: 'object', properties: {} }, execute, ...extra });

function errorMessage(text) {
  return { role: 'assistant', content: text, blocks: [{ type: 'text', content: text }], isError: true };
}

// ------------------------------------------------------------------ §4 failures

test('HTTP error before content: error message "Agent request failed: <status> <body>", response_error, promise resolves', async () => {
  server.queue('chat', reply(400, 'bad request body', { 'content-type': 'text/plain' }));
  const { agent, log } = makeAgent(server);
  const r = await agent.sendMessage('hi');
  assert.equal(r, undefined);
  const err = 'Agent request failed: 400 bad request body';
  assert.deepEqual(agent.getMessages(), [{ role: 'user', content: 'hi' }, errorMessage(err)]);
  assert.deepEqual(log.eventsOf('response_error').map((e) => e.data), [{ error: err, threadId: null }]);
  assert.equal(log.eventsOf('response_completed').length, 0);
  assert.deepEqual(log.streaming, [true, false]);
  assert.equal(server.requests.length, 1, '400 is final, not retried');
});

test('HTTP 500 is final; a JSON body is quoted as text', async () => {
  server.queue('chat', reply(500, { detail: 'boom' }));
  const { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(agent.getMessages()[1].content, 'Agent request failed: 500 {"detail":"boom"}');
  assert.equal(server.requests.length, 1);
});

test('failure after content: content kept, "\\n\\n" + error block appended, isError; unsettled calls → error', async () => {
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.text('Working'), ev.toolCall('c1', 'ok'), ev.serverCall('s1', 'search_knowledge_base'), ev.requiresAction(['c1'])]),
    stream([ev.text(' more'), ev.toolCall('c2', 'ok'), ev.error('Quota exceeded')]),
  );
  const { agent, log } = makeAgent(server, { tools: [defTool('ok', () => 'r')] });
  await agent.sendMessage('hi');
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.equal(m.content, 'Working more\n\nQuota exceeded');
  assert.deepEqual(m.blocks.at(-1), { type: 'text', content: '\n\nQuota exceeded' });
  const cs = toolCallsOf(m);
  assert.deepEqual(cs.map((c) => [c.id, c.status]), [['c1', 'completed'], ['s1', 'error'], ['c2', 'error']]);
  assert.equal(cs[1].error, 'Quota exceeded');
  assert.equal(cs[2].error, 'Quota exceeded');
  assert.deepEqual(log.eventsOf('response_error').map((e) => e.data), [{ error: 'Quota exceeded', threadId: 'thr_1' }]);
  assert.deepEqual(log.eventsOf('tool_executed').map((e) => e.data.toolName), ['ok'], 'calls failed by the turn fire no tool_executed');
});

test('error while a client tool executes (tool_results request fails): executing calls → error', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'fast'), ev.toolCall('c2', 'risky'), ev.requiresAction(['c1', 'c2'])]), reply(422, 'nope'));
  const { agent, log } = makeAgent(server, { tools: [defTool('fast', () => 1), defTool('risky', () => 2, { needsApproval: true })] });
  const p = agent.sendMessage('hi');
  await waitFor(() => toolCallsOf(agent.getMessages()[1] || { blocks: [] })[1]?.status === 'approval_requested');
  agent.approveToolCall('c2');
  await p;
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.equal(m.content, '\n\nAgent request failed: 422 nope');
  assert.deepEqual(toolCallsOf(m).map((c) => c.status), ['completed', 'completed']);
});

test('broken stream (connection dropped mid-body): content kept, error names the stream, never retried', async () => {
  server.queue('chat', { status: 200, headers: { 'content-type': 'text/event-stream' }, chunks: ['event: stream_start\ndata: {"thread_id":"thr_1"}\n\nevent: text_delta\ndata: {"text":"Half"}\n\n', { delay: 20 }, 'event: text_delta\ndata: {"te', { delay: 5 }, { destroy: true }] });
  server.queue('chat', ok());
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.match(m.content, /^Half\n\n/);
  assert.match(m.content, /stream|unexpected|network/i);
  assert.equal(server.requests.length, 1, 'once stream bytes were consumed, no retry');
  assert.equal(log.eventsOf('response_error')[0].data.threadId, 'thr_1');
});

test('getSessionToken throwing: error text names the session token and the cause; token never leaked', async () => {
  const { agent, log, token } = makeAgent(server);
  token.impl = () => {
    throw new Error('auth server down');
  };
  await agent.sendMessage('hi');
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.match(m.content, /session token/i);
  assert.match(m.content, /auth server down/);
  assert.equal(server.requests.length, 0);
  assert.equal(log.eventsOf('response_error')[0].data.error, m.content);
  // recovers on the next turn
  token.impl = null;
  server.queue('chat', ok());
  await agent.sendMessage('again');
  assert.equal(agent.getMessages()[3].content, 'fine');
});

test('getSessionToken returning bad shapes: clear error, not a crash', async () => {
  const shapes = [null, undefined, 'a-string', {}, { token: 5, expiresAt: Date.now() + 1e6 }, { token: 'x' }, { token: 'x', expiresAt: 'not a date' }, { session_token: 'x' }, { session_token: 'x', expires_at: 'garbage' }];
  for (const shape of shapes) {
    const { agent, token } = makeAgent(server);
    token.impl = () => shape;
    await agent.sendMessage('hi');
    const m = agent.getMessages()[1];
    assert.equal(m?.isError, true, `shape ${JSON.stringify(shape)}`);
    assert.match(m.content, /session token/i, `shape ${JSON.stringify(shape)}: ${m.content}`);
  }
  assert.equal(server.requests.length, 0);
});

test('a session token with a line break: the request is refused, never split into other headers', async () => {
  for (const bad of ['tok\nx-injected: 1', 'tok\r\nx-injected: 1']) {
    server.reset();
    const { agent } = makeAgent(server, {
      retry: { maxRetries: 0 },
      getSessionToken: () => ({ token: bad, expiresAt: Date.now() + 3_600_000 }),
    });
    await agent.sendMessage('hi');
    const m = agent.getMessages()[1];
    assert.equal(m?.isError, true, JSON.stringify(bad));
    assert.ok(!m.content.includes('tok'), `no token in the error text: ${m.content}`);
    assert.equal(server.requests.length, 0, 'nothing was sent');
    agent.free();
  }
});

test('the session token never appears in messages, events, errors or console output', async () => {
  const SECRET = 'sk-SECRET-token-value-123';
  const logged = [];
  const orig = {};
  for (const k of ['log', 'warn', 'error', 'info', 'debug']) {
    orig[k] = console[k];
    console[k] = (...a) => logged.push(a.map(String).join(' '));
  }
  try {
    server.queue('chat', reply(401, 'unauthorized'), reply(401, 'still unauthorized'));
    server.queue('chat', stream([ev.start('t'), ev.text('x')]));
    const { agent, log, token } = makeAgent(server);
    token.impl = () => ({ token: SECRET, expiresAt: Date.now() + 3600e3 });
    await agent.sendMessage('one');
    await agent.sendMessage('two');
    token.impl = () => ({ token: SECRET });
    agent.clearSession();
    await agent.sendMessage('three');
    const all = JSON.stringify({ m: agent.getMessages(), e: log.events, logged });
    assert.ok(!all.includes(SECRET), 'token leaked');
  } finally {
    Object.assign(console, orig);
  }
});

// ------------------------------------------------------------------ §7 session token

test('token: lazy, cached across turns, Bearer header', async () => {
  server.queue('chat', ok(), ok(), ok());
  const { agent, token } = makeAgent(server);
  assert.equal(token.calls, 0);
  await agent.sendMessage('1');
  await agent.sendMessage('2');
  await agent.sendMessage('3');
  assert.equal(token.calls, 1);
  assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-1']);
});

test('token: raw {session_token, expires_at} shape and RFC 3339 expiresAt accepted', async () => {
  server.queue('chat', ok(), ok());
  let { agent, token } = makeAgent(server, {}, { tokenOpts: { shape: 'raw' } });
  await agent.sendMessage('1');
  assert.equal(server.requests[0].headers.authorization, 'Bearer tok-1');
  assert.equal(agent.getMessages()[1].isError, undefined);
  ({ agent, token } = makeAgent(server));
  token.impl = () => ({ token: 'rfc', expiresAt: new Date(Date.now() + 3600e3).toISOString() });
  await agent.sendMessage('1');
  assert.equal(server.requests[1].headers.authorization, 'Bearer rfc');
  assert.equal(agent.getMessages()[1].isError, undefined);
});

test('token: a token with less than 30 s left is refreshed before the next request (fresh one used once)', async () => {
  server.queue('chat', ok(), ok(), ok());
  const { agent, token } = makeAgent(server, {}, { tokenOpts: { ttlMs: 10_000 } });
  await agent.sendMessage('1');
  assert.equal(token.calls, 1, 'a freshly fetched token is used even with < 30 s left');
  await agent.sendMessage('2');
  assert.equal(token.calls, 2);
  assert.equal(server.requests[1].headers.authorization, 'Bearer tok-2');
});

test('token: refreshed when it crosses the 30 s threshold (raw shape)', async () => {
  server.queue('chat', ok(), ok(), ok());
  const { agent, token } = makeAgent(server, {}, { tokenOpts: { ttlMs: 31_200, shape: 'raw' } });
  await agent.sendMessage('1');
  await agent.sendMessage('2');
  assert.equal(token.calls, 1, 'still more than 30 s left');
  await sleep(1500);
  await agent.sendMessage('3');
  assert.equal(token.calls, 2);
  assert.equal(server.requests[2].headers.authorization, 'Bearer tok-2');
});

test('token: expired RFC 3339 timestamps and epoch ms both honoured', async () => {
  server.queue('chat', ok(), ok());
  const { agent, token } = makeAgent(server);
  token.impl = (n) => ({ session_token: `raw-${n}`, expires_at: new Date(Date.now() - 1000).toISOString() });
  await agent.sendMessage('1');
  await agent.sendMessage('2');
  assert.equal(token.calls, 2);
  assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer raw-1', 'Bearer raw-2']);
});

test('token: one getSessionToken call however many requests need it', async () => {
  server.queue('listThreads', ...Array.from({ length: 4 }, () => reply(200, { threads: [], next_cursor: null })));
  server.queue('chat', ok());
  const { agent, token } = makeAgent(server, { enableHistory: true }, { tokenOpts: { delayMs: 80 } });
  await Promise.all([agent.sendMessage('x'), agent.listThreads(), agent.listThreads(), agent.listThreads({ limit: 5 }), agent.listThreads()]);
  assert.equal(token.calls, 1);
  assert.equal(server.requests.length, 5);
  for (const r of server.requests) assert.equal(r.headers.authorization, 'Bearer tok-1');
});

test('token: clearSession drops the cached token', async () => {
  server.queue('chat', ok(), ok());
  const { agent, token } = makeAgent(server);
  await agent.sendMessage('1');
  agent.clearSession();
  await agent.sendMessage('2');
  assert.equal(token.calls, 2);
  assert.equal(server.requests[1].headers.authorization, 'Bearer tok-2');
});

test('401 → fresh token, one retry with the same Idempotency-Key, not counted in the budget', async () => {
  server.queue('chat', reply(401, 'expired'), ok());
  const { agent, token } = makeAgent(server, { retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 2 } });
  await agent.sendMessage('hi');
  assert.equal(agent.getMessages()[1].content, 'fine');
  assert.equal(token.calls, 2);
  const [a, b] = server.requests;
  assert.equal(a.headers.authorization, 'Bearer tok-1');
  assert.equal(b.headers.authorization, 'Bearer tok-2');
  assert.equal(a.headers['idempotency-key'], b.headers['idempotency-key']);
  assert.deepEqual(a.body, b.body);
});

test('a second 401 is a failure', async () => {
  server.queue('chat', reply(401, 'expired'), reply(401, 'really expired'));
  const { agent, token } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 2);
  assert.equal(token.calls, 2);
  assert.deepEqual(agent.getMessages()[1], errorMessage('Agent request failed: 401 really expired'));
});

test('401 on the tool_results request retries that request with its own key', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]), reply(401, 'x'), ok('thr_1', 'after'));
  const { agent, token } = makeAgent(server, { tools: [defTool('t', () => 1)] });
  await agent.sendMessage('hi');
  assert.equal(token.calls, 2);
  const [r0, r1, r2] = server.requests;
  assert.notEqual(r0.headers['idempotency-key'], r1.headers['idempotency-key']);
  assert.equal(r1.headers['idempotency-key'], r2.headers['idempotency-key']);
  assert.deepEqual(r1.body, r2.body);
  assert.equal(r2.body.input.type, 'tool_results');
  assert.equal(agent.getMessages()[1].content, 'after');
});

// ------------------------------------------------------------------ retries

test('503 then success: retried with the same Idempotency-Key and body', async () => {
  server.queue('chat', reply(503, 'busy'), reply(502, 'gw'), reply(504, 'timeout'), ok());
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 4);
  const keys = new Set(server.requests.map((r) => r.headers['idempotency-key']));
  assert.equal(keys.size, 1);
  assert.match([...keys][0], UUID_RE);
  for (const r of server.requests) assert.deepEqual(r.body, server.requests[0].body);
  assert.equal(agent.getMessages()[1].content, 'fine');
  assert.equal(log.eventsOf('response_error').length, 0);
});

test('retries exhausted: 4 attempts by default, then the last HTTP error', async () => {
  server.queue('chat', ...Array.from({ length: 5 }, (_, i) => reply(503, `busy ${i + 1}`)));
  const { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 4);
  assert.deepEqual(agent.getMessages()[1], errorMessage('Agent request failed: 503 busy 4'));
  server.requests.length = 0;
  server.queue('chat', ok()); // drain the spare one
  await agent.sendMessage('x');
});

test('retry budget: maxRetries 1 → 2 attempts; maxRetries 0 → 1', async () => {
  for (const [maxRetries, attempts] of [[1, 2], [0, 1], [5, 6]]) {
    server.requests.length = 0;
    server.queue('chat', ...Array.from({ length: attempts }, () => reply(503, 'busy')));
    const { agent } = makeAgent(server, { retry: { maxRetries, baseDelayMs: 1, maxDelayMs: 2 } });
    await agent.sendMessage('hi');
    assert.equal(server.requests.length, attempts, `maxRetries ${maxRetries}`);
    assert.equal(agent.getMessages()[1].isError, true);
  }
});

test('429 with Retry-After seconds waits that long, then retries', async () => {
  server.queue('chat', reply(429, 'slow down', { 'retry-after': '1' }), ok());
  const { agent } = makeAgent(server);
  const t0 = Date.now();
  await agent.sendMessage('hi');
  const [a, b] = server.requests;
  assert.ok(b.time - a.time >= 900, `waited ${b.time - a.time} ms`);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(a.headers['idempotency-key'], b.headers['idempotency-key']);
  assert.equal(agent.getMessages()[1].content, 'fine');
});

test('429 with an HTTP-date Retry-After, and 429 without the header, are retried', async () => {
  server.queue('chat', reply(429, 'x', { 'retry-after': new Date(Date.now() + 1000).toUTCString() }), reply(429, 'y'), ok());
  const { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 3);
  assert.equal(agent.getMessages()[1].content, 'fine');
});

test('429 with Retry-After longer than maxRetryAfterMs fails at once', async () => {
  server.queue('chat', reply(429, 'come back later', { 'retry-after': '30' }), ok());
  const { agent } = makeAgent(server, { retry: { maxRetryAfterMs: 2000, baseDelayMs: 1, maxDelayMs: 2 } });
  const t0 = Date.now();
  await agent.sendMessage('hi');
  assert.ok(Date.now() - t0 < 1500, 'failed at once');
  assert.equal(server.requests.length, 1);
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.match(m.content, /429/);
  server.requests.length = 0;
  await agent.sendMessage('drain');
});

test('429 and 5xx share one budget', async () => {
  server.queue('chat', reply(429, 'a', { 'retry-after': '0' }), reply(503, 'b'), reply(429, 'c', { 'retry-after': '0' }), reply(503, 'd'));
  const { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 4);
  assert.deepEqual(agent.getMessages()[1], errorMessage('Agent request failed: 503 d'));
});

test('network error before any response byte is retried; exhausted → "Network error: …"', async () => {
  server.queue('chat', { networkError: true }, ok());
  let { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[0].headers['idempotency-key'], server.requests[1].headers['idempotency-key']);
  assert.equal(agent.getMessages()[1].content, 'fine');

  server.requests.length = 0;
  server.queue('chat', ...Array.from({ length: 4 }, () => ({ networkError: true })));
  ({ agent } = makeAgent(server));
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 4);
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.match(m.content, /^Network error: /);
});

test('unreachable server: Network error after retries, no crash', async () => {
  const { agent } = makeAgent({ baseUrl: 'http://127.0.0.1:1' }, { retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 2 } });
  await agent.sendMessage('hi');
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.match(m.content, /^Network error: /);
});

test('default backoff is bounded by maxDelayMs (full jitter)', async () => {
  server.queue('chat', reply(503, 'a'), reply(503, 'b'), reply(503, 'c'), ok());
  const { agent } = makeAgent(server, { retry: { baseDelayMs: 10000, maxDelayMs: 60 } });
  const t0 = Date.now();
  await agent.sendMessage('hi');
  assert.equal(server.requests.length, 4);
  assert.ok(Date.now() - t0 < 1500, `took ${Date.now() - t0} ms`);
});

test('401 on several concurrent requests: one getSessionToken call for the refresh', async () => {
  const page = reply(200, { threads: [], next_cursor: null });
  server.queue('listThreads', reply(401, 'a'), reply(401, 'b'), reply(401, 'c'), page, page, page);
  const { agent, token } = makeAgent(server, { enableHistory: true }, { tokenOpts: { delayMs: 50 } });
  // Warm the cache first so that all three start with the same (soon rejected) token.
  token.impl = (n) => ({ token: `tok-${n}`, expiresAt: Date.now() + 3600e3 });
  server.queue('chat', ok());
  await agent.sendMessage('warm');
  server.requests.length = 0;
  const gotAll = await Promise.all([agent.listThreads(), agent.listThreads(), agent.listThreads()]);
  assert.equal(gotAll.length, 3);
  assert.equal(token.calls, 2, 'one initial fetch and one shared refresh');
  assert.deepEqual(server.requests.map((r) => r.headers.authorization).sort(), ['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2', 'Bearer tok-2', 'Bearer tok-2']);
});

test('token: checked before each request of a turn, including the tool_results request', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]), ok('thr_1', 'after'));
  const { agent, token } = makeAgent(server, { tools: [defTool('slow', () => sleep(1600).then(() => 'r'))] }, { tokenOpts: { ttlMs: 31_200 } });
  await agent.sendMessage('hi');
  assert.equal(token.calls, 2);
  assert.deepEqual(server.requests.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-2']);
});
