// Differential test of pkg-template/lib/zod3.js (our dependency-free Zod 3 → JSON Schema converter)
// against its oracle, zod-to-json-schema 3.25 called as `zodToJsonSchema(schema, { $refStrategy:
// 'none' })` without its top-level `$schema`: a fixed corpus of named schemas, the divergences
// the converter's header comment accepts, and a fast-check property over random nested Zod 3
// schemas. Outputs must be deep-equal and serialise to the same JSON text (key order too).
// Imports the source module, so it needs no package build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z, ZodFirstPartyTypeKind } from 'zod3';
import { z as zv3, ZodFirstPartyTypeKind as KindSeenByOracle } from 'zod/v3';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { zod3ToJsonSchema } from '../../pkg-template/lib/zod3.js';
import { toJsonSchema, registerZodToJsonSchema } from '../../pkg-template/lib/schemas.js';

const PROPERTY_RUNS = 2500;

function oracle(schema) {
  const warn = console.warn;
  console.warn = () => {}; // its "Recursive reference detected" notes
  try {
    const { $schema, ...rest } = zodToJsonSchema(schema, { $refStrategy: 'none' });
    assert.equal($schema, 'http://json-schema.org/draft-07/schema#');
    return rest;
  } finally {
    console.warn = warn;
  }
}

function assertSame(schema, label = '') {
  const want = oracle(schema);
  const got = zod3ToJsonSchema(schema);
  assert.deepStrictEqual(got, want, label);
  assert.equal(JSON.stringify(got), JSON.stringify(want), `${label}: same JSON text, key order included`);
}

// ---------------------------------------------------------------- the oracle sees Zod 3

test('the oracle reads zod3-alias schemas as Zod 3', () => {
  // zod-to-json-schema imports `zod/v3` (here from zod 4's package) only for the type-name
  // constants; they must be the ones the zod3 alias writes into `_def.typeName`.
  assert.deepEqual({ ...KindSeenByOracle }, { ...ZodFirstPartyTypeKind });
  const build = (z) =>
    z.object({
      s: z.string().min(1).email(),
      n: z.number().int().optional(),
      u: z.union([z.literal('a'), z.literal('b')]),
      o: z.object({ d: z.date() }).strict().nullable(),
      r: z.record(z.enum(['x', 'y']), z.boolean()),
    });
  const fromAlias = oracle(build(z));
  assert.deepStrictEqual(fromAlias, oracle(build(zv3)));
  assert.deepStrictEqual(fromAlias.required, ['s', 'u', 'o', 'r']);
  assert.deepStrictEqual(fromAlias.properties.n, { type: 'integer' });
});

// ---------------------------------------------------------------- fixed corpus

const NumericEnum = { Up: 0, Down: 1, 0: 'Up', 1: 'Down' }; // TypeScript's output for `enum { Up, Down }`
const StringEnum = { A: 'a', B: 'b' };
const MixedEnum = { A: 'a', B: 2, 2: 'B' };

const shared = z.string().min(3);
const Tree = z.lazy(() => z.object({ name: z.string(), children: z.array(Tree) }));
const Node = z.object({ value: z.number(), next: z.lazy(() => Node).optional() });
const Json = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(Json), z.record(Json)]));

