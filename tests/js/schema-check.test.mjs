// pkg-template/lib/schema-check.js, imported from the source: is a tool's JSON Schema usable
// (checked when an Agent is built, so a broken schema is a TypeError naming
// `options.tools[i].parameters`)? These are the cases the Rust check had, same texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSchema } from '../../pkg-template/lib/schema-check.js';
import { Agent } from 'kapa-agent-wasm';

const ok = (schema) => assert.doesNotThrow(() => checkSchema(schema), JSON.stringify(schema));
const refused = (schema, message) => assert.throws(() => checkSchema(schema), { message });

const obj = (key, value) => ({ [key]: value });

test('usable schemas pass: objects, true, {}, zod output, refs, trees', () => {
  ok(true);
  ok({});
  ok({ type: ['object', 'null'] });
  ok({ anyOf: [{ type: 'object' }, { type: 'object' }] });
  const zod = {
    type: 'object',
    properties: { expression: { type: 'string', description: 'e.g. 2+2' } },
    required: ['expression'],
    additionalProperties: false,
  };
  ok(zod);
  ok({ ...zod, $schema: 'https://json-schema.org/draft/2020-12/schema' });
  ok({ $ref: '#/definitions/Args', definitions: { Args: zod } });
  ok({
    type: 'object',
    $defs: { pos: { type: 'number', minimum: 1 }, 'a/b~c': { type: 'string' } },
    properties: {
      n: { $ref: '#/$defs/pos' },
      s: { $ref: '#/$defs/a~1b~0c' },
      t: { $ref: '#/$defs/a~1b~0c', maxLength: 1 },
      e: { $ref: '#/properties/n' },
      p: { $ref: '#/%24defs/pos' },
    },
  });
  ok({ type: 'object', properties: { children: { type: 'array', items: { $ref: '#' } } }, additionalProperties: false });
  ok({ $id: 'https://example.com/s.json', $defs: { a: { type: 'string' } }, properties: { x: { $ref: 'https://example.com/s.json#/$defs/a' } } });
  // Unknown keywords and annotations are fine.
  ok({ 'x-custom': 5, pattern: '[', format: 'uuid', title: 1 });
});

test('refused schemas: the texts name the place and the problem', () => {
  refused(false, 'parameters schema is `false`, which rejects every call');
  refused('object', 'parameters schema must be a JSON Schema object, got string');
  refused([], 'parameters schema must be a JSON Schema object, got array');
  refused({ type: 'string' }, 'parameters schema must describe an object (type "object"), got type "string"');
  refused({ $ref: '#/$defs/a', $defs: { a: { type: 'array' } } }, 'parameters schema must describe an object (type "object"), got type "array"');
  refused({ properties: { x: { type: 'int' } } }, 'parameters schema at #/properties/x/type: unknown type "int"');
  refused({ properties: { 'a/b': { type: 3 } } }, 'parameters schema at #/properties/a~1b/type: expected a type name or a non-empty array of them, got 3');
  refused({ required: 'x' }, 'parameters schema at #/required: expected an array of property names, got "x"');
  refused({ properties: { x: { items: [{ minimum: '1' }] } } }, 'parameters schema at #/properties/x/items/0/minimum: expected a number, got "1"');
  refused({ anyOf: [] }, 'parameters schema at #/anyOf: expected a non-empty array of schemas, got []');
  refused({ properties: { x: 5 } }, 'parameters schema at #/properties/x: expected a schema (object or boolean), got number');
  refused({ multipleOf: 0 }, 'parameters schema at #/multipleOf: expected a number greater than 0, got 0');
  refused({ minLength: -1 }, 'parameters schema at #/minLength: expected a non-negative integer, got -1');
  refused({ maxItems: 1.5 }, 'parameters schema at #/maxItems: expected a non-negative integer, got 1.5');
  refused({ uniqueItems: 'yes' }, 'parameters schema at #/uniqueItems: expected a boolean, got "yes"');
  refused({ $ref: 1 }, 'parameters schema at #/$ref: expected a string, got 1');
  refused({ enum: 'a' }, 'parameters schema at #/enum: expected an array, got "a"');
  refused({ properties: [] }, 'parameters schema at #/properties: expected an object of schemas, got []');
  refused({ exclusiveMinimum: 'x' }, 'parameters schema at #/exclusiveMinimum: expected a number, got "x"');
  refused({ not: 3 }, 'parameters schema at #/not: expected a schema (object or boolean), got number');
});

test('references: unresolvable ones and cycles are refused', () => {
  refused(
    { properties: { x: { $ref: '#/$defs/missing' } } },
    'parameters schema at #/properties/x/$ref: cannot resolve $ref "#/$defs/missing" (only local references such as "#/$defs/name" are supported)',
  );
  refused({ properties: { x: { $ref: 'other.json#/a' } } }, /cannot resolve \$ref "other\.json#\/a"/);
  refused({ properties: { x: { $ref: '#anchor' } } }, /cannot resolve \$ref "#anchor"/);
  refused({ $ref: '#' }, 'parameters schema at #/$ref: $ref cycle');
  refused({ $defs: { a: { $ref: '#/$defs/b' }, b: { $ref: '#/$defs/a' } }, properties: { x: { $ref: '#/$defs/a' } } }, /\$ref cycle/);
});

test('depth: schemas nested deeper than 64 levels are refused, not a stack overflow', () => {
  let s = { type: 'string' };
  for (let i = 0; i < 300; i++) s = obj('properties', obj('a', s));
  refused(s, /nested deeper than 64 levels/);
  let t = { type: 'string' };
  for (let i = 0; i < 40; i++) t = obj('properties', obj('a', obj('anyOf', [t])));
  assert.throws(() => checkSchema(t));
  let u = true;
  for (let i = 0; i < 10_000; i++) u = obj('allOf', [u]);
  refused(u, /nested deeper than 64 levels/);
});

test('values in messages are quoted at most ~40 characters', () => {
  const long = 'x'.repeat(500);
  assert.throws(() => checkSchema({ type: long }), (e) => e.message.length < 120 && e.message.includes('…'));
  assert.throws(() => checkSchema({ required: [1, [2, { k: 'v' }]] }), { message: 'parameters schema at #/required: expected an array of property names, got [1,[2,{"k":"v"}]]' });
});

test('the constructor reports a broken schema as a TypeError naming the tool', () => {
  const options = {
    projectId: 'p', integrationId: 'i',
    getSessionToken: () => ({ token: 't', expiresAt: Date.now() + 1e6 }),
    onMessagesChange() {}, onStreamingChange() {},
    tools: [{ name: 'ok', description: '', parameters: { type: 'object' }, execute() {} },
      { name: 'bad', description: '', parameters: { properties: { x: { type: 'int' } } }, execute() {} }],
  };
  assert.throws(() => new Agent(options), {
    name: 'TypeError',
    message: 'options.tools[1].parameters: parameters schema at #/properties/x/type: unknown type "int"',
  });
});
