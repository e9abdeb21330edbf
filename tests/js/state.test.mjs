// STATE.md: exportState, initialState and persist, against the built package.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev, gate } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, toolCallsOf, isPlainDeep, ready } from './helpers/agent.mjs';

let server;
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const KEY = 'kapa-agent:proj_1:int_1';
const obj = { type: 'object', properties: {} };
const defTool = (name, execute, extra = {}) => ({ name, description: name, parameters: obj, execute, ...extra });
const calls = (agent) => toolCallsOf(agent.getMessages().at(-1));

/** A sync storage in memory that records what it was asked. */
function memoryStore(initial = {}) {
  const data = new Map(Object.entries(initial));
  const store = {
    data,
    saves: [],
    removes: 0,
    load: (k) => (data.has(k) ? data.get(k) : null),
    save: (k, v) => {
      store.saves.push({ k, v, t: Date.now() });
      data.set(k, v);
    },
    remove: (k) => {
      store.removes++;
      data.delete(k);
    },
  };
  return store;
}

/** A conversation that completed on thr_1: returns its exported state. */
async function completedState() {
  server.queue('chat', stream([ev.start('thr_1'), ev.text('Hello '), ev.text('there.'), ev.done('thr_1')]));
  const { agent } = makeAgent(server);
  await agent.sendMessage('hi');
  const state = agent.exportState();
  agent.free();
  return state;
}

/** Agent A asked to approve `risky` (r1) after `safe` (s1) ran, with `slow` (w1) still running. */
async function approvalWaitState() {
  server.queue('chat', stream([
    ev.start('thr_1'), ev.text('Working. '),
    ev.toolCall('s1', 'safe'), ev.toolCall('r1', 'risky', { path: '/a' }), ev.toolCall('w1', 'slow'),
    ev.requiresAction(['s1', 'r1', 'w1']),
  ]));
  const { agent } = makeAgent(server, {
    tools: [
      defTool('safe', () => 'fine'),
      defTool('risky', () => 'unused', { needsApproval: true }),
      defTool('slow', () => new Promise(() => {})),
    ],
  });
  agent.sendMessage('go');
  await waitFor(() => calls(agent)[0]?.status === 'completed' && calls(agent)[1]?.status === 'approval_requested');
  const state = agent.exportState();
  agent.free();
  return state;
}

test('exportState: version 1, ids, thread, messages; plain JSON data that restores as it was', async () => {
  const state = await completedState();
  assert.equal(isPlainDeep(state, '$', new Set(), true), null);
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  assert.equal(state.version, 1);
  assert.equal(state.projectId, 'proj_1');
  assert.equal(state.integrationId, 'int_1');
  assert.equal(state.threadId, 'thr_1');
  assert.deepEqual(state.messages, [
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello there.', blocks: [{ type: 'text', content: 'Hello there.' }] },
  ]);
  for (const initialState of [state, JSON.stringify(state)]) {
    server.reset();
    const { agent, log } = makeAgent(server, { initialState });
    await sleep(5);
    assert.deepEqual(log.messages, [], 'the constructor calls no callback');
    assert.deepEqual(log.streaming, []);
    assert.deepEqual(log.threadIds, []);
    assert.deepEqual(log.events, []);
    assert.deepEqual(agent.getMessages(), state.messages);
    assert.equal(agent.getThreadId(), 'thr_1');
    assert.equal(agent.getIsStreaming(), false);
    assert.deepEqual(agent.exportState(), state);
    assert.equal(server.requests.length, 0, 'nothing fetched');
    server.queue('chat', stream([ev.text('More.'), ev.done('thr_1')]));
    const p = agent.sendMessage('again');
    assert.equal(log.messages[0].length, 3, 'the first change delivers the whole conversation');
    await p;
    assert.equal(server.requestsTo('chat')[0].body.thread_id, 'thr_1');
    agent.free();
  }
});

