// The consumer-fixture matrix: each app (run.sh installed the packed package into it) is built
// with its tool's default config, or served by its dev server, then opened in headless Chromium
// behind one origin shared with the development server's embedded backend (Node: run as a
// script). One message makes the backend call the app's Zod 3 client tool; each case checks
// that the tool's execute ran with the arguments, the answer streamed in, nothing went wrong on
// the page or its console, and the .wasm was fetched as application/wasm.
// CONSUMERS=vite7-build,node (names below) runs a subset.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  here, launchBrowser, run, shots, startBackend, startOrigin, startViteDev, tail,
} from './lib.mjs';

const MESSAGE = 'Convert 100 degrees Celsius to Fahrenheit';
const EXPECTED_ARGS = { celsius: 100 };
const EXPECTED_ANSWER = 'fahrenheit: 212';

// id, label, fixture dir, how it is served: 'static' (dir, after an optional build) or 'vite-dev'.
const CASES = [
  { id: 'plain', label: 'plain page (import map, no build)', dir: 'plain', serve: 'static', root: '.' },
  { id: 'vite5-dev', label: 'Vite 5 dev', dir: 'vite5', serve: 'vite-dev' },
  { id: 'vite5-build', label: 'Vite 5 build', dir: 'vite5', build: true, serve: 'static', root: 'dist' },
  { id: 'vite6-dev', label: 'Vite 6 dev', dir: 'vite6', serve: 'vite-dev' },
  { id: 'vite6-build', label: 'Vite 6 build', dir: 'vite6', build: true, serve: 'static', root: 'dist' },
  { id: 'vite7-dev', label: 'Vite 7 dev', dir: 'vite7', serve: 'vite-dev' },
  { id: 'vite7-build', label: 'Vite 7 build', dir: 'vite7', build: true, serve: 'static', root: 'dist' },
  { id: 'webpack', label: 'webpack 5 (no config)', dir: 'webpack', build: true, serve: 'static', root: '.' },
  { id: 'rollup', label: 'Rollup 4 + node-resolve', dir: 'rollup', build: true, serve: 'static', root: '.' },
  { id: 'esbuild', label: 'esbuild --bundle --format=esm', dir: 'esbuild', build: true, serve: 'static', root: '.' },
  { id: 'worker-dev', label: 'Web Worker (module worker, Vite 7 dev)', dir: 'worker', serve: 'vite-dev' },
  { id: 'worker-build', label: 'Web Worker (module worker, Vite 7 build)', dir: 'worker', build: true, serve: 'static', root: 'dist' },
  { id: 'node', label: 'Node (plain ESM script)', dir: 'node', serve: 'node' },
];

const only = process.env.CONSUMERS ? process.env.CONSUMERS.split(',').map((s) => s.trim()) : null;
if (only) {
  const unknown = only.filter((id) => !CASES.some((c) => c.id === id));
  if (unknown.length) throw new Error(`CONSUMERS names unknown cases: ${unknown.join(', ')}`);
}

let backend;
let browser;
before(async () => {
  mkdirSync(shots, { recursive: true });
  backend = await startBackend();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await backend?.stop();
});

for (const c of CASES) {
  if (only && !only.includes(c.id)) continue;
  test(c.label, { timeout: 180000 }, async (t) => {
    const cwd = join(here, c.dir);
    checkInstall(cwd);
    if (c.serve === 'node') return checkNode(cwd);

    if (c.build) {
      rmSync(join(cwd, 'dist'), { recursive: true, force: true });
      const { code, out } = await run('npm', ['run', '--silent', 'build'], { cwd, env: { NO_COLOR: '1' } });
      if (code !== 0) assert.fail(`build failed (npm run build exited ${code}):\n${tail(out)}`);
      // Warnings the package causes do not fail the case, but the user sees them: report them.
      const lines = out.split('\n');
      lines.forEach((line, i) => {
        if (/warn/i.test(line) && /kapa-agent-wasm/.test(`${line} ${lines[i + 1] ?? ''}`)) {
          t.diagnostic(`build warning: ${line.trim()} ${(lines[i + 1] ?? '').trim()}`);
        }
      });
    }
    let dev = null;
    let origin;
    try {
      if (c.serve === 'vite-dev') {
        dev = await startViteDev(cwd);
        origin = await startOrigin({ backend: backend.url, upstream: dev.url });
      } else {
        origin = await startOrigin({ backend: backend.url, dir: join(cwd, c.root) });
      }
      const failures = await checkPage(origin.url, c.id);
      if (dev) {
        if (dev.exited() !== null) failures.unshift(`vite dev exited (${dev.exited()}) while serving the app`);
        const errors = [...new Set(dev.log().split('\n').filter((l) => /error/i.test(l)).map((l) => l.trim()))];
        if (errors.length) failures.push(`vite dev printed:\n  ${errors.slice(0, 6).join('\n  ')}`);
      }
      if (failures.length) assert.fail(failures.join('\n'));
    } finally {
      await origin?.close();
      await dev?.stop();
    }
  });
}

