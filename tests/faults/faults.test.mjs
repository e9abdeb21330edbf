// The fault matrix: the package in headless Chromium against the development server's fault
// injection. Every case asserts what the user sees (messages, isError, tool statuses, events,
// the streaming flag) and what was sent (the server's /__requests log: how many chat requests,
// the same Idempotency-Key on every retry). At the end, everything captured is scanned for the
// session token.
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, capturingPage, openHarness, assertNoToken, sse, rec, script, sleep } from './lib.mjs';

let server;
let shortTtl; // a second server whose tokens live 2 s
let browser;
let page;
let captured;
const seenLogs = []; // every /__requests log and view, for the token scan
let allowPageErrors = false;

const make = (o = {}) => page.evaluate((opts) => H.make(opts), o);
const view = () => page.evaluate(() => H.view());
const calls = () => page.evaluate(() => H.calls());

/** Sends `text` and waits for the turn to end; returns the view. */
async function turn(text, timeout = 20000) {
  await page.evaluate((t) => H.start(t), text);
  await page.waitForFunction(() => H.turnDone, null, { timeout });
  const v = await view();
  seenLogs.push(v);
  return v;
}

async function chats(s = server) {
  const log = await s.chats();
  seenLogs.push(log);
  return log;
}

const last = (v) => v.messages.at(-1);
const types = (v) => v.events.map((e) => e.type);

/** Every entry carries one and the same Idempotency-Key. */
function sameKey(log) {
  const keys = new Set(log.map((r) => r.idempotency_key));
  assert.equal(keys.size, 1, `one Idempotency-Key for every attempt: ${[...keys]}`);
  assert.match([...keys][0], /^[0-9a-f-]{36}$/);
}

/**
 * The agent's own attempts (its fetch calls) match the server's log one to one, with the
 * same keys (not for resets, which the browser may resend by itself).
 */
function agentMatches(v, log) {
  if (log.some((r) => r.fault === 'reset')) return;
  assert.deepEqual(v.fetches.map((f) => f.key), log.map((r) => r.idempotency_key));
}

/** The turn ended as the user should see a failure (SPEC §4). */
function failed(v, pattern) {
  const m = last(v);
  assert.equal(m.role, 'assistant');
  assert.equal(m.isError, true, JSON.stringify(m));
  assert.match(m.content, pattern);
  const joined = m.blocks.filter((b) => b.type === 'text').map((b) => b.content).join('');
  assert.equal(m.content, joined, 'content is the text blocks joined');
  assert.ok(types(v).includes('response_error'), `response_error in ${types(v)}`);
  assert.ok(!types(v).includes('response_completed'));
  assert.deepEqual(v.streaming, [true, false]);
  assert.equal(v.isStreaming, false);
  assert.equal(v.outcome.resolved, true, 'sendMessage resolves on failure');
}

/** The turn completed with an answer. */
function completed(v) {
  const m = last(v);
  assert.equal(m.role, 'assistant');
  assert.ok(!m.isError, JSON.stringify(m));
  assert.ok(m.content.length > 0);
  assert.ok(types(v).includes('response_completed'), `${types(v)}`);
  assert.ok(!types(v).includes('response_error'));
  assert.deepEqual(v.streaming, [true, false]);
  assert.equal(v.outcome.resolved, true);
}

const QUESTION = 'How does fault injection work?';
const DONE = sse('done', {});

before(async () => {
  server = await startServer();
  shortTtl = await startServer(['--token-ttl-secs', '2']);
  browser = await launch();
  ({ page, captured } = await capturingPage(browser));
  await openHarness(page, server);
});

beforeEach(async () => {
  allowPageErrors = false;
  captured.errors.length = 0;
  await server.clear();
  await shortTtl.clear();
});

afterEach(async () => {
  if (!allowPageErrors) assert.deepEqual(captured.errors, [], 'no uncaught errors in the page');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await shortTtl?.stop();
});

// ---------------------------------------------------------------- HTTP status and retries

test('401 once: a fresh token, the same request retried, the user sees nothing', async () => {
  await make();
  await server.fault({ kind: '401' });
  const v = await turn(QUESTION);
  completed(v);
  assert.equal(v.tokenCalls, 2, 'the rejected token was replaced');
  const log = await chats();
  assert.equal(log.length, 2);
  sameKey(log);
  agentMatches(v, log);
  assert.deepEqual(log.map((r) => r.fault), ['401', null]);
});