test('initialState: bad states are a TypeError naming initialState', async () => {
  const good = await completedState();
  const bad = [
    42, 'not json {', '[1,2]', null, [],
    { ...good, version: 2 }, // a future version
    { ...good, version: undefined },
    { ...good, projectId: 'other' }, // another project
    { ...good, integrationId: 'other' },
    { ...good, messages: 'no' },
    { ...good, messages: [{ role: 'system', content: 'x' }] },
    { ...good, messages: [{ role: 'assistant', content: '', blocks: [{ type: 'tool_calls', toolCalls: [{ id: 'c', name: 'n', status: 'running' }] }] }] },
    { ...good, threadId: 5 },
  ];
  for (const initialState of bad) {
    assert.throws(() => makeAgent(server, { initialState }), (e) => e instanceof TypeError && /initialState/.test(e.message), JSON.stringify(initialState));
  }
});

test('restore: an executing call comes back stopped and never runs; a streaming answer keeps its text', async () => {
  const g = gate();
  let ran = 0;
  server.queue('chat', stream([ev.start('thr_1'), ev.text('Half an ans'), ev.toolCall('c1', 'work'), ev.requiresAction(['c1'])]));
  const tools = [defTool('work', () => (ran++, new Promise(() => {})))];
  const a = makeAgent(server, { tools });
  a.agent.sendMessage('go');
  await waitFor(() => calls(a.agent)[0]?.status === 'executing');
  const executing = a.agent.exportState();
  a.agent.free();
  assert.equal(ran, 1);
  const b = makeAgent(server, { tools, initialState: executing });
  assert.equal(calls(b.agent)[0].status, 'stopped');
  assert.equal(b.agent.getIsStreaming(), false);
  b.agent.approveToolCall('c1');
  await sleep(20);
  assert.equal(ran, 1, 'never run again');
  assert.equal(server.requestsTo('chat').length, 1);
  b.agent.free();

  server.reset();
  server.queue('chat', { status: 200, headers: { 'content-type': 'text/event-stream' }, keepOpen: true, chunks: [
    `event: stream_start\ndata: {"thread_id":"thr_2"}\n\nevent: text_delta\ndata: {"text":"Partial"}\n\n`, g.item,
  ] });
  const c = makeAgent(server);
  c.agent.sendMessage('long one');
  await waitFor(() => c.agent.getMessages()[1]?.content === 'Partial');
  const streaming = c.agent.exportState();
  c.agent.free();
  g.release();
  const d = makeAgent(server, { initialState: streaming });
  assert.equal(d.agent.getIsStreaming(), false);
  assert.deepEqual(d.agent.getMessages()[1], { role: 'assistant', content: 'Partial', blocks: [{ type: 'text', content: 'Partial' }] });
  assert.equal(d.agent.getThreadId(), 'thr_2');
  d.agent.free();
});

test('restore: an approval waits on the next page; approve runs it and posts the step to the thread', async () => {
  const state = await approvalWaitState();
  server.reset();
  let ran = 0;
  server.queue('chat', stream([ev.text('Deleted.'), ev.done('thr_1')]));
  const { agent, log } = makeAgent(server, {
    initialState: JSON.stringify(state),
    tools: [defTool('safe', () => 'again?'), defTool('risky', (args) => (ran++, `deleted ${args.path}`), { needsApproval: true }), defTool('slow', () => 'x')],
  });
  assert.equal(agent.getIsStreaming(), true, 'an approval wait is a running turn');
  assert.deepEqual(calls(agent).map((c) => c.status), ['completed', 'approval_requested', 'stopped']);
  await assert.rejects(agent.sendMessage('meanwhile'), /already streaming/);
  agent.approveToolCall('r1');
  await waitFor(() => !agent.getIsStreaming());
  assert.equal(ran, 1);
  const [req] = server.requestsTo('chat');
  assert.equal(req.body.thread_id, 'thr_1');
  assert.equal(req.body.input.type, 'tool_results');
  assert.deepEqual(req.body.input.results.map((r) => [r.tool_call_id, r.status]), [['s1', 'completed'], ['r1', 'completed'], ['w1', 'error']]);
  assert.equal(req.body.input.results[0].output, 'fine', 'a completed call is posted with its output, not run again');
  assert.deepEqual(log.eventsOf('tool_approved').map((e) => e.data), [{ toolName: 'risky', toolCallId: 'r1' }]);
  assert.equal(log.eventsOf('response_completed').length, 1);
  assert.equal(agent.getMessages().at(-1).content, 'Working. Deleted.');
});

