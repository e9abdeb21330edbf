// Is a tool's JSON Schema usable? Checked when an `Agent` is constructed (or its tools
// updated), so a broken schema is a TypeError up front instead of a confusing failure
// mid-conversation: an object schema (`true` and `{}` are fine) whose keywords are
// well-formed and whose `$ref`s resolve locally. The arguments themselves are validated in
// Rust (src/schema.rs), against the same schema, before a tool's `execute` runs.

/** Nesting of schemas checked (src/schema.rs's MAX_DEPTH: each level or `$ref` hop counts). */
const MAX_DEPTH = 64;
/** How many characters of a value a message quotes. */
const PREVIEW = 40;
const TYPE_NAMES = ['null', 'boolean', 'object', 'array', 'string', 'number', 'integer'];

const isMap = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** The first `max` characters (code points) of `s`, with `…` when cut. */
function truncate(s, max) {
  const chars = [...s];
  return chars.length > max ? chars.slice(0, max).join('') + '…' : s;
}

/** A JSON-quoted string, at most ~40 characters of it. */
function previewStr(s) {
  const chars = [...s];
  if (chars.length <= PREVIEW) return JSON.stringify(s);
  const q = JSON.stringify(chars.slice(0, PREVIEW).join(''));
  return q.slice(0, -1) + '…"';
}

/** Compact JSON text of a value, at most ~40 characters (then `…`). */
function preview(v) {
  if (typeof v === 'string') return previewStr(v);
  let out = '';
  // Returns false once the output is past the limit (bounded however deep `v` is).
  const write = (x) => {
    if (out.length > PREVIEW) return false;
    if (typeof x === 'string') out += previewStr(x);
    else if (Array.isArray(x)) {
      out += '[';
      for (let i = 0; i < x.length; i++) {
        if (i > 0) out += ',';
        if (!write(x[i])) return false;
      }
      out += ']';
    } else if (isMap(x)) {
      out += '{';
      let first = true;
      for (const [k, y] of Object.entries(x)) {
        if (!first) out += ',';
        first = false;
        out += previewStr(k) + ':';
        if (!write(y)) return false;
      }
      out += '}';
    } else out += JSON.stringify(x);
    return out.length <= PREVIEW;
  };
  write(v);
  return out.length > PREVIEW ? truncate(out, PREVIEW) : out;
}

/** Resolves a local `$ref` (`#`, `#/json/pointer`, or `<root $id>#/…`) against the root. */
export function resolveRef(root, ref) {
  let frag;
  if (ref.startsWith('#')) frag = ref.slice(1);
  else {
    let id = isMap(root) && typeof root.$id === 'string' ? root.$id : null;
    if (id === null) return undefined;
    if (id.endsWith('#')) id = id.slice(0, -1);
    if (id === '' || !ref.startsWith(id)) return undefined;
    const rest = ref.slice(id.length);
    if (rest !== '' && !rest.startsWith('#')) return undefined;
    frag = rest.slice(1);
  }
  if (frag === '') return root;
  try {
    frag = decodeURIComponent(frag);
  } catch {
    return undefined;
  }
  if (!frag.startsWith('/')) return undefined; // plain-name fragments ($anchor) are unsupported
  let cur = root;
  for (const raw of frag.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(token) || Number(token) >= cur.length) return undefined;
      cur = cur[Number(token)];
    } else if (isMap(cur) && Object.prototype.hasOwnProperty.call(cur, token)) cur = cur[token];
    else return undefined;
  }
  return cur;
}

const refOf = (s) => (isMap(s) && typeof s.$ref === 'string' ? s.$ref : undefined);

/** Follows a chain of pure references, to catch unresolvable ones and cycles (`{"$ref":"#"}`). */
function refProblem(root, v) {
  if (typeof v !== 'string') return `expected a string, got ${preview(v)}`;
  let ref = v;
  for (let i = 0; i <= MAX_DEPTH; i++) {
    const target = resolveRef(root, ref);
    if (target === undefined) {
      return `cannot resolve $ref ${previewStr(ref)} (only local references such as "#/$defs/name" are supported)`;
    }
    const next = refOf(target);
    if (next === undefined) return undefined;
    ref = next;
  }
  return '$ref cycle';
}

const isCount = (v) => typeof v === 'number' && v >= 0 && Number.isInteger(v);