test('401 twice: an error message, no third attempt', async () => {
  await make();
  await server.fault({ kind: '401', count: 2 });
  const v = await turn(QUESTION);
  failed(v, /^Agent request failed: 401 /);
  assert.equal(v.tokenCalls, 2);
  const log = await chats();
  assert.equal(log.length, 2);
  sameKey(log);
  agentMatches(v, log);
});

test('429 with Retry-After in seconds waits that long, then succeeds', async () => {
  await make();
  await server.fault({ kind: '429', retry_after: '1' });
  const v = await turn(QUESTION);
  completed(v);
  assert.ok(v.outcome.ms >= 950, `waited ${v.outcome.ms} ms`);
  const log = await chats();
  assert.equal(log.length, 2);
  sameKey(log);
  agentMatches(v, log);
  assert.ok(Date.parse(log[1].at) - Date.parse(log[0].at) >= 950, 'the retry came after Retry-After');
});

test('429 with Retry-After as an HTTP date waits until then, then succeeds', async () => {
  await make();
  const date = new Date(Date.now() + 2000).toUTCString();
  await server.fault({ kind: '429', retry_after: date });
  const v = await turn(QUESTION);
  completed(v);
  const log = await chats();
  assert.equal(log.length, 2);
  sameKey(log);
  agentMatches(v, log);
  const gap = Date.parse(log[1].at) - Date.parse(log[0].at);
  // The date has whole seconds: the wait is between 1 and 2 s (less the clock skew of 0).
  assert.ok(gap >= 900 && gap < 4000, `retried after ${gap} ms`);
});

test('429 with a Retry-After beyond maxRetryAfterMs fails at once', async () => {
  await make();
  await server.fault({ kind: '429', retry_after: '120' });
  const v = await turn(QUESTION);
  failed(v, /^Agent request failed: 429 /);
  assert.ok(v.outcome.ms < 3000);
  assert.equal((await chats()).length, 1);
});

for (const status of ['502', '503', '504']) {
  test(`${status} then success: retried with the same Idempotency-Key`, async () => {
    await make();
    await server.fault({ kind: status });
    const v = await turn(QUESTION);
    completed(v);
    const log = await chats();
    assert.deepEqual(log.map((r) => r.fault), [status, null]);
    sameKey(log);
  agentMatches(v, log);
  });
}

test('502, 503, 504 in a row then success: three retries, one key', async () => {
  await make();
  await server.fault({ kind: '502' });
  await server.fault({ kind: '503' });
  await server.fault({ kind: '504' });
  const v = await turn(QUESTION);
  completed(v);
  const log = await chats();
  assert.deepEqual(log.map((r) => r.fault), ['502', '503', '504', null]);
  sameKey(log);
  agentMatches(v, log);
});

test('retries exhausted: four attempts, then the last error is shown', async () => {
  await make();
  await server.fault({ kind: '503', count: 5 });
  const v = await turn(QUESTION);
  failed(v, /^Agent request failed: 503 .*service unavailable/);
  const log = await chats();
  assert.equal(log.length, 4, 'maxRetries 3: four attempts');
  sameKey(log);
  agentMatches(v, log);
});

test('500 is final: no retry', async () => {
  await make();
  await server.fault({ kind: '500' });
  const v = await turn(QUESTION);
  failed(v, /^Agent request failed: 500 /);
  assert.equal((await chats()).length, 1);
});

test('a network error before the response is retried', async () => {
  await make();
  await server.fault({ kind: 'reset', count: 20 });
  await page.evaluate(() => { H.clearFaultsOnNetworkError = true; });
  const v = await turn(QUESTION);
  completed(v);
  // The agent's attempts (Chromium may resend once by itself on a reused connection).
  assert.ok(v.fetches.length >= 2, JSON.stringify(v.fetches));
  assert.match(String(v.fetches[0].outcome), /^network error/);
  assert.equal(v.fetches.length, 2);
  assert.equal(v.fetches.at(-1).outcome, 200);
  assert.equal(new Set(v.fetches.map((f) => f.key)).size, 1, 'one key for every attempt');
  const log = await chats();
  assert.equal(log.at(-1).fault, null);
  assert.ok(log.slice(0, -1).every((r) => r.fault === 'reset'));
  sameKey(log);
  agentMatches(v, log);
  assert.equal(log[0].idempotency_key, v.fetches[0].key);
});