const CORPUS = {
  // objects
  'object': () => z.object({ a: z.string(), b: z.number() }),
  'object, empty': () => z.object({}),
  'object, strict': () => z.object({ a: z.string() }).strict(),
  'object, passthrough': () => z.object({ a: z.string() }).passthrough(),
  'object, catchall': () => z.object({ a: z.string() }).catchall(z.number()),
  'object, catchall with checks and description': () => z.object({}).catchall(z.string().min(1).describe('extra')),
  'object, all optional': () => z.object({ a: z.string().optional(), b: z.number().optional() }),
  'object, partial / required': () => z.object({ a: z.string(), b: z.number() }).partial().required({ a: true }),
  'object, extend / merge / pick / omit': () =>
    z.object({ a: z.string(), b: z.number() }).extend({ c: z.boolean() }).merge(z.object({ d: z.null() })).omit({ b: true }).pick({ a: true, c: true, d: true }),
  'object, nested three levels': () => z.object({ a: z.object({ b: z.object({ c: z.string().describe('deep') }).strict() }) }),
  'object, odd keys': () => z.object({ 'a,b': z.string().optional(), '': z.number(), 'with space': z.boolean(), __proto: z.null() }),
  // strings
  'string': () => z.string(),
  'string, min / max': () => z.string().min(2).max(10),
  'string, length': () => z.string().length(5),
  'string, min, length, max (tightest wins)': () => z.string().min(7).length(5).max(9).min(3),
  'string, nonempty': () => z.string().nonempty(),
  'string, email': () => z.string().email(),
  'string, url': () => z.string().url(),
  'string, uuid': () => z.string().uuid(),
  'string, regex with flags': () => z.string().regex(/^[a-z]+\/\d$/i),
  'string, startsWith (escaping, w and W)': () => z.string().startsWith('a/b w.W-1'),
  'string, endsWith': () => z.string().endsWith('.json'),
  'string, includes': () => z.string().includes('x y', { position: 2 }),
  'string, empty startsWith / includes': () => z.string().startsWith('').includes(''),
  'string, datetime': () => z.string().datetime({ offset: true, precision: 3 }),
  'string, date / time / duration': () => z.object({ d: z.string().date(), t: z.string().time(), u: z.string().duration() }),
  'string, ip (any, v4, v6)': () => z.tuple([z.string().ip(), z.string().ip({ version: 'v4' }), z.string().ip({ version: 'v6' })]),
  'string, base64': () => z.string().base64().min(4),
  'string, three formats (anyOf)': () => z.string().email().uuid().url(),
  'string, three patterns (allOf)': () => z.string().regex(/a/).startsWith('b').endsWith('c'),
  'string, transforms only': () => z.string().trim().toLowerCase().toUpperCase(),
  'string, coerce': () => z.coerce.string().max(3),
  'string, with message options': () => z.string().min(1, { message: 'required' }).email('bad email'),
  // numbers
  'number': () => z.number(),
  'number, int': () => z.number().int(),
  'number, gte / lte': () => z.number().gte(1).lte(9),
  'number, gt / lt': () => z.number().gt(1).lt(9),
  'number, multipleOf / step': () => z.object({ m: z.number().multipleOf(0.5), s: z.number().step(3) }),
  'number, signs': () =>
    z.tuple([z.number().positive(), z.number().negative(), z.number().nonnegative(), z.number().nonpositive()]),
  'number, safe / finite': () => z.number().safe().finite(),
  'number, repeated bounds (last wins)': () => z.number().min(1).min(5).max(3).gt(0).int(),
  'number, coerce': () => z.coerce.number().int().min(0),
  // scalars, enums, literals
  'boolean': () => z.boolean(),
  'null': () => z.null(),
  'any / unknown': () => z.object({ a: z.any(), u: z.unknown() }),
  'undefined / never / nan': () => z.object({ u: z.undefined(), n: z.never(), x: z.nan() }),
  'date / coerce date with min': () => z.object({ d: z.date(), c: z.coerce.date().min(new Date(0)) }),
  'enum': () => z.enum(['red', 'green', 'blue']),
  'native enum, numeric': () => z.nativeEnum(NumericEnum),
  'native enum, string': () => z.nativeEnum(StringEnum),
  'native enum, mixed': () => z.nativeEnum(MixedEnum),
  'literals': () =>
    z.object({ s: z.literal('x'), n: z.literal(3), b: z.literal(false), nul: z.literal(null), u: z.literal(undefined) }),
  // arrays, tuples
  'array': () => z.array(z.string()),
  'array, min / max': () => z.string().array().min(1).max(3),
  'array, length / nonempty': () => z.object({ l: z.array(z.number()).length(2), n: z.array(z.boolean()).nonempty() }),
  'array of any / unknown': () => z.object({ a: z.array(z.any()), u: z.array(z.unknown()), d: z.array(z.any().describe('x')) }),
  'tuple': () => z.tuple([z.string(), z.number()]),
  'tuple, rest': () => z.tuple([z.string()]).rest(z.number().int()),
  'tuple, empty': () => z.tuple([]),
  // unions
  'union of primitives': () => z.union([z.string(), z.number(), z.string(), z.null()]),
  'union of one primitive twice': () => z.union([z.boolean(), z.boolean()]),
  'union with checks → anyOf': () => z.union([z.string().min(1), z.number()]),
  'union via .or': () => z.string().or(z.object({ a: z.number() })),
  'union of literals': () => z.union([z.literal('a'), z.literal(1), z.literal(true), z.literal(null), z.literal('a')]),
  'union of literals, one described → anyOf': () => z.union([z.literal('a'), z.literal('b').describe('bee')]),
  'union of literals with undefined → anyOf': () => z.union([z.literal('a'), z.literal(undefined)]),
  'union of enums (duplicates)': () => z.union([z.enum(['a', 'b']), z.enum(['b', 'c'])]),
  'union of enums, one with a repeated value (kept)': () => z.union([z.enum(['a', 'a']), z.enum(['a', 'b'])]),
  'union of described primitives (descriptions dropped)': () => z.union([z.string().describe('s'), z.number()]),
  'discriminated union': () =>
    z.discriminatedUnion('type', [
      z.object({ type: z.literal('a'), a: z.string() }),
      z.object({ type: z.literal('b'), b: z.number().optional() }).strict(),
    ]),
  // optional, nullable, default
  'optional at the root': () => z.string().optional(),
  'optional in an array / union': () => z.object({ a: z.array(z.string().optional()), u: z.union([z.number().optional(), z.null()]) }),
  'optional twice, optional under default / brand / lazy': () =>
    z.object({
      a: z.string().optional().optional(),
      b: z.string().optional().default('x'),
      c: z.number().optional().brand('B'),
      d: z.lazy(() => z.boolean().optional()),
    }),
  'nullable': () => z.object({ s: z.string().nullable(), o: z.object({ a: z.number() }).nullable(), c: z.string().min(1).nullable() }),
  'nullable of null / boolean': () => z.tuple([z.null().nullable(), z.boolean().nullable()]),
  'nullish': () => z.object({ a: z.string().nullish(), b: z.number().int().nullish() }),
  'optional then nullable at a property': () => z.object({ a: z.string().optional().nullable() }),
  'default': () =>
    z.object({
      s: z.string().default('x'),
      o: z.object({ a: z.number() }).default({ a: 1 }),
      f: z.array(z.number()).default(() => [1, 2]),
      d: z.string().describe('inner').default('y').describe('outer'),
      n: z.number().default(1).default(2),
    }),
  // records
  'record': () => z.record(z.number()),
  'record, string key with checks': () => z.record(z.string().min(2).regex(/^k/).describe('key'), z.boolean()),
  'record, enum key': () => z.record(z.enum(['a', 'b']), z.string()),
  'record, branded key with checks': () => z.record(z.string().max(5).describe('key').brand('K'), z.number()),
  'record, branded key without checks / number key': () => z.object({ b: z.record(z.string().brand('K'), z.null()), n: z.record(z.number(), z.string()) }),
  'record of objects': () => z.record(z.object({ a: z.string().optional() })),
  // descriptions
  'default undefined': () => z.object({ a: z.string().optional().default(undefined) }),
  'descriptions': () =>
    z.object({
      a: z.string().describe('a string'),
      b: z.number().optional().describe('maybe a number'),
      c: z.array(z.string().describe('item')).describe('list'),
      d: z.string().describe('first').describe('second'),
      e: z.enum(['x']).describe(''),
    }).describe('the parameters'),
  'description JSON text is not parsed': () => z.string().describe('{"type":"number"}'),
  // effects and wrappers
  'refine / superRefine': () =>
    z.object({ a: z.string().refine((v) => v.length > 1), b: z.number().superRefine(() => {}) }).refine(() => true),
  'transform': () => z.object({ a: z.string().transform((v) => v.length).describe('length') }),
  'preprocess': () => z.object({ a: z.preprocess((v) => String(v), z.string().min(1)) }),
  'preprocess filling undefined (not required)': () => z.object({ a: z.preprocess((v) => v ?? 'x', z.string()) }),
  'refine that rejects undefined on an optional (required)': () => z.object({ a: z.string().optional().refine((v) => v !== undefined) }),
  'refine that throws on undefined (not required)': () => z.object({ a: z.string().refine((v) => v.length > 0) , b: z.string().optional().refine((v) => v.length > 0) }),
  'branded / readonly / catch / promise': () =>
    z.object({ b: z.string().brand('B'), r: z.array(z.number()).readonly(), c: z.number().catch(0), p: z.promise(z.boolean()) }),
  'pipeline': () => z.object({ p: z.string().pipe(z.coerce.number().int()), q: z.string().transform(Number).pipe(z.number()) }),
  'intersection of objects': () => z.object({ a: z.string() }).and(z.object({ b: z.number() }).passthrough()),
  'intersection, nested (allOf merged)': () => z.intersection(z.object({ a: z.string() }), z.object({ b: z.string() })).and(z.object({ c: z.null() }).strict()),
  'intersection of a pipeline and a string with patterns': () => z.string().pipe(z.string()).and(z.string().regex(/a/).regex(/b/)),
  // nesting, sharing, recursion
  'shared instance in siblings': () => z.object({ a: shared, b: z.array(shared), c: z.tuple([shared, shared]) }),
  'lazy, not recursive': () => z.object({ a: z.lazy(() => z.string().describe('lazy')) }),
  'lazy, recursive tree': () => Tree,
  'lazy, recursive through an object': () => Node,
  'lazy, recursive JSON value': () => z.object({ value: Json }),
  'a realistic tool': () =>
    z.object({
      query: z.string().min(1).max(500).describe('What to search for'),
      limit: z.number().int().min(1).max(50).default(10),
      sources: z.array(z.enum(['docs', 'blog', 'forum'])).nonempty().optional(),
      filters: z
        .object({
          after: z.string().datetime().optional(),
          language: z.union([z.literal('en'), z.literal('de'), z.literal('fr')]).nullable(),
          tags: z.record(z.string()).optional(),
        })
        .strict()
        .optional(),
      mode: z.discriminatedUnion('kind', [
        z.object({ kind: z.literal('exact'), field: z.string() }),
        z.object({ kind: z.literal('fuzzy'), distance: z.number().int().nonnegative() }),
      ]),
    }),
};

