// Shared setup of the end-to-end suites: paths, starting kapa-dev-server on a free port with a
// temp data dir, and launching Debian's headless Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const shots = join(here, 'screenshots');
export const serverBin = process.env.KAPA_DEV_SERVER || join(root, 'target/debug/kapa-dev-server');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
/** What the server serves (`--root`): the checkout, or E2E_ROOT (e.g. a copy with a pinned pkg/). */
export const serveRoot = process.env.E2E_ROOT || root;

/**
 * Starts the development server in embedded mode (no Kapa or Kaplaix keys from the caller's
 * environment). Resolves `{ base, dataDir, proc, stop }` once it prints its URL.
 */
export async function startServer({ args = [], env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'kapa-e2e-'));
  const proc = spawn(serverBin, ['--port', '0', '--root', serveRoot, '--data-dir', dataDir, '--delta-delay-ms', '8', '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, KAPA_API_KEY: '', KAPA_PROJECT_ID: '', KAPLAIX_API_KEY: '', ...env },
  });
  const base = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/Open (http:\/\/[^\s]+?)\/?\s/);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => { proc.once('exit', r); setTimeout(r, 3000); });
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, dataDir, proc, stop };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
