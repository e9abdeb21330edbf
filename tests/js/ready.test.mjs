// The entry has no top-level await: an Agent can be built the moment the package is imported,
// before its WebAssembly module is ready. Options are checked at once; the getters answer the
// initial state; the other calls wait for the module, in order; `ready` says when (or why
// not). Each case runs in a child Node process, so that the module really is not loaded yet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// A child process importing `entry` with a fetch stub (one short streamed answer per POST,
// each request recorded in `requests`); `body` runs right after the import, at top level.
function runChild(body, { entry = 'kapa-agent-wasm', timeoutMs = 20_000 } = {}) {
  const script = `
    import * as pkg from ${JSON.stringify(entry)};
    const { Agent, ready } = pkg;
    const RS = '\\u241E';
    const rec = (type, content) => JSON.stringify({ chunk: { type, content } }) + RS;
    const answer = rec('stream_start', { thread_id: 't' }) + rec('text_delta', { text: 'Hello' }) + rec('done', { thread_id: 't' });
    const requests = [];
    globalThis.fetch = async (url, init) => {
      requests.push(JSON.parse(init.body));
      return new Response(answer, { status: 200, headers: { 'content-type': 'text/plain' } });
    };
    const log = { messages: [], streaming: [], events: [] };
    let readyState = 'pending';
    ready.then(() => (readyState = 'resolved'), () => (readyState = 'rejected'));
    const make = (extra = {}) => new Agent({ projectId: 'p', integrationId: 'i', baseUrl: 'http://stub.invalid',
      getSessionToken: () => ({ token: 'tok_child', expiresAt: Date.now() + 3600e3 }),
      onMessagesChange: (m) => log.messages.push(m), onStreamingChange: (s) => log.streaming.push(s),
      onEvent: (e) => log.events.push(e), ...extra });
    const out = (v) => console.log(JSON.stringify(v));
    ${body}
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n').filter(Boolean);
      resolve({ code, signal, stderr, results: lines.map((l) => JSON.parse(l)) });
    });
  });
}

test('before the module is ready: options are checked at once, getters answer the initial state, sendMessage waits', async () => {
  const r = await runChild(`
    let typeError;
    try { make({ projectId: '' }); } catch (e) { typeError = [e.constructor.name, e.message, readyState]; }
    const agent = make();
    const before = { messages: agent.getMessages(), same: agent.getMessages() === agent.getMessages(),
      streaming: agent.getIsStreaming(), threadId: agent.getThreadId(), readyState };
    let sync;
    try { agent.sendMessage(42); } catch (e) { sync = [e.constructor.name, e.message]; }
    const p = agent.sendMessage('hi');
    const calledBack = log.messages.length;
    await p;
    out({ typeError, before, sync, calledBack, readyState, after: agent.getMessages(), streaming: log.streaming, requests: requests.length });
  `);
  assert.equal(r.code, 0, r.stderr);
  const [v] = r.results;
  assert.deepEqual(v.typeError, ['TypeError', 'options.projectId must be a non-empty string', 'pending']);
  assert.deepEqual(v.before, { messages: [], same: true, streaming: false, threadId: null, readyState: 'pending' });
  assert.deepEqual(v.sync, ['TypeError', 'sendMessage(text): text must be a string']);
  assert.equal(v.calledBack, 0, 'nothing happens before the module is ready');
  assert.equal(v.readyState, 'resolved');
  assert.deepEqual(v.after, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello', blocks: [{ type: 'text', content: 'Hello' }] },
  ]);
  assert.deepEqual(v.streaming, [true, false]);
  assert.equal(v.requests, 1);
});

test('calls made before the module is ready run in their order once it is', async () => {
  const r = await runChild(`
    const agent = make({ context: { n: 1 } });
    const p = agent.sendMessage('first');
    agent.stopGeneration();               // stops the turn that sendMessage starts
    let bad;
    try { agent.updateOptions({ throttleMs: -1 }); } catch (e) { bad = e.message; }
    agent.updateOptions({ customInstructions: 'be brief' });
    const second = agent.sendMessage('second');
    await p;
    await second;
    out({ bad, events: log.events.map((e) => e.type), requests: requests.map((b) => [b.input?.content, b.custom_instructions ?? null]),
      messages: agent.getMessages().map((m) => m.role + ':' + m.content) });
  `);
  assert.equal(r.code, 0, r.stderr);
  const [v] = r.results;
  assert.equal(v.bad, 'options.throttleMs must be a non-negative number of milliseconds');
  assert.deepEqual(v.events, ['message_sent', 'generation_stopped', 'message_sent', 'response_completed']);
  // As once the module is ready: a token at hand lets sendMessage send at once (the stop
  // then aborts that request); the update made between the two turns applies to the second.
  assert.deepEqual(v.requests, [['first', null], ['second', 'be brief']]);
  assert.deepEqual(v.messages, ['user:first', 'user:second', 'assistant:Hello']);
});

test('free() before the module is ready: waiting calls reject, nothing is sent', async () => {
  const r = await runChild(`
    const agent = make();
    const p = agent.sendMessage('hi').then(() => 'resolved', (e) => e.message);
    agent.free();
    const after = await agent.sendMessage('again').then(() => 'resolved', (e) => e.message);
    await ready;
    await new Promise((res) => setTimeout(res, 50));
    out({ first: await p, after, requests: requests.length, messages: agent.getMessages() });
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.results[0], { first: 'This agent was freed', after: 'This agent was freed', requests: 0, messages: [] });
});