test(`fixed corpus: ${Object.keys(CORPUS).length} schemas match zod-to-json-schema`, async (t) => {
  assert.ok(Object.keys(CORPUS).length >= 60);
  for (const [name, make] of Object.entries(CORPUS)) {
    await t.test(name, () => assertSame(make(), name));
  }
});

test('the recursive cases really recurse into `{}`', () => {
  assert.deepStrictEqual(zod3ToJsonSchema(Tree).properties.children, { type: 'array', items: {} });
  assert.deepStrictEqual(zod3ToJsonSchema(Node).properties.next, {});
});

// ---------------------------------------------------------------- accepted divergences

test('divergence 1: pattern-only string checks add no pattern', () => {
  const cases = [
    [z.string().cuid(), { type: 'string' }],
    [z.string().cuid2().min(1), { type: 'string', minLength: 1 }],
    [z.string().ulid(), { type: 'string' }],
    [z.string().nanoid(), { type: 'string' }],
    [z.string().jwt(), { type: 'string' }],
    [z.string().base64url(), { type: 'string' }],
    [z.string().cidr(), { type: 'string' }],
    [z.string().emoji().describe('e'), { type: 'string', description: 'e' }],
    [z.string().ulid().regex(/x/).startsWith('y'), { type: 'string', allOf: [{ pattern: 'x' }, { pattern: '^y' }] }],
  ];
  for (const [schema, want] of cases) {
    assert.deepStrictEqual(zod3ToJsonSchema(schema), want);
    assert.ok(JSON.stringify(oracle(schema)).includes('pattern'), 'the oracle writes a pattern here');
  }
});

