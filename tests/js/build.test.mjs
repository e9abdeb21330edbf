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

// Under `vite dev` the browser loads the package through Vite's dependency pre-bundling; the
// wasm URL the package computes must then still serve the wasm. Checked without a browser by
// fetching, from the dev server, the module the app imports and the .wasm URL it points at.
async function devServerWasm(extraConfig = {}) {
  const { createServer } = await import('vite');
  const cacheDir = fs.mkdtempSync(path.join(here, 'node_modules', '.vite-cache-'));
  const server = await createServer({ root: appRoot, configFile: false, logLevel: 'error', cacheDir, server: { port: 0, host: '127.0.0.1' }, ...extraConfig });
  try {
    await server.listen();
    const base = server.resolvedUrls.local[0];
    const main = await (await fetch(new URL('main.js', base))).text();
    const m = main.match(/from\s+["']([^"']*kapa-agent-wasm[^"']*)["']/);
    assert.ok(m, 'main.js imports the package');
    // Follow the package's entry and its imports until the `new URL('…wasm', import.meta.url)`.
    const seen = new Set();
    const queue = [new URL(m[1], base).href];
    const wasmUrls = [];
    while (queue.length && seen.size < 20) {
      const u = queue.shift();
      if (seen.has(u)) continue;
      seen.add(u);
      const text = await (await fetch(u)).text();
      for (const x of text.matchAll(/new URL\(\s*["']([^"']+\.wasm)["']\s*,\s*import\.meta\.url\s*\)/g)) wasmUrls.push(new URL(x[1], u).href);
      for (const x of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+\.js(?:\?[^"']*)?)["']/g)) queue.push(new URL(x[1], u).href);
    }
    assert.ok(wasmUrls.length >= 1, 'the package computes a .wasm URL');
    const results = [];
    for (const u of new Set(wasmUrls)) {
      const r = await fetch(u);
      const bytes = Buffer.from(await r.arrayBuffer());
      results.push({ url: u.replace(base, '/'), status: r.status, type: r.headers.get('content-type'), magic: [...bytes.subarray(0, 4)] });
    }
    return results;
  } finally {
    await server.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

// Zero-config `vite dev` is not supported: Vite's dependency pre-bundling moves the entry to
// node_modules/.vite/deps/ without the .wasm beside it. The npm README documents the one-line
// fix (optimizeDeps.exclude), which this test proves; `vite build` needs nothing (test above).
test('vite dev server with optimizeDeps.exclude: the wasm URL serves the wasm', async () => {
  const results = await devServerWasm({ optimizeDeps: { exclude: ['kapa-agent-wasm'] } });
  for (const r of results) {
    assert.deepEqual(r.magic, [0, 0x61, 0x73, 0x6d], `${r.url} answered ${r.status} ${r.type}, not the wasm module`);
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

test('shipped JS: glue and snippets minified with their names kept, the entry as written', async () => {
  const pkg = path.join(here, 'node_modules', 'kapa-agent-wasm');
  const mod = await import('kapa-agent-wasm');
  assert.equal(mod.Agent.name, 'Agent');
  assert.equal(mod.ThreadNotFoundError.name, 'ThreadNotFoundError');
  const glue = fs.readFileSync(path.join(pkg, 'kapa_agent_wasm.js'), 'utf8');
  assert.ok(glue.split('\n').length < 40, 'wasm-bindgen glue is minified');
  // Vite reads these comments on the entry's dynamic imports (scripts/build-pkg.sh).
  assert.match(fs.readFileSync(path.join(pkg, 'index.js'), 'utf8'), /\/\* @vite-ignore \*\//);
  // esbuild's target keeps the syntax to what browsers with top-level await run: class
  // static blocks (which --keep-names emits for newer targets) need Safari 16.4.
  for (const file of walk(pkg).filter((f) => f.endsWith('.js'))) {
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /static\s*\{/, path.relative(pkg, file));
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
