// What the .wasm is made of: a named twin of the shipped module (the cargo artifact through
// wasm-bindgen and the same wasm-opt -Oz, keeping the name section), measured with twiggy,
// grouped by where the code comes from. Prints a Markdown table; --json prints the groups.
//   node size.mjs [--governance]  (npm run size; needs `cargo install twiggy` and a release build,
//                             e.g. bash ../scripts/build-pkg.sh)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// The main entry's module, or the governance entry's with --governance (scripts/build-pkg.sh
// keeps both cargo artifacts in target/pkg-artifacts/).
const name = process.argv.includes('--governance') ? 'kapa_agent_wasm_governance' : 'kapa_agent_wasm';
const artifact = join(root, `target/pkg-artifacts/${name}.wasm`);
const wasmOpt = join(root, 'scripts/node_modules/.bin/wasm-opt');
if (!existsSync(artifact)) throw new Error(`no ${artifact}: run bash scripts/build-pkg.sh first`);
const dir = mkdtempSync(join(tmpdir(), 'kapa-size-'));
execFileSync('wasm-bindgen', [artifact, '--target', 'web', '--out-dir', dir, '--out-name', 'm', '--keep-debug']);
const named = join(dir, 'named.wasm');
execFileSync(existsSync(wasmOpt) ? wasmOpt : 'wasm-opt', [join(dir, 'm_bg.wasm'), '-Oz', '-g', '--strip-debug', '--strip-producers',
  '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals',
  '--enable-reference-types', '--enable-multivalue', '-o', named]);
const csv = execFileSync('twiggy', ['top', '-n', '1000000', '-f', 'csv', named], { maxBuffer: 64 << 20 }).toString();

// Groups, first match wins. Names are demangled Rust paths (or wasm-bindgen's shims).
const GROUPS = [
  ['names section (not shipped)', /names" subsection|^name section|custom section/],
  ['data: strings and tables', /^data segment/],
  ['machine: governance (Kaplaix)', /kapa_agent_wasm::machine::governance|kapa_agent_wasm::canonical/],
  ['machine: turns, tools, history', /kapa_agent_wasm::machine|kapa_agent_wasm::(options|messages|time|rng)/],
  ['protocol + stream decoding', /kapa_agent_wasm::(protocol|decode)/],
  ['JSON Schema validation', /kapa_agent_wasm::schema/],
  ['wasm skin: driver, options, conversions', /kapa_agent_wasm::wasm/],
  ['serde_json + serde', /serde/],
  ['float formatting/parsing (core)', /flt2dec|dec2flt|bignum|grisu|dragon|f64 as core|f32 as core|fmt::float/],
  ['formatting machinery (core::fmt)', /core::fmt|core\[[0-9a-f]+\]::fmt|fmt::Write|Formatter|Debug/],
  ['allocator (dlmalloc)', /dlmalloc|talc/],
  ['wasm-bindgen / js-sys / web-sys glue', /wasm_bindgen|js_sys|web_sys|externref|shim|__wbindgen|__wbg/],
  ['collections (BTreeMap, Vec, SmallMap)', /btree|hashbrown|HashMap|raw_vec|vec::|kapa_agent_wasm::small_map/],
  ['core / alloc / std, other', /./],
];
const sizes = new Map(GROUPS.map(([g]) => [g, 0]));
for (const line of csv.trim().split('\n').slice(1)) {
  // CSV: a name with a comma or quote is quoted, its quotes doubled.
  const m = line.match(/^(?:"((?:[^"]|"")*)"|([^,]*)),(\d+),/);
  if (!m) continue;
  // The nightly build's names carry crate hashes (`kapa_agent_wasm[43e0…]::`): dropped.
  const name = (m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]).replace(/\[[0-9a-f]{16}\]/g, '');
  const bytes = m[3];
  const g = GROUPS.find(([, re]) => re.test(name))[0];
  sizes.set(g, sizes.get(g) + Number(bytes));
}
const shipped = readFileSync(join(root, `pkg/${name}_bg.wasm`));
const gz = gzipSync(shipped, { level: 9 }).length;
const code = [...sizes].filter(([g]) => !g.startsWith('names')).reduce((n, [, b]) => n + b, 0);
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ shippedRaw: shipped.length, shippedGzip: gz, groups: Object.fromEntries(sizes) }, null, 1));
} else {
  console.log(`Shipped .wasm: ${(shipped.length / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzip. Shares of its ${(code / 1024).toFixed(1)} KiB (named twin, twiggy shallow sizes):\n`);
  console.log('| part | KiB raw | share | ≈ KiB gzip |\n|---|--:|--:|--:|');
  for (const [g, b] of [...sizes].filter(([g]) => !g.startsWith('names')).sort((a, b) => b[1] - a[1])) {
    console.log(`| ${g} | ${(b / 1024).toFixed(1)} | ${((100 * b) / code).toFixed(1)} % | ${((gz * b) / code / 1024).toFixed(1)} |`);
  }
  console.log('\n(≈ gzip: the shipped gzip size shared out in proportion to raw size; parts compress differently.)');
}
