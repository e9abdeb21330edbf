// End-to-end tests of the demo page in Debian's headless Chromium, driven by playwright-core.
// The suite starts kapa-dev-server itself (a free port, a temp data dir, a small delta delay)
// and writes a screenshot of each state to tests/e2e/screenshots/.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { root, shots, serverBin, startServer as start, launchBrowser } from './helpers.mjs';

let server;
let base;
let browser;
let page;
const consoleErrors = [];
let currentTest = 'setup';

async function startServer() {
  server = await start();
  base = server.base;
}

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, { method, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });

/** Types a message and sends it with Enter. */
async function ask(text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

async function idle() {
  await page.waitForFunction(() => window.__agent && !window.__agent.getIsStreaming(), null, { timeout: 20000 });
}

const lastAssistant = () => page.locator('.msg-assistant:not(.typing)').last();

before(async () => {
  assert.ok(existsSync(serverBin), `build the server first: ${serverBin}`);
  assert.ok(existsSync(join(root, 'pkg/index.js')), 'build the package first: bash scripts/build-pkg.sh');
  mkdirSync(shots, { recursive: true });
  await startServer();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message} [during: ${currentTest}]`));
  await page.goto(`${base}/`);
  await page.waitForSelector('body.ready', { timeout: 15000 });
});

beforeEach((t) => { currentTest = t.name; });

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the page loads under its CSP with example prompts', async () => {
  const res = await fetch(`${base}/`);
  assert.match(res.headers.get('content-security-policy'), /script-src 'self' 'wasm-unsafe-eval'/);
  assert.equal(await page.locator('.example').count(), 6);
  assert.equal(await page.locator('#mode').textContent(), 'embedded backend');
  await shot('01-welcome');
});

test('a question gets a streamed answer with sources', async () => {
  await ask('How does fault injection work?');
  // While it streams: Stop is shown, and text arrives in pieces.
  await page.waitForSelector('#stop:not([hidden])');
  await page.waitForSelector('.msg-assistant .markdown');
  const early = await lastAssistant().locator('.markdown').last().textContent();
  await idle();
  const card = page.locator('.tool-card[data-tool-name="search_knowledge_base"]').last();
  assert.equal(await card.getAttribute('data-status'), 'completed');
  assert.equal(await card.locator('.tool-name').textContent(), 'Search the docs');
  const link = card.locator('.sources a').first();
  assert.equal(await link.textContent(), 'Fault injection | Development server and demo page');
  assert.equal(await link.getAttribute('href'), `${base}/docs/www/README.md#fault-injection`);
  const text = await lastAssistant().textContent();
  assert.match(text, /reachable only from loopback/);
  assert.ok(early.length < text.length, 'text streamed in pieces');
  assert.equal(await page.locator('#send').isVisible(), true);
  // Markdown became DOM: a code block and a link, no raw asterisks.
  assert.ok(await lastAssistant().locator('pre code').count() >= 1);
  assert.ok(!text.includes('**'));
  await shot('02-answer-with-sources');
  // The source link opens the rendered doc at its heading.
  const doc = await (await fetch(`${base}/docs/www/README.md`)).text();
  assert.match(doc, /id="fault-injection"/);
});

test('an answer quoting a table in the docs shows a table', async () => {
  await ask('How many fuzz corpus seeds are there?');
  await idle();
  const answer = lastAssistant();
  const table = answer.locator('.markdown table').first();
  await table.waitFor();
  // The header and the rows of docs/reliability.md's "Counts" table, cell by cell.
  assert.deepEqual(await table.locator('thead th').allTextContents(), ['what', 'count']);
  const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  assert.ok(rows.length >= 3, JSON.stringify(rows));
  assert.ok(rows.every((r) => r.length === 2), JSON.stringify(rows));
  const seeds = rows.find((r) => r[0] === 'fuzz corpus');
  assert.ok(seeds, JSON.stringify(rows));
  assert.match(seeds[1], /\d+ seeds/);
  // Cell Markdown is rendered too (`code` in the first column), and no pipes are left as text.
  assert.ok(await table.locator('td code').count() >= 1);
  const paragraphs = await answer.locator('.markdown p').allTextContents();
  assert.ok(!paragraphs.some((p) => /\|\s*-{3}|\|---/.test(p) || /^\|/.test(p)), JSON.stringify(paragraphs));
  await table.scrollIntoViewIfNeeded();
  await shot('02b-answer-with-table');
});

test('a client tool runs and the answer uses its result', async () => {
  await ask('What time is it?');
  await idle();
  const card = page.locator('.tool-card[data-tool-name="get_current_time"]').last();
  assert.equal(await card.getAttribute('data-status'), 'completed');
  assert.equal(await card.locator('.tool-name').textContent(), 'Current time');
  assert.match(await card.locator('.kv pre').last().textContent(), /"iso"/);
  assert.match(await card.locator('.duration').textContent(), /ms|s/);
  assert.match(await lastAssistant().locator('.markdown').last().textContent(), /^It is .+according to your browser/);
  await shot('03-tool-ran');
});

