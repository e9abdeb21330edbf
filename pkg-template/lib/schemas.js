// Turning a tool's `parameters` into the JSON Schema sent to the model. Plain JSON Schema is
// used as is; schema libraries are asked to describe themselves. zod stays optional: nothing
// here imports it. Zod 3 schemas are converted by ./zod3.js, which reads their `_def` tree
// (the output of zod-to-json-schema, with no peer to install).
import { zod3ToJsonSchema } from './zod3.js';

let zod4ToJSONSchema = null;

/**
 * Registers zod 4's `z.toJSONSchema`, for zod 4.0 / 4.1 schemas (which lack the
 * `.toJSONSchema()` method). Anything else is ignored: Zod 3 needs no converter any more, so a
 * page that still registers zod-to-json-schema's keeps working.
 */
export function registerZodToJsonSchema(converter) {
  if (typeof converter === 'function' && converter.name === 'toJSONSchema') zod4ToJSONSchema = converter;
}

function strip(schema) {
  if (schema && typeof schema === 'object' && !Array.isArray(schema) && '$schema' in schema) {
    const { $schema, ...rest } = schema;
    return rest;
  }
  return schema;
}

export function toJsonSchema(p) {
  const std = p['~standard'];
  const isZod4 = p._zod !== undefined;
  const isZod3 = !isZod4 && p._def !== undefined && typeof p.safeParse === 'function';
  if (!std && !isZod4 && !isZod3) return p; // plain JSON Schema
  if (typeof p.toJSONSchema === 'function') return strip(p.toJSONSchema());
  if (std && std.jsonSchema && typeof std.jsonSchema.input === 'function') {
    return strip(std.jsonSchema.input({ target: 'draft-2020-12' }));
  }
  if (isZod3) return zod3ToJsonSchema(p);
  if (isZod4) {
    if (zod4ToJSONSchema) return strip(zod4ToJSONSchema(p));
    throw new Error("this Zod 4 schema cannot describe itself: use zod 4.2+ (schema.toJSONSchema()), call registerZodToJsonSchema(z.toJSONSchema), or pass z.toJSONSchema(schema)");
  }
  if (typeof p.toJsonSchema === 'function') return strip(p.toJsonSchema());
  throw new Error('this Standard Schema cannot be converted to JSON Schema: pass a JSON Schema object instead');
}