test('network errors outlasting the retries: "Network error", four attempts', async () => {
  await make();
  await server.fault({ kind: 'reset', count: 20 });
  const v = await turn(QUESTION);
  failed(v, /^Network error: /);
  assert.equal(v.fetches.length, 4, `four attempts: ${JSON.stringify(v.fetches)}`);
  assert.ok(v.fetches.every((f) => /^network error/.test(f.outcome)));
  assert.equal(new Set(v.fetches.map((f) => f.key)).size, 1);
  const log = await chats();
  assert.ok(log.length >= 4 && log.every((r) => r.fault === 'reset'));
  sameKey(log);
  agentMatches(v, log);
});

test('no response at all within idleTimeoutMs: the request is abandoned and retried', async () => {
  await make({ idleTimeoutMs: 1000 });
  await server.fault({ kind: 'script', delay_ms: 4000, chunks: [] });
  const v = await turn(QUESTION);
  completed(v);
  const log = await chats();
  assert.equal(log.length, 2);
  sameKey(log);
  agentMatches(v, log);
});

// ---------------------------------------------------------------- session tokens

test('token expiring mid-conversation (server-side): 401, refresh, same request retried', async () => {
  // A page on the server whose tokens live 2 s; the page claims they live an hour.
  const { page: p2, captured: c2 } = await capturingPage(browser);
  try {
    await openHarness(p2, shortTtl);
    await p2.evaluate(() => H.make({ token: 'lie' }));
    const run = async (text) => {
      await p2.evaluate((t) => H.start(t), text);
      await p2.waitForFunction(() => H.turnDone, null, { timeout: 20000 });
      return p2.evaluate(() => H.view());
    };
    let v = await run(QUESTION);
    completed(v);
    const thread = v.threadIds.at(-1);
    assert.ok(thread);
    await sleep(2300); // the token expires on the server
    v = await run('What is the request log?');
    assert.equal(v.tokenCalls, 2, 'a new token after the 401');
    const m = v.messages;
    assert.equal(m.length, 4, 'no lost message');
    assert.ok(!m[3].isError, JSON.stringify(m[3]));
    assert.ok(v.events.filter((e) => e.type === 'response_completed').length === 2);
    const log = await chats(shortTtl);
    assert.equal(log.length, 3);
    assert.equal(log[1].idempotency_key, log[2].idempotency_key, 'the 401 retry reuses the key');
    assert.notEqual(log[0].idempotency_key, log[1].idempotency_key);
    assert.equal(log[2].body.thread_id, thread, 'the conversation continues');
    seenLogs.push(v, c2.console, c2.errors);
    for (const t of c2.tokens) captured.tokens.add(t);
    assertNoToken(c2, { log, view: v });
  } finally {
    await p2.context().close();
  }
});

test('token expiring (honest expiry): refreshed before the request, no 401', async () => {
  const { page: p2, captured: c2 } = await capturingPage(browser);
  try {
    await openHarness(p2, shortTtl);
    await p2.evaluate(() => H.make());
    const run = async (text) => {
      await p2.evaluate((t) => H.start(t), text);
      await p2.waitForFunction(() => H.turnDone, null, { timeout: 20000 });
      return p2.evaluate(() => H.view());
    };
    completed(await run(QUESTION));
    await sleep(2300);
    const v = await run('What is the request log?');
    completed({ ...v, streaming: v.streaming.slice(2) });
    assert.equal(v.tokenCalls, 2, 'less than 30 s left: refreshed before the request');
    const log = await chats(shortTtl);
    assert.equal(log.length, 2, 'no 401 round trip');
    for (const t of c2.tokens) captured.tokens.add(t);
    assertNoToken(c2, { log, view: v });
  } finally {
    await p2.context().close();
  }
});

test('getSessionToken rejecting: an error naming the session token and the cause, nothing sent', async () => {
  await make({ token: 'reject' });
  const v = await turn(QUESTION);
  failed(v, /session token.*token service is down/);
  assert.equal((await chats()).length, 0);
  // The user can try again once the token service is back.
  await page.evaluate(() => { H.tokenMode.value = 'ok'; });
  const v2 = await turn(QUESTION);
  assert.equal(v2.messages.length, 4);
  assert.ok(!v2.messages[3].isError);
});

test('getSessionToken hanging: sessionTokenTimeoutMs ends the turn with a clear error', async () => {
  await make({ token: 'hang', sessionTokenTimeoutMs: 800 });
  const v = await turn(QUESTION);
  failed(v, /session token.*did not settle within 1 s/);
  assert.ok(v.outcome.ms >= 750 && v.outcome.ms < 5000, `${v.outcome.ms} ms`);
  assert.equal((await chats()).length, 0);
  await page.evaluate(() => { H.tokenMode.value = 'ok'; });
  const v2 = await turn(QUESTION);
  assert.ok(!v2.messages.at(-1).isError);
});

