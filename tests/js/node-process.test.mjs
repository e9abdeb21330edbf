// The agents' shared timer in Node: it must not keep a finished script alive (it is left
// armed between turns, unref'd), and it must keep a script alive while a turn waits on it
// (a retry back-off, when nothing else is pending).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

// A child Node process (resolving the installed package from here) with a fetch stub: the
// stub answers each POST with the next status of `replies` (200: a short answer; default 200).
function runChild(body, { timeoutMs = 20_000 } = {}) {
  const script = `
    import { Agent } from 'kapa-agent-wasm';
    const RS = '\\u241E';
    const rec = (type, content) => JSON.stringify({ chunk: { type, content } }) + RS;
    const answer = rec('stream_start', { thread_id: 't' }) + rec('text_delta', { text: 'Hello' }) + rec('done', { thread_id: 't' });
    let replies = [];
    globalThis.fetch = async () => {
      const status = replies.shift() ?? 200;
      if (status === 'silent') return new Response(new ReadableStream({ pull() { return new Promise(() => {}); } }), { status: 200 });
      if (status !== 200) return new Response('busy', { status });
      return new Response(answer, { status: 200, headers: { 'content-type': 'text/plain' } });
    };
    const make = (extra = {}) => new Agent({ projectId: 'p', integrationId: 'i', baseUrl: 'http://stub.invalid',
      getSessionToken: () => ({ token: 'tok_child', expiresAt: Date.now() + 3600e3 }),
      onMessagesChange() {}, onStreamingChange() {}, ...extra });
    ${body}
  `;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: Date.now() - started });
    });
  });
}

test('a script exits as soon as its turns are done: the timer left armed does not hold Node', async () => {
  // The turn's idle deadline (60 s by default) is still set on the shared timer when the turn
  // ends; an unref'd timer lets the process exit at once.
  const r = await runChild(`
    const agent = make();
    await agent.sendMessage('hi');
    await agent.sendMessage('again');
    console.log(agent.getMessages().map((m) => m.content).join('|'));
  `);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'hi|Hello|again|Hello');
  assert.ok(r.ms < 10_000, `exited after ${r.ms} ms`);
});

test('a retry back-off keeps the script alive until the answer arrives', async () => {
  // Nothing but the agent's timer is pending during the back-off; if it were unref'd, Node
  // would exit before the retry and print nothing.
  const r = await runChild(`
    replies = [503, 200];
    const agent = make({ retry: { baseDelayMs: 300, maxDelayMs: 300 } });
    agent.sendMessage('hi').then(() => console.log(agent.getMessages()[1]?.content));
  `);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'Hello');
});

test('a timer kept from an earlier turn is held again when a new turn waits on it', async () => {
  // Turn 1 ends with its idle deadline (1 s) still on the timer, which is then unref'd; turn 2
  // starts at once on a body that never sends anything, and reuses that timer for its own
  // deadline. Only the timer can keep Node alive until the idle timeout ends turn 2.
  const r = await runChild(`
    replies = [200, 'silent'];
    const agent = make({ idleTimeoutMs: 1000 });
    await agent.sendMessage('hi');
    agent.sendMessage('again').then(() => console.log(agent.getMessages()[3]?.isError === true ? 'timed out' : 'no'));
  `);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'timed out');
});
