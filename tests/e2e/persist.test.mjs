// End-to-end: the conversation follows the reader across pages (STATE.md, persist: 'session').
// Ask on the demo page, follow a source link into the docs, see the conversation there; an
// approval asked on one docs page is given on the next; a reload mid-answer keeps the partial
// answer, marked stopped. Screenshots in tests/e2e/screenshots/persist-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, shots, serverBin, startServer, launchBrowser } from './helpers.mjs';

let server;
let browser;
let page;
const pageErrors = [];
let question;
let threadId;

const shot = (name) => page.screenshot({ path: join(shots, `persist-${name}.png`) });
const api = (method, path, body) =>
  fetch(`${server.base}${path}`, { method, body: body ? JSON.stringify(body) : undefined }).then(async (r) => {
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  });
const idle = () => page.waitForFunction(() => window.__agent && !window.__agent.getIsStreaming(), null, { timeout: 20000 });

before(async () => {
  assert.ok(existsSync(serverBin), `build the server first: ${serverBin}`);
  assert.ok(existsSync(join(root, 'pkg/index.js')), 'build the package first: bash scripts/build-pkg.sh');
  mkdirSync(shots, { recursive: true });
  server = await startServer();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || (m.type() === 'warning' && /^chat:/.test(m.text()))) pageErrors.push(m.text());
  });
  await page.goto(`${server.base}/`);
  await page.waitForSelector('body.ready', { timeout: 15000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('ask on the demo page, follow a source link: the docs page has the conversation', async () => {
  question = 'How does fault injection work?';
  await page.fill('#input', question);
  await page.press('#input', 'Enter');
  await idle();
  threadId = await page.evaluate(() => window.__agent.getThreadId());
  assert.ok(threadId);
  const link = page.locator('.tool-card[data-tool-name="search_knowledge_base"] .sources a').first();
  const href = await link.getAttribute('href');
  assert.match(href, /\/docs\//);
  assert.equal(await link.getAttribute('target'), null, 'a docs link opens in this tab');
  await shot('01-asked-on-demo-page');
  await link.click();
  await page.waitForURL(/\/docs\//);
  await page.waitForSelector('body.kw-ready');
  await page.waitForSelector('#kapa-chat.kw-open .kw-user');
  assert.equal(await page.locator('#kapa-chat .kw-user').first().textContent(), question);
  assert.ok(await page.locator('#kapa-chat .kw-assistant .kw-text').count() >= 1);
  assert.match(await page.locator('#kapa-chat .kw-assistant').last().textContent(), /loopback/);
  assert.equal(await page.evaluate(() => window.__agent.getThreadId()), threadId);
  await shot('02-conversation-on-docs-page');
});

test('an approval requested on one docs page is given on the next', async () => {
  await page.fill('#kapa-chat textarea', 'Calculate 6*7');
  await page.press('#kapa-chat textarea', 'Enter');
  await page.waitForSelector('#kapa-chat .kw-tool[data-status="approval_requested"] .kw-approval');
  await shot('03-approval-requested');
  const here = page.url();
  await page.locator('.docs-nav a[href^="/docs/"]:not([aria-current])').first().click();
  await page.waitForURL((u) => u.href !== here && /\/docs\//.test(u.href));
  await page.waitForSelector('body.kw-ready');
  const card = page.locator('#kapa-chat .kw-tool[data-tool-name="calculator"]').last();
  await card.locator('.kw-approval').waitFor();
  assert.equal(await page.evaluate(() => window.__agent.getIsStreaming()), true, 'the restored wait is a running turn');
  await api('DELETE', '/__requests');
  await shot('04-approval-on-next-page');
  await card.getByRole('button', { name: 'Allow' }).click();
  await idle();
  await page.waitForSelector('#kapa-chat .kw-tool[data-tool-name="calculator"][data-status="completed"]');
  assert.match(await page.locator('#kapa-chat .kw-assistant').last().textContent(), /6\*7 = 42/);
  const log = (await api('GET', '/__requests')).json.requests;
  const results = log.filter((r) => r.body?.input?.type === 'tool_results');
  assert.equal(results.length, 1);
  assert.equal(results[0].body.thread_id, threadId, 'posted to the thread of the previous page');
  assert.equal(results[0].body.input.results[0].status, 'completed');
  await shot('05-approved-on-next-page');
});

test('a reload mid-answer keeps the partial answer, marked stopped', async () => {
  await page.goto(`${server.base}/`);
  await page.waitForSelector('body.ready');
  await page.waitForSelector('.msg-user'); // the conversation came along back to the demo page
  await page.click('#new-chat');
  const sse = (type, content) => ({ text: `event: ${type}\ndata: ${JSON.stringify(content)}\n\n` });
  const fault = {
    kind: 'script',
    chunks: [sse('stream_start', { thread_id: 'thr_reload' }), { ...sse('text_delta', { text: 'The first half of a long answer' }), delay_ms: 50 }],
    then: 'stall',
    stall_ms: 60000,
  };
  assert.equal((await api('POST', '/__faults', fault)).status, 200);
  await page.fill('#input', 'Tell me everything');
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => window.__agent.getMessages().at(-1)?.content === 'The first half of a long answer');
  assert.equal(await page.evaluate(() => window.__agent.getIsStreaming()), true);
  await page.reload();
  await page.waitForSelector('body.ready');
  const msg = page.locator('.msg-assistant.msg-interrupted');
  await msg.waitFor();
  assert.match(await msg.textContent(), /The first half of a long answer/);
  assert.match(await msg.locator('.interrupted-note').textContent(), /Stopped/);
  assert.equal(await page.evaluate(() => window.__agent.getIsStreaming()), false);
  assert.equal(await page.evaluate(() => window.__agent.getThreadId()), 'thr_reload');
  assert.equal(await page.locator('#stop').isVisible(), false);
  await shot('06-reloaded-mid-answer');
  await api('DELETE', '/__faults');
});

test('no page errors and no storage warnings', () => {
  const bad = pageErrors.filter((e) => !/favicon/.test(e) && !/Failed to load resource/.test(e));
  assert.deepEqual(bad, []);
});