test('restore: reject on the next page posts denied', async () => {
  const state = await approvalWaitState();
  server.reset();
  server.queue('chat', stream([ev.text('OK.'), ev.done('thr_1')]));
  const { agent } = makeAgent(server, { initialState: state, tools: [defTool('risky', () => 'x', { needsApproval: true })] });
  agent.rejectToolCall('r1');
  await waitFor(() => !agent.getIsStreaming());
  assert.deepEqual(server.requestsTo('chat')[0].body.input.results[1], { tool_call_id: 'r1', status: 'denied' });
});

test('persist: saved after a turn, restored by the next agent, no token and no context stored', async () => {
  const store = memoryStore();
  server.queue('chat', stream([ev.start('thr_1'), ev.text('Stored answer.'), ev.done('thr_1')]));
  const a = makeAgent(server, { persist: store, context: { secret: 'CTX-SECRET-1' } });
  await a.agent.sendMessage('remember me');
  await sleep(5);
  assert.ok(store.saves.length >= 1);
  assert.ok(store.saves.every((s) => s.k === KEY));
  const text = store.data.get(KEY);
  assert.deepEqual(JSON.parse(text), a.agent.exportState());
  assert.ok(!text.includes('tok-') && !text.includes('CTX-SECRET'), 'no token, no context');
  a.agent.free();
  const b = makeAgent(server, { persist: store });
  assert.equal(b.agent.getThreadId(), 'thr_1');
  assert.equal(b.agent.getMessages()[1].content, 'Stored answer.');
  await sleep(5);
  assert.deepEqual(b.log.messages, [], 'no callback for a sync restore');
  assert.deepEqual(b.log.events, []);
  // resetConversation() removes it and stores nothing in its place.
  const saves = store.saves.length;
  b.agent.resetConversation();
  await sleep(5);
  assert.equal(store.data.has(KEY), false);
  assert.equal(store.saves.length, saves, 'nothing saved by the reset itself');
  b.agent.free();
});

test('persist: clearSession() removes the stored state; initialState wins over it', async () => {
  const stored = await completedState();
  const store = memoryStore({ [KEY]: JSON.stringify(stored) });
  const other = { ...stored, threadId: 'thr_explicit' };
  const { agent } = makeAgent(server, { persist: store, initialState: other });
  assert.equal(agent.getThreadId(), 'thr_explicit');
  agent.clearSession();
  await sleep(5);
  assert.equal(store.data.has(KEY), false);
  assert.equal(store.removes, 1);
  agent.free();
});

test('persist: while text streams, at most one save per 500 ms, and one at the end', async () => {
  const store = memoryStore();
  const chunks = [`event: stream_start\ndata: {"thread_id":"thr_1"}\n\n`];
  for (let i = 0; i < 30; i++) chunks.push(`event: text_delta\ndata: {"text":"w${i} "}\n\n`, { delay: 40 });
  chunks.push(`event: done\ndata: {"thread_id":"thr_1"}\n\n`);
  server.queue('chat', { status: 200, headers: { 'content-type': 'text/event-stream' }, chunks });
  const { agent } = makeAgent(server, { persist: store });
  const start = Date.now();
  await agent.sendMessage('stream');
  const end = Date.now();
  await sleep(10);
  const during = store.saves.filter((s) => s.t > start + 20 && s.t < end - 5);
  assert.ok(during.length >= 1, 'saved while streaming');
  for (let i = 1; i < during.length; i++) assert.ok(during[i].t - during[i - 1].t >= 490, `saves ${during[i].t - during[i - 1].t} ms apart`);
  assert.ok(during.length <= Math.ceil((end - start) / 500) + 1, `${during.length} saves in ${end - start} ms`);
  const last = JSON.parse(store.saves.at(-1).v);
  assert.equal(last.messages[1].content, agent.getMessages()[1].content, 'the final text was saved at the end');
  assert.equal(last.turn, undefined);
  agent.free();
});