test('divergence 2: types no JSON argument can satisfy throw an Error naming the type', () => {
  const cases = [
    ['ZodBigInt', z.bigint()],
    ['ZodMap', z.map(z.string(), z.number())],
    ['ZodSet', z.object({ s: z.set(z.string()) })],
    ['ZodFunction', z.object({ f: z.function() })],
    ['ZodVoid', z.array(z.void())],
    ['ZodSymbol', z.union([z.string().min(1), z.symbol()])],
    ['ZodBigInt', z.object({ a: z.object({ b: z.bigint().optional() }) })],
    ['undefined', { _def: {}, safeParse() {} }],
  ];
  for (const [type, schema] of cases) {
    assert.throws(() => zod3ToJsonSchema(schema), (e) => e instanceof Error && e.message.includes(`Zod 3 type ${type} is not supported`), type);
  }
  // as in zod-to-json-schema: bigint inside a union of primitives or under .nullable()
  assertSame(z.union([z.bigint(), z.string()]));
  assertSame(z.bigint().nullable());
});

test('divergence 3: a lazy returning itself gives {} (zod-to-json-schema overflows)', () => {
  const Self = z.lazy(() => Self);
  assert.deepStrictEqual(zod3ToJsonSchema(z.object({ a: Self })).properties.a, {});
});