/** What is wrong with the value of keyword `k`, if anything (subschemas are walked apart). */
function keywordProblem(root, k, v) {
  let expected;
  switch (k) {
    case 'type': {
      const names = typeof v === 'string' ? [v] : Array.isArray(v) && v.length > 0 ? v : null;
      if (!names) return `expected a type name or a non-empty array of them, got ${preview(v)}`;
      const bad = names.find((n) => !TYPE_NAMES.includes(n));
      return bad === undefined ? undefined : `unknown type ${preview(bad)}`;
    }
    case '$ref':
      return refProblem(root, v);
    case 'required':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) expected = 'an array of property names';
      break;
    case 'enum':
      if (!Array.isArray(v)) expected = 'an array';
      break;
    case 'properties':
    case 'definitions':
    case '$defs':
      if (!isMap(v)) expected = 'an object of schemas';
      break;
    case 'prefixItems':
      if (!Array.isArray(v)) expected = 'an array of schemas';
      break;
    case 'allOf':
    case 'anyOf':
    case 'oneOf':
      if (!Array.isArray(v) || v.length === 0) expected = 'a non-empty array of schemas';
      break;
    case 'minimum':
    case 'maximum':
      if (typeof v !== 'number') expected = 'a number';
      break;
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      if (typeof v !== 'number' && typeof v !== 'boolean') expected = 'a number';
      break;
    case 'multipleOf':
      if (!(typeof v === 'number' && v > 0)) expected = 'a number greater than 0';
      break;
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
    case 'minProperties':
    case 'maxProperties':
      if (!isCount(v)) expected = 'a non-negative integer';
      break;
    case 'uniqueItems':
    case 'nullable':
      if (typeof v !== 'boolean') expected = 'a boolean';
      break;
  }
  return expected && `expected ${expected}, got ${preview(v)}`;
}

const token = (t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1');

class SchemaError extends Error {}
const fail = (ptr, msg) => {
  throw new SchemaError(`parameters schema at ${truncate(ptr, 200)}: ${msg}`);
};

function walk(root, s, ptr, depth) {
  if (depth > MAX_DEPTH) fail(ptr, `nested deeper than ${MAX_DEPTH} levels`);
  if (typeof s === 'boolean') return;
  if (!isMap(s)) fail(ptr, `expected a schema (object or boolean), got ${kind(s)}`);
  for (const [k, v] of Object.entries(s)) {
    const problem = keywordProblem(root, k, v);
    if (problem) fail(ptr + token(k), problem);
    switch (k) {
      case 'properties':
      case 'definitions':
      case '$defs':
        for (const [name, sub] of Object.entries(v)) walk(root, sub, ptr + token(k) + token(name), depth + 1);
        break;
      case 'items':
      case 'prefixItems':
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        if (Array.isArray(v)) {
          v.forEach((sub, i) => walk(root, sub, ptr + token(k) + token(String(i)), depth + 1));
          break;
        }
        if (k !== 'items') break;
      // falls through: `items` as a single schema
      case 'additionalProperties':
      case 'additionalItems':
      case 'not':
      case 'if':
      case 'then':
      case 'else':
        walk(root, v, ptr + token(k), depth + 1);
    }
  }
}

/** Throws an Error explaining why `schema` (JSON data) is not usable as a tool's
 * `parameters`, e.g. `parameters schema at #/properties/x/type: unknown type "int"`. */
export function checkSchema(schema) {
  if (schema === false) throw new SchemaError('parameters schema is `false`, which rejects every call');
  if (schema !== true && !isMap(schema)) {
    throw new SchemaError(`parameters schema must be a JSON Schema object, got ${kind(schema)}`);
  }
  // The root (following `$ref`s, as zod-to-json-schema emits for named schemas) must allow objects.
  let cur = schema;
  for (let i = 0; i < MAX_DEPTH; i++) {
    const t = isMap(cur) ? cur.type : undefined;
    if (t !== undefined) {
      const object = typeof t === 'string' ? t === 'object' : Array.isArray(t) ? t.includes('object') : true;
      if (!object) {
        throw new SchemaError(`parameters schema must describe an object (type "object"), got type ${preview(t)}`);
      }
    }
    const ref = refOf(cur);
    const next = ref === undefined ? undefined : resolveRef(schema, ref);
    if (next === undefined) break;
    cur = next;
  }
  walk(schema, schema, '#', 0);
}
