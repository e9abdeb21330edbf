// Where the package's time goes: runs one workload for ours under the V8 CPU profiler (Node)
// and summarises self time by category (wasm, wasm-bindgen JS glue, web streams / fetch,
// the bench's callbacks and stub, GC) and by top functions.
//   node profile.mjs [workload id, default long-1k] [turns, default 20] [ours|oursSse]
// (npm run profile). Writes profiles/<id>-<who>.cpuprofile for DevTools too.
// The shipped .wasm has no function names, so when the cargo artifact
// ../target/wasm32-unknown-unknown/release/kapa_agent_wasm.wasm exists, this profiles a
// named twin of the package: the same artifact through wasm-bindgen and the same wasm-opt -Oz,
// keeping the name section (-g). NAMED=0 profiles the shipped package instead.
import { Session } from 'node:inspector/promises';
import { writeFileSync, mkdirSync } from 'node:fs';
import { snapshotPkg } from './lib/snapshot.mjs';
import { buildWorkloads } from './lib/suite.mjs';
import { installFetch, runOurs } from './lib/contenders.mjs';

import { existsSync, cpSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
await snapshotPkg();
const artifact = new URL('../target/wasm32-unknown-unknown/release/kapa_agent_wasm.wasm', import.meta.url).pathname;
const wasmOpt = new URL('../scripts/node_modules/.bin/wasm-opt', import.meta.url).pathname;
let Agent;
if (process.env.NAMED !== '0' && existsSync(artifact)) {
  const out = new URL('./build/named/', import.meta.url).pathname;
  rmSync(out, { recursive: true, force: true });
  execFileSync('wasm-bindgen', [artifact, '--target', 'web', '--out-dir', out, '--out-name', 'kapa_agent_wasm'], { stdio: 'inherit' });
  if (existsSync(wasmOpt)) {
    execFileSync(wasmOpt, [`${out}kapa_agent_wasm_bg.wasm`, '-Oz', '-g', '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
      '--enable-sign-ext', '--enable-mutable-globals', '--enable-reference-types', '--enable-multivalue', '-o', `${out}kapa_agent_wasm_bg.wasm`], { stdio: 'inherit' });
  }
  cpSync(new URL('./build/pkg/index.js', import.meta.url).pathname, `${out}index.js`);
  ({ Agent } = await import('./build/named/index.js'));
  console.log('profiling a named twin of the package (cargo artifact → wasm-bindgen → wasm-opt -Oz -g)');
} else {
  ({ Agent } = await import('./build/pkg/index.js'));
}
const env = { Agent };
const id = process.argv[2] || 'long-1k';
const turns = Number(process.argv[3] || 20);
const who = process.argv[4] || 'ours';
const wl = buildWorkloads().find((w) => w.id === id);
if (!wl) throw new Error(`no workload ${id}`);
installFetch();
const w = { streams: wl.streams[who === 'oursSse' ? 'oursSse' : 'ours'], earlier: wl.earlier, tools: wl.tools, sse: who === 'oursSse' };
for (let i = 0; i < 3; i++) await runOurs(env.Agent, w); // warm up

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 });
await session.post('Profiler.start');
let ms = 0;
for (let i = 0; i < turns; i++) ms += (await runOurs(env.Agent, w)).ms;
const { profile } = await session.post('Profiler.stop');
mkdirSync(new URL('./profiles/', import.meta.url), { recursive: true });
writeFileSync(new URL(`./profiles/${id}-${who}.cpuprofile`, import.meta.url), JSON.stringify(profile));

