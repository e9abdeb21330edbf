// Security of the demo page in headless Chromium: its Content Security Policy, model output
// full of HTML and Markdown tricks rendered inert (injected through the dev server's scripted
// stream fault), the token endpoint refusing other origins, and a scan of everything the page
// showed, logged or sent for the session token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, capturingPage, assertNoToken, sse, script } from './lib.mjs';

let server;
let browser;
let page;
let captured;
const dialogs = [];

// Each payload tries to run `window.__pwned.push(...)` or alert().
const PAYLOADS = [
  '<script>window.__pwned.push("script")</script>',
  '<img src=x onerror="window.__pwned.push(\'img\')">',
  '<svg onload="window.__pwned.push(\'svg\')"><circle r=1 /></svg>',
  '<iframe src="javascript:parent.__pwned.push(\'iframe\')"></iframe>',
  '<a href="javascript:window.__pwned.push(\'raw-a\')">raw anchor</a>',
  '<div onmouseover="window.__pwned.push(\'div\')">raw HTML block</div>',
  '<style>body { display: none }</style>',
  '<details open ontoggle="window.__pwned.push(\'details\')">x</details>',
  '[md link](javascript:window.__pwned.push("mdlink"))',
  '[mixed case](JaVaScRiPt:alert(1))',
  '[leading space]( javascript:alert(1))',
  '[entity](java&#115;cript:alert(1))',
  '[tab](java\tscript:alert(1))',
  '[data url](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[vbscript](vbscript:msgbox(1))',
  '[file](file:///etc/passwd)',
  '![image](javascript:alert(1))',
  '![image2](https://example.com/x.png" onerror="alert(1))',
  '<javascript:alert(1)>',
  '<https://example.com/autolink>',
  '[ref link][r]\n\n[r]: javascript:alert(1)',
  '[nested [brackets](javascript:alert(1))](https://example.com/)',
  '[title attr](https://example.com/ "x\\" onmouseover=\\"alert(1)")',
  '`<script>alert(1)</script>` in code',
  '```html\n<script>window.__pwned.push("fence")</script>\n```',
  '> <img src=x onerror=alert(1)> in a quote',
  '- <b onclick=alert(1)>list item</b>',
  '**<i onmouseover=alert(1)>bold</i>**',
  'https://example.com/"><script>alert(1)</script>',
];
const EVIL_TEXT = PAYLOADS.join('\n\n');

before(async () => {
  server = await startServer();
  browser = await launch();
  ({ page, captured } = await capturingPage(browser));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.addInitScript(() => {
    window.__pwned = [];
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(`${server.base}/`);
  await page.waitForSelector('body.ready', { timeout: 15000 });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function ask(text) {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
  await page.waitForFunction(() => window.__agent && window.__agent.getMessages().length > 0 && !window.__agent.getIsStreaming(), null, { timeout: 20000 });
}

test('the demo page is served with a strict CSP and has no inline script or handler', async () => {
  const res = await fetch(`${server.base}/`);
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, 'a CSP header');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives['object-src'], ["'none'"]);
  assert.deepEqual(directives['base-uri'], ["'none'"]);
  assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
  assert.ok(!/unsafe-inline|unsafe-eval'|unsafe-hashes|\*/.test(csp.replace("'wasm-unsafe-eval'", '')), csp);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  // The same policy on the package and the JS the page loads.
  for (const path of ['/pkg/index.js', '/app.js', '/api/config']) {
    const r = await fetch(`${server.base}${path}`);
    assert.equal(r.headers.get('content-security-policy'), csp, path);
  }
  const html = await (await fetch(`${server.base}/`)).text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'no inline <script>');
  assert.ok(!/\son[a-z]+\s*=/i.test(html), 'no inline event handler');
  // The page works under it: the wasm compiled, no violation was reported.
  assert.equal(await page.evaluate(() => typeof window.__agent.sendMessage), 'function');
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
});

test('the CSP blocks inline script even if markup got in', async () => {
  // Sanity check of the policy itself: an inline script added to the DOM does not run.
  const ran = await page.evaluate(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__pwned.push("inline-probe")';
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 50));
    const ok = window.__pwned.includes('inline-probe');
    s.remove();
    return ok;
  });
  assert.equal(ran, false);
  assert.ok((await page.evaluate(() => window.__csp)).some((v) => v.startsWith('script-src')));
  await page.evaluate(() => { window.__csp.length = 0; });
});