test('getSessionToken returning a bad shape: a clear error, nothing sent', async () => {
  await make({ token: 'bad' });
  const v = await turn(QUESTION);
  failed(v, /session token/);
  assert.equal((await chats()).length, 0);
});

// ---------------------------------------------------------------- broken streams

test('drop mid-text: the text so far stays, an error is appended, no retry', async () => {
  await make();
  await server.fault({ kind: 'drop_mid_stream' });
  const v = await turn(QUESTION);
  const m = last(v);
  assert.equal(m.isError, true);
  const text = m.blocks.filter((b) => b.type === 'text');
  assert.ok(text.length >= 1);
  assert.match(m.content, /\S[\s\S]*\n\nStream ended unexpectedly/, 'earlier text kept');
  assert.equal(m.blocks.flatMap((b) => b.toolCalls ?? []).every((c) => ['completed', 'error'].includes(c.status)), true);
  assert.equal((await chats()).length, 1, 'never retried once bytes were read');
});

test('drop mid-frame (SSE): the complete events apply, then an error', async () => {
  await make();
  await server.fault(script([sse('text_delta', { text: 'Partial answer' }), 'event: text_delta\ndata: {"text": "never fin'], { then: 'drop' }));
  const v = await turn(QUESTION);
  failed(v, /^Partial answer\n\nStream ended unexpectedly/);
  assert.equal((await chats()).length, 1);
});

test('drop mid-frame (record framing): the complete frames apply, then an error', async () => {
  await make();
  await server.fault(script([rec('text_delta', { text: 'Record part' }), '{"chunk": {"type": "text_delta", "cont'], { then: 'drop', content_type: 'application/json' }));
  const v = await turn(QUESTION);
  failed(v, /^Record part\n\nStream ended unexpectedly/);
});

test('a UTF-8 character split across reads arrives whole', async () => {
  await make();
  const text = 'héllo 😀 ✓';
  const bytes = Buffer.from(sse('text_delta', { text }) + DONE);
  const cut = bytes.indexOf(Buffer.from('😀')) + 2; // inside the 4-byte emoji
  const cut2 = bytes.indexOf(Buffer.from('é')) + 1; // inside é
  await server.fault(script([
    { hex: bytes.subarray(0, cut2).toString('hex') },
    { hex: bytes.subarray(cut2, cut).toString('hex'), delay_ms: 40 },
    { hex: bytes.subarray(cut).toString('hex'), delay_ms: 40 },
  ]));
  const v = await turn(QUESTION);
  completed(v);
  assert.equal(last(v).content, text);
});

test('drop mid-UTF-8 character: the text before stays intact, no U+FFFD', async () => {
  await make();
  const head = Buffer.from(sse('text_delta', { text: 'Before ' }) + 'event: text_delta\ndata: {"text":"caf');
  await server.fault(script([{ hex: head.toString('hex') }, { hex: 'c3', delay_ms: 30 }], { then: 'drop' }));
  const v = await turn(QUESTION);
  failed(v, /^Before \n\nStream ended unexpectedly/);
  assert.ok(!last(v).content.includes('\uFFFD'));
});

test('drop before any byte of the body: an error, no retry', async () => {
  await make();
  await server.fault(script([], { then: 'drop' }));
  const v = await turn(QUESTION);
  const m = last(v);
  assert.equal(m.isError, true);
  assert.equal(m.blocks.length, 1, 'the error text is the whole message');
  assert.match(m.content, /Stream ended unexpectedly|Network error/);
  failed(v, /./);
  assert.equal((await chats()).length, 1);
});

test('a clean end without a terminal event: "stream ended unexpectedly"', async () => {
  await make();
  await server.fault(script([sse('text_delta', { text: 'Half' })], { then: 'end' }));
  const v = await turn(QUESTION);
  failed(v, /^Half\n\nStream ended unexpectedly/);
});

test('a stall with idleTimeoutMs: the text stays, a clear error after the timeout', async () => {
  await make({ idleTimeoutMs: 1000 });
  await server.fault(script([sse('text_delta', { text: 'Thinking' })], { then: 'stall', stall_ms: 20000 }));
  const v = await turn(QUESTION);
  failed(v, /^Thinking\n\nThe response stalled: no data for 1 s$/);
  assert.ok(v.outcome.ms >= 950 && v.outcome.ms < 6000, `${v.outcome.ms} ms`);
  assert.equal((await chats()).length, 1);
});

