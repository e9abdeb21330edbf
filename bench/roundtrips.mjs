// Round trips from navigation to a ready Agent on a plain page, in headless Chromium with
// network latency emulated (CDP Network.emulateNetworkConditions) and the cache disabled.
// Prints each request's start (in round trips of the emulated latency) and the total; the
// chain is what the latency multiplies. Usage: node roundtrips.mjs [latencyMs=100] [runs=5]
import { chromium } from 'playwright-core';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { snapshotPkg, pkgCopy } from './lib/snapshot.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const latency = Number(process.argv[2] ?? 100);
const runs = Number(process.argv[3] ?? 5);

export async function measureRoundTrips({ latencyMs = latency, n = runs, log = console.log } = {}) {
  await snapshotPkg();
  const server = await startServer(resolve(here, '..'), pkgCopy);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const samples = [];
  try {
    for (let i = 0; i < n; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: latencyMs, downloadThroughput: -1, uploadThroughput: -1 });
      await page.goto(`${server.url}/bench/web/loading.html`);
      await page.waitForFunction(() => window.LOADING, null, { timeout: 30000 });
      const r = await page.evaluate(() => ({
        ...window.LOADING,
        resources: performance.getEntriesByType('resource').map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd })),
        nav: performance.getEntriesByType('navigation')[0].responseEnd,
      }));
      samples.push(r);
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ready = median(samples.map((s) => s.readyAt));
  // Navigation starts at 0 and the page's response ends after its round trip(s).
  const last = samples[samples.length - 1];
  const rows = [{ name: '(page)', start: 0, end: last.nav }, ...last.resources].sort((a, b) => a.start - b.start);
  // One step more than the longest chain of requests that ended before it started (a request
  // beside the chain, such as /favicon.ico, does not lengthen it).
  const steps = [];
  for (const r of rows) steps.push({ ...r, step: 1 + Math.max(0, ...steps.filter((o) => o.end <= r.start + 1).map((o) => o.step)) });
  const chain = Math.max(...steps.map((s) => s.step));
  log(`latency ${latencyMs} ms, ${n} runs, cache disabled`);
  for (const s of steps) log(`  step ${s.step}  ${s.name.padEnd(34)} start ${s.start.toFixed(0).padStart(5)} ms  end ${s.end.toFixed(0).padStart(5)} ms`);
  log(`sequential requests (page included): ${chain}`);
  log(`ready Agent after ${ready.toFixed(0)} ms (median; ${(ready / latencyMs).toFixed(2)}x the latency)`);
  return { latencyMs, runs: n, chain, readyMs: ready, steps };
}

if (import.meta.url === `file://${process.argv[1]}`) await measureRoundTrips();
