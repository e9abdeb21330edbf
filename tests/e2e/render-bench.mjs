// Benchmark (not a test): the demo page's Markdown rendering cost per streamed read on a
// 100 KiB answer, in headless Chromium on the development server's origin.
//
//   node tests/e2e/render-bench.mjs [--before REV] [--delta N] [--kib N]
//
// The answer (paragraphs, lists, tables, code blocks, like the embedded backend's) arrives in
// deltas of N characters (default 12, as the server sends them). Three ways of rendering each
// read are timed:
//   before  the page's renderer at git revision REV (default: the one before marked),
//           re-rendering the whole text on every read, as the page did;
//   naive   marked + DOMPurify re-rendering the whole text on every read;
//   after   MarkdownView.update(): only the still-growing last block is rendered again.
// It prints the mean cost of a read over the first and the last 10 % of the stream (the text
// at 0-10 KiB and at 90-100 KiB: linear rendering keeps them alike)
// and the total for the whole stream (for the whole-text renderers, estimated from sampled
// reads). Needs pkg/ built and the server built (tests/e2e/run.sh
// does both), and www/node_modules (npm ci in www/).
import { execFileSync } from 'node:child_process';
import { root, startServer, launchBrowser } from './helpers.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const before = arg('before', 'HEAD~1');
const delta = Number(arg('delta', '12'));
const kib = Number(arg('kib', '100'));

let beforeSource = execFileSync('git', ['show', `${before}:www/markdown.js`], { cwd: root, encoding: 'utf8' });
if (beforeSource.includes('/vendor/marked')) {
  // REV already has marked: take the last revision that still had the hand-written parser.
  const rev = execFileSync('git', ['log', '-1', '--format=%H', '-S', '/vendor/marked', '--', 'www/markdown.js'], { cwd: root, encoding: 'utf8' }).trim();
  beforeSource = execFileSync('git', ['show', `${rev}~1:www/markdown.js`], { cwd: root, encoding: 'utf8' });
}

/** A Markdown answer of about `bytes` bytes, built from the shapes the backend quotes. */
function answer(bytes) {
  const parts = [];
  let n = 0;
  let size = 0;
  while (size < bytes) {
    n += 1;
    const block = [
      `According to **Section ${n}** [${n}]:`,
      `The agent streams its answer as text deltas, and the page renders them as they arrive. Paragraph ${n} has \`inline code\`, *emphasis*, a [link](https://example.com/docs/${n}) and enough words to wrap over a line or two in the conversation column.`,
      `- first point of section ${n}\n- second point, with **bold** text\n- third point, with a longer sentence that goes on for a while`,
      `| case | what the user sees | test |\n|---|---|---|\n| \`401\` once | a normal answer | \`401 once ${n}\` |\n| \`429\` | a normal answer after the wait | \`429 ${n}\` |\n| \`500\` | an error | \`500 ${n}\` |`,
      '```sh\ncurl -X POST http://127.0.0.1:8080/__faults -d \'{"kind": "503"}\'\n```',
    ].join('\n\n');
    parts.push(block);
    size += block.length + 2;
  }
  return parts.join('\n\n').slice(0, bytes);
}

const text = answer(kib * 1024);
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.route('**/markdown-before.js', (route) => route.fulfill({ body: beforeSource, contentType: 'text/javascript' }));
  await page.goto(`${server.base}/docs.css`);
  const result = await page.evaluate(async ({ text, delta }) => {
    const now = await import('/markdown.js');
    const old = await import('/markdown-before.js');
    const reads = [];
    for (let i = delta; i < text.length + delta; i += delta) reads.push(text.slice(0, Math.min(i, text.length)));
    const host = document.body;
    const tenth = Math.floor(reads.length * 0.9);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const time = (f, t) => { const s = performance.now(); f(t); return performance.now() - s; };
    // A whole-text renderer's read costs what its text's length costs, so it is timed on 100
    // reads spread evenly over the stream (the total is their mean times the reads) and on
    // 100 reads of the last tenth: running all of them would take minutes.
    const sampled = (name, renderRead) => {
      host.replaceChildren();
      const pick = (from, to) => Array.from({ length: 100 }, (_, k) => reads[Math.floor(from + (to - from) * k / 100)]);
      const all = pick(0, reads.length).map((t) => time(renderRead, t));
      const first = pick(0, reads.length - tenth).map((t) => time(renderRead, t));
      const last = pick(tenth, reads.length).map((t) => time(renderRead, t));
      return { name, reads: reads.length, firstTenthMeanMs: mean(first), lastTenthMeanMs: mean(last), totalMs: mean(all) * reads.length, estimated: true };
    };
    // A view is stateful: every read is run and timed.
    const every = (name, renderRead) => {
      host.replaceChildren();
      const costs = reads.map((t) => time(renderRead, t));
      return { name, reads: reads.length, firstTenthMeanMs: mean(costs.slice(0, reads.length - tenth)), lastTenthMeanMs: mean(costs.slice(tenth)), totalMs: costs.reduce((a, b) => a + b, 0), estimated: false };
    };
    // The old page built a new node from the whole text on every read.
    const whole = (render) => (t) => {
      const div = document.createElement('div');
      div.append(render(t));
      host.replaceChildren(div);
    };
    const view = new now.MarkdownView();
    const out = [
      sampled('before', whole(old.renderMarkdown)),
      sampled('naive', whole(now.renderMarkdown)),
      every('after', (t) => {
        if (!view.element.isConnected) host.replaceChildren(view.element);
        view.update(t);
      }),
    ];
    view.finish();
    const same = view.element.innerHTML === (() => { const d = document.createElement('div'); d.append(now.renderMarkdown(text)); return d.innerHTML; })();
    return { out, same, tables: view.element.querySelectorAll('table').length };
  }, { text, delta });
  console.log(`answer: ${(text.length / 1024).toFixed(1)} KiB in deltas of ${delta} chars (${result.out[0].reads} reads); Chromium headless`);
  for (const r of result.out) {
    console.log(`${r.name.padEnd(7)} per read at 0-10 KiB: ${r.firstTenthMeanMs.toFixed(3).padStart(8)} ms, at 90-100 KiB: ${r.lastTenthMeanMs.toFixed(3).padStart(8)} ms   whole stream: ${(r.totalMs / 1000).toFixed(2).padStart(7)} s${r.estimated ? ' (estimated from 100 sampled reads)' : ''}`);
  }
  console.log(`after: the finished view equals a whole render: ${result.same}; tables rendered: ${result.tables}`);
} finally {
  await browser.close();
  await server.stop();
}
