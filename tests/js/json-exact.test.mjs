// Issue 11: JSON exactly as JS writes and reads it, on every path, differentially against
// JSON.parse / JSON.stringify over generated values (fast-check), through real turns on the
// mock server:
//   1. wire → execute arguments and the message's toolCall arguments (JSON.parse of the text)
//   2. execute results → the request body's output (JSON.stringify) and the message's result
//      (the page's value)
//   3. text deltas cut at any UTF-16 position → content (JS concatenation)
// Rust strings cannot hold a lone surrogate: there the expected value is the JS one made
// well formed (String.prototype.toWellFormed, U+FFFD), exact otherwise.
// JSON_EXACT_VALUES (default 100000) sets how many values each path checks.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startMockServer, stream, ev, SSE, RECORD_DELIM } from './helpers/mock-server.mjs';
import { makeAgent, toolCallsOf } from './helpers/agent.mjs';

const VALUES = Number(process.env.JSON_EXACT_VALUES || 100_000);
const PER_TURN = 1000;
const TURNS = Math.ceil(VALUES / PER_TURN);

let server;
before(async () => (server = await startMockServer()));
after(() => server.close());
beforeEach(() => server.reset());

// ------------------------------------------------------------------ comparison

/** Same JS value: same types, numbers by Object.is, keys in the same order, deep. */
function sameJs(a, b, path = '$') {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a === 'number') return Object.is(a, b) ? null : `${path}: ${a} vs ${b}`;
  if (a === null || b === null || typeof a !== 'object') {
    return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const at = ka.findIndex((k, i) => k !== kb[i]);
  if (ka.length !== kb.length || at >= 0) {
    return `${path}: ${ka.length} vs ${kb.length} keys, first difference at ${at}: ${JSON.stringify(ka[at])} vs ${JSON.stringify(kb[at])}`;
  }
  for (const k of ka) {
    const r = sameJs(a[k], b[k], `${path}.${k}`);
    if (r) return r;
  }
  return null;
}

function assertSame(actual, expected, what) {
  const diff = sameJs(actual, expected);
  if (diff) assert.fail(`${what}: ${diff}`);
}

/** `o[k] = v` as JSON.parse does it: an own data property, even for "__proto__". */
const put = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** The value with every string (keys too) made well formed, assigned as JS assigns. */
function wellFormed(v) {
  if (typeof v === 'string') return v.toWellFormed();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(wellFormed);
  const out = {};
  for (const k of Object.keys(v)) put(out, k.toWellFormed(), wellFormed(v[k]));
  return out;
}

/** What a JS value carries as JSON data: undefined members dropped, undefined items null. */
function carried(v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : carried(x)));
  const out = {};
  for (const k of Object.keys(v)) if (v[k] !== undefined) put(out, k, carried(v[k]));
  return out;
}

// ------------------------------------------------------------------ generators

const hex4 = (u, upper) => {
  const h = u.toString(16).padStart(4, '0');
  return '\\u' + (upper ? h.toUpperCase() : h);
};

/** UTF-16 units with lone surrogates, pairs, controls, quotes, backslashes, non-ASCII. */
const unitArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
  { weight: 2, arbitrary: fc.constantFrom(0xd83d, 0xde00, 0x22, 0x5c, 0x0a, 0x00, 0x1f, 0x7f, 0xe9, 0x2028, 0xfeff, 0xfffd) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
const unitsArb = fc.array(unitArb, { maxLength: 12 });
const jsString = (units) => String.fromCharCode(...units);

/** A JSON string literal for these units: raw where JSON allows, else escaped, by `style`. */
function stringLiteral(units, style) {
  let s = '"';
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const pick = style[i % style.length];
    const high = u >= 0xd800 && u < 0xdc00;
    const pair = high && units[i + 1] >= 0xdc00 && units[i + 1] < 0xe000;
    if (pair && pick % 3 === 0) {
      s += String.fromCharCode(u, units[i + 1]); // raw pair (UTF-8 on the wire)
      i++;
    } else if (u >= 0xd800 && u < 0xe000) {
      s += hex4(u, pick % 2 === 1);
    } else if (u === 0x22) s += pick % 2 ? '\\"' : '\\u0022';
    else if (u === 0x5c) s += '\\\\';
    else if (u === 0x2f && pick % 2) s += '\\/';
    else if (u < 0x20) s += u === 0x0a && pick % 2 ? '\\n' : hex4(u, pick % 2 === 1);
    else if (pick % 5 === 0) s += hex4(u, pick % 2 === 1);
    else s += String.fromCharCode(u);
  }
  return s + '"';
}
const styleArb = fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 6 });
const stringTextArb = fc.tuple(unitsArb, styleArb).map(([u, st]) => stringLiteral(u, st));

