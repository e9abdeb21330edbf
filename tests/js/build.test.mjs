// SPEC §1: the package works under Vite and in a worker, with no init() call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const appRoot = path.join(here, 'fixtures', 'vite-app');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

test('vite build of an app importing the package succeeds and ships the wasm', async () => {
  const { build } = await import('vite');
  const outDir = fs.mkdtempSync(path.join(here, 'node_modules', '.vite-out-'));
  try {
    await build({ root: appRoot, logLevel: 'error', configFile: false, build: { outDir, emptyOutDir: true } });
    const files = walk(outDir);
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    const js = files.filter((f) => f.endsWith('.js'));
    assert.ok(js.length >= 1, 'a JS bundle');
    const bundle = js.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    if (wasm.length) {
      const bytes = fs.readFileSync(wasm[0]);
      assert.deepEqual([...bytes.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'a real wasm module');
      assert.ok(bundle.includes(path.basename(wasm[0])), 'the bundle references the emitted .wasm asset');
    } else {
      assert.ok(bundle.includes('AGFzbQ'), 'no .wasm asset emitted and no inlined wasm found in the bundle');
    }
    assert.ok(bundle.includes('int_vite'), 'the app code is in the bundle');
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
});

test('the package works in a Node worker thread with no init()', async () => {
  const server = await startMockServer();
  try {
    server.queue('chat', stream([ev.start('thr_w'), ev.text('Hi worker'), ev.done('thr_w')]));
    const worker = new Worker(new URL('./fixtures/worker/worker.mjs', import.meta.url), { workerData: { baseUrl: server.baseUrl } });
    const msgs = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => code && reject(new Error(`worker exited ${code}`)));
    });
    await worker.terminate();
    assert.deepEqual(msgs, [
      { role: 'user', content: 'hello from a worker' },
      { role: 'assistant', content: 'Hi worker', blocks: [{ type: 'text', content: 'Hi worker' }] },
    ]);
  } finally {
    await server.close();
  }
});

test('packed package: name, exports and a shipped .d.ts', async () => {
  const pkgJson = JSON.parse(fs.readFileSync(path.join(here, 'node_modules', 'kapa-agent-wasm', 'package.json'), 'utf8'));
  assert.equal(pkgJson.name, 'kapa-agent-wasm');
  const mod = await import('kapa-agent-wasm');
  for (const name of ['Agent', 'createToolHelper', 'SessionWithoutOwnerError', 'HistoryDisabledError', 'ThreadNotFoundError']) {
    assert.equal(typeof mod[name], 'function', name);
  }
  const types = pkgJson.types || pkgJson.typings || pkgJson.exports?.['.']?.types;
  assert.ok(types, 'package.json declares its types');
  assert.ok(fs.existsSync(path.join(here, 'node_modules', 'kapa-agent-wasm', types)), `${types} is shipped`);
});

test('shipped JS: no top-level await, nothing bundlers cannot follow, minified, the public names kept', async () => {
  const pkg = path.join(here, 'node_modules', 'kapa-agent-wasm');
  const mod = await import('kapa-agent-wasm');
  assert.equal(mod.Agent.name, 'Agent');
  assert.equal(mod.ThreadNotFoundError.name, 'ThreadNotFoundError');
  // One JS file per entry, the glue and snippets bundled in: a page loads it and its .wasm,
  // nothing more.
  const js = walk(pkg).filter((f) => f.endsWith('.js')).map((f) => path.relative(pkg, f)).sort();
  assert.deepEqual(js, ['governance.js', 'index.js']);
  for (const [file, wasm] of [['index.js', 'kapa_agent_wasm_bg'], ['governance.js', 'kapa_agent_wasm_governance_bg']]) {
    const entry = fs.readFileSync(path.join(pkg, file), 'utf8');
    assert.ok(entry.split('\n').length < 40, `${file} is minified`);
    const urls = [...entry.matchAll(/new URL\("(?:\.\/)?([\w.]+)",import\.meta\.url\)/g)].map((m) => m[1]);
    // The pattern bundlers follow to emit the .wasm: this entry's own .wasm, never the other.
    assert.ok(urls.includes(`${wasm}.wasm`), `${file} references ${wasm}.wasm as bundlers follow it`);
    assert.deepEqual([...new Set(urls)], [`${wasm}.wasm`], `${file} references no other .wasm`);
  }
  const { transform } = await import('esbuild');
  for (const file of walk(pkg).filter((f) => f.endsWith('.js'))) {
    const code = fs.readFileSync(file, 'utf8');
    const name = path.relative(pkg, file);
    // What Vite 5/6 and webpack setups target by default: top-level await there fails the build.
    await assert.doesNotReject(transform(code, { format: 'esm', target: 'es2020', logLevel: 'silent' }), `${name} builds for es2020`);
    // Every dynamic import names a file, so bundlers follow it (no import of a variable).
    assert.doesNotMatch(code, /\bimport\((?!["'])/, `${name} imports only literal paths`);
    // Class static blocks (which --keep-names emits for newer targets) need Safari 16.4.
    assert.doesNotMatch(code, /static\s*\{/, name);
  }
  // The entry still fails es2020's check with a top-level await in it (the check can fail).
  await assert.rejects(transform('await 0; export {}', { format: 'esm', target: 'es2020', logLevel: 'silent' }), /Top-level await/);
});

test('imports and exports of each .wasm are minified, in the .wasm and in its entry', () => {
  const pkg = path.join(here, 'node_modules', 'kapa-agent-wasm');
  for (const [file, wasm] of [['index.js', 'kapa_agent_wasm_bg.wasm'], ['governance.js', 'kapa_agent_wasm_governance_bg.wasm']]) {
    const mod = new WebAssembly.Module(fs.readFileSync(path.join(pkg, wasm)));
    const imports = WebAssembly.Module.imports(mod);
    assert.ok(imports.length > 20, `${wasm} imports functions`);
    assert.deepEqual([...new Set(imports.map((i) => i.module))], ['a'], `${wasm} imports from one module`);
    for (const i of imports) assert.ok(i.name.length <= 2, `${wasm} import ${i.name}`);
    for (const e of WebAssembly.Module.exports(mod)) assert.ok(e.name.length <= 2, `${wasm} export ${e.name}`);
    const entry = fs.readFileSync(path.join(pkg, file), 'utf8');
    assert.doesNotMatch(entry, /__wbg_\w+_[0-9a-f]{16}/, `${file}: wasm-bindgen's hashed import names are gone`);
    assert.doesNotMatch(entry, /wasm_bindgen_[0-9a-f]{16}/, `${file}: closure exports' type names are gone`);
  }
});

test('the shipped files name no path of the machine that built them', () => {
  // Panic locations embed source paths; scripts/build-pkg.sh remaps them (--remap-path-prefix).
  const pkg = path.join(here, 'node_modules', 'kapa-agent-wasm');
  const repo = path.resolve(here, '..', '..');
  const home = process.env.HOME && process.env.HOME.length > 1 ? process.env.HOME : '/root';
  for (const file of walk(pkg)) {
    const text = fs.readFileSync(file).toString('latin1');
    for (const p of [repo, `${home}/`, '/.cargo/']) {
      assert.ok(!text.includes(p), `${path.relative(pkg, file)} contains ${p}`);
    }
  }
});
