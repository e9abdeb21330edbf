// SPEC §1 (surface) and §2 (construction and validation).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as pkg from 'kapa-agent-wasm';
import {
  Agent,
  createToolHelper,
  SessionWithoutOwnerError,
  HistoryDisabledError,
  ThreadNotFoundError,
} from 'kapa-agent-wasm';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, sleep, tokenSource } from './helpers/agent.mjs';

const noop = () => {};
const base = () => ({
  projectId: 'p',
  integrationId: 'i',
  getSessionToken: async () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
  onMessagesChange: noop,
  onStreamingChange: noop,
});
const tool = (name, extra = {}) => ({
  name,
  description: 'd',
  parameters: { type: 'object', properties: {} },
  execute: () => 1,
  ...extra,
});

test('exports: Agent, createToolHelper and the three error classes, no init() needed', () => {
  assert.equal(typeof Agent, 'function');
  assert.equal(typeof createToolHelper, 'function');
  for (const C of [SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError]) {
    assert.equal(typeof C, 'function');
  }
  assert.ok('Agent' in pkg);
  const a = new Agent(base());
  assert.deepEqual(a.getMessages(), []);
  assert.equal(a.getIsStreaming(), false);
  assert.equal(a.getThreadId(), null);
});

test('error classes are real Error subclasses with name = class name', () => {
  for (const [C, name] of [
    [SessionWithoutOwnerError, 'SessionWithoutOwnerError'],
    [HistoryDisabledError, 'HistoryDisabledError'],
    [ThreadNotFoundError, 'ThreadNotFoundError'],
  ]) {
    const e = new C('msg');
    assert.ok(e instanceof Error, `${name} instanceof Error`);
    assert.ok(e instanceof C);
    assert.equal(e.name, name);
    assert.equal(C.name, name);
  }
});

test('createToolHelper returns a function that returns its argument unchanged', () => {
  const helper = createToolHelper();
  assert.equal(typeof helper, 'function');
  const def = tool('x', { needsApproval: true, displayName: 'X' });
  assert.equal(helper(def), def);
  assert.deepEqual(Object.keys(def).sort(), ['description', 'displayName', 'execute', 'name', 'needsApproval', 'parameters']);
});

test('minimal options work: tools and context are optional', () => {
  assert.doesNotThrow(() => new Agent(base()));
  assert.doesNotThrow(() => new Agent({ ...base(), tools: [], context: {} }));
  assert.doesNotThrow(() => new Agent({ ...base(), tools: [tool('a'), tool('b')] }));
});

