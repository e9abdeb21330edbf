// Issue 11, path 3 (see json-exact.test.mjs): text deltas cut at any UTF-16 position,
// inside surrogate pairs too → content (the JS concatenation, made well formed).
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

test(`generated: text deltas cut at any UTF-16 position → content (${TURNS * PER_TURN} strings)`, async () => {
  let values = 0;
  const pieces = fc.tuple(fc.array(unitArb, { maxLength: 16 }), fc.array(fc.nat(), { maxLength: 3 }));
  for (let t = 0; t < TURNS; t++) {
    const deltas = [];
    for (const [units, cuts] of sample(pieces, PER_TURN, 3000 + t)) {
      const s = jsString(units);
      const at = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
      let from = 0;
      for (const c of [...at, s.length]) {
        deltas.push(s.slice(from, c));
        from = c;
      }
    }
    const framing = t % 2 ? 'records' : 'sse';
    server.reset();
    // Record framing cannot carry its delimiter U+241E raw (JSON.stringify leaves it so):
    // those turns send the character next to it instead.
    if (framing === 'records') deltas.forEach((d, i) => (deltas[i] = d.replaceAll('\u241e', '\u241d')));
    server.queue('chat', stream([...deltas.map((d) => ev.text(d)), ev.done('thr_1')], { framing, chunkSize: t % 3 ? 0 : 4096 }));
    const { agent } = makeAgent(server);
    await agent.sendMessage('go');
    const msg = agent.getMessages().at(-1);
    const want = deltas.join('').toWellFormed();
    if (want.length === 0) continue;
    assert.equal(msg.isError, undefined, `turn ${t} failed: ${JSON.stringify(msg.content.slice(-120))}`);
    assert.equal(msg.content, want, `turn ${t} content`);
    assert.equal(msg.blocks.map((b) => b.content).join(''), want, `turn ${t} blocks`);
    values += PER_TURN;
  }
  assert.ok(values >= VALUES * 0.99, `only ${values} strings checked`);
});