// ---------------------------------------------------------------- the package's wiring

test('lib/schemas.js converts Zod 3 with zod3.js, with no peer registered', () => {
  // zod-to-json-schema's converter, as pages registered it before: no longer used for Zod 3.
  registerZodToJsonSchema(function zodToJsonSchema() {
    return { type: 'string', wrong: true };
  });
  const schema = z.object({ city: z.string(), n: z.number().int().optional() });
  assert.deepStrictEqual(toJsonSchema(schema), zod3ToJsonSchema(schema));
  assert.deepStrictEqual(toJsonSchema(schema), oracle(schema));
  assert.throws(() => toJsonSchema(z.object({ m: z.map(z.string(), z.string()) })), /Zod 3 type ZodMap is not supported/);
  const plain = { type: 'object', properties: {} };
  assert.equal(toJsonSchema(plain), plain);
});

test("Zod 3's ~standard.validate, which driver.rs calls on a tool's arguments, is there and parses", async () => {
  // lib/options.js keeps `parameters` when `parameters['~standard'].validate` is a function; before
  // `execute`, driver.rs calls it (this = the ~standard object), awaits a promise, and turns
  // `issues` into "Invalid arguments for tool …: path: message" or passes `value` on.
  const schema = z.object({ city: z.string().transform((s) => s.toUpperCase()), n: z.number().int().default(1) });
  const std = schema['~standard'];
  assert.equal(std.vendor, 'zod');
  assert.equal(typeof std.validate, 'function');
  assert.deepStrictEqual(std.validate.call(std, { city: 'oslo' }), { value: { city: 'OSLO', n: 1 } });
  const bad = std.validate.call(std, { city: 'oslo', n: 1.5 });
  assert.deepStrictEqual(bad.issues.map((i) => [i.path, typeof i.message]), [[['n'], 'string']]);
  const slow = z.object({ a: z.string().refine(async (v) => v === 'ok', 'not ok') })['~standard'];
  assert.deepStrictEqual((await slow.validate.call(slow, { a: 'no' })).issues.map((i) => i.message), ['not ok']);
});

// ---------------------------------------------------------------- property test

const KEYS = ['a', 'b', 'c', 'id', 'w-x', 'a,b', 'kind2', ''];
const word = fc.constantFrom('a', 'b', 'x', 'yes', 'w', 'a.b', 'é', '');
const int = fc.integer({ min: -5, max: 20 });

