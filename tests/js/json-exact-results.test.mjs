// Issue 11, path 2 (see json-exact.test.mjs): execute results → the request body's output
// (JSON.stringify, byte for byte) and the message's result (the page's value).
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

test(`generated: execute results → request body and message result (${TURNS * PER_TURN} values)`, async () => {
  let values = 0;
  for (let t = 0; t < TURNS; t++) {
    const result = sample(jsValue, PER_TURN, 2000 + t);
    server.reset();
    server.queue('chat', rawToolCallStream('{}'), finish());
    const { agent } = toolAgent(server, () => result);
    await agent.sendMessage('go');
    const req = server.requestsTo('chat')[1];
    // Every byte as JSON.stringify writes it: reading and writing again changes nothing.
    assert.equal(JSON.stringify(JSON.parse(req.rawBody)), req.rawBody, `turn ${t}: body not as JSON.stringify writes it`);
    const output = req.body.input.results[0].output;
    assertSame(output, wellFormed(JSON.parse(JSON.stringify(result))), `turn ${t} wire output`);
    const [call] = toolCallsOf(agent.getMessages().at(-1));
    assertSame(call.result, wellFormed(carried(result)), `turn ${t} message result`);
    values += result.length;
  }
  assert.ok(values >= VALUES, `only ${values} values checked`);
});