test('persist: a storage that throws never throws out nor stops a turn: one state_not_saved per streak', async () => {
  let fail = true;
  const store = memoryStore();
  const save = store.save;
  store.save = (k, v) => {
    if (fail) throw new Error('disk on fire');
    save(k, v);
  };
  server.queue('chat', stream([ev.start('thr_1'), ev.text('One.'), ev.done('thr_1')]), stream([ev.text('Two.'), ev.done('thr_1')]), stream([ev.text('Three.'), ev.done('thr_1')]));
  const { agent, log } = makeAgent(server, { persist: store });
  await agent.sendMessage('a');
  await agent.sendMessage('b');
  await sleep(5);
  assert.equal(agent.getMessages().length, 4, 'the turns completed');
  assert.deepEqual(log.eventsOf('state_not_saved').map((e) => e.data), [{ message: 'disk on fire' }]);
  fail = false;
  await agent.sendMessage('c');
  await sleep(5);
  assert.ok(store.data.has(KEY));
  fail = true;
  server.queue('chat', stream([ev.text('Four.'), ev.done('thr_1')]));
  await agent.sendMessage('d');
  await sleep(5);
  assert.equal(log.eventsOf('state_not_saved').length, 2, 'a new streak reports again');
  agent.free();
});

test('persist: a full storage (quota) and a missing sessionStorage are storage failures, not throws', async () => {
  const quota = memoryStore();
  quota.save = () => {
    const e = new Error("Failed to execute 'setItem' on 'Storage': the quota has been exceeded.");
    e.name = 'QuotaExceededError';
    throw e;
  };
  server.queue('chat', stream([ev.start('thr_1'), ev.text('Big.'), ev.done('thr_1')]));
  const a = makeAgent(server, { persist: quota });
  await a.agent.sendMessage('fill it');
  await sleep(5);
  assert.equal(a.log.eventsOf('response_completed').length, 1);
  assert.match(a.log.eventsOf('state_not_saved')[0].data.message, /quota/);
  a.agent.free();

  const had = Object.getOwnPropertyDescriptor(globalThis, 'sessionStorage');
  delete globalThis.sessionStorage;
  try {
    server.queue('chat', stream([ev.start('thr_1'), ev.text('Fine.'), ev.done('thr_1')]));
    const b = makeAgent(server, { persist: 'session' });
    await b.agent.sendMessage('no storage');
    await sleep(5);
    assert.equal(b.log.eventsOf('response_completed').length, 1);
    assert.deepEqual(b.log.eventsOf('state_not_saved').map((e) => e.data.message), ['sessionStorage is not available here']);
    b.agent.free();
  } finally {
    if (had) Object.defineProperty(globalThis, 'sessionStorage', had);
  }
});

test("persist: 'session' and 'local' use the page's storages", async () => {
  for (const [persist, name] of [['session', 'sessionStorage'], ['local', 'localStorage']]) {
    const had = Object.getOwnPropertyDescriptor(globalThis, name);
    const data = new Map();
    const fake = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k) };
    Object.defineProperty(globalThis, name, { value: fake, configurable: true, writable: true });
    try {
      server.reset();
      server.queue('chat', stream([ev.start('thr_9'), ev.text('Kept.'), ev.done('thr_9')]));
      const a = makeAgent(server, { persist });
      await a.agent.sendMessage('x');
      await sleep(5);
      assert.equal(JSON.parse(data.get(KEY)).threadId, 'thr_9', name);
      a.agent.free();
      const b = makeAgent(server, { persist });
      assert.equal(b.agent.getThreadId(), 'thr_9');
      b.agent.free();
    } finally {
      if (had) Object.defineProperty(globalThis, name, had);
      else delete globalThis[name];
    }
  }
});

