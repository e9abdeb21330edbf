// Renames the .wasm's imports and exports to one or two letters in wasm-bindgen's glue, after
// `wasm-opt --minify-imports-and-exports-and-modules` did the same in the .wasm and printed the
// mapping. wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` under the module
// "./<crate>_bg.js" (or a snippet's path), and its closure exports after their full Rust types
// (up to 330 characters): the .wasm carries each name once and the glue once or twice, and
// hashes do not compress. About 3 KiB gzip per entry, both files together.
//   node minify-names.mjs <glue.js> <mapping.json>      (scripts/build-pkg.sh; rewrites glue.js)
// The result is checked here: every import the .wasm names is defined, every `wasm.x` the glue
// reads is an export of the .wasm, and no original name is left; the tests load the package.
import { readFileSync, writeFileSync } from 'node:fs';

const [gluePath, mapPath] = process.argv.slice(2);
let glue = readFileSync(gluePath, 'utf8');
const map = JSON.parse(readFileSync(mapPath, 'utf8'));
const fail = (why) => {
  console.error(`minify-names: ${why}`);
  process.exit(1);
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ident = /^[A-Za-z_$][\w$]*$/;

// The import modules the glue hands to WebAssembly: `"<module>": importN` in the object
// __wbg_get_imports() returns. import0 is the glue's own object literal; the others are the
// snippets' module namespaces (`import * as importN from "<module>"`).
const returned = glue.match(/return \{\s*__proto__: null,\s*((?:"[^"]+": import\d+,\s*)+)\};/);
if (!returned) fail('the object of import modules was not found in the glue');
const modules = new Map([...returned[1].matchAll(/"([^"]+)": (import\d+)/g)].map((m) => [m[1], m[2]]));
const own = [...modules].find(([, v]) => v === 'import0')?.[0];
if (!own) fail('no import0 module');

const renamed = []; // snippet functions, as `"min": importN.name`
for (const [module, name, min] of map.imports) {
  const object = modules.get(module);
  if (!object) fail(`import module ${module} is not in the glue`);
  if (object === 'import0') {
    // A key of import0's object literal: `        name: function(...`.
    const key = new RegExp(`(\\n\\s+)${escape(name)}:`, 'g');
    const n = [...glue.matchAll(key)].length;
    if (n !== 1) fail(`import ${name} is defined ${n} times`);
    glue = glue.replace(key, `$1${JSON.stringify(min)}:`);
  } else {
    if (!ident.test(name)) fail(`snippet import ${name} is not an identifier`);
    renamed.push(`${JSON.stringify(min)}: ${object}.${name}`);
  }
}
// All modules are one now ("a" in the .wasm): import0 with the snippet functions added.
const newModule = wasmModuleName();
glue = glue.replace(
  returned[0],
  `return { __proto__: null, ${JSON.stringify(newModule)}: Object.assign(import0, { ${renamed.join(', ')} }) };`,
);

// Exports: `wasm.name` → `wasm.min`.
const exportNames = new Set();
for (const [name, min] of map.exports) {
  exportNames.add(min);
  const use = new RegExp(`\\bwasm\\.${escape(name)}(?![\\w$])`, 'g');
  glue = glue.replace(use, ident.test(min) ? `wasm.${min}` : `wasm[${JSON.stringify(min)}]`);
}
// wasm-bindgen's own wrappers of the closure exports are named after them too: shorten those
// local function names (they are not exported from the glue).
let k = 0;
const longNames = new Map();
glue = glue.replace(/\bwasm_bindgen_[0-9a-f]{16}___\w+/g, (n) => {
  if (!longNames.has(n)) longNames.set(n, `__wbg_closure_${k++}`);
  return longNames.get(n);
});

for (const m of glue.matchAll(/\bwasm\.([\w$]+)/g)) {
  if (!exportNames.has(m[1])) fail(`the glue reads wasm.${m[1]}, which the .wasm does not export`);
}
for (const [, name] of map.imports) {
  if (name.startsWith('__wbg') && glue.includes(name)) fail(`import name ${name} is left in the glue`);
}
writeFileSync(gluePath, glue);

/** The one module name the minified .wasm imports from (wasm-opt names it; "a" today). */
function wasmModuleName() {
  const wasmPath = gluePath.replace(/\.js$/, '_bg.wasm');
  const mod = new WebAssembly.Module(readFileSync(wasmPath));
  const names = new Set(WebAssembly.Module.imports(mod).map((i) => i.module));
  if (names.size !== 1) fail(`the minified .wasm imports from ${names.size} modules`);
  const fields = new Set(WebAssembly.Module.imports(mod).map((i) => i.name));
  const mins = new Set(map.imports.map(([, , min]) => min));
  for (const f of fields) if (!mins.has(f)) fail(`the .wasm imports ${f}, which the mapping does not name`);
  return [...names][0];
}
