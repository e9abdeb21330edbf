// The package in a page whose WebAssembly module cannot load: a 404, an HTML page where the
// .wasm should be, a Content-Security-Policy without 'wasm-unsafe-eval'. `ready` and the first
// call that needs the module reject with the .wasm URL and the reason; nothing hangs. A real
// module served with the wrong MIME type still loads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch } from './lib.mjs';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// The page: builds an Agent at once (before the module is ready), sends, and reports.
const pageScript = `
import { Agent, ready } from '/pkg/index.js';
const agent = new Agent({
  projectId: 'proj_demo', integrationId: 'int_demo', baseUrl: location.origin,
  getSessionToken: () => fetch('/api/session', { method: 'POST' }).then((r) => r.json()),
  onMessagesChange() {}, onStreamingChange() {},
});
const sent = await agent.sendMessage('hello').then(() => 'resolved', (e) => e.message);
const readyError = await ready.then(() => 'resolved', (e) => e.message);
window.RESULT = { sent, readyError, messages: agent.getMessages().map((m) => m.role) };
`;

async function openWith({ wasm, csp }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const serverCsp = (await fetch(`${server.base}/`)).headers.get('content-security-policy');
  await page.route(`${server.base}/__loading/**`, (route) => {
    const js = route.request().url().endsWith('.js');
    route.fulfill({
      status: 200,
      headers: { 'content-type': js ? 'text/javascript' : 'text/html', 'content-security-policy': csp ?? serverCsp },
      body: js ? pageScript : '<!doctype html><script type="module" src="/__loading/page.js"></script>',
    });
  });
  if (wasm) await page.route(`${server.base}/pkg/kapa_agent_wasm_bg.wasm`, wasm);
  await page.goto(`${server.base}/__loading/index.html`);
  await page.waitForFunction(() => window.RESULT, null, { timeout: 20000 });
  const result = await page.evaluate(() => window.RESULT);
  await context.close();
  return result;
}

const wasmUrl = () => `${server.base}/pkg/kapa_agent_wasm_bg.wasm`;
const prefix = () => `kapa-agent-wasm: could not load the WebAssembly module from ${wasmUrl()}: `;

test('a 404 for the .wasm: ready and sendMessage reject with the URL and the status', async () => {
  const r = await openWith({ wasm: (route) => route.fulfill({ status: 404, body: 'not here' }) });
  assert.equal(r.readyError, `${prefix()}HTTP 404 Not Found`);
  assert.equal(r.sent, r.readyError);
  assert.deepEqual(r.messages, []);
});

test('an HTML page where the .wasm should be (an app\'s fallback route): the error says what was served', async () => {
  const r = await openWith({ wasm: (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><p>app</p>' }) });
  assert.ok(r.readyError.startsWith(prefix()), r.readyError);
  assert.match(r.readyError, /\(it was served as text\/html\)$/);
  assert.equal(r.sent, r.readyError);
});

test("a CSP without 'wasm-unsafe-eval': the error names the policy", async () => {
  const r = await openWith({ csp: "default-src 'self'; script-src 'self'" });
  assert.ok(r.readyError.startsWith(prefix()), r.readyError);
  assert.match(r.readyError, /Content Security Policy|unsafe-eval/);
  assert.equal(r.sent, r.readyError);
});

test('a real module served with the wrong MIME type still loads, and the turn runs', async () => {
  const r = await openWith({
    wasm: async (route) => {
      const res = await route.fetch();
      route.fulfill({ response: res, headers: { ...res.headers(), 'content-type': 'application/octet-stream' } });
    },
  });
  assert.equal(r.readyError, 'resolved');
  assert.equal(r.sent, 'resolved');
  assert.deepEqual(r.messages, ['user', 'assistant']);
});

// Issue 12: the page, the entry, then the .wasm — never a longer chain of requests, for either
// entry. Measured as bench/roundtrips.mjs does (latency emulated, cache disabled): a request
// is one step more than the longest chain of requests that ended before it started.
for (const entry of ['index.js', 'governance.js']) {
  test(`a plain page importing ${entry} reaches a ready Agent after at most 3 sequential requests`, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 60, downloadThroughput: -1, uploadThroughput: -1 });
    await page.route(`${server.base}/__chain/index.html`, (route) => route.fulfill({
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: `<!doctype html><script type="module">
        import { Agent, ready } from '/pkg/${entry}';
        new Agent({ projectId: 'p', integrationId: 'i', getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
          onMessagesChange() {}, onStreamingChange() {} });
        await ready;
        window.DONE = true;
      </script>`,
    }));
    await page.goto(`${server.base}/__chain/index.html`);
    await page.waitForFunction(() => window.DONE, null, { timeout: 20000 });
    const rows = await page.evaluate(() => [
      { name: '(page)', start: 0, end: performance.getEntriesByType('navigation')[0].responseEnd },
      ...performance.getEntriesByType('resource').map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd })),
    ]);
    await context.close();
    // Its step: one more than the longest chain of requests that ended before it started.
    rows.sort((a, b) => a.start - b.start);
    const steps = [];
    for (const r of rows) steps.push({ ...r, step: 1 + Math.max(0, ...steps.filter((o) => o.end <= r.start + 1).map((o) => o.step)) });
    const names = steps.map((s) => `${s.step}: ${s.name}`).join(', ');
    assert.ok(steps.some((s) => s.name.endsWith('.wasm')), `the .wasm was fetched (${names})`);
    assert.ok(Math.max(...steps.map((s) => s.step)) <= 3, `at most 3 sequential requests: ${names}`);
  });
}