test('a call needing approval runs when allowed', async () => {
  await ask('Calculate (17 + 25) * 3 / 2');
  const card = page.locator('.tool-card[data-tool-name="calculator"]').last();
  await page.waitForSelector('.tool-card[data-status="approval_requested"] .approval');
  assert.match(await card.locator('.kv pre').first().textContent(), /"expression": "\(17 \+ 25\) \* 3 \/ 2"/);
  assert.equal(await page.locator('#stop').isVisible(), true, 'still streaming while waiting');
  await shot('04-approval-requested');
  await card.getByRole('button', { name: 'Allow' }).click();
  await idle();
  assert.equal(await card.getAttribute('data-status'), 'completed');
  assert.match(await lastAssistant().locator('.markdown').last().textContent(), /\(17 \+ 25\) \* 3 \/ 2 = 63$/);
  assert.ok(await page.locator('#event-log li[data-type="tool_approved"]').count() >= 1);
  await shot('05-approved');
});

test('a call needing approval is not run when denied', async () => {
  await ask('calculate 6*7');
  const card = page.locator('.tool-card[data-tool-name="calculator"]').last();
  await page.waitForSelector('.tool-card[data-status="approval_requested"] .approval');
  await card.getByRole('button', { name: 'Deny' }).click();
  await idle();
  assert.equal(await card.getAttribute('data-status'), 'denied');
  assert.equal(await card.locator('.approval').count(), 0);
  assert.match(await lastAssistant().locator('.markdown').last().textContent(), /You declined calculator/);
  assert.ok(await page.locator('#event-log li[data-type="tool_denied"]').count() >= 1);
  const log = (await api('GET', '/__requests')).json.requests;
  const results = log.filter((r) => r.body?.input?.type === 'tool_results');
  assert.deepEqual(results.at(-1).body.input.results.map((r) => r.status), ['denied']);
  await shot('06-denied');
});

test('several tools in one message run in parallel, and one changes the page', async () => {
  await ask('What page am I on, and what time is it?');
  await idle();
  const cards = lastAssistant().locator('.tool-card');
  assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => [e.dataset.toolName, e.dataset.status])),
    [['get_current_time', 'completed'], ['get_page_info', 'completed']]);
  await ask('Switch to the dark theme');
  await idle();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await shot('07-parallel-tools-dark-theme');
  await page.click('#theme-toggle');
});

test('Stop ends the answer mid-stream', async () => {
  const before = await page.evaluate(() => window.__agent.getMessages().length);
  await ask('How do I run the development server?');
  // Wait for this turn's own answer text to start streaming.
  await page.waitForFunction((n) => {
    const msgs = window.__agent.getMessages();
    return msgs.length === n + 2 && msgs[n + 1].content.length > 20;
  }, before);
  await page.click('#stop');
  await idle();
  const msgs = await page.evaluate(() => window.__agent.getMessages());
  const last = msgs.at(-1);
  assert.equal(last.role, 'assistant');
  assert.ok(!last.isError);
  assert.ok(last.content.length > 20, 'some text was shown');
  assert.ok(!/Sources/.test(last.content), 'stopped before the end');
  assert.equal(last.blocks[0].toolCalls[0].status, 'completed');
  assert.ok(await page.locator('#event-log li[data-type="generation_stopped"]').count() >= 1);
  assert.equal(await page.locator('#send').isVisible(), true);
  await shot('08-stopped');
});

test('New chat empties the conversation', async () => {
  await page.click('#new-chat');
  assert.equal(await page.locator('.msg').count(), 0);
  assert.equal(await page.locator('#welcome').isVisible(), true);
  assert.equal(await page.locator('#thread-id').textContent(), 'none');
  assert.ok(await page.locator('#event-log li[data-type="conversation_reset"]').count() >= 1);
  await shot('09-new-chat');
});

test('a thread is resumed from history after a reload', async () => {
  await ask('How does fault injection work?');
  await idle();
  const threadId = await page.evaluate(() => window.__agent.getThreadId());
  await page.reload();
  await page.waitForSelector('body.ready');
  await page.waitForSelector(`.thread[data-thread-id="${threadId}"]`);
  // persist: 'session' brought the conversation back; start afresh to resume it from history.
  await page.waitForSelector('.msg-user');
  await page.click('#new-chat');
  assert.equal(await page.locator('.msg').count(), 0);
  await page.click(`.thread[data-thread-id="${threadId}"] .thread-open`);
  await page.waitForSelector('.msg-assistant');
  assert.equal(await page.locator('#thread-id').textContent(), threadId);
  assert.equal(await page.locator('.msg-user').textContent(), 'How does fault injection work?');
  const card = page.locator('.tool-card[data-tool-name="search_knowledge_base"]');
  assert.equal(await card.getAttribute('data-status'), 'completed');
  assert.ok(await card.locator('.sources a').count() >= 1);
  assert.match(await lastAssistant().textContent(), /reachable only from loopback/);
  assert.ok(await page.locator('#event-log li[data-type="thread_resumed"]').count() >= 1);
  // The conversation goes on in the resumed thread.
  await ask('And how do I clear the faults?');
  await idle();
  assert.equal(await page.evaluate(() => window.__agent.getThreadId()), threadId);
  await shot('10-resumed-after-reload');
});