/** The fixture holds what a Zod 3 user has: the packed package and zod 3, not zod-to-json-schema. */
function checkInstall(cwd) {
  const version = (name) => JSON.parse(readFileSync(join(cwd, 'node_modules', name, 'package.json'), 'utf8')).version;
  assert.match(version('zod'), /^3\./, 'the fixture must have zod 3 installed');
  assert.ok(existsSync(join(cwd, 'node_modules/kapa-agent-wasm/kapa_agent_wasm_bg.wasm')), 'kapa-agent-wasm is not installed (run run.sh)');
  assert.ok(!existsSync(join(cwd, 'node_modules/zod-to-json-schema')),
    'zod-to-json-schema is installed in this fixture: the matrix checks Zod 3 tools without it (run.sh reinstalls)');
}

/** Opens the app, sends MESSAGE, and returns what went wrong (empty when all is well). */
async function checkPage(url, id) {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await context.newPage();
  const problems = new Set();
  const wasm = [];
  const note = (source) => (m) => { if (m.type() === 'error') problems.add(`${source} console.error: ${m.text()}`); };
  page.on('console', note('page'));
  page.on('worker', (w) => w.on('console', note('worker')));
  page.on('pageerror', (e) => problems.add(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText;
    // The agent cancels a chat stream's body once its terminal event arrived (by design), which
    // Chromium reports as an aborted request; anything else is a problem.
    if (error === 'net::ERR_ABORTED' && new URL(r.url()).pathname.startsWith('/agent/')) return;
    problems.add(`request failed: ${r.url()} (${error})`);
  });
  page.on('response', (r) => {
    const { pathname } = new URL(r.url());
    if (r.status() >= 400) problems.add(`HTTP ${r.status()} for ${pathname}`);
    if (pathname.endsWith('.wasm')) wasm.push({ pathname, status: r.status(), type: r.headers()['content-type'] });
  });

  // A page error or console error ends the waits below early (the app is broken; waiting
  // out the timeouts would only slow the matrix down), after a moment to collect the rest.
  let broken;
  const brokenAt = new Promise((r) => { broken = r; });
  const onProblem = () => setTimeout(() => broken(), 500);
  page.on('pageerror', onProblem);
  page.on('console', (m) => { if (m.type() === 'error') onProblem(); });
  page.on('worker', (w) => w.on('console', (m) => { if (m.type() === 'error') onProblem(); }));
  const waitFor = (fn, ms, what) => Promise.race([
    page.waitForFunction(fn, null, { timeout: ms }).catch(() => { throw new Error(`${what} within ${ms / 1000} s`); }),
    brokenAt.then(() => { throw new Error(`${what}: stopped waiting after the errors above`); }),
  ]);

  const failures = [];
  try {
    await page.goto(url);
    await waitFor(() => window.__consumer?.ready, 20000, 'the app did not start (no window.__consumer)');
    await page.fill('#q', MESSAGE);
    await page.click('#composer button');
    await waitFor(() => {
      const s = window.__consumer.streaming;
      return s.includes(true) && s.at(-1) === false;
    }, 30000, 'the turn did not end');
    const state = await page.evaluate(() => window.__consumer);
    failures.push(...checkTurn(state));
  } catch (e) {
    failures.push(e.message.split('\n')[0]);
  }
  await page.screenshot({ path: join(shots, `${id}.png`), fullPage: true }).catch(() => {});
  await context.close();

  if (wasm.length === 0) failures.push('no .wasm was fetched');
  for (const w of wasm) {
    if (w.status !== 200 || !/^application\/wasm\b/.test(w.type ?? '')) {
      failures.push(`${w.pathname} answered ${w.status} as ${w.type ?? 'no content-type'} (want 200 application/wasm)`);
    }
  }
  // The page's own errors first: they are usually the cause of the rest.
  return [...[...problems].map((p) => p.slice(0, 600)), ...failures];
}

/** The tool ran once with the message's arguments, and the answer streamed in and names the result. */
function checkTurn({ toolCalls, answers }) {
  const failures = [];
  try {
    assert.deepEqual(toolCalls, [EXPECTED_ARGS]);
  } catch {
    failures.push(`tool execute calls: ${JSON.stringify(toolCalls)} (want [${JSON.stringify(EXPECTED_ARGS)}])`);
  }
  const final = answers.at(-1) ?? '';
  if (!final.includes(EXPECTED_ANSWER)) failures.push(`final answer ${JSON.stringify(final.slice(0, 300))} lacks "${EXPECTED_ANSWER}"`);
  // Streamed: the answer was seen growing, not only whole.
  const partials = new Set(answers.filter((a) => a && a !== final && final.startsWith(a)));
  if (partials.size < 1) failures.push('the answer did not stream (no partial answer seen before the final one)');
  return failures;
}

async function checkNode(cwd) {
  const { code, out } = await run(process.execPath, ['main.mjs', MESSAGE], {
    cwd, env: { KAPA_DEV_URL: backend.url }, timeoutMs: 30000,
  });
  if (code !== 0) assert.fail(`node main.mjs exited ${code}:\n${tail(out, 15)}`);
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 1, `node main.mjs printed more than its report:\n${tail(out, 15)}`);
  const report = JSON.parse(lines[0]);
  const failures = checkTurn(report);
  if (!(report.streaming.includes(true) && report.streaming.at(-1) === false)) failures.push(`streaming changes: ${JSON.stringify(report.streaming)}`);
  if (report.final?.content !== report.answers.at(-1)) failures.push('getMessages() disagrees with onMessagesChange');
  if (failures.length) assert.fail(failures.join('\n'));
}