test('persist: an async storage; the state lands through the callbacks, or is discarded when the page spoke first', async () => {
  const stored = await completedState();
  const later = (v, ms = 30) => new Promise((r) => setTimeout(() => r(v), ms));
  const async = {
    saved: [],
    load: () => later(JSON.stringify(stored)),
    save: (k, v) => later(undefined, 1).then(() => async.saved.push(v)),
    remove: () => later(undefined, 1),
  };
  const { agent, log } = makeAgent(server, { persist: async });
  assert.deepEqual(agent.getMessages(), []);
  await waitFor(() => log.messages.length > 0);
  assert.deepEqual(log.messages.at(-1), stored.messages);
  assert.deepEqual(log.threadIds, ['thr_1']);
  assert.deepEqual(log.streaming, [], 'not streaming before or after');
  assert.equal(agent.getThreadId(), 'thr_1');
  server.queue('chat', stream([ev.text('Next.'), ev.done('thr_1')]));
  await agent.sendMessage('continue');
  await waitFor(() => async.saved.length > 0 && JSON.parse(async.saved.at(-1)).messages.length === 4);
  agent.free();

  server.queue('chat', stream([ev.start('thr_new'), ev.text('Fresh.'), ev.done('thr_new')]));
  const b = makeAgent(server, { persist: { ...async, load: () => later(JSON.stringify(stored), 80) } });
  const p = b.agent.sendMessage('first');
  await p;
  await sleep(120);
  assert.deepEqual(b.log.eventsOf('state_discarded').length, 1);
  assert.equal(b.agent.getThreadId(), 'thr_new');
  assert.equal(b.agent.getMessages().length, 2);
  b.agent.free();
});

test('persist: a stored state of another project or a future version is removed, with state_discarded', async () => {
  const stored = await completedState();
  for (const bad of [{ ...stored, projectId: 'someone_else' }, { ...stored, version: 99 }, '{broken']) {
    const store = memoryStore({ [KEY]: typeof bad === 'string' ? bad : JSON.stringify(bad) });
    const { agent, log } = makeAgent(server, { persist: store });
    assert.deepEqual(agent.getMessages(), []);
    assert.equal(log.events.length, 0, 'after construction, not during');
    await sleep(1);
    assert.equal(log.eventsOf('state_discarded').length, 1);
    assert.match(log.eventsOf('state_discarded')[0].data.reason, /initialState/);
    assert.equal(store.data.has(KEY), false, 'removed');
    agent.free();
  }
});

test('persist: another type is a TypeError naming persist; load failing is state_not_saved', async () => {
  for (const persist of ['cookie', 42, null, { load() {}, save() {} }]) {
    assert.throws(() => makeAgent(server, { persist }), (e) => e instanceof TypeError && /persist/.test(e.message));
  }
  const store = memoryStore();
  store.load = () => {
    throw new Error('SecurityError: storage disabled');
  };
  const { agent, log } = makeAgent(server, { persist: store });
  await sleep(1);
  assert.deepEqual(log.eventsOf('state_not_saved').map((e) => e.data.message), ['SecurityError: storage disabled']);
  agent.free();
});

test('persist: the approval wait is saved and survives into the next agent', async () => {
  const store = memoryStore();
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('r1', 'risky'), ev.requiresAction(['r1'])]));
  const tools = [defTool('risky', () => 'ok', { needsApproval: true })];
  const a = makeAgent(server, { persist: store, tools });
  a.agent.sendMessage('go');
  await waitFor(() => calls(a.agent)[0]?.status === 'approval_requested');
  await sleep(5);
  assert.deepEqual(JSON.parse(store.data.get(KEY)).turn.step, ['r1']);
  a.agent.free();
  server.reset();
  server.queue('chat', stream([ev.text('Done.'), ev.done('thr_1')]));
  const b = makeAgent(server, { persist: store, tools });
  assert.equal(b.agent.getIsStreaming(), true);
  b.agent.approveToolCall('r1');
  await waitFor(() => !b.agent.getIsStreaming());
  assert.deepEqual(server.requestsTo('chat')[0].body.input.results, [{ tool_call_id: 'r1', status: 'completed', output: 'ok' }]);
  await sleep(5);
  const saved = JSON.parse(store.data.get(KEY));
  assert.equal(saved.turn, undefined);
  assert.equal(saved.messages[1].content, 'Done.');
  b.agent.free();
});