const bad = [
  ['projectId', { projectId: undefined }],
  ['projectId', { projectId: '' }],
  ['projectId', { projectId: 42 }],
  ['integrationId', { integrationId: undefined }],
  ['integrationId', { integrationId: '' }],
  ['getSessionToken', { getSessionToken: undefined }],
  ['getSessionToken', { getSessionToken: 'x' }],
  ['onMessagesChange', { onMessagesChange: undefined }],
  ['onMessagesChange', { onMessagesChange: {} }],
  ['onStreamingChange', { onStreamingChange: null }],
  ['onStreamingChange', { onStreamingChange: 1 }],
  ['tools', { tools: 'nope' }],
  ['tools', { tools: {} }],
  ['onEvent', { onEvent: 'x' }],
  ['onThreadIdChange', { onThreadIdChange: 5 }],
];
for (const [name, patch] of bad) {
  test(`constructor: bad ${name} (${JSON.stringify(Object.values(patch)[0]) ?? 'undefined'}) → TypeError naming it`, () => {
    const opts = { ...base(), ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete opts[k];
    assert.throws(
      () => new Agent(opts),
      (e) => e instanceof TypeError && e.message.includes(name),
      `expected TypeError mentioning ${name}`,
    );
  });
}

const badTools = [
  ['missing name', [{ ...tool('a'), name: undefined }]],
  ['empty name', [tool('')]],
  ['duplicate name', [tool('a'), tool('a')]],
  ['description not a string', [tool('a', { description: 5 })]],
  ['no description', [{ name: 'a', parameters: {}, execute: noop }]],
  ['no parameters', [{ name: 'a', description: 'd', execute: noop }]],
  ['no execute', [{ name: 'a', description: 'd', parameters: {} }]],
  ['execute not a function', [tool('a', { execute: 'run' })]],
  ['tool not an object', [42]],
];
for (const [what, tools] of badTools) {
  test(`constructor: tools with ${what} → TypeError naming tools`, () => {
    assert.throws(
      () => new Agent({ ...base(), tools }),
      (e) => e instanceof TypeError && /tool/i.test(e.message),
    );
  });
}

test('constructor rejects a missing options object with TypeError', () => {
  assert.throws(() => new Agent(), TypeError);
  assert.throws(() => new Agent(null), TypeError);
});

test('nothing is fetched at construction; getSessionToken is first called by the first request', async () => {
  const server = await startMockServer();
  try {
    const { agent, token } = makeAgent(server);
    await sleep(50);
    assert.equal(token.calls, 0);
    assert.equal(server.requests.length, 0);
    server.queue('chat', stream([ev.start('thr_1'), ev.text('hi'), ev.done('thr_1')]));
    await agent.sendMessage('hello');
    assert.equal(token.calls, 1);
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('updateOptions validates like the constructor and changes nothing when it throws', async () => {
  const server = await startMockServer();
  try {
    const { agent, log, token } = makeAgent(server, { customInstructions: 'orig' });
    const cases = [
      { projectId: '' },
      { integrationId: 7 },
      { getSessionToken: 'x' },
      { onMessagesChange: null },
      { onStreamingChange: 'x' },
      { tools: [tool('a'), tool('a')] },
      { tools: 'x' },
      { onEvent: 3 },
    ];
    for (const patch of cases) {
      const key = Object.keys(patch)[0];
      // A valid field next to the bad one must not be applied either.
      assert.throws(
        () => agent.updateOptions({ customInstructions: 'changed', integrationId: 'int_changed', ...patch }),
        (e) => e instanceof TypeError && (key === 'tools' ? /tool/i.test(e.message) : e.message.includes(key)),
        `updateOptions ${key}`,
      );
    }
    server.queue('chat', stream([ev.start('thr_1'), ev.text('ok'), ev.done('thr_1')]));
    await agent.sendMessage('hi');
    const body = server.requests[0].body;
    assert.equal(body.custom_instructions, 'orig');
    assert.equal(body.integration_id, 'int_1');
    assert.equal(token.calls, 1);
    assert.equal(log.streaming.at(-1), false);
  } finally {
    await server.close();
  }
});

test('updateOptions applies a partial update without resetting', async () => {
  const server = await startMockServer();
  try {
    const { agent, log } = makeAgent(server);
    server.queue('chat', stream([ev.start('thr_1'), ev.text('one'), ev.done('thr_1')]));
    await agent.sendMessage('first');
    const newTok = tokenSource();
    agent.updateOptions({
      customInstructions: 'Be brief.',
      tools: [tool('get_time')],
      model: 'kapa-agent-2',
      sourceGroupIdsInclude: ['sg_9'],
      user: { email: 'x@y.z' },
    });
    assert.equal(agent.getMessages().length, 2);
    assert.equal(agent.getThreadId(), 'thr_1');
    server.queue('chat', stream([ev.text('two'), ev.done('thr_1')]));
    await agent.sendMessage('second');
    const body = server.requests[1].body;
    assert.equal(body.custom_instructions, 'Be brief.');
    assert.equal(body.model, 'kapa-agent-2');
    assert.deepEqual(body.source_group_ids_include, ['sg_9']);
    assert.deepEqual(body.user, { email: 'x@y.z' });
    assert.equal(body.thread_id, 'thr_1');
    assert.deepEqual(body.tools.map((t) => t.name), ['get_time']);
    assert.equal(agent.getMessages().length, 4);
    assert.equal(newTok.calls, 0);
    void log;
  } finally {
    await server.close();
  }
});

test('updateOptions replaces callbacks', async () => {
  const server = await startMockServer();
  try {
    const { agent, log } = makeAgent(server);
    const seen = [];
    agent.updateOptions({ onMessagesChange: (m) => seen.push(m) });
    server.queue('chat', stream([ev.start('thr_1'), ev.text('x'), ev.done('thr_1')]));
    await agent.sendMessage('hi');
    assert.equal(log.messages.length, 0);
    assert.ok(seen.length >= 2);
  } finally {
    await server.close();
  }
});