test('keep-alive comments reset the idle timeout', async () => {
  await make({ idleTimeoutMs: 1000 });
  const ping = { text: ': keep-alive\n\n', delay_ms: 400 };
  await server.fault(script([sse('text_delta', { text: 'Slow ' }), ping, ping, ping, ping, ping,
    sse('text_delta', { text: 'but alive' }), DONE]));
  const v = await turn(QUESTION);
  completed(v);
  assert.equal(last(v).content, 'Slow but alive');
  assert.ok(v.outcome.ms >= 1900, `${v.outcome.ms} ms`);
});

// ---------------------------------------------------------------- malformed input

test('invalid JSON in a frame: "unexpected response", earlier text kept', async () => {
  await make();
  await server.fault({ kind: 'malformed' });
  const v = await turn(QUESTION);
  failed(v, /Unexpected response from the server/);
  assert.equal((await chats()).length, 1);
});

test('a known event missing its required field', async () => {
  await make();
  await server.fault(script([sse('text_delta', { text: 'Ok so far' }), sse('text_delta', { txt: 'x' }), DONE]));
  const v = await turn(QUESTION);
  failed(v, /^Ok so far\n\nUnexpected response from the server/);
});

test('invalid UTF-8 in a frame: a clear error, no crash', async () => {
  await make();
  const pre = Buffer.from('event: text_delta\ndata: {"text":"bad ');
  const post = Buffer.from('"}\n\n' + DONE);
  await server.fault(script([{ hex: Buffer.concat([Buffer.from(sse('text_delta', { text: 'Good. ' })), pre, Buffer.from([0xff, 0xfe, 0xc3, 0x28]), post]).toString('hex') }]));
  const v = await turn(QUESTION);
  failed(v, /^Good\. \n\nUnexpected response from the server/);
});

test('a huge text delta (4 MB in one event) is shown whole', async () => {
  await make();
  const n = 4 * 1024 * 1024 / 8;
  await server.fault(script([
    'event: text_delta\ndata: {"text":"',
    { text: 'abcdefg ', repeat: n },
    '"}\n\n',
    DONE,
  ]));
  const v = await page.evaluate(async () => {
    H.start('big');
    while (!H.turnDone) await new Promise((r) => setTimeout(r, 50));
    const m = H.agent.getMessages().at(-1);
    return { len: m.content.length, isError: !!m.isError, head: m.content.slice(0, 16), types: H.events.map((e) => e.type) };
  });
  assert.equal(v.isError, false);
  assert.equal(v.len, 4 * 1024 * 1024);
  assert.equal(v.head, 'abcdefg abcdefg ');
  assert.ok(v.types.includes('response_completed'));
});

test('deeply nested JSON (100 000 levels) in a field the agent skips: read without recursion, text kept', async () => {
  await make();
  await server.fault(script([
    sse('text_delta', { text: 'Shallow. ' }),
    'event: text_delta\ndata: {"text":"x","deep":',
    { text: '[', repeat: 100000 },
    { text: ']', repeat: 100000 },
    '}\n\n',
    DONE,
  ]));
  const v = await turn(QUESTION);
  assert.ok(!last(v).isError, 'a valid (if deep) frame is not an error');
  assert.match(last(v).content, /^Shallow\. x/);
  // And the agent still works.
  const v2 = await turn(QUESTION);
  assert.ok(!last(v2).isError);
});

test('deeply nested JSON (100 000 levels) in tool arguments: rejected as malformed, no stack overflow', async () => {
  await make({ tools: ['get_time'] });
  await server.fault(script([
    sse('text_delta', { text: 'Shallow. ' }),
    'event: tool_call\ndata: {"id":"c1","name":"get_time","executor":"client","arguments":{"a":',
    { text: '[', repeat: 100000 },
    { text: ']', repeat: 100000 },
    '}}\n\n',
    DONE,
  ]));
  const v = await turn(QUESTION);
  failed(v, /^Shallow\. \n\nUnexpected response from the server/);
  const v2 = await turn(QUESTION);
  assert.ok(!last(v2).isError);
});

test('duplicate tool call ids: the turn fails, nothing runs', async () => {
  await make({ tools: ['get_time'] });
  const call = { id: 'call_dup', name: 'get_time', arguments: {}, executor: 'client' };
  await server.fault(script([sse('tool_call', call), sse('tool_call', call), sse('requires_action', { tool_call_ids: ['call_dup'] })]));
  const v = await turn(QUESTION);
  failed(v, /Unexpected response from the server/);
  assert.ok(!types(v).includes('tool_executed'));
  assert.equal((await chats()).length, 1, 'no tool_results sent');
});

