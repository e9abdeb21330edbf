// Turning a tool's `parameters` into the JSON Schema sent to the model. Plain JSON Schema is
// used as is; schema libraries are asked to describe themselves. zod stays optional: nothing
// here imports it. For Zod 3, the optional peer `zod-to-json-schema` is used when the package
// entry could load it (or when it was registered with registerZodToJsonSchema()).

let zodToJsonSchema = null;
let zod4ToJSONSchema = null;

export function setZodToJsonSchema(fn) {
  zodToJsonSchema = typeof fn === 'function' ? fn : null;
}

/** zod 4's `z.toJSONSchema`, for zod 4.0 / 4.1 schemas that lack the `.toJSONSchema()` method. */
export function setZod4ToJSONSchema(fn) {
  zod4ToJSONSchema = typeof fn === 'function' ? fn : null;
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
