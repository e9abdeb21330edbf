// JSON Schema for client tools, with the same rules and texts as the Rust twin (src/schema.rs,
// the host tests' and fuzzers' oracle; tests/js/schema-differential.test.mjs compares both):
// * checkSchema: is a tool's JSON Schema usable? Checked when an `Agent` is constructed (or its
//   tools updated), so a broken schema is a TypeError up front instead of a confusing failure
//   mid-conversation: an object schema (`true` and `{}` are fine) whose keywords are
//   well-formed and whose `$ref`s resolve locally.
// * validateArgs: do a call's arguments match it? Run (from the .wasm) before a tool's
//   `execute`; the message goes back to the model.

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

const encoder = new TextEncoder();
/** The UTF-8 length of `s` (what Rust's `String::len` counts). */
const bytes = (s) => encoder.encode(s).length;

/** Compact JSON text of a value, at most ~40 characters (then `…`); the limit counts UTF-8
 * bytes, as the Rust twin does. */
function preview(v) {
  if (typeof v === 'string') return previewStr(v);
  let out = '';
  // Returns false once the output is past the limit (bounded however deep `v` is).
  const write = (x) => {
    if (bytes(out) > PREVIEW) return false;
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
    return bytes(out) <= PREVIEW;
  };
  write(v);
  return bytes(out) > PREVIEW ? truncate(out, PREVIEW) : out;
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

// ---------------------------------------------------------------------------------------------
// Validation of a call's arguments: src/schema.rs's `validate_with`, with JS RegExp for
// `pattern`, `patternProperties` (and `propertyNames` through them).

/** Upper bound on the work for one call (schema nodes visited plus value comparisons). */
const MAX_STEPS = 200000;
/** How many `enum` values / merged alternatives a message lists. */
const MAX_LISTED = 8;

const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const list = (a, sep) => a.slice(0, MAX_LISTED).join(sep) + (a.length > MAX_LISTED ? sep + '…' : '');
/** A keyword's non-negative whole number (`minLength`, …); other values are ignored. */
const count = (v) => (typeof v === 'number' && v >= 0 && Number.isInteger(v) && v < 1.8e19 ? v : undefined);
// BigInt: large counts written in all their digits, as Rust writes a u64.
const plural = (n, one, many) => `${BigInt(n)} ${n === 1 ? one : many}`;
const isInt64 = (n) => Math.abs(n) < 9.2e18 && Number.isInteger(n);

/** `JSON Schema pattern` with JavaScript's RegExp in unicode mode (as Ajv); `undefined` for an
 * invalid pattern, which is then not enforced. */
function matches(pattern, text) {
  try {
    return new RegExp(pattern, 'u').test(text);
  } catch {
    return undefined;
  }
}

function isMultiple(x, y) {
  if (isInt64(x) && isInt64(y)) return y <= 0 || x % y === 0;
  if (y <= 0 || !Number.isFinite(y)) return true; // invalid divisor: ignore the keyword
  const q = x / y;
  // A small relative tolerance for floating-point values such as 0.3 / 0.1.
  return Number.isFinite(q) && Math.abs(q - Math.round(q)) <= Number.EPSILON * 8 * Math.max(Math.abs(q), 1);
}

/** `.key`, or `["key"]` (quoted, cut) for what is not an identifier. */
const pathKey = (path, k) => (/^[A-Za-z_$][\w$]*$/.test(k) && k.length <= PREVIEW ? `${path}.${k}` : `${path}[${previewStr(k)}]`);

/**
 * Validates a call's arguments (JSON data) against its tool's checked `parameters` schema:
 * `null`, or a message naming the first failing path (the root is `arguments`), e.g.
 * `arguments.expression: expected string, got number`. Never throws for JSON data: `$ref`
 * cycles, deep nesting and combinator blow-ups end with a message (depth and step limits).
 */
export function validateArgs(root, args) {
  let steps = 0;
  // Thrown: {m, s, x, t} a mismatch (message, path segments, [expected, got] of a type/enum/
  // const failure, whether a type mismatch), {h} validation that could not complete (depth or
  // step limit, unresolvable `$ref`, invalid schema), which no anyOf/not/if absorbs.
  const hard = (path, msg) => {
    throw { h: `${truncate(path, 100)}: ${msg}` };
  };
  const fail = (path, s, msg, x, t) => {
    throw { m: `${path}: ${msg}`, s, x, t };
  };
  const expect = (path, s, expected, got, t) => fail(path, s, `expected ${list(expected, ' or ')}, got ${got}`, [expected, got], t);
  const tick = (path) => ++steps > MAX_STEPS && hard(path, 'schema too complex to validate (step limit exceeded)');

  /** JSON equality, numbers numerically; bounded depth, counts steps. */
  const equal = (a, b, path, depth = 0) => {
    tick(path);
    if (depth > MAX_DEPTH) hard(path, `value nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i], path, depth + 1));
    if (isMap(a)) {
      const keys = Object.keys(a);
      return isMap(b) && keys.length === Object.keys(b).length && keys.every((k) => has(b, k) && equal(a[k], b[k], path, depth + 1));
    }
    return a === b;
  };

  /** `undefined` when `v` matches `schema`, else the mismatch (hard errors propagate). */
  const attempt = (schema, v, depth, path, segs) => {
    try {
      node(schema, v, depth, path, segs);
    } catch (e) {
      if (e.m === undefined) throw e;
      return e;
    }
  };

  function node(schema, v, depth, path, segs) {
    tick(path);
    if (depth > MAX_DEPTH) hard(path, `schema or value nested deeper than ${MAX_DEPTH} levels (is there a $ref cycle?)`);
    if (schema === true) return;
    if (!isMap(schema)) {
      if (schema === false) fail(path, segs, 'no value is allowed here');
      hard(path, `invalid schema (expected an object or boolean, got ${kind(schema)})`);
    }
    const m = schema;
    const bad = (msg) => fail(path, segs, msg);
    const sub = (s, x, p = path, n = segs) => node(s, x, depth + 1, p, n);
    const key = (k, s, x) => sub(s, x, pathKey(path, k), segs + 1);
    const r = m.$ref;
    if (r !== undefined) {
      if (typeof r !== 'string') hard(path, 'invalid schema ($ref must be a string)');
      const target = resolveRef(root, r);
      if (target === undefined) {
        hard(path, `cannot resolve $ref ${previewStr(r)} (only local references such as "#/$defs/name" are supported)`);
      }
      sub(target, v);
    }

    // Assertions: type, enum, const, then the keywords of the value's kind.
    const t = m.type;
    if (t !== undefined && !(m.nullable === true && v === null)) {
      const expected = typeof t === 'string' ? [t] : Array.isArray(t) ? t.filter((x) => typeof x === 'string') : [];
      if (expected.length && !expected.some((x) => x === kind(v) || (x === 'integer' && Number.isInteger(v)))) {
        if (m.nullable === true) expected.push('null');
        expect(path, segs, expected, typeof v === 'number' && expected.includes('integer') ? `number ${v}` : kind(v), true);
      }
    }
    const e = m.enum;
    if (Array.isArray(e) && !e.some((x) => equal(x, v, path))) {
      expect(path, segs, [e.length === 1 ? preview(e[0]) : 'one of ' + list(e.map(preview), ', ')], preview(v));
    }
    if (m.const !== undefined && !equal(m.const, v, path)) expect(path, segs, [preview(m.const)], preview(v));
    const num = (k) => (typeof m[k] === 'number' ? m[k] : undefined);
    if (typeof v === 'number') {
      let x = num('minimum');
      if (x !== undefined) {
        if (m.exclusiveMinimum === true) !(v > x) && bad(`expected a number > ${x}, got ${v}`);
        else if (v < x) bad(`expected a number >= ${x}, got ${v}`);
      }
      x = num('maximum');
      if (x !== undefined) {
        if (m.exclusiveMaximum === true) !(v < x) && bad(`expected a number < ${x}, got ${v}`);
        else if (v > x) bad(`expected a number <= ${x}, got ${v}`);
      }
      x = num('exclusiveMinimum');
      if (x !== undefined && !(v > x)) bad(`expected a number > ${x}, got ${v}`);
      x = num('exclusiveMaximum');
      if (x !== undefined && !(v < x)) bad(`expected a number < ${x}, got ${v}`);
      x = num('multipleOf');
      if (x !== undefined && !isMultiple(v, x)) bad(`expected a multiple of ${x}, got ${v}`);
    }
    // At least / at most `min`/`max` of `len` things.
    const size = (len, min, max, one, many) => {
      min = count(min);
      max = count(max);
      if (min !== undefined && len < min) bad(`expected at least ${plural(min, one, many)}, got ${len}`);
      if (max !== undefined && len > max) bad(`expected at most ${plural(max, one, many)}, got ${len}`);
    };
    if (typeof v === 'string') {
      const p = m.pattern;
      if (typeof p === 'string' && matches(p, v) === false) {
        bad(`expected a string matching /${truncate(p, 40)}/, got ${previewStr(v)}`);
      }
      if (count(m.minLength) !== undefined || count(m.maxLength) !== undefined) {
        size([...v].length, m.minLength, m.maxLength, 'character', 'characters'); // code points
      }
    }
    if (Array.isArray(v)) {
      size(v.length, m.minItems, m.maxItems, 'item', 'items');
      if (m.uniqueItems === true) {
        for (let i = 0; i < v.length; i++) {
          for (let j = 0; j < i; j++) if (equal(v[j], v[i], path)) bad(`expected unique items, but items ${j} and ${i} are equal`);
        }
      }
    }
    if (isMap(v)) {
      if (Array.isArray(m.required)) {
        for (const r of m.required) typeof r === 'string' && !has(v, r) && bad(`missing required property ${previewStr(r)}`);
      }
      size(Object.keys(v).length, m.minProperties, m.maxProperties, 'property', 'properties');
    }

    // Subschemas of the items or properties.
    if (Array.isArray(v)) {
      let prefix = [];
      let rest = m.items;
      if (Array.isArray(m.prefixItems)) prefix = m.prefixItems;
      else if (Array.isArray(rest)) [prefix, rest] = [rest, m.additionalItems];
      if (rest !== true && rest !== false && !isMap(rest)) rest = undefined;
      if (rest === false && v.length > prefix.length) bad(`expected at most ${plural(prefix.length, 'item', 'items')}, got ${v.length}`);
      for (let i = 0; i < v.length; i++) {
        const s = i < prefix.length ? prefix[i] : rest;
        if (s === undefined) break;
        sub(s, v[i], `${path}[${i}]`, segs + 1);
      }
    }
    if (isMap(v)) properties();
    function properties() {
      const props = isMap(m.properties) ? m.properties : undefined;
      if (props) for (const [k, s] of Object.entries(props)) has(v, k) && key(k, s, v[k]);
      const byPattern = [];
      if (isMap(m.patternProperties)) {
        for (const [k, x] of Object.entries(v)) {
          for (const [p, s] of Object.entries(m.patternProperties)) {
            const r = matches(p, k);
            // An invalid pattern: neither it nor additionalProperties can be applied.
            if (r === undefined) return;
            if (r) {
              key(k, s, x);
              byPattern.push(k);
            }
          }
        }
      }
      if (m.propertyNames !== undefined) for (const k of Object.keys(v)) key(k, m.propertyNames, k);
      const extra = m.additionalProperties;
      if (extra !== undefined) {
        for (const [k, x] of Object.entries(v)) {
          if ((props && has(props, k)) || byPattern.includes(k)) continue;
          if (extra === false) bad(`unexpected property ${previewStr(k)}`);
          if (extra !== true) key(k, extra, x);
        }
      }
    }

    // Combinators.
    if (Array.isArray(m.allOf)) for (const s of m.allOf) sub(s, v);
    for (const kw of ['anyOf', 'oneOf']) {
      const alts = m[kw];
      if (!Array.isArray(alts)) continue;
      const fails = [];
      let matched;
      let done = false;
      for (let i = 0; i < alts.length && !done; i++) {
        const f = attempt(alts[i], v, depth + 1, path, segs);
        if (f) matched === undefined && fails.push(f);
        else if (kw === 'anyOf') done = true;
        else if (matched !== undefined) bad(`matches oneOf alternatives ${matched} and ${i}, expected exactly one`);
        else matched = i;
      }
      if (done || matched !== undefined) continue;
      // Merge `expected X, got Y` failures at this very path (`expected string or null, got
      // number`), otherwise report the alternative that got furthest (deepest path; a type
      // mismatch ranks lowest).
      if (!fails.length) bad(`matches none of the ${kw} alternatives`);
      if (fails.every((f) => f.s === segs && f.x)) {
        const expected = [];
        for (const f of fails) for (const x of f.x[0]) expected.includes(x) || expected.push(x);
        expect(path, segs, expected, fails[0].x[1], fails.every((f) => f.t));
      }
      const rank = (f) => f.s * 2 + !f.t;
      throw fails.reduce((best, f) => (rank(f) > rank(best) ? f : best));
    }
    if (m.not !== undefined && !attempt(m.not, v, depth + 1, path, segs)) bad('must not match the "not" schema');
    if (m.if !== undefined) {
      const branch = attempt(m.if, v, depth + 1, path, segs) ? m.else : m.then;
      if (branch !== undefined) sub(branch, v);
    }
  }

  try {
    node(root, args, 0, 'arguments', 0);
    return null;
  } catch (e) {
    const text = e.m ?? e.h;
    if (text === undefined) throw e;
    return text;
  }
}