test('model output with HTML, javascript: links and Markdown tricks renders inert', async () => {
  await server.fault(script([
    sse('tool_call', { id: 'call_s', name: 'search_knowledge_base', arguments: { query: '<img src=x onerror=alert(1)>' }, executor: 'server' }),
    sse('tool_result', {
      id: 'call_s', status: 'completed', duration_ms: 3,
      result: { html: '<script>alert(1)</script>' },
      sources: [
        { title: '<img src=x onerror="window.__pwned.push(\'source\')">', source_url: 'javascript:window.__pwned.push("source-href")' },
        { title: 'data source', source_url: 'data:text/html,<script>alert(1)</script>' },
        { title: 'fine source', source_url: 'https://example.com/docs' },
      ],
    }),
    ...PAYLOADS.map((p) => sse('text_delta', { text: `${p}\n\n` })),
    sse('done', {}),
  ]));
  await ask('Show me something dangerous');
  const last = page.locator('.msg-assistant:not(.typing)').last();
  // Let any deferred handler (img error, svg load, iframe) have its chance.
  await page.mouse.move(10, 10);
  for (const el of await last.locator('*').all()) await el.hover({ force: true, timeout: 500 }).catch(() => {});
  await page.waitForTimeout(300);

  const report = await page.evaluate(() => {
    const root = document.getElementById('messages');
    const all = [...root.querySelectorAll('*')];
    return {
      pwned: window.__pwned.slice(),
      dangerousTags: all.filter((e) => /^(script|iframe|object|embed|svg|style|img|form|input|base|meta|link|details)$/i.test(e.tagName)).map((e) => e.outerHTML),
      handlerAttrs: all.flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`)),
      hrefs: [...root.querySelectorAll('[href]')].map((a) => a.getAttribute('href')),
      srcs: [...root.querySelectorAll('[src], [srcdoc], [action], [formaction]')].map((e) => e.outerHTML),
      styleAttrs: all.filter((e) => e.hasAttribute('style')).map((e) => e.outerHTML),
      text: root.textContent,
      html: root.innerHTML,
    };
  });
  assert.deepEqual(report.pwned, [], 'no payload ran');
  assert.deepEqual(dialogs, [], 'no alert');
  assert.deepEqual(report.dangerousTags, []);
  assert.deepEqual(report.handlerAttrs, []);
  assert.deepEqual(report.srcs, []);
  assert.deepEqual(report.styleAttrs, []);
  for (const href of report.hrefs) {
    assert.match(href, /^https?:\/\//i, `only http(s) links: ${href}`);
    assert.ok(!/javascript:|data:|vbscript:|file:|["<>]/i.test(href), href);
  }
  assert.ok(report.hrefs.includes('https://example.com/docs'), 'the safe source is a link');
  assert.ok(report.hrefs.includes('https://example.com/autolink'), 'a safe autolink is a link');
  // The dangerous text is shown as text, not dropped silently.
  assert.ok(report.text.includes('<script>window.__pwned.push("script")</script>'));
  assert.ok(report.text.includes('raw HTML block'));
  assert.ok(!/<script|<iframe|<img|<svg/i.test(report.html.replace(/&lt;/g, '')), 'no markup made it into the DOM');
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'nothing even tried to run (no CSP violation)');
});

test('the token endpoint refuses another origin in the browser', async () => {
  // localhost is another origin than 127.0.0.1: a page there cannot get a token.
  const other = server.base.replace('127.0.0.1', 'localhost');
  const p2 = await page.context().newPage();
  try {
    await p2.goto(`${other}/favicon.svg`);
    const outcome = await p2.evaluate(async (target) => {
      try {
        const r = await fetch(`${target}/api/session`, { method: 'POST', credentials: 'include' });
        return `status ${r.status}`;
      } catch (e) {
        return `rejected ${e.name}`;
      }
    }, server.base);
    assert.equal(outcome, 'rejected TypeError', 'no CORS: the answer is unreadable');
    // And the server refused it outright (no token minted): same check without the browser.
    const r = await fetch(`${server.base}/api/session`, { method: 'POST', headers: { origin: other } });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  } finally {
    await p2.close();
  }
});

test('a normal turn, then the whole page, console and request log hold no session token', async () => {
  await ask('How does fault injection work?');
  const html = await page.content();
  const messages = await page.evaluate(() => window.__agent.getMessages());
  const log = await server.chats();
  assert.ok(log.length >= 2);
  const n = assertNoToken(captured, { html, messages, requests: log, eventLog: await page.locator('#event-log').textContent() });
  assert.ok(n >= 1);
  assert.deepEqual(captured.errors, [], 'no uncaught errors');
});
