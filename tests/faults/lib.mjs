// Shared setup of the fault and security suites: a dev server per suite (free port, temp data
// dir), Debian's headless Chromium, the harness page served on the server's origin, and
// capture of everything the page says (console, page errors, /api/session answers) so each
// suite can scan it for the session token at the end.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
const serverBin = process.env.KAPA_DEV_SERVER || join(root, 'target/debug/kapa-dev-server');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts kapa-dev-server; returns {base, stop}. */
export async function startServer(extra = []) {
  assert.ok(existsSync(serverBin), `build the server first: ${serverBin}`);
  assert.ok(existsSync(join(root, 'pkg/index.js')), 'build the package first: bash scripts/build-pkg.sh');
  const dataDir = mkdtempSync(join(tmpdir(), 'kapa-faults-'));
  const proc = spawn(serverBin, ['--port', '0', '--root', root, '--data-dir', dataDir, '--delta-delay-ms', '2', '--quiet', ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KAPA_API_KEY: '', KAPA_PROJECT_ID: '' },
  });
  const base = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not start: ${out}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Open (http:\/\/[^\s]+?)\/?\s/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    proc.on('exit', (code) => fail(new Error(`server exited with ${code}: ${out}`)));
  });
  const api = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: res.status, json, headers: res.headers };
  };
  return {
    base,
    api,
    /** Queues a fault (asserting the server took it). */
    fault: async (f) => { const r = await api('POST', '/__faults', f); assert.equal(r.status, 200, JSON.stringify(r.json)); },
    /** The chat requests the server received since the last clear. */
    chats: async () => (await api('GET', '/__requests')).json.requests,
    clear: async () => { await api('DELETE', '/__faults'); await api('DELETE', '/__requests'); },
    stop: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => { proc.once('exit', r); setTimeout(r, 3000); });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page with capture: `captured.console` (every console message), `captured.errors` (uncaught
 * page errors), `captured.tokens` (every session token /api/session handed out),
 * `captured.responses` (text of every other response the page read).
 */
export async function capturingPage(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const captured = { console: [], errors: [], tokens: new Set(), sessionBodies: [] };
  page.on('console', (m) => captured.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => captured.errors.push(`${e.name}: ${e.message}\n${e.stack ?? ''}`));
  page.on('response', async (res) => {
    if (new URL(res.url()).pathname === '/api/session') {
      try {
        const body = await res.json();
        if (body.session_token) captured.tokens.add(body.session_token);
        if (body.token) captured.tokens.add(body.token);
      } catch { /* not JSON */ }
    }
  });
  return { context, page, captured };
}

/** Opens the harness page (tests/faults/harness.*) on the server's origin with its CSP. */
export async function openHarness(page, server) {
  const csp = (await fetch(`${server.base}/`)).headers.get('content-security-policy');
  await page.route(`${server.base}/__harness/**`, (route) => {
    const name = new URL(route.request().url()).pathname.replace('/__harness/', '');
    const file = name === 'harness.js' ? 'harness.js' : 'harness.html';
    route.fulfill({
      status: 200,
      headers: {
        'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8',
        'content-security-policy': csp,
      },
      body: readFileSync(join(here, file)),
    });
  });
  await page.goto(`${server.base}/__harness/index.html`);
  await page.waitForSelector('body.ready', { timeout: 15000 });
}

/**
 * Fails when any session token appears in anything captured: the values given (messages,
 * events, request logs...), console output, page errors.
 */
export function assertNoToken(captured, extra = {}) {
  const tokens = [...captured.tokens];
  assert.ok(tokens.length > 0, 'the scan saw at least one token');
  const haystacks = {
    console: captured.console.join('\n'),
    pageErrors: captured.errors.join('\n'),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])),
  };
  for (const t of tokens) {
    for (const [where, text] of Object.entries(haystacks)) {
      assert.ok(!text.includes(t), `session token found in ${where}`);
      // A prefix of the token is just as bad (truncated logs).
      assert.ok(!text.includes(t.slice(0, 16)), `a session token prefix found in ${where}`);
    }
  }
  return tokens.length;
}

/** SSE text of one event. */
export const sse = (type, content) => `event: ${type}\ndata: ${JSON.stringify(content)}\n\n`;
/** Record-framing frame of one event. */
export const rec = (type, content, end = false) => `${JSON.stringify({ chunk: { type, content, stream_end: end } })}\u241E`;
/** A scripted stream fault from text pieces (strings) and raw chunk objects. */
export const script = (pieces, more = {}) => ({
  kind: 'script',
  chunks: pieces.map((p) => (typeof p === 'string' ? { text: p } : p)),
  ...more,
});
