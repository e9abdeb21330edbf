// pkg-template/lib/json.js (imported from the source) against the built-ins it stands for:
// toJsonValue(v) must be JSON.parse(JSON.stringify(v)) — same values, same key order — for
// everything JSON.stringify can write, and an Error saying why for what it silently drops or
// cannot write (functions, symbols, BigInt, cycles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toJsonValue } from '../../pkg-template/lib/json.js';

const same = (v) => {
  const expected = JSON.parse(JSON.stringify(v) ?? 'null');
  const actual = toJsonValue(v);
  assert.deepStrictEqual(actual, expected);
  // deepStrictEqual ignores key order: compare the text too.
  assert.equal(JSON.stringify(actual), JSON.stringify(expected));
};

// Values JSON.stringify writes without dropping anything silently.
const writable = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 4 },
    fc.constantFrom(null, true, false, 0, -0, 1, -1.5, 2 ** 53, 2 ** 53 + 2, 1e21, 1e-7, 5e-324, NaN, Infinity, -Infinity, '', '\u2028', '\ud83d', 'é😀'),
    fc.double(),
    fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('0', '1', '10', '-1', '01', '__proto__', 'b', 'a')), fc.oneof(tie('value'), fc.constant(undefined)), { maxKeys: 5 }),
  ),
})).value;

test('differential: 100,000 generated values come out as JSON.parse(JSON.stringify(v))', () => {
  fc.assert(fc.property(writable, (v) => same(v)), { numRuns: 100_000 });
});

test('fixed cases: -0, undefined members, holes, toJSON, boxed primitives, integer-like keys, __proto__', () => {
  for (const v of [
    -0, undefined, [undefined, () => 1 && undefined], [1, , 3], { a: undefined, b: 1 }, new Date(0), { toJSON: () => 'x' },
    { toJSON: () => undefined }, [new Number(3), new String('s'), new Boolean(false)], { b: 1, 2: 'two', a: 3, 1: 'one' },
    JSON.parse('{"__proto__": {"x": 1}}'), { nested: { deep: [{ x: [] }] } }, 1e400, '\ud83d\ude00',
  ]) {
    if (Array.isArray(v) && typeof v[1] === 'function') continue; // a function: see below
    same(v);
  }
});

test('what JSON cannot hold is an error that says why, not a silent drop', () => {
  const cyc = {};
  cyc.self = cyc;
  const cases = [
    [{ f() {} }, 'a function is not JSON-serialisable'],
    [[Symbol('s')], 'a symbol is not JSON-serialisable'],
    [{ n: 10n }, 'a BigInt is not JSON-serialisable'],
    [cyc, 'a cyclic structure is not JSON-serialisable'],
    [{ toJSON() { throw new Error('nope'); } }, 'toJSON() threw: nope'],
    [{ get bad() { throw new Error('getter'); } }, 'reading "bad" threw: getter'],
  ];
  for (const [v, message] of cases) assert.throws(() => toJsonValue(v), { message });
  let deep = 1;
  for (let i = 0; i < 200; i++) deep = [deep];
  assert.throws(() => toJsonValue(deep), { message: 'value is nested too deeply to be JSON' });
});
