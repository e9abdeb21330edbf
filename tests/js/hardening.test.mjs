// Issue 13: ids from the platform's CSPRNG, timers on the monotonic clock (a wall-clock jump
// neither fires them early nor holds them back), "blank" as JS trim() has it.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'kapa-agent-wasm';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, UUID_RE } from './helpers/agent.mjs';

let server;
before(async () => (server = await startMockServer()));
after(() => server.close());
beforeEach(() => server.reset());

const HOUR = 3_600_000;
const quick = () => stream([ev.start('thr_q'), ev.text('ok'), ev.done('thr_q')]);
const silent = () => stream([ev.start('thr_s')], { keepOpen: true });
const stalled = (agent) => /stalled: no data for/.test(agent.getMessages()[1]?.content ?? '');

/** Date.now() moved by `offsetMs` (the wall clock jumps); restored by the returned function. */
function shiftWallClock(offsetMs) {
  const real = Date.now;
  Date.now = () => real.call(Date) + offsetMs;
  return () => (Date.now = real);
}

// -- randomness ------------------------------------------------------------------------------

test('the Idempotency-Key is a UUID v4 made of crypto.getRandomValues bytes', async () => {
  const real = globalThis.crypto.getRandomValues;
  let calls = 0;
  globalThis.crypto.getRandomValues = function (view) {
    calls++;
    view.fill(0xab);
    return view;
  };
  let agent;
  try {
    ({ agent } = makeAgent(server));
    server.queue('chat', quick());
    await agent.sendMessage('hi');
  } finally {
    globalThis.crypto.getRandomValues = real;
  }
  const key = server.requestsTo('chat')[0].headers['idempotency-key'];
  // Every bit but the version and variant is the CSPRNG's: nothing predictable is mixed in.
  assert.equal(key, 'abababab-abab-4bab-abab-abababababab');
  assert.ok(calls >= 2, `getRandomValues called ${calls} times`);
  agent.free();
});

test('ids differ between agents and requests, and are UUID v4', async () => {
  const keys = [];
  for (let i = 0; i < 3; i++) {
    const { agent } = makeAgent(server);
    server.queue('chat', quick(), quick());
    await agent.sendMessage('a');
    await agent.sendMessage('b');
    agent.free();
  }
  for (const r of server.requestsTo('chat')) keys.push(r.headers['idempotency-key']);
  assert.equal(keys.length, 6);
  assert.equal(new Set(keys).size, 6);
  for (const k of keys) assert.match(k, UUID_RE), assert.equal(k[14], '4');
});

test('without crypto.getRandomValues the constructor throws a clear Error', () => {
  const real = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
  try {
    assert.throws(
      () => new Agent({ projectId: 'p', integrationId: 'i', getSessionToken: () => ({}), onMessagesChange() {}, onStreamingChange() {} }),
      (e) => e instanceof Error && /crypto\.getRandomValues/.test(e.message),
    );
  } finally {
    Object.defineProperty(globalThis, 'crypto', real);
  }
});

// -- two clocks ------------------------------------------------------------------------------

test('a wall clock jumping hours ahead mid-turn fires no timer early', async () => {
  // A waits with a 4 s idle timeout; B's 300 ms timeout wakes the shared timer meanwhile.
  server.queue('chat', silent(), silent());
  const a = makeAgent(server, { idleTimeoutMs: 4000 }).agent;
  const b = makeAgent(server, { idleTimeoutMs: 300 }).agent;
  const pa = a.sendMessage('long wait');
  await waitFor(() => server.requestsTo('chat').length === 1);
  const restore = shiftWallClock(5 * HOUR);
  try {
    await b.sendMessage('short wait');
    assert.ok(stalled(b));
    await sleep(200);
    assert.equal(a.getIsStreaming(), true, 'A timed out early: ' + a.getMessages()[1]?.content);
    a.stopGeneration();
    await pa;
  } finally {
    restore();
    a.free();
    b.free();
  }
});

test('a wall clock jumping hours back mid-turn holds no timer back', async () => {
  server.queue('chat', silent());
  const a = makeAgent(server, { idleTimeoutMs: 600 }).agent;
  const started = performance.now();
  const pa = a.sendMessage('waits');
  await waitFor(() => server.requestsTo('chat').length === 1);
  const restore = shiftWallClock(-5 * HOUR);
  try {
    const timeout = sleep(4000).then(() => 'late');
    assert.notEqual(await Promise.race([pa, timeout]), 'late', 'the idle timeout did not fire');
    const took = performance.now() - started;
    assert.ok(stalled(a), a.getMessages()[1]?.content);
    assert.ok(took >= 550 && took < 3000, `timed out after ${took} ms`);
  } finally {
    restore();
    a.free();
  }
});

// -- JS white space --------------------------------------------------------------------------

// Unicode White_Space, which Rust's char::is_whitespace follows.
const RUST_WHITE_SPACE = [
  ...[9, 10, 11, 12, 13, 0x20, 0x85, 0xa0, 0x1680],
  ...Array.from({ length: 11 }, (_, i) => 0x2000 + i),
  ...[0x2028, 0x2029, 0x202f, 0x205f, 0x3000],
];

test('blank is what trim() says, at every code point where Rust and JS disagree', async () => {
  const jsBlank = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (String.fromCodePoint(cp).trim() === '') jsBlank.push(cp);
  }
  const disagree = [...new Set([...jsBlank, ...RUST_WHITE_SPACE])]
    .filter((cp) => jsBlank.includes(cp) !== RUST_WHITE_SPACE.includes(cp))
    .sort((x, y) => x - y);
  assert.deepEqual(disagree, [0x85, 0xfeff]);
  const { agent, log } = makeAgent(server);
  for (const cp of [...disagree, ...jsBlank]) {
    const text = String.fromCodePoint(cp).repeat(2);
    const blank = text.trim() === '';
    if (!blank) server.queue('chat', quick());
    const before = server.requestsTo('chat').length;
    await agent.sendMessage(text);
    const sent = server.requestsTo('chat').length - before;
    assert.equal(sent, blank ? 0 : 1, `U+${cp.toString(16).padStart(4, '0')}: sent ${sent}`);
    if (!blank) assert.equal(server.requestsTo('chat').at(-1).body.input.content, text, 'sent as given');
  }
  assert.equal(log.messages.length > 0, true);
  agent.free();
});
