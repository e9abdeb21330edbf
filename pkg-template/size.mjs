// Prints raw / gzip / brotli sizes of the .wasm and the JS glue, and fails when the gzip total
// passes the budget in pkg-template/size-budget.json (measured size plus a small margin).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const pkg = new URL('../pkg/', import.meta.url);
const budget = JSON.parse(readFileSync(new URL('size-budget.json', import.meta.url), 'utf8'));

function jsFiles(dir, prefix = '') {
  return readdirSync(new URL(prefix, dir)).flatMap((name) => {
    const rel = prefix + name;
    if (statSync(new URL(rel, dir)).isDirectory()) return jsFiles(dir, rel + '/');
    return rel.endsWith('.js') ? [rel] : [];
  });
}

function measure(names) {
  const buf = Buffer.concat(names.map((n) => readFileSync(new URL(n, pkg))));
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

const kib = (n) => (n / 1024).toFixed(1).padStart(7) + ' KiB';
const rows = [
  ['kapa_agent_wasm_bg.wasm', measure(['kapa_agent_wasm_bg.wasm'])],
  ['JS (index.js)', measure(jsFiles(pkg))],
];
const total = { raw: 0, gzip: 0, brotli: 0 };
console.log('size'.padEnd(28) + 'raw'.padStart(11) + 'gzip'.padStart(11) + 'brotli'.padStart(11));
for (const [name, s] of rows) {
  for (const k of Object.keys(total)) total[k] += s[k];
  console.log(name.padEnd(28) + kib(s.raw) + kib(s.gzip) + kib(s.brotli));
}
console.log('total'.padEnd(28) + kib(total.raw) + kib(total.gzip) + kib(total.brotli));
// One budget per toolchain the .wasm can be built with (scripts/build-pkg.sh): the pinned
// nightly ships; stable must still build, a little larger.
const toolchain = process.env.KAPA_TOOLCHAIN || 'nightly';
const limit = budget[toolchain]?.gzipTotalBytes;
if (process.env.FEATURES) {
  console.log(`built with features ${process.env.FEATURES}: the size budget is not checked`);
} else if (!limit) {
  console.error(`no size budget for toolchain ${toolchain} in pkg-template/size-budget.json`);
  process.exit(1);
} else if (total.gzip > limit) {
  console.error(`size budget exceeded: ${total.gzip} B gzip > ${limit} B (${toolchain}, pkg-template/size-budget.json)`);
  process.exit(1);
} else {
  console.log(`size budget (${toolchain}): ${total.gzip} / ${limit} B gzip`);
}
