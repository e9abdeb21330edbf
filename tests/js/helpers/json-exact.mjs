// Shared by the json-exact*.test.mjs files (issue 11): the comparison of JS values, the
// generators of JSON texts and JS values, and turn helpers.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stream, ev, SSE, RECORD_DELIM } from './mock-server.mjs';
import { makeAgent } from './agent.mjs';

/** How many values each path checks (JSON_EXACT_VALUES, default 100000), PER_TURN a turn. */
export const VALUES = Number(process.env.JSON_EXACT_VALUES || 100_000);
export const PER_TURN = 2500;
export const TURNS = Math.ceil(VALUES / PER_TURN);

// ------------------------------------------------------------------ comparison

/** Same JS value: same types, numbers by Object.is, keys in the same order, deep. */
export function sameJs(a, b, path = '$') {
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

export function assertSame(actual, expected, what) {
  const diff = sameJs(actual, expected);
  if (diff) assert.fail(`${what}: ${diff}`);
}

/** `o[k] = v` as JSON.parse does it: an own data property, even for "__proto__". */
export const put = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });

/** The value with every string (keys too) made well formed, assigned as JS assigns. */
export function wellFormed(v) {
  if (typeof v === 'string') return v.toWellFormed();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(wellFormed);
  const out = {};
  for (const k of Object.keys(v)) put(out, k.toWellFormed(), wellFormed(v[k]));
  return out;
}

/** What a JS value carries as JSON data: undefined members dropped, undefined items null. */
export function carried(v) {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : carried(x)));
  const out = {};
  for (const k of Object.keys(v)) if (v[k] !== undefined) put(out, k, carried(v[k]));
  return out;
}

// ------------------------------------------------------------------ generators

export const hex4 = (u, upper) => {
  const h = u.toString(16).padStart(4, '0');
  return '\\u' + (upper ? h.toUpperCase() : h);
};

/** UTF-16 units with lone surrogates, pairs, controls, quotes, backslashes, non-ASCII. */
export const unitArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }) },
  { weight: 2, arbitrary: fc.constantFrom(0xd83d, 0xde00, 0x22, 0x5c, 0x0a, 0x00, 0x1f, 0x7f, 0xe9, 0x2028, 0xfeff, 0xfffd) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
);
export const unitsArb = fc.array(unitArb, { maxLength: 12 });
export const jsString = (units) => String.fromCharCode(...units);

/** A JSON string literal for these units: raw where JSON allows, else escaped, by `style`. */
export function stringLiteral(units, style) {
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
    // U+241E is the record framing's delimiter: a backend escapes it inside JSON.
    else if (pick % 5 === 0 || u === 0x241e) s += hex4(u, pick % 2 === 1);
    else s += String.fromCharCode(u);
  }
  return s + '"';
}
export const styleArb = fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 6 });
export const stringTextArb = fc.tuple(unitsArb, styleArb).map(([u, st]) => stringLiteral(u, st));

/** Number texts JSON allows, including what JSON.stringify never writes. */
export const digits = (min, max) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
export const numberTextArb = fc.oneof(
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

export const ws = fc.constantFrom('', '', '', ' ', '\n', '\t ', '\r\n');
export const keyTextArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('"0"', '"1"', '"10"', '"2"', '"01"', '"-1"', '"4294967294"', '"4294967295"', '"a"', '"b"', '"__proto__"', '"constructor"', '"1.5"', '""') },
  { weight: 2, arbitrary: stringTextArb },
);

/** JSON text of any value, with whitespace, duplicate keys, every kind of number and string. */
export const { valueText } = fc.letrec((tie) => ({
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
export function keysUnambiguous(keyTexts) {
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
export const jsNumberArb = fc.oneof(
  { weight: 4, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constantFrom(-0, 0, 8, 500000, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0.1, 4.35) },
);
export const { jsValue } = fc.letrec((tie) => ({
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
export function unambiguous(members) {
  const seen = new Map();
  return members.filter(([t]) => {
    const k = JSON.parse(t);
    const w = k.toWellFormed();
    if (seen.has(w) && seen.get(w) !== k) return false;
    seen.set(w, k);
    return true;
  });
}

export const sample = (arb, n, seed) => fc.sample(arb, { numRuns: n, seed });

// ------------------------------------------------------------------ helpers for turns

export const anyObject = { type: 'object' };

export function toolAgent(server, execute) {
  return makeAgent(server, {
    tools: [{ name: 'probe', description: 'probe', parameters: anyObject, execute }],
  });
}

/** A chat stream whose tool_call arguments are this exact JSON text. */
export function rawToolCallStream(argumentsText, id = 'c1', framing = 'sse') {
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

export const finish = () => stream([ev.text('ok'), ev.done('thr_1')]);

