// Prints raw / gzip / brotli sizes of what a plain page downloads through each package entry
// (its one JS file and its .wasm) and fails when an entry's gzip total passes its budget in
// pkg-template/size-budget.json (measured size plus a small margin), per toolchain.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const pkg = new URL('../pkg/', import.meta.url);
const budget = JSON.parse(readFileSync(new URL('size-budget.json', import.meta.url), 'utf8'));

// Each entry: the import specifier, the budget key and the files a page fetches through it.
const entries = [
  { name: 'kapa-agent-wasm', key: 'gzipTotalBytes', files: ['index.js', 'kapa_agent_wasm_bg.wasm'] },
  {
    name: 'kapa-agent-wasm/governance',
    key: 'governanceGzipTotalBytes',
    files: ['governance.js', 'kapa_agent_wasm_governance_bg.wasm'],
  },
];

// Every JS file and .wasm the package ships is one of those: a new one must be counted.
const shipped = readdirSync(pkg).filter((f) => /\.(m?js|wasm)$/.test(f));
const counted = new Set(entries.flatMap((e) => e.files));
const uncounted = shipped.filter((f) => !counted.has(f));
if (uncounted.length) {
  console.error(`pkg-template/size.mjs: ${uncounted.join(', ')} not counted in any entry's size`);
  process.exit(1);
}

function measure(names) {
  const sizes = names.map((n) => {
    const buf = readFileSync(new URL(n, pkg));
    return {
      raw: buf.length,
      // Each file compressed on its own, as a server sends it.
      gzip: gzipSync(buf, { level: 9 }).length,
      brotli: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  });
  return sizes;
}

const kib = (n) => (n / 1024).toFixed(1).padStart(7) + ' KiB';
// One budget per toolchain the .wasm can be built with (scripts/build-pkg.sh): the pinned
// nightly ships; stable must still build, a little larger.
const toolchain = process.env.KAPA_TOOLCHAIN || 'nightly';
let failed = false;
console.log('size'.padEnd(40) + 'raw'.padStart(11) + 'gzip'.padStart(11) + 'brotli'.padStart(11));
for (const entry of entries) {
  const total = { raw: 0, gzip: 0, brotli: 0 };
  measure(entry.files).forEach((s, i) => {
    for (const k of Object.keys(total)) total[k] += s[k];
    console.log(('  ' + entry.files[i]).padEnd(40) + kib(s.raw) + kib(s.gzip) + kib(s.brotli));
  });
  console.log(`${entry.name} total`.padEnd(40) + kib(total.raw) + kib(total.gzip) + kib(total.brotli));
  const limit = budget[toolchain]?.[entry.key];
  if (process.env.FEATURES) {
    console.log(`  built with features ${process.env.FEATURES}: the size budget is not checked`);
  } else if (!limit) {
    console.error(`  no size budget ${entry.key} for toolchain ${toolchain} in pkg-template/size-budget.json`);
    failed = true;
  } else if (total.gzip > limit) {
    console.error(`  size budget exceeded: ${total.gzip} B gzip > ${limit} B (${toolchain} ${entry.key}, pkg-template/size-budget.json)`);
    failed = true;
  } else {
    console.log(`  size budget (${toolchain}): ${total.gzip} / ${limit} B gzip`);
  }
}
if (failed) process.exit(1);
