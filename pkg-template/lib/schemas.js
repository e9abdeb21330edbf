// Turning a tool's `parameters` into the JSON Schema sent to the model. Plain JSON Schema is
// used as is; schema libraries are asked to describe themselves. zod stays optional: nothing
// here imports it. For Zod 3, the optional peer `zod-to-json-schema` is used when it was
// registered with registerZodToJsonSchema().

let zodToJsonSchema = null;
let zod4ToJSONSchema = null;

/**
 * Registers `zodToJsonSchema` from `zod-to-json-schema` for Zod 3 schemas, or zod 4's
 * `z.toJSONSchema` for zod 4.0 / 4.1 schemas (which lack the `.toJSONSchema()` method).
 */
export function registerZodToJsonSchema(converter) {
  const fn = typeof converter === 'function' ? converter : null;
  if (fn?.name === 'toJSONSchema') zod4ToJSONSchema = fn;
  else zodToJsonSchema = fn;
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
  if (isZod3) {
    if (zodToJsonSchema) return strip(zodToJsonSchema(p, { $refStrategy: 'none' }));
    throw new Error('a Zod 3 schema needs the optional peer dependency zod-to-json-schema (npm install zod-to-json-schema), or pass a JSON Schema object');
  }
  if (isZod4) {
    if (zod4ToJSONSchema) return strip(zod4ToJSONSchema(p));
    throw new Error("this Zod 4 schema cannot describe itself: use zod 4.2+ (schema.toJSONSchema()), call registerZodToJsonSchema(z.toJSONSchema), or pass z.toJSONSchema(schema)");
  }
  if (typeof p.toJsonSchema === 'function') return strip(p.toJsonSchema());
  throw new Error('this Standard Schema cannot be converted to JSON Schema: pass a JSON Schema object instead');
}
