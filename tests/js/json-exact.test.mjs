// Issue 11: JSON exactly as JS writes and reads it, on every path, differentially against
// JSON.parse / JSON.stringify over generated values (fast-check), through real turns on the
// mock server:
//   1. wire → execute arguments and the message's toolCall arguments (JSON.parse of the text)
//   2. execute results → the request body's output (JSON.stringify) and the message's result
//      (the page's value)
//   3. text deltas cut at any UTF-16 position → content (JS concatenation)
// Rust strings cannot hold a lone surrogate: there the expected value is the JS one made
// well formed (String.prototype.toWellFormed, U+FFFD), exact otherwise.
// JSON_EXACT_VALUES (default 100000) sets how many values each path checks. The paths are
// three files (this one, json-exact-results, json-exact-text), so that each stays well
// inside the runner's 60 s per file; the generators are in helpers/json-exact.mjs.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, toolCallsOf } from './helpers/agent.mjs';
import {
  VALUES, PER_TURN, TURNS, assertSame, wellFormed, carried, unambiguous, sample, keyTextArb, valueText,
  jsValue, unitArb, jsString, toolAgent, rawToolCallStream, finish,
} from './helpers/json-exact.mjs';

let server;
before(async () => (server = await startMockServer()));
after(() => server.close());
beforeEach(() => server.reset());

// ------------------------------------------------------------------ fixed cases (the issue's)

test('fixed: tool results go on the wire as JSON.stringify writes them (8, 500000, -0, 2^53, key order)', async () => {
  const result = { members: 8, limit: 500000, 2: -0, big: 2 ** 53, z: [0.1, 1e21, 1e-7, NaN, Infinity], 10: 'x', b: 1, a: 2 };
  server.queue('chat', rawToolCallStream('{}'), finish());
  const { agent } = toolAgent(server, () => result);
  await agent.sendMessage('go');
  const raw = server.requestsTo('chat')[1].rawBody;
  assert.ok(
    raw.includes(`"output":${JSON.stringify(result)}`),
    `body ${raw} lacks ${JSON.stringify(result)}`,
  );
  assert.ok(raw.includes('"output":{"2":0,"10":"x","members":8,"limit":500000,"big":9007199254740992,'), raw);
  const [call] = toolCallsOf(agent.getMessages().at(-1));
  assertSame(call.result, result, 'message result keeps the page value (-0, NaN, Infinity)');
});

test('fixed: wire arguments are read as JSON.parse reads them (-0, 1e400, 2^53+1, key order, lone surrogates)', async () => {
  const text = '{"b":1,"1":8.0,"a":-0,"0":1e400,"big":9007199254740993,"tiny":-1e-400,"s":"\\ud83d!","b":2,"10":500000}';
  for (const args of [text, JSON.stringify(text)]) {
    server.reset();
    server.queue('chat', rawToolCallStream(args), finish());
    let seen;
    const { agent } = toolAgent(server, (a) => {
      seen = a;
      return null;
    });
    await agent.sendMessage('go');
    const expected = wellFormed(JSON.parse(text));
    assert.deepEqual(Object.keys(expected), ['0', '1', '10', 'b', 'a', 'big', 'tiny', 's']);
    assertSame(seen, expected, 'execute arguments');
    assertSame(toolCallsOf(agent.getMessages().at(-1))[0].arguments, expected, 'message arguments');
    assert.ok(Object.is(seen.a, -0) && seen[0] === Infinity && Object.is(seen.tiny, -0) && seen.big === 2 ** 53);
  }
});

test('fixed: a surrogate pair split over two text deltas joins (SSE and record framing)', async () => {
  for (const framing of ['sse', 'records']) {
    server.reset();
    server.queue('chat', stream([ev.text('a\ud83d'), ev.text('\ude00b'), ev.text('\ud83d'), ev.done('thr_1')], { framing }));
    const { agent } = makeAgent(server);
    await agent.sendMessage('go');
    const msg = agent.getMessages().at(-1);
    assert.equal(msg.isError, undefined, `turn failed: ${msg.content}`);
    assert.equal(msg.content, 'a😀b\ufffd');
    assert.equal(msg.blocks[0].content, 'a😀b\ufffd');
  }
});

test('fixed: a call whose execute resolved undefined has no result; the wire sends null', async () => {
  server.queue('chat', rawToolCallStream('{}'), finish());
  const { agent } = toolAgent(server, () => undefined);
  await agent.sendMessage('go');
  const raw = server.requestsTo('chat')[1].rawBody;
  assert.ok(raw.includes('{"tool_call_id":"c1","status":"completed","output":null}'), raw);
  const [call] = toolCallsOf(agent.getMessages().at(-1));
  assert.equal(call.status, 'completed');
  assert.ok(!('result' in call), `result present: ${JSON.stringify(call)}`);
  for (const [k, v] of Object.entries(call)) assert.notEqual(v, undefined, `${k} is undefined`);
});

// ------------------------------------------------------------------ generated, per path

test(`generated: wire → execute arguments and message arguments (${TURNS * PER_TURN} values)`, async () => {
  let values = 0;
  for (let t = 0; t < TURNS; t++) {
    // One object of PER_TURN members; keys repeat and include index keys.
    const members = unambiguous(sample(fc.tuple(keyTextArb, valueText), PER_TURN, 1000 + t));
    const text = `{${members.map(([k, v]) => `${k}:${v}`).join(',')}}`;
    const framing = t % 2 ? 'records' : 'sse';
    // Half of the turns send the arguments as a string holding the JSON text.
    const argsText = t % 4 < 2 ? text : JSON.stringify(text);
    server.reset();
    server.queue('chat', rawToolCallStream(argsText, 'c1', framing), finish());
    let seen;
    const { agent } = toolAgent(server, (a) => {
      seen = a;
      return 1;
    });
    await agent.sendMessage('go');
    const msg = agent.getMessages().at(-1);
    assert.equal(msg.isError, undefined, `turn ${t} failed: ${msg.content}\n${text.slice(0, 300)}`);
    const expected = wellFormed(JSON.parse(text));
    assertSame(seen, expected, `turn ${t} execute arguments`);
    assertSame(toolCallsOf(msg)[0].arguments, expected, `turn ${t} message arguments`);
    values += members.length;
  }
  assert.ok(values >= VALUES * 0.95, `only ${values} values checked`);
});