/** Number texts JSON allows, including what JSON.stringify never writes. */
const digits = (min, max) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
const numberTextArb = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)) },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 2, arbitrary: fc.integer({ min: -1e6, max: 1e6 }).map(String) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.boolean(), fc.oneof(fc.constant('0'), fc.tuple(fc.integer({ min: 1, max: 9 }), digits(0, 25)).map(([a, b]) => `${a}${b}`)), fc.option(digits(1, 25)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 420 }))))
      .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === null ? '' : '.' + frac}${exp === null ? '' : exp[0] + exp[1] + exp[2]}`),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '-0', '0', '-0.0', '0e5', '1e400', '-1e400', '1e-400', '-1e-400', '9007199254740992', '9007199254740993',
      '-9007199254740993', '9007199254740995', '18446744073709551615', '1.7976931348623157e308', '1.7976931348623158e308',
      '1.7976931348623159e308', '5e-324', '2.4703282292062327e-324', '2.4703282292062328e-324', '8', '8.0', '500000',
      '1e21', '1e-7', '4.35', '0.1', '123456789012345680000', '1E+2', '100e-2',
    ),
  },
);

const ws = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');
const keyTextArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"0"', '"1"', '"10"', '"2"', '"01"', '"-1"', '"4294967294"', '"4294967295"', '"a"', '"b"', '"__proto__"', '"constructor"', '"1.5"', '""') },
  { weight: 2, arbitrary: stringTextArb },
);

/** JSON text of any value, with whitespace, duplicate keys, every kind of number and string. */
const { valueText } = fc.letrec((tie) => ({
  valueText: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberTextArb,
    stringTextArb,
    fc.constantFrom('true', 'false', 'null'),
    tie('array'),
    tie('object'),
  ),
  array: fc.tuple(fc.array(fc.tuple(ws, tie('valueText'), ws), { maxLength: 5 }), ws).map(([items, w]) => `[${w}${items.map(([a, v, b]) => a + v + b).join(',')}]`),
  object: fc
    .tuple(fc.array(fc.tuple(keyTextArb, ws, tie('valueText')), { maxLength: 6 }), ws)
    .filter(([members]) => keysUnambiguous(members.map((m) => m[0])))
    .map(([members, w]) => `{${w}${members.map(([k, s, v]) => `${s}${k}${s}:${s}${v}`).join(',')}}`),
}));

/** Two different keys that become one once made well formed would make JSON.parse and a
 *  UTF-8 reader merge duplicates differently; such objects are left out. */
function keysUnambiguous(keyTexts) {
  const seen = new Map();
  for (const t of keyTexts) {
    const k = JSON.parse(t);
    const w = k.toWellFormed();
    if (seen.has(w) && seen.get(w) !== k) return false;
    seen.set(w, k);
  }
  return true;
}

/** JS values as a page's execute returns them: -0, NaN, ±Infinity, undefined, lone surrogates. */
const jsNumberArb = fc.oneof(
  { weight: 4, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(-0, 0, 8, 500000, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0.1, 4.35) },
);
const { jsValue } = fc.letrec((tie) => ({
  jsValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsNumberArb,
    unitsArb.map(jsString),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(fc.oneof({ weight: 9, arbitrary: tie('jsValue') }, { weight: 1, arbitrary: fc.constant(undefined) }), { maxLength: 5 }),
  object: fc
    .array(fc.tuple(fc.oneof(fc.constantFrom('0', '1', '10', '2', '01', 'a', 'b', '4294967295', '-1', '__proto__'), unitsArb.map(jsString)), fc.oneof({ weight: 9, arbitrary: tie('jsValue') }, { weight: 1, arbitrary: fc.constant(undefined) })), { maxLength: 6 })
    .filter((members) => keysUnambiguous(members.map(([k]) => JSON.stringify(k))))
    .map((members) => {
      const o = {};
      for (const [k, v] of members) put(o, k, v);
      return o;
    }),
}));

/** The members whose keys are unambiguous (see keysUnambiguous), in order. */
function unambiguous(members) {
  const seen = new Map();
  return members.filter(([t]) => {
    const k = JSON.parse(t);
    const w = k.toWellFormed();
    if (seen.has(w) && seen.get(w) !== k) return false;
    seen.set(w, k);
    return true;
  });
}

const sample = (arb, n, seed) => fc.sample(arb, { numRuns: n, seed });

// ------------------------------------------------------------------ helpers for turns

const anyObject = { type: 'object' };

function toolAgent(execute) {
  return makeAgent(server, {
    tools: [{ name: 'probe', description: 'probe', parameters: anyObject, execute }],
  });
}

/** A chat stream whose tool_call arguments are this exact JSON text. */
function rawToolCallStream(argumentsText, id = 'c1', framing = 'sse') {
  const content = `{"id":"${id}","name":"probe","executor":"client","arguments":${argumentsText}}`;
  const body =
    framing === 'sse'
      ? // Line breaks in the JSON text (white space) split it over data lines, which SSE
        // joins with \n.
        `event: tool_call\ndata: ${content.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n` +
        `event: requires_action\ndata: {"tool_call_ids":["${id}"]}\n\n`
      : `{"chunk":{"type":"tool_call","content":${content}}}${RECORD_DELIM}{"chunk":{"type":"requires_action","content":{"tool_call_ids":["${id}"]}}}${RECORD_DELIM}`;
  return {
    status: 200,
    headers: { 'content-type': framing === 'sse' ? SSE : 'application/octet-stream' },
    chunks: [Buffer.from(body, 'utf8')],
  };
}

const finish = () => stream([ev.text('ok'), ev.done('thr_1')]);

// ------------------------------------------------------------------ fixed cases (the issue's)

test('fixed: tool results go on the wire as JSON.stringify writes them (8, 500000, -0, 2^53, key order)', async () => {
  const result = { members: 8, limit: 500000, 2: -0, big: 2 ** 53, z: [0.1, 1e21, 1e-7, NaN, Infinity], 10: 'x', b: 1, a: 2 };
  server.queue('chat', rawToolCallStream('{}'), finish());
  const { agent } = toolAgent(() => result);
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
    const { agent } = toolAgent((a) => {
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
  const { agent } = toolAgent(() => undefined);
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
    const { agent } = toolAgent((a) => {
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

test(`generated: execute results → request body and message result (${TURNS * PER_TURN} values)`, async () => {
  let values = 0;
  for (let t = 0; t < TURNS; t++) {
    const result = sample(jsValue, PER_TURN, 2000 + t);
    server.reset();
    server.queue('chat', rawToolCallStream('{}'), finish());
    const { agent } = toolAgent(() => result);
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
    server.queue('chat', stream([...deltas.map((d) => ev.text(d)), ev.done('thr_1')], { framing, chunkSize: t % 3 ? 0 : 4096 }));
    const { agent } = makeAgent(server);
    await agent.sendMessage('go');
    const msg = agent.getMessages().at(-1);
    const want = deltas.join('').toWellFormed();
    if (want.length === 0) continue;
    assert.equal(msg.isError, undefined, `turn ${t} failed: ${msg.content}`);
    assert.equal(msg.content, want, `turn ${t} content`);
    assert.equal(msg.blocks.map((b) => b.content).join(''), want, `turn ${t} blocks`);
    values += PER_TURN;
  }
  assert.ok(values >= VALUES * 0.99, `only ${values} strings checked`);
});