const stringCheck = fc.oneof(
  fc.record({ c: fc.constantFrom('min', 'max', 'length'), n: fc.nat(12) }),
  fc.record({ c: fc.constantFrom('email', 'url', 'uuid', 'datetime', 'date', 'time', 'duration', 'base64', 'trim', 'toLowerCase', 'nonempty') }),
  fc.record({ c: fc.constant('ip'), version: fc.constantFrom(undefined, 'v4', 'v6') }),
  fc.record({ c: fc.constantFrom('startsWith', 'endsWith', 'includes'), v: word }),
  fc.record({ c: fc.constant('regex'), v: fc.constantFrom('^a$', '[0-9]+', 'a|b', '\\d{2}') }),
);
const numberCheck = fc.oneof(
  fc.record({ c: fc.constantFrom('int', 'positive', 'negative', 'nonnegative', 'nonpositive', 'finite', 'safe') }),
  fc.record({ c: fc.constantFrom('min', 'max', 'gt', 'lt', 'gte', 'lte', 'multipleOf'), n: int }),
);
const literalValue = fc.oneof(word, int, fc.boolean(), fc.constant(null));

const leaf = fc.oneof(
  fc.record({ k: fc.constant('string'), checks: fc.array(stringCheck, { maxLength: 4 }) }),
  fc.record({ k: fc.constant('number'), checks: fc.array(numberCheck, { maxLength: 3 }) }),
  fc.record({ k: fc.constantFrom('boolean', 'null', 'any', 'unknown', 'date', 'undefined', 'never', 'nan') }),
  fc.record({ k: fc.constant('enum'), values: fc.uniqueArray(word, { minLength: 1, maxLength: 4 }) }),
  fc.record({ k: fc.constant('nativeEnum'), e: fc.constantFrom('numeric', 'string', 'mixed') }),
  fc.record({ k: fc.constant('literal'), v: literalValue }),
);

const WRAPPERS = ['optional', 'nullable', 'nullish', 'default', 'describe', 'refine', 'refineDefined', 'transform',
  'preprocess', 'brand', 'readonly', 'catch', 'lazy', 'promise', 'array', 'arrayMin', 'arrayMax', 'arrayLength', 'nonempty'];