test('requires_action naming an unknown call id: failure, nothing runs', async () => {
  await make({ tools: ['get_time'] });
  await server.fault(script([
    sse('tool_call', { id: 'call_a', name: 'get_time', arguments: {}, executor: 'client' }),
    sse('requires_action', { tool_call_ids: ['call_nope'] }),
  ]));
  const v = await turn(QUESTION);
  failed(v, /Unexpected response from the server/);
  assert.deepEqual((await calls()).map((c) => c.status), ['error']);
  assert.ok(!types(v).includes('tool_executed'));
  assert.equal((await chats()).length, 1);
});

test('requires_action naming a server call: failure, nothing runs', async () => {
  await make({ tools: ['get_time'] });
  await server.fault(script([
    sse('tool_call', { id: 'call_s', name: 'search_knowledge_base', arguments: { query: 'x' }, executor: 'server' }),
    sse('requires_action', { tool_call_ids: ['call_s'] }),
  ]));
  const v = await turn(QUESTION);
  failed(v, /Unexpected response from the server/);
  assert.equal((await chats()).length, 1);
});

test('a tool_call for an unknown tool and arguments failing the schema: errors sent back, execute never runs', async () => {
  await make({ tools: ['get_time'] });
  await page.evaluate(() => {
    // get_time takes no arguments beyond an optional tz string here.
    H.agent.updateOptions({ tools: [{ name: 'get_time', description: 'qqz', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] }, execute: () => { H.late.ran = true; return 1; } }] });
  });
  await server.fault(script([
    sse('tool_call', { id: 'call_u', name: 'no_such_tool', arguments: {}, executor: 'client' }),
    sse('tool_call', { id: 'call_b', name: 'get_time', arguments: { tz: 7 }, executor: 'client' }),
    sse('requires_action', { tool_call_ids: ['call_u', 'call_b'] }),
  ]));
  await server.fault(script([sse('text_delta', { text: 'Both failed.' }), DONE]));
  const v = await turn(QUESTION);
  completed(v);
  assert.equal(v.late.ran, undefined, 'execute never ran');
  const cs = await calls();
  assert.deepEqual(cs.map((c) => c.status), ['error', 'error']);
  const executed = v.events.filter((e) => e.type === 'tool_executed');
  assert.deepEqual(executed.map((e) => [e.data.toolName, e.data.status, e.data.durationMs]), [['no_such_tool', 'error', 0], ['get_time', 'error', 0]]);
  const log = await chats();
  assert.equal(log.length, 2);
  assert.notEqual(log[0].idempotency_key, log[1].idempotency_key, 'a new logical request');
  const results = log[1].body.input.results;
  assert.deepEqual(results.map((r) => [r.tool_call_id, r.status]), [['call_u', 'error'], ['call_b', 'error']]);
  assert.ok(results.every((r) => typeof r.error === 'string' && r.error.length > 0));
});

// ---------------------------------------------------------------- tools and callbacks

/** A step calling `names` (client tools), then an answer. */
async function toolStep(names, answer = 'Done with tools.') {
  await server.fault(script([
    ...names.map((n, i) => sse('tool_call', { id: `call_${i}`, name: n, arguments: {}, executor: 'client' })),
    sse('requires_action', { tool_call_ids: names.map((_, i) => `call_${i}`) }),
  ]));
  await server.fault(script([sse('text_delta', { text: answer }), DONE]));
}

test('execute throwing a non-Error: String(thrown) is the error, sent back to the model', async () => {
  await make({ tools: ['throws_string', 'throws_object'] });
  await toolStep(['throws_string', 'throws_object']);
  const v = await turn(QUESTION);
  completed(v);
  const cs = await calls();
  assert.deepEqual(cs.map((c) => [c.status, c.error]), [['error', 'plain string failure'], ['error', '[object Object]']]);
  const log = await chats();
  assert.deepEqual(log[1].body.input.results.map((r) => r.error), ['plain string failure', '[object Object]']);
  assert.deepEqual(v.events.filter((e) => e.type === 'tool_executed').map((e) => e.data.status), ['error', 'error']);
});

