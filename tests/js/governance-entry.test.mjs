// Issue 12: pages that do not pass `governance` do not download it. The package's main entry
// (index.js, kapa_agent_wasm_bg.wasm) is built without governance and refuses the option with a
// TypeError naming what to import; `kapa-agent-wasm/governance` (governance.js, its own .wasm)
// is the same API with it.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as plain from 'kapa-agent-wasm';
import * as gov from 'kapa-agent-wasm/governance';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, 'node_modules', 'kapa-agent-wasm');
const noop = () => {};
const base = () => ({
  projectId: 'p',
  integrationId: 'i',
  getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
  onMessagesChange: noop,
  onStreamingChange: noop,
});
const governance = { endpoint: '/api/kaplaix', agentId: 'agent-1', mode: 'block' };
const whatToImport = /^options\.governance: .*no governance.*import \{ Agent \} from 'kapa-agent-wasm\/governance'/;

test('both entries export the same API', () => {
  assert.deepEqual(Object.keys(gov).sort(), Object.keys(plain).sort());
  assert.notEqual(gov.Agent, plain.Agent, 'two builds, two classes');
  assert.equal(gov.Agent.name, 'Agent');
});

test('the main entry refuses `governance` with a TypeError that names the import to use', async () => {
  assert.throws(() => new plain.Agent({ ...base(), governance }), (e) => e instanceof TypeError && whatToImport.test(e.message));
  // Whatever its value: the option itself is what this build cannot honour.
  assert.throws(() => new plain.Agent({ ...base(), governance: null }), (e) => e instanceof TypeError && whatToImport.test(e.message));
  const agent = new plain.Agent(base());
  try {
    assert.throws(() => agent.updateOptions({ governance }), (e) => e instanceof TypeError && whatToImport.test(e.message));
    // Left out (or undefined) it is fine, and flushGovernance() has nothing to wait for.
    agent.updateOptions({ governance: undefined });
    await plain.ready;
    assert.equal(await agent.flushGovernance({ timeoutMs: 50 }), true);
    await assert.rejects(async () => agent.flushGovernance({ timeoutMs: -1 }), TypeError);
  } finally {
    agent.free();
  }
});

test('the governance entry accepts and checks `governance`', async () => {
  const agent = new gov.Agent({ ...base(), governance });
  try {
    await gov.ready;
    assert.equal(await agent.flushGovernance({ timeoutMs: 50 }), true);
  } finally {
    agent.free();
  }
  assert.throws(() => new gov.Agent({ ...base(), governance: { ...governance, mode: 'sometimes' } }), /options\.governance\.mode must be/);
  assert.throws(() => new gov.Agent({ ...base(), governance: null }), /options\.governance must be an object/);
});

// What governance adds, by strings only it uses: Kaplaix's endpoint paths and headers in the
// .wasm, the option's checks in the JS. The governance entry's files have them (so this test
// can fail); the main entry's have none.
const wasmMarkers = ['/v1/events', '/v1/policies/check', '/v1/guardian/pending-actions', 'x-kaplaix-sdk'];
const jsMarkers = ['failOnCircuitOpen', 'approvalTimeoutMs', 'pollIntervalMs'];

function has(file, marker) {
  return fs.readFileSync(path.join(pkg, file)).includes(Buffer.from(marker));
}

test('the main entry ships no governance code; the governance entry does', () => {
  for (const m of wasmMarkers) {
    assert.ok(has('kapa_agent_wasm_governance_bg.wasm', m), `the governance .wasm has ${m}`);
    assert.ok(!has('kapa_agent_wasm_bg.wasm', m), `kapa_agent_wasm_bg.wasm has ${m}`);
  }
  for (const m of jsMarkers) {
    assert.ok(has('governance.js', m), `governance.js has ${m}`);
    assert.ok(!has('index.js', m), `index.js has ${m}`);
  }
  const plainSize = fs.statSync(path.join(pkg, 'kapa_agent_wasm_bg.wasm')).size;
  const govSize = fs.statSync(path.join(pkg, 'kapa_agent_wasm_governance_bg.wasm')).size;
  assert.ok(plainSize < govSize, `the main .wasm (${plainSize} B) is smaller than the governance one (${govSize} B)`);
});

test('package.json exports both entries with their types', () => {
  const json = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8'));
  assert.deepEqual(json.exports['./governance'], { types: './governance.d.ts', default: './governance.js' });
  for (const f of ['governance.js', 'governance.d.ts', 'kapa_agent_wasm_governance_bg.wasm']) {
    assert.ok(fs.existsSync(path.join(pkg, f)), `${f} is shipped`);
  }
});

test('a bundler given the governance entry emits its .wasm and not the main one', async () => {
  const { build } = await import('vite');
  // A throwaway app beside node_modules, importing only the governance entry.
  const app = fs.mkdtempSync(path.join(here, '.gov-app-'));
  const outDir = path.join(app, 'dist');
  try {
    fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    fs.writeFileSync(
      path.join(app, 'main.js'),
      "import { Agent } from 'kapa-agent-wasm/governance';\nwindow.agent = new Agent({ projectId: 'p', integrationId: 'int_gov', getSessionToken: () => ({ token: 't', expiresAt: 0 }), onMessagesChange() {}, onStreamingChange() {}, governance: { endpoint: '/api/kaplaix', agentId: 'a' } });\n",
    );
    await build({ root: app, logLevel: 'error', configFile: false, build: { outDir, emptyOutDir: true } });
    const files = fs.readdirSync(outDir, { recursive: true }).map(String);
    const wasm = files.filter((f) => f.endsWith('.wasm')).map((f) => path.basename(f));
    assert.equal(wasm.length, 1, `one .wasm emitted: ${wasm.join(', ')}`);
    assert.match(wasm[0], /^kapa_agent_wasm_governance_bg\b/);
    const js = files.filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(outDir, f), 'utf8')).join('\n');
    assert.ok(js.includes(wasm[0]), 'the bundle references the emitted .wasm');
    assert.ok(js.includes('int_gov'), 'the app code is in the bundle');
  } finally {
    fs.rmSync(app, { recursive: true, force: true });
  }
});