test('a module that cannot load: ready and the calls that need it reject with the URL and the cause; nothing hangs', async () => {
  // The installed package, copied without its .wasm.
  const src = path.join(here, 'node_modules', 'kapa-agent-wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kapa-nowasm-'));
  try {
    fs.cpSync(src, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'kapa_agent_wasm_bg.wasm'));
    const entry = pathToFileURL(path.join(dir, 'index.js')).href;
    const r = await runChild(`
      const agent = make();
      const sent = await agent.sendMessage('hi').then(() => 'resolved', (e) => e.message);
      const readyError = await ready.then(() => 'resolved', (e) => e.message);
      agent.stopGeneration(); // does nothing, throws nothing
      const later = await agent.resumeThread('t1').then(() => 'resolved', (e) => e.message);
      out({ sent, readyError, later, messages: agent.getMessages(), requests: requests.length });
    `, { entry });
    assert.equal(r.code, 0, r.stderr);
    const [v] = r.results;
    const wasmUrl = pathToFileURL(path.join(dir, 'kapa_agent_wasm_bg.wasm')).href;
    assert.equal(v.readyError.startsWith(`kapa-agent-wasm: could not load the WebAssembly module from ${wasmUrl}: `), true, v.readyError);
    assert.match(v.readyError, /ENOENT/);
    assert.equal(v.sent, v.readyError);
    assert.equal(v.later, v.readyError);
    assert.deepEqual(v.messages, []);
    assert.equal(v.requests, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('after `await ready`, SPEC §3 holds from the first call: sendMessage acts synchronously', async () => {
  const r = await runChild(`
    await ready;
    const agent = make();
    const p = agent.sendMessage('hi');
    out({ sync: log.messages.length, streaming: agent.getIsStreaming() });
    await p;
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.results[0], { sync: 1, streaming: true });
});

test('before the module is ready: a bad initialState throws at once; a good one arrives through the callbacks', async () => {
  const r = await runChild(`
    const state = { version: 1, projectId: 'p', integrationId: 'i', threadId: 't_saved',
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello', blocks: [{ type: 'text', content: 'Hello' }] }] };
    let typeError;
    try { make({ initialState: { ...state, version: 2 } }); } catch (e) { typeError = [e.constructor.name, /initialState/.test(e.message), readyState]; }
    const threadIds = [];
    const agent = make({ initialState: JSON.stringify(state), onThreadIdChange: (t) => threadIds.push(t) });
    const before = { messages: agent.getMessages(), thread: agent.getThreadId(), exported: agent.exportState(), readyState };
    await ready;
    await new Promise((r) => setTimeout(r, 10));
    out({ typeError, before, delivered: log.messages.at(-1), threadIds, streaming: log.streaming, thread: agent.getThreadId() });
  `);
  assert.equal(r.code, 0, r.stderr);
  const [o] = r.results;
  assert.deepEqual(o.typeError, ['TypeError', true, 'pending']);
  assert.equal(o.before.readyState, 'pending');
  assert.deepEqual(o.before.messages, [], 'the getters answer an empty conversation until the module is ready');
  assert.equal(o.before.thread, null);
  assert.equal(o.before.exported.threadId, 't_saved', 'exportState answers the state still to restore');
  assert.equal(o.delivered.length, 2, 'delivered through onMessagesChange once ready');
  assert.deepEqual(o.threadIds, ['t_saved']);
  assert.deepEqual(o.streaming, []);
  assert.equal(o.thread, 't_saved');
});
