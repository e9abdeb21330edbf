// No turn may leave an unhandled promise rejection behind: in Node an unhandled rejection ends
// the process. (Every other file fails a test on one too, through node:test's own listener.)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, sleep, waitFor } from './helpers/agent.mjs';

// Take over from node:test's listener (installed lazily before the first hook) so that the
// assertion below reports what was left unhandled.
let current = null;
before(() => {
  process.removeAllListeners('unhandledRejection');
  process.on('unhandledRejection', (reason) => {
    const text = `unhandled rejection ${reason?.name}: ${reason?.message}\n${String(reason?.stack).split('\n').slice(0, 4).join('\n')}`;
    if (current) current.push(text);
    else throw reason;
  });
});

async function collect(fn) {
  const seen = (current = []);
  try {
    await fn();
    await sleep(100);
  } finally {
    current = null;
  }
  return seen;
}

test('a completed turn leaves no unhandled rejection', async () => {
  const server = await startMockServer();
  try {
    const seen = await collect(async () => {
      server.queue('chat', stream([ev.start('thr_1'), ev.text('hi'), ev.done('thr_1')]));
      const { agent } = makeAgent(server);
      await agent.sendMessage('hello');
    });
    assert.deepEqual(seen, []);
  } finally {
    await server.close();
  }
});

test('stopGeneration and resetConversation leave no unhandled rejection', async () => {
  const server = await startMockServer();
  try {
    const seen = await collect(async () => {
      server.queue('chat', stream([ev.start('thr_1'), ev.text('hi')], { keepOpen: true }), stream([ev.start('thr_1'), ev.text('hi')], { keepOpen: true }));
      const { agent } = makeAgent(server);
      let p = agent.sendMessage('hello');
      await waitFor(() => agent.getMessages().length === 2);
      agent.stopGeneration();
      await p;
      p = agent.sendMessage('again');
      await waitFor(() => agent.getMessages().length === 4);
      agent.resetConversation();
      await p;
    });
    assert.deepEqual(seen, []);
  } finally {
    await server.close();
  }
});

test('a failed turn leaves no unhandled rejection', async () => {
  const server = await startMockServer();
  try {
    const seen = await collect(async () => {
      server.queue('chat', stream([ev.start('thr_1'), ev.error('nope')]), { status: 500, body: 'x' });
      const { agent } = makeAgent(server);
      await agent.sendMessage('hello');
      await agent.sendMessage('again');
    });
    assert.deepEqual(seen, []);
  } finally {
    await server.close();
  }
});

test('a plain Node script running one turn exits normally (exit code 0)', async () => {
  const { spawn } = await import('node:child_process');
  const script = `
    import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
    import { Agent } from 'kapa-agent-wasm';
    const server = await startMockServer();
    server.queue('chat', stream([ev.start('t'), ev.text('hi'), ev.done('t')]));
    const agent = new Agent({ projectId: 'p', integrationId: 'i', baseUrl: server.baseUrl,
      getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
      onMessagesChange: () => {}, onStreamingChange: () => {} });
    await agent.sendMessage('hello');
    await new Promise((r) => setTimeout(r, 200));
    console.log('REPLY ' + agent.getMessages()[1].content);
    await server.close();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('.', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0, `exit ${code}; stderr: ${err.split('\n').slice(0, 3).join(' | ')}`);
  assert.match(out, /REPLY hi/);
});
