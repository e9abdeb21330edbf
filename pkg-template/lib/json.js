// JS values as JSON data, with `JSON.stringify`'s semantics (toJSON, undefined members left
// out, undefined in arrays and non-finite numbers as null, keys in their order) but an error
// saying why for what JSON cannot hold (functions, symbols, BigInt, cycles), where
// `JSON.stringify` would drop or throw without naming it.

const MAX_DEPTH = 128;

const why = (v) =>
  typeof v === 'bigint' ? 'a BigInt is not JSON-serialisable'
  : typeof v === 'function' ? 'a function is not JSON-serialisable'
  : typeof v === 'symbol' ? 'a symbol is not JSON-serialisable'
  : 'value is not JSON-serialisable';

const message = (e) => (e instanceof Error ? e.message : String(e));

function walk(v, stack) {
  if (v === undefined) return undefined;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : null; // -0 is written 0
  if (typeof v !== 'object') throw new Error(why(v));
  // Boxed primitives are written as their value, as JSON.stringify does.
  if (v instanceof Number || v instanceof String || v instanceof Boolean) return walk(v.valueOf(), stack);
  if (stack.includes(v)) throw new Error('a cyclic structure is not JSON-serialisable');
  if (stack.length >= MAX_DEPTH) throw new Error('value is nested too deeply to be JSON');
  stack.push(v);
  try {
    let toJSON;
    try {
      toJSON = v.toJSON;
    } catch {
      toJSON = undefined;
    }
    if (typeof toJSON === 'function') {
      let replaced;
      try {
        replaced = toJSON.call(v);
      } catch (e) {
        throw new Error(`toJSON() threw: ${message(e)}`);
      }
      return walk(replaced, stack);
    }
    if (Array.isArray(v)) {
      const out = [];
      for (let i = 0; i < v.length; i++) out.push(walk(v[i], stack) ?? null); // holes too
      return out;
    }
    const out = {};
    for (const k of Object.keys(v)) {
      let item;
      try {
        item = v[k];
      } catch (e) {
        throw new Error(`reading "${k}" threw: ${message(e)}`);
      }
      const value = walk(item, stack);
      // defineProperty: a "__proto__" key is data here, as JSON.parse makes it.
      if (value !== undefined) Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  } finally {
    stack.pop();
  }
}

/** `value` as plain JSON data (`undefined` at the top becomes `null`); throws an Error saying
 * why when it cannot be JSON. */
export function toJsonValue(value) {
  return walk(value, []) ?? null;
}
