// What the consumer-fixture suite needs: the development server (embedded backend), one origin
// per app (a static server or a bundler's dev server, with the backend's paths proxied behind
// it), commands with a deadline, and headless Chromium.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const shots = join(here, 'screenshots');
const serverBin = process.env.KAPA_DEV_SERVER || join(root, 'target/debug/kapa-dev-server');

/**
 * Starts kapa-dev-server (embedded backend, temp data dir, free port). 40 ms between text deltas
 * (an answer takes about half a second), so that even on a loaded machine the page sees the
 * answer grow rather than get it in one read.
 */
export async function startBackend() {
  const dataDir = mkdtempSync(join(tmpdir(), 'kapa-consumers-'));
  const proc = spawn(serverBin, ['--port', '0', '--root', root, '--data-dir', dataDir,
    '--delta-delay-ms', '40', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KAPA_API_KEY: '', KAPA_PROJECT_ID: '', KAPLAIX_API_KEY: '' },
  });
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`kapa-dev-server did not start: ${out}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Open (http:\/\/[^\s]+?)\/?\s/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    proc.on('exit', (code) => fail(new Error(`kapa-dev-server exited with ${code}: ${out}`)));
  });
  return {
    url,
    async stop() {
      await stopProcess(proc);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function stopProcess(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); done(); }, 3000);
    proc.once('exit', () => { clearTimeout(timer); done(); });
    proc.kill('SIGTERM');
  });
}

const BACKEND_PATHS = /^\/(api|agent|framing)\//;
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Passes one request to `target` (an http: origin) as it is, streaming both ways. */
function forward(req, res, target) {
  const upstream = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode, up.rawHeaders);
    up.pipe(res);
  });
  upstream.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`proxy: ${e.message}`);
  });
  res.on('close', () => upstream.destroy()); // the page aborted (or finished): let go upstream
  req.pipe(upstream);
}

function serveFile(req, res, dir) {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = resolve(dir, `.${path}`);
  if (file !== dir && !file.startsWith(dir + sep)) { res.writeHead(403).end(); return; }
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    statSync(file);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
  createReadStream(file).pipe(res);
}

/**
 * One origin for an app and the backend: `/api/`, `/agent/` and `/framing/` go to the backend
 * (Host and Origin pass through unchanged, so the session endpoint sees a same-origin page);
 * the rest is served from `dir` or passed to `upstream` (a dev server, WebSocket upgrades too).
 */
export async function startOrigin({ backend, dir, upstream }) {
  const server = http.createServer((req, res) => {
    if (BACKEND_PATHS.test(req.url)) forward(req, res, backend);
    else if (upstream) forward(req, res, upstream);
    else serveFile(req, res, resolve(dir));
  });
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req, socket, head) => {
    if (!upstream) { socket.destroy(); return; }
    const { hostname, port } = new URL(upstream);
    const up = net.connect(Number(port), hostname, () => {
      let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${lines}\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => {
      for (const s of sockets) s.destroy();
      server.close(ok);
    }),
  };
}

export async function freePort() {
  const s = net.createServer();
  await new Promise((ok) => s.listen(0, '127.0.0.1', ok));
  const { port } = s.address();
  await new Promise((ok) => s.close(ok));
  return port;
}

/** Runs a command; resolves `{ code, out }` (stdout and stderr together), killing it at the deadline. */
export function run(cmd, args, { cwd, env = {}, timeoutMs = 120000 } = {}) {
  return new Promise((done) => {
    const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[killed after ${timeoutMs} ms]`; proc.kill('SIGKILL'); }, timeoutMs);
    proc.on('close', (code, signal) => { clearTimeout(timer); done({ code: code ?? signal, out }); });
  });
}

/**
 * Starts `vite` (dev) in `cwd` on a free loopback port with the app's own config (none).
 * Resolves `{ url, log, exited, stop }`; `log()` is everything it printed so far.
 */
export async function startViteDev(cwd) {
  const port = await freePort();
  const proc = spawn(join(cwd, 'node_modules/.bin/vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`vite dev did not start:\n${out}`)), 30000);
    const check = () => { if (/Local:\s+http/.test(out)) { clearTimeout(timer); ok(); } };
    proc.stdout.on('data', check);
    proc.on('exit', (code) => { clearTimeout(timer); fail(new Error(`vite dev exited with ${code}:\n${out}`)); });
  });
  let exited = null;
  proc.on('exit', (code, signal) => { exited = code ?? signal; });
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => out,
    /** The exit code (or signal) if it stopped on its own, else null. */
    exited: () => exited,
    stop: () => stopProcess(proc),
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** The last `n` lines of `text` that are not blank, each cut at 300 characters. */
export function tail(text, n = 30) {
  return text.split('\n').filter((l) => l.trim()).slice(-n)
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l)).join('\n');
}
