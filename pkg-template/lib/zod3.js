// Zod 3 schema → JSON Schema (draft-07), for a tool's `parameters`, with no dependency: it reads
// the schema's `_def` tree (and calls `isOptional()` on object properties) and never imports zod.
// The target is exactly what zod-to-json-schema 3.25 returns for
// `zodToJsonSchema(schema, { $refStrategy: 'none' })` without its top-level `$schema`, key order
// included; tests/js/zod3.test.mjs checks that against zod-to-json-schema itself.
//
// Divergences accepted (each is checked by the test):
// 1. String checks that zod-to-json-schema turns into a `pattern` of its own regex (cuid, cuid2,
//    ulid, nanoid, jwt, base64url, cidr, emoji) add nothing here: those regexes are that
//    library's code and would cost several hundred bytes on every page; the tool's arguments
//    are still checked by Zod itself before `execute` runs.
// 2. ZodBigInt, ZodMap, ZodSet, ZodFunction, ZodVoid, ZodSymbol (and any type that is not a
//    first-party Zod 3 type) throw an Error naming the type, where zod-to-json-schema describes
//    bigint / map / set and silently drops function / void / symbol properties: no JSON
//    argument can satisfy them. (z.bigint() directly inside a union of primitives or under
//    .nullable() still reads as "integer", as there.)
// 3. Recursion (z.lazy): a schema met again inside itself becomes `{}` (any), as in
//    zod-to-json-schema, but without its console.warn; a lazy that returns itself directly
//    (z.lazy(() => self)) also gives `{}`, where zod-to-json-schema overflows the stack.

const PRIMITIVE = { ZodString: 'string', ZodNumber: 'number', ZodBigInt: 'integer', ZodBoolean: 'boolean', ZodNull: 'null' };
const FORMAT = { email: 'email', url: 'uri', uuid: 'uuid', datetime: 'date-time', date: 'date', time: 'time', duration: 'duration' };

const uniq = (a) => [...new Set(a)];
const one = (a) => (a.length > 1 ? a : a[0]);
// The JSON Schema type of a literal value, or '' when it has none.
const literalType = (v) => {
  const t = typeof v;
  return t == 'bigint' ? 'integer' : 'string number boolean'.includes(t) ? t : '';
};
// The JSON Schema type of a def that zod-to-json-schema's union and nullable shortcuts accept:
// string, number, bigint, boolean or null with no checks at all (even .trim() counts).
const primitive = (d) => !(d.checks || '').length && PRIMITIVE[d.typeName];

function string(d) {
  const r = { type: 'string' };
  // A second format (pattern) moves the first into anyOf (allOf), as zod-to-json-schema does.
  const add = (key, v, list = key == 'format' ? 'anyOf' : 'allOf') => {
    if (r[list]) r[list].push({ [key]: v });
    else if (r[key]) (r[list] = [{ [key]: r[key] }, { [key]: v }]), delete r[key];
    else r[key] = v;
  };
  for (const c of d.checks || []) {
    const k = c.kind, v = c.value;
    if (k == 'min' || k == 'length') r.minLength = Math.max(r.minLength ?? v, v);
    if (k == 'max' || k == 'length') r.maxLength = Math.min(r.maxLength ?? v, v);
    if (FORMAT[k]) add('format', FORMAT[k]);
    if (k == 'ip') {
      if (c.version != 'v6') add('format', 'ipv4');
      if (c.version != 'v4') add('format', 'ipv6');
    }
    if (k == 'regex') add('pattern', c.regex.source);
    // startsWith, endsWith, includes: zod-to-json-schema puts a backslash before every character
    // but A-Z, a-z and 0-9 less "W" and "w" (its alphabet misses them), so "w" reads as \w.
    if (/^(st|en|in)/.test(k)) add('pattern', RegExp((k[0] == 's' ? '^' : '') + v.replace(/[^A-VX-Za-vx-z\d]/g, '\\$&') + (k[0] == 'e' ? '$' : '')).source);
    if (k == 'base64') r.contentEncoding = 'base64';
  }
  return r;
}