test('execute returning a function, a cycle, a BigInt: a clear error each, the turn goes on', async () => {
  await make({ tools: ['returns_fn', 'returns_cycle', 'returns_bigint'] });
  await toolStep(['returns_fn', 'returns_cycle', 'returns_bigint']);
  const v = await turn(QUESTION);
  completed(v);
  const cs = await calls();
  assert.deepEqual(cs.map((c) => c.status), ['error', 'error', 'error']);
  assert.match(cs[0].error, /function is not JSON-serialisable/);
  assert.match(cs[1].error, /cyclic structure is not JSON-serialisable/);
  assert.match(cs[2].error, /BigInt is not JSON-serialisable/);
  const log = await chats();
  assert.deepEqual(log[1].body.input.results.map((r) => r.status), ['error', 'error', 'error']);
});

test('execute calling sendMessage (rejects cleanly) and getMessages (works)', async () => {
  await make({ tools: ['reenter_send', 'reenter_get'] });
  await toolStep(['reenter_send', 'reenter_get']);
  const v = await turn(QUESTION);
  completed(v);
  const cs = await calls();
  assert.deepEqual(cs.map((c) => c.status), ['completed', 'completed']);
  assert.equal(cs[0].result.outcome, 'rejected');
  assert.equal(cs[0].result.isError, true);
  assert.equal(cs[1].result.count, 2);
  assert.deepEqual(cs[1].result.roles, ['user', 'assistant']);
  assert.equal(v.messages.filter((m) => m.role === 'user').length, 1, 'the rejected send added nothing');
  assert.equal((await chats()).length, 2);
});

test('execute that never settles: stop still works, the signal aborts, nothing more is sent', async () => {
  await make({ tools: ['never'] });
  await server.fault(script([
    sse('tool_call', { id: 'call_0', name: 'never', arguments: {}, executor: 'client' }),
    sse('requires_action', { tool_call_ids: ['call_0'] }),
  ]));
  await page.evaluate((t) => H.start(t), QUESTION);
  await page.waitForFunction(() => H.calls()[0]?.status === 'executing');
  await page.evaluate(() => H.agent.stopGeneration());
  await page.waitForFunction(() => H.turnDone);
  const v = await view();
  assert.deepEqual((await calls()).map((c) => c.status), ['stopped']);
  assert.equal(v.late.neverAborted, true);
  assert.equal(v.late.neverSignalAborted, true);
  assert.ok(types(v).includes('generation_stopped'));
  assert.deepEqual(v.streaming, [true, false]);
  await sleep(300);
  assert.equal((await chats()).length, 1);
  const v2 = await turn(QUESTION);
  assert.ok(!last(v2).isError);
  assert.equal((await chats()).length, 2);
});

test('callbacks that throw: the agent keeps working and later callbacks still fire', async () => {
  allowPageErrors = true; // a throwing callback may be reported as an uncaught error
  await make({ tools: ['get_time'], callbacksThrow: true });
  await toolStep(['get_time'], 'It is time.');
  const v = await turn(QUESTION);
  completed(v);
  assert.equal(last(v).content, 'It is time.');
  assert.ok(v.callbackThrows >= 6, `${v.callbackThrows} throws`);
  assert.ok(types(v).includes('message_sent') && types(v).includes('tool_executed'));
  const v2 = await turn(QUESTION);
  completed({ ...v2, streaming: v2.streaming.slice(2) });
  assert.equal(v2.messages.length, 4);
  assert.equal((await chats()).length, 3);
  for (const e of captured.errors) assert.ok(!/panic|unreachable|RuntimeError/i.test(e), e);
});

// ---------------------------------------------------------------- stop and reset at every point

