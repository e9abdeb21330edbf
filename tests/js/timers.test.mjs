// The module's one timer serves every agent (src/wasm/driver.rs, `Clock`): each agent's
// deadlines fire on time whatever the others do, and freeing one agent leaves the others'.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const quick = () => stream([ev.start('thr_q'), ev.text('ok'), ev.done('thr_q')]);
const silent = () => stream([ev.start('thr_s')], { keepOpen: true });
const stalled = (agent) => /stalled: no data for/.test(agent.getMessages()[1]?.content ?? '');

test("one agent's idle timeout fires on time while another agent runs turns", async () => {
  server.queue('chat', silent());
  const a = makeAgent(server, { idleTimeoutMs: 400 }).agent;
  const started = Date.now();
  const pa = a.sendMessage('waits');
  // B's turns keep asking the shared timer for later times (its own 60 s deadlines) and
  // release it at each turn end; A's earlier deadline must survive all of that.
  const b = makeAgent(server).agent;
  for (let i = 0; i < 5; i++) {
    server.queue('chat', quick());
    await b.sendMessage(`q${i}`);
  }
  await pa;
  const took = Date.now() - started;
  assert.ok(stalled(a), a.getMessages()[1]?.content);
  assert.ok(took >= 380 && took < 3000, `A timed out after ${took} ms`);
  assert.equal(b.getMessages().length, 10);
  a.free();
  b.free();
});

test('freeing an agent with a pending deadline leaves the other agents their timer', async () => {
  server.queue('chat', silent(), silent());
  const gone = makeAgent(server, { idleTimeoutMs: 200 }).agent;
  const stays = makeAgent(server, { idleTimeoutMs: 600 }).agent;
  void gone.sendMessage('freed before its deadline');
  const started = Date.now();
  const p = stays.sendMessage('times out');
  await new Promise((r) => setTimeout(r, 50));
  gone.free();
  await p;
  const took = Date.now() - started;
  assert.ok(stalled(stays), stays.getMessages()[1]?.content);
  assert.ok(took >= 580 && took < 3000, `timed out after ${took} ms`);
  stays.free();
});