/** The JSON Schema of a Zod 3 schema; throws an Error naming an unsupported Zod type. */
export function zod3ToJsonSchema(schema) {
  const open = new Set(); // the defs being converted, outermost first: met again = recursion
  // `prop`: at an object property's own place, where .optional() only drops it from `required`.
  const conv = (s, prop) => {
    const d = s._def, t = d.typeName + '';
    if (open.has(d)) return {};
    open.add(d);
    let r;
    switch (t.slice(3)) {
      case 'String':
        r = string(d);
        break;
      case 'Number':
        r = { type: 'number' };
        for (const c of d.checks || []) {
          const k = c.kind;
          if (k == 'int') r.type = 'integer';
          if (k == 'min') r[c.inclusive ? 'minimum' : 'exclusiveMinimum'] = c.value;
          if (k == 'max') r[c.inclusive ? 'maximum' : 'exclusiveMaximum'] = c.value;
          if (k == 'multipleOf') r.multipleOf = c.value;
        }
        break;
      case 'Boolean':
        r = { type: 'boolean' };
        break;
      case 'Null':
        r = { type: 'null' };
        break;
      case 'Date':
        r = { type: 'string', format: 'date-time' };
        break;
      case 'Any':
      case 'Unknown':
        r = {};
        break;
      case 'Never':
      case 'Undefined':
      case 'NaN':
        r = { not: {} };
        break;
      case 'Literal': {
        const v = d.value, lt = literalType(v);
        r = lt ? { type: lt, const: v } : { type: Array.isArray(v) ? 'array' : 'object' };
        break;
      }
      case 'Enum':
        r = { type: 'string', enum: [...d.values] };
        break;
      case 'NativeEnum': {
        const o = d.values;
        const values = Object.keys(o).filter((k) => typeof o[o[k]] != 'number').map((k) => o[k]);
        const types = uniq(values.map((v) => typeof v));
        r = { type: types.length == 1 ? (types[0] == 'string' ? 'string' : 'number') : ['string', 'number'], enum: values };
        break;
      }
      case 'Object': {
        const shape = d.shape(), properties = {}, required = [];
        r = { type: 'object', properties };
        for (const k in shape) {
          const p = shape[k];
          if (!p || !p._def) continue;
          let optional = 1; // as zod-to-json-schema: Zod's own answer, a throw counts as optional
          try {
            optional = p.isOptional();
          } catch {}
          properties[k] = conv(p, 1);
          if (!optional) required.push(k);
        }
        if (required.length) r.required = required;
        r.additionalProperties = d.catchall._def.typeName != 'ZodNever' ? conv(d.catchall) : d.unknownKeys == 'passthrough';
        break;
      }
      case 'Array': {
        r = { type: 'array' };
        if (d.type._def.typeName != 'ZodAny') r.items = conv(d.type);
        if (d.minLength) r.minItems = d.minLength.value;
        if (d.maxLength) r.maxItems = d.maxLength.value;
        if (d.exactLength) (r.minItems = d.exactLength.value), (r.maxItems = d.exactLength.value);
        break;
      }
      case 'Tuple': {
        const n = d.items.length;
        r = { type: 'array', minItems: n };
        if (!d.rest) r.maxItems = n;
        r.items = d.items.map((x) => conv(x));
        if (d.rest) r.additionalItems = conv(d.rest);
        break;
      }
      case 'Union':
      case 'DiscriminatedUnion': {
        // zod-to-json-schema's shortcuts: a type list for plain primitives, an enum for
        // undescribed literals of JSON types, a merged enum for enums; else anyOf.
        const o = [...d.options.values()], defs = o.map((x) => x._def), types = defs.map(primitive);
        const literals = defs.map((x) => x.typeName == 'ZodLiteral' && !x.description && (x.value === null ? 'null' : literalType(x.value)));
        r = types.every(Boolean)
          ? { type: one(uniq(types)) }
          : literals.every(Boolean)
            ? { type: one(uniq(literals)), enum: uniq(defs.map((x) => x.value)) }
            : defs.every((x) => x.typeName == 'ZodEnum')
              ? { type: 'string', enum: defs.reduce((a, x) => a.concat(x.values.filter((v) => !a.includes(v))), []) }
              : { anyOf: o.map((x) => conv(x)) };
        break;
      }
      case 'Intersection':
        r = {
          allOf: [conv(d.left), conv(d.right)].flatMap((x) => {
            if (x.allOf && x.type != 'string') return x.allOf;
            if (x.additionalProperties !== false) return x;
            const { additionalProperties, ...rest } = x;
            return rest;
          }),
        };
        break;
      case 'Record': {
        // propertyNames from the key: a string with checks (also branded, then with its
        // description), an enum
        const k = d.keyType._def, n = k.typeName, b = n == 'ZodBranded' && k.type._def;
        r = { type: 'object', additionalProperties: conv(d.valueType) };
        const names = n == 'ZodEnum' ? { enum: k.values } : n == 'ZodString' ? !primitive(k) && string(k) : b && b.typeName == 'ZodString' && !primitive(b) && conv(k.type);
        if (names) {
          delete names.type;
          r.propertyNames = names;
        }
        break;
      }
      case 'Nullable': {
        const p = primitive(d.innerType._def);
        r = p ? { type: [p, 'null'] } : { anyOf: [conv(d.innerType), { type: 'null' }] };
        break;
      }
      case 'Optional':
        r = prop ? conv(d.innerType, prop) : { anyOf: [{ not: {} }, conv(d.innerType)] };
        break;
      case 'Default':
        r = { ...conv(d.innerType, prop), default: d.defaultValue() };
        break;
      case 'Pipeline':
        r = { allOf: [conv(d.in), conv(d.out)] };
        break;
      // Wrappers described by their inner schema: input side of effects (refine, transform,
      // preprocess), brand, catch, readonly, promise, lazy.
      case 'Effects':
      case 'Branded':
      case 'Catch':
      case 'Readonly':
      case 'Promise':
        r = conv(d.schema || d.type || d.innerType, prop);
        break;
      case 'Lazy':
        r = conv(d.getter(), prop);
        break;
      default:
        throw new Error(`the Zod 3 type ${t} is not supported`);
    }
    open.delete(d);
    if (d.description) r.description = d.description;
    return r;
  };
  return conv(schema);
}