const POINTS = {
  'before the token': {
    opts: { token: 'gate' },
    setup: async () => {},
    wait: () => page.waitForFunction(() => H.tokenCalls === 1),
    sentBefore: 0,
    after: async () => { await page.evaluate(() => H.releaseToken()); },
  },
  'during the request (no response yet)': {
    setup: () => server.fault(script([sse('text_delta', { text: 'late' }), DONE], { delay_ms: 1500 })),
    wait: async () => { for (let i = 0; i < 100 && (await server.chats()).length < 1; i++) await sleep(20); },
    sentBefore: 1,
  },
  'mid-stream': {
    setup: () => server.fault(script([sse('text_delta', { text: 'Partial' }), { text: sse('text_delta', { text: ' never shown' }), delay_ms: 1500 }, DONE])),
    wait: () => page.waitForFunction(() => H.agent.getMessages().at(-1)?.content === 'Partial'),
    sentBefore: 1,
    kept: 'Partial',
  },
  'during approval': {
    opts: { tools: ['approve_me'] },
    setup: () => server.fault(script([
      sse('tool_call', { id: 'call_0', name: 'approve_me', arguments: {}, executor: 'client' }),
      sse('requires_action', { tool_call_ids: ['call_0'] }),
    ])),
    wait: () => page.waitForFunction(() => H.calls()[0]?.status === 'approval_requested'),
    sentBefore: 1,
    after: async () => {
      // A late approval does nothing.
      await page.evaluate(() => H.agent.approveToolCall('call_0'));
    },
  },
  'during tool execution': {
    opts: { tools: ['slow'] },
    setup: () => server.fault(script([
      sse('tool_call', { id: 'call_0', name: 'slow', arguments: { ms: 400 }, executor: 'client' }),
      sse('requires_action', { tool_call_ids: ['call_0'] }),
    ])),
    wait: () => page.waitForFunction(() => H.calls()[0]?.status === 'executing'),
    sentBefore: 1,
    after: () => page.waitForFunction(() => H.late.slowFinished === true),
  },
  'between tool round trips': {
    opts: { tools: ['get_time', 'slow'] },
    setup: async () => {
      await server.fault(script([
        sse('tool_call', { id: 'call_0', name: 'get_time', arguments: {}, executor: 'client' }),
        sse('requires_action', { tool_call_ids: ['call_0'] }),
      ]));
      // The second round trip: its answer is slow to come.
      await server.fault(script([
        sse('tool_call', { id: 'call_1', name: 'get_time', arguments: {}, executor: 'client' }),
        sse('requires_action', { tool_call_ids: ['call_1'] }),
      ], { delay_ms: 1500 }));
    },
    wait: async () => { for (let i = 0; i < 100 && (await server.chats()).length < 2; i++) await sleep(20); },
    sentBefore: 2,
  },
};

for (const action of ['stop', 'reset']) {
  for (const [point, p] of Object.entries(POINTS)) {
    test(`${action} ${point}: no further request, no late result, no lost message, sendMessage works after`, async () => {
      await make(p.opts ?? {});
      await p.setup();
      await page.evaluate((t) => H.start(t), QUESTION);
      await p.wait();
      const before = await view();
      await page.evaluate((a) => (a === 'stop' ? H.agent.stopGeneration() : H.agent.resetConversation()), action);
      await page.waitForFunction(() => H.turnDone, null, { timeout: 5000 });
      const atStop = await view();
      assert.equal(atStop.isStreaming, false);
      assert.equal(atStop.streaming.at(-1), false);
      assert.equal(atStop.outcome.resolved, true);
      if (p.after) await p.after();
      await sleep(1800); // longer than any delayed answer or late tool
      const settled = await view();
      seenLogs.push(settled);
      // No late result applied: what the user sees did not change after the stop.
      assert.deepEqual(settled.messages, atStop.messages, 'nothing changed after the stop');
      if (action === 'stop') {
        assert.ok(types(settled).includes('generation_stopped'));
        assert.equal(settled.messages[0].role, 'user', 'the question is kept');
        const a = settled.messages[1];
        if (a) {
          assert.ok(!a.isError, 'a stop is not an error');
          if (p.kept) assert.equal(a.content, p.kept);
          for (const c of a.blocks.flatMap((b) => b.toolCalls ?? [])) assert.ok(['stopped', 'completed'].includes(c.status), c.status);
        }
        assert.ok(settled.messages.length <= 2);
        assert.ok(before.messages.length <= settled.messages.length, 'no lost message');
      } else {
        assert.deepEqual(settled.messages, []);
        assert.ok(types(settled).includes('conversation_reset'));
        assert.ok(!types(settled).includes('generation_stopped'));
      }
      assert.ok(!types(settled).includes('response_error'));
      if (settled.late.slowSignal !== undefined || point === 'during tool execution') {
        assert.equal(settled.late.slowAborted, true, 'the tool saw its signal abort');
      }
      const log = await chats();
      assert.equal(log.length, p.sentBefore, `no further request after the ${action}`);
      // sendMessage works right after.
      await page.evaluate(() => { if (H.tokenMode.value === 'gate') H.tokenMode.value = 'ok'; });
      const v = await turn(QUESTION);
      const m = v.messages.at(-1);
      assert.equal(m.role, 'assistant');
      assert.ok(!m.isError, JSON.stringify(m));
      assert.equal(v.messages.length, action === 'stop' ? settled.messages.length + 2 : 2);
      assert.equal((await chats()).length, p.sentBefore + 1);
    });
  }
}

// ---------------------------------------------------------------- the session token

test('the session token never appears in anything captured', async () => {
  const html = await page.content();
  const n = assertNoToken(captured, { html, seen: seenLogs, requests: await chats() });
  assert.ok(n >= 10, `${n} tokens scanned for`);
});