const w = (weight, arbitrary) => ({ weight, arbitrary });
const { node, composite } = fc.letrec((tie) => ({
  node: fc.oneof({ maxDepth: 6, depthIdentifier: 'node', depthSize: 'large' }, w(1, leaf), w(2, tie('composite'))),
  composite: fc.oneof(
    w(8, fc.record({ k: fc.constant('wrap'), w: fc.constantFrom(...WRAPPERS), inner: tie('node'), n: fc.nat(4), text: word, dflt: fc.jsonValue({ maxDepth: 1 }) })),
    w(4, fc.record({
      k: fc.constant('object'),
      props: fc.uniqueArray(fc.tuple(fc.constantFrom(...KEYS), tie('node')), { maxLength: 4, selector: (p) => p[0] }),
      mode: fc.constantFrom('strip', 'strict', 'passthrough', 'catchall'),
      catchall: tie('node'),
      share: fc.boolean(),
    })),
    w(1, fc.record({ k: fc.constant('tuple'), items: fc.array(tie('node'), { maxLength: 3 }), rest: fc.option(tie('node'), { nil: undefined }) })),
    w(2, fc.record({ k: fc.constant('union'), options: fc.array(tie('node'), { minLength: 2, maxLength: 4 }) })),
    w(1, fc.record({ k: fc.constant('literalUnion'), values: fc.array(literalValue, { minLength: 2, maxLength: 4 }), described: fc.boolean() })),
    w(1, fc.record({ k: fc.constant('enumUnion'), values: fc.array(fc.array(word, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 }) })),
    w(1, fc.record({ k: fc.constant('primitiveUnion'), types: fc.array(fc.constantFrom('string', 'number', 'boolean', 'null'), { minLength: 2, maxLength: 4 }) })),
    w(1, fc.record({
      k: fc.constant('discriminated'),
      options: fc.array(fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c'), tie('node')), { maxLength: 2, selector: (p) => p[0] }), { minLength: 1, maxLength: 3 }),
    })),
    w(1, fc.record({ k: fc.constantFrom('pipe', 'and'), a: tie('node'), b: tie('node') })),
    w(1, fc.record({ k: fc.constant('record'), key: fc.constantFrom('none', 'string', 'checked', 'enum', 'branded', 'brandedChecked'), value: tie('node') })),
    w(1, fc.record({ k: fc.constant('recursive'), inner: tie('node') })),
  ),
}));

const ENUMS = { numeric: NumericEnum, string: StringEnum, mixed: MixedEnum };

function build(r) {
  switch (r.k) {
    case 'string': {
      let s = z.string();
      for (const c of r.checks) {
        if (c.c === 'ip') s = s.ip(c.version && { version: c.version });
        else if (c.c === 'regex') s = s.regex(new RegExp(c.v));
        else if ('n' in c) s = s[c.c](c.n);
        else if ('v' in c) s = s[c.c](c.v);
        else s = s[c.c]();
      }
      return s;
    }
    case 'number': {
      let s = z.number();
      for (const c of r.checks) s = 'n' in c ? s[c.c](c.c === 'multipleOf' && c.n === 0 ? 1 : c.n) : s[c.c]();
      return s;
    }
    case 'enum':
      return z.enum(r.values);
    case 'nativeEnum':
      return z.nativeEnum(ENUMS[r.e]);
    case 'literal':
      return z.literal(r.v);
    case 'object': {
      const shape = Object.fromEntries(r.props.map(([k, v]) => [k, build(v)]));
      if (r.share && r.props.length) shape.shared = shape[r.props[0][0]];
      const o = z.object(shape);
      return r.mode === 'catchall' ? o.catchall(build(r.catchall)) : r.mode === 'strip' ? o : o[r.mode]();
    }
    case 'wrap': {
      const i = build(r.inner);
      switch (r.w) {
        case 'default': return i.default(r.dflt);
        case 'describe': return i.describe(r.text || 'd');
        case 'refine': return i.refine(() => true);
        case 'refineDefined': return i.refine((v) => v !== undefined);
        case 'transform': return i.transform((v) => v);
        case 'preprocess': return z.preprocess((v) => v, i);
        case 'brand': return i.brand('B');
        case 'catch': return i.catch(r.dflt);
        case 'lazy': return z.lazy(() => i);
        case 'promise': return z.promise(i);
        case 'array': return z.array(i);
        case 'arrayMin': return i.array().min(r.n);
        case 'arrayMax': return i.array().max(r.n);
        case 'arrayLength': return i.array().length(r.n);
        case 'nonempty': return i.array().nonempty();
        default: return i[r.w]();
      }
    }
    case 'tuple': {
      const t = z.tuple(r.items.map(build));
      return r.rest ? t.rest(build(r.rest)) : t;
    }
    case 'union':
      return z.union(r.options.map(build));
    case 'literalUnion':
      return z.union(r.values.map((v, i) => (r.described && i === 0 ? z.literal(v).describe('first') : z.literal(v))));
    case 'enumUnion':
      return z.union(r.values.map((v) => z.enum(v)));
    case 'primitiveUnion':
      return z.union(r.types.map((t) => z[t]()));
    case 'discriminated':
      return z.discriminatedUnion(
        'kind',
        r.options.map((props, i) => z.object({ kind: z.literal(`k${i}`), ...Object.fromEntries(props.map(([k, v]) => [k, build(v)])) })),
      );
    case 'pipe':
      return build(r.a).pipe(build(r.b));
    case 'and':
      return build(r.a).and(build(r.b));
    case 'record': {
      const v = build(r.value);
      const key = {
        string: z.string(),
        checked: z.string().min(1).endsWith('k'),
        enum: z.enum(['p', 'q']),
        branded: z.string().brand('K'),
        brandedChecked: z.string().max(4).describe('key').brand('K'),
      }[r.key];
      return key ? z.record(key, v) : z.record(v);
    }
    case 'recursive': {
      const inner = build(r.inner);
      const L = z.lazy(() => z.object({ v: inner, kids: z.array(L).optional() }));
      return L;
    }
    default:
      return z[r.k]();
  }
}

test(`property: ${PROPERTY_RUNS} random nested Zod 3 schemas match zod-to-json-schema`, () => {
  let runs = 0;
  fc.assert(
    fc.property(composite, (recipe) => {
      runs++;
      assertSame(build(recipe));
    }),
    { numRuns: PROPERTY_RUNS },
  );
  assert.ok(runs >= PROPERTY_RUNS);
});
