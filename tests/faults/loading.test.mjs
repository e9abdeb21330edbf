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