// Self time per node from the samples.
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const d = profile.timeDeltas[i + 1] ?? 0;
  dt.set(profile.samples[i], (dt.get(profile.samples[i]) || 0) + d);
}
const category = (cf) => {
  const u = cf.url || '';
  if (u.startsWith('wasm://') || /^\$?wasm-function|^\$func/.test(cf.functionName)) return 'wasm';
  if (u.includes('/pkg/') || u.includes('/named/')) return 'JS glue (wasm-bindgen + entry)';
  if (u.includes('/bench/lib/contenders')) return 'bench: fetch stub + callbacks';
  if (u.includes('webstreams') || u.includes('internal/deps/undici') || u.includes('fetch')) return 'node: web streams / Response';
  if (cf.functionName === '(garbage collector)') return 'GC';
  if (cf.functionName === '(idle)' || cf.functionName === '(program)' || cf.functionName === '(root)') return `V8 ${cf.functionName}`;
  if (u.startsWith('node:') || u === '') return 'node internals / builtins';
  return 'other JS';
};
const byCat = new Map(); const byFn = new Map(); let total = 0;
for (const n of profile.nodes) {
  const t = dt.get(n.id) || 0; if (!t) continue;
  total += t;
  const c = category(n.callFrame);
  byCat.set(c, (byCat.get(c) || 0) + t);
  const key = `${n.callFrame.functionName || '(anonymous)'}  [${c}]`;
  byFn.set(key, (byFn.get(key) || 0) + t);
}
const clean = (name) => name.replace(/::h[0-9a-f]{16}$/, '').replace(/\[[0-9a-f]{16}\]/g, '');
const area = (name) => {
  if (/serde_json|serde_core|serde::/.test(name)) return 'JSON (serde_json: parse / build Value)';
  if (/btree/.test(name)) return 'BTreeMap (serde_json::Value objects: insert / drop)';
  if (/dlmalloc|raw_vec|__rdl_|__rust_(alloc|dealloc|realloc)|alloc::alloc/.test(name)) return 'allocator (malloc / free / Vec growth)';
  if (/to_vec|memcpy|memmove|memset|clone/.test(name)) return 'copies (to_vec, clone, memcpy)';
  if (/kapa_agent_wasm::decode/.test(name)) return 'kapa decode (framing)';
  if (/kapa_agent_wasm::machine/.test(name)) return 'kapa machine';
  if (/kapa_agent_wasm::(wasm|messages)|convert/.test(name)) return 'kapa wasm skin (driver, convert)';
  if (/kapa_agent_wasm/.test(name)) return 'kapa other';
  if (/wasm_bindgen|js_sys|web_sys|externref|__wbindgen/.test(name)) return 'wasm-bindgen runtime';
  if (/core::str|from_utf8|utf8/.test(name)) return 'UTF-8 checks';
  return 'other wasm';
};
const byArea = new Map();
for (const n of profile.nodes) {
  const t = dt.get(n.id) || 0; if (!t || category(n.callFrame) !== 'wasm') continue;
  const a = area(n.callFrame.functionName); byArea.set(a, (byArea.get(a) || 0) + t);
}
// Inclusive time of a few entry points (a frame counted once even when recursive).
const parent = new Map(); for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const ENTRY = [['Machine::handle_chunk', /Machine::handle_chunk/], ['Machine::feed', /Machine::feed/], ['decode (framing)', /kapa_agent_wasm::decode/],
  ['messages_array (messages → JS)', /messages_array/], ['to_js (Rust value → JS)', /convert::to_js/], ['from_js (JS → Rust)', /convert::from_js/],
  ['drive (effects loop)', /driver::drive/], ['onMessagesChange callback (bench)', /onMessagesChange/], ['serde_json (all)', /serde_json/]];
const incl = new Map();
for (const n of profile.nodes) {
  const t = dt.get(n.id) || 0; if (!t) continue;
  const seen = new Set();
  for (let id = n.id; id != null; id = parent.get(id)) {
    const fn = byId.get(id).callFrame.functionName;
    for (const [label, re] of ENTRY) if (!seen.has(label) && re.test(fn)) { seen.add(label); incl.set(label, (incl.get(label) || 0) + t); }
  }
}
const pct = (t) => `${((100 * t) / total).toFixed(1)}%`.padStart(6);
console.log(`${id} (${who}): ${turns} turns, ${(ms / turns).toFixed(1)} ms per turn, ${(1000 * ms / turns / wl.deltas).toFixed(2)} µs per delta (under the profiler)`);
console.log('\nself time by category:');
for (const [c, t] of [...byCat].sort((a, b) => b[1] - a[1])) console.log(`${pct(t)}  ${c}`);
console.log('\nwasm self time by area:');
for (const [a, t] of [...byArea].sort((x, y) => y[1] - x[1])) console.log(`${pct(t)}  ${a}`);
console.log('\ninclusive time of entry points:');
for (const [label] of ENTRY) console.log(`${pct(incl.get(label) || 0)}  ${label}`);
console.log('\ntop functions by self time:');
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(t)}  ${clean(k.replace(/  \[.*\]$/, ''))}  ${k.match(/\[[^\]]*\]$/)[0]}`);