test('a thread is deleted from history', async () => {
  const count = await page.locator('.thread').count();
  assert.ok(count >= 2);
  const victim = await page.locator('.thread').last().getAttribute('data-thread-id');
  await page.click(`.thread[data-thread-id="${victim}"] .thread-delete`);
  await page.waitForSelector(`.thread[data-thread-id="${victim}"]`, { state: 'detached' });
  assert.ok(await page.locator('#event-log li[data-type="thread_deleted"]').count() >= 1);
});

test('a 401 is recovered with a fresh token and the same Idempotency-Key', async () => {
  await page.click('#new-chat');
  await api('DELETE', '/__requests');
  const fetchesBefore = await page.locator('#event-log li[data-type="session_token"]').count();
  assert.equal((await api('POST', '/__faults', { kind: '401', count: 1 })).status, 200);
  await ask('How do I run the development server?');
  await idle();
  const last = (await page.evaluate(() => window.__agent.getMessages())).at(-1);
  assert.ok(!last.isError, JSON.stringify(last));
  assert.match(last.content, /Sources/);
  const log = (await api('GET', '/__requests')).json.requests;
  assert.equal(log.length, 2);
  assert.equal(log[0].fault, '401');
  assert.equal(log[1].fault, null);
  assert.ok(log[0].idempotency_key);
  assert.equal(log[0].idempotency_key, log[1].idempotency_key);
  assert.equal(await page.locator('#event-log li[data-type="session_token"]').count(), fetchesBefore + 1);
  await shot('11-401-recovered');
});

test('an injected failure is shown as an error', async () => {
  await page.click('#new-chat');
  await api('POST', '/__faults', { kind: 'error', reason: 'Injected failure: the agent is unavailable.' });
  await ask('How does fault injection work?');
  await idle();
  const msg = lastAssistant();
  assert.match(await msg.getAttribute('class'), /msg-error/);
  assert.equal(await msg.locator('.error-banner').count(), 1);
  assert.match(await msg.textContent(), /Injected failure: the agent is unavailable\./);
  assert.ok(await page.locator('#event-log li[data-type="response_error"]').count() >= 1);
  await shot('12-error-event');

  await api('POST', '/__faults', { kind: '500' });
  await ask('How does fault injection work?');
  await idle();
  const m2 = (await page.evaluate(() => window.__agent.getMessages())).at(-1);
  assert.equal(m2.isError, true);
  assert.match(m2.content, /Agent request failed: 500/);
  await shot('13-http-error');
});

test('the record framing works end to end', async () => {
  await page.goto(`${base}/?framing=record`);
  await page.waitForSelector('body.ready');
  await api('DELETE', '/__requests');
  await ask('What time is it?');
  await idle();
  const last = (await page.evaluate(() => window.__agent.getMessages())).at(-1);
  assert.match(last.content, /^It is /);
  const log = (await api('GET', '/__requests')).json.requests;
  assert.ok(log.length >= 2 && log.every((r) => r.framing === 'record'));
});

test('phone width: conversation and the history drawer', async () => {
  await page.setViewportSize({ width: 390, height: 780 });
  await page.goto(`${base}/`);
  await page.waitForSelector('body.ready');
  await ask('Calculate 2*(3+4)');
  await page.waitForSelector('.tool-card[data-status="approval_requested"] .approval');
  await shot('14-phone-approval');
  await page.locator('.tool-card').last().getByRole('button', { name: 'Allow' }).click();
  await idle();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no horizontal scrolling on a phone');
  await shot('15-phone-answer');
  await page.click('#toggle-sidebar');
  await page.waitForTimeout(300);
  assert.ok(await page.locator('#sidebar .thread').count() >= 1);
  await shot('16-phone-history');
  await page.setViewportSize({ width: 1280, height: 860 });
});

test('no Content Security Policy violations', () => {
  const bad = consoleErrors.filter((e) => /Content Security Policy|Refused to/.test(e));
  assert.deepEqual(bad, []);
});

test('no uncaught errors or unhandled rejections in the page', () => {
  const bad = consoleErrors.filter((e) => e.startsWith('pageerror:'));
  assert.deepEqual(bad, []);
});
