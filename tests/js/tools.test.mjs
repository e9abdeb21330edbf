// SPEC §5 (tools) and PROTOCOL §2-§3 (tool_results, tool events).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { z as z3 } from 'zod/v3';
import { z as z41 } from 'zod-4-1';
import { createToolHelper, registerZodToJsonSchema } from 'kapa-agent-wasm';
import { startMockServer, stream, ev, gate } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, toolCallsOf, isPlainDeep, UUID_RE, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const obj = (properties = {}, required) => ({ type: 'object', properties, ...(required ? { required } : {}) });
const defTool = (name, execute, extra = {}) => ({ name, description: `The ${name} tool`, parameters: obj(), execute, ...extra });
const finalText = (text = 'Done.', tid = 'thr_1') => stream([ev.text(text), ev.done(tid)]);
const callCalls = (agent) => toolCallsOf(agent.getMessages().at(-1));
const results = (i = 1) => server.requestsTo('chat')[i].body.input;

test('client tool (sync): execute(args, context, {signal, toolCallId}), tool_results round trip, one assistant message', async () => {
  const seen = [];
  const context = { userId: 'u1', navigate: (p) => `went ${p}` };
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.text('Let me check. '), ev.toolCall('c1', 'get_time', { tz: 'UTC' }), ev.requiresAction(['c1'])]),
    finalText('It is noon.'),
  );
  const { agent, log } = makeAgent(server, {
    context,
    tools: [
      defTool(
        'get_time',
        (args, ctx, opts) => {
          seen.push({ args, ctx, opts, signalAborted: opts.signal.aborted });
          return { time: '12:00', nav: ctx.navigate('/x') };
        },
        { parameters: obj({ tz: { type: 'string' } }, ['tz']) },
      ),
    ],
  });
  await agent.sendMessage('What time is it?');
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0].args, { tz: 'UTC' });
  assert.deepEqual(seen[0].ctx.userId, 'u1');
  assert.equal(typeof seen[0].ctx.navigate, 'function', 'context keeps functions (never serialised)');
  assert.ok(seen[0].opts.signal instanceof AbortSignal);
  assert.equal(seen[0].signalAborted, false);
  assert.equal(seen[0].opts.toolCallId, 'c1');

  const reqs = server.requestsTo('chat');
  assert.equal(reqs.length, 2);
  const b2 = reqs[1].body;
  assert.equal(b2.thread_id, 'thr_1');
  assert.equal(b2.integration_id, 'int_1');
  assert.equal(b2.model, 'kapa-agent-1.0');
  assert.deepEqual(b2.tools, reqs[0].body.tools);
  assert.deepEqual(b2.input, {
    type: 'tool_results',
    results: [{ tool_call_id: 'c1', status: 'completed', output: { time: '12:00', nav: 'went /x' } }],
  });
  assert.match(reqs[1].headers['idempotency-key'], UUID_RE);
  assert.notEqual(reqs[1].headers['idempotency-key'], reqs[0].headers['idempotency-key']);
  assert.equal(reqs[1].headers['authorization'], 'Bearer tok-1');

  const msgs = agent.getMessages();
  assert.equal(msgs.length, 2, 'one assistant message spanning the round trip');
  const a = msgs[1];
  assert.deepEqual(a.blocks.map((b) => b.type), ['text', 'tool_calls', 'text']);
  assert.equal(a.content, 'Let me check. It is noon.');
  const [call] = toolCallsOf(a);
  assert.deepEqual(Object.keys(call).sort(), ['arguments', 'durationMs', 'id', 'name', 'result', 'status']);
  assert.equal(call.status, 'completed');
  assert.deepEqual(call.result, { time: '12:00', nav: 'went /x' });
  assert.deepEqual(call.arguments, { tz: 'UTC' });
  assert.equal(typeof call.durationMs, 'number');
  assert.equal(isPlainDeep(msgs), null);

  assert.deepEqual(log.eventTypes(), ['message_sent', 'tool_executed', 'response_completed']);
  const te = log.eventsOf('tool_executed')[0].data;
  assert.deepEqual(Object.keys(te).sort(), ['durationMs', 'status', 'toolName']);
  assert.equal(te.toolName, 'get_time');
  assert.equal(te.status, 'completed');
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 1 });
  assert.deepEqual(log.streaming, [true, false]);
});

test('context is handed to execute as the same object; updateOptions({context}) replaces it', async () => {
  const ctx1 = { n: 1 };
  const ctx2 = { n: 2 };
  const got = [];
  const mk = () => stream([ev.start('thr_1'), ev.toolCall('c' + got.length, 't'), ev.requiresAction(['c' + got.length])]);
  const { agent } = makeAgent(server, { context: ctx1, tools: [defTool('t', (_a, ctx) => (got.push(ctx), 'ok'))] });
  server.queue('chat', mk(), finalText());
  await agent.sendMessage('one');
  agent.updateOptions({ context: ctx2 });
  server.queue('chat', mk(), finalText());
  await agent.sendMessage('two');
  assert.equal(got.length, 2);
  assert.equal(got[0], ctx1, 'same context object');
  assert.equal(got[1], ctx2);
});

test('async tool: promise result, durationMs measured from start to settle', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.requiresAction(['c1'])]), finalText());
  const { agent, log } = makeAgent(server, { tools: [defTool('slow', async () => (await sleep(80), [1, 'two', { three: 3 }]))] });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent)[0]?.status === 'executing');
  await p;
  const [call] = callCalls(agent);
  assert.equal(call.status, 'completed');
  assert.deepEqual(call.result, [1, 'two', { three: 3 }]);
  assert.ok(call.durationMs >= 70 && call.durationMs < 2000, `durationMs ${call.durationMs}`);
  const te = log.eventsOf('tool_executed')[0].data;
  assert.ok(te.durationMs >= 70, `event durationMs ${te.durationMs}`);
  assert.deepEqual(results().results, [{ tool_call_id: 'c1', status: 'completed', output: [1, 'two', { three: 3 }] }]);
});

test('tool status goes pending → executing → completed', async () => {
  const g = gate();
  const tg = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't', { a: 1 })], { tail: [g.item, Buffer.from('event: requires_action\ndata: {"tool_call_ids":["c1"]}\n\n')] }), finalText());
  const { agent, log } = makeAgent(server, { tools: [defTool('t', () => tg.item.wait.then(() => 'r'))] });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent)[0]);
  assert.equal(callCalls(agent)[0].status, 'pending');
  assert.deepEqual(Object.keys(callCalls(agent)[0]).sort(), ['arguments', 'id', 'name', 'status']);
  g.release();
  await waitFor(() => callCalls(agent)[0].status === 'executing');
  assert.equal(agent.getIsStreaming(), true);
  tg.release();
  await p;
  assert.equal(callCalls(agent)[0].status, 'completed');
  const statuses = log.messages.map((arr) => arr[1] && toolCallsOf(arr[1])[0]?.status).filter(Boolean);
  assert.deepEqual([...new Set(statuses)], ['pending', 'executing', 'completed']);
});

test('throwing tools: Error → its message; non-Error → String(thrown); rejected promise too', async () => {
  server.queue(
    'chat',
    stream([
      ev.start('thr_1'),
      ev.toolCall('c1', 'err'),
      ev.toolCall('c2', 'str'),
      ev.toolCall('c3', 'rej'),
      ev.toolCall('c4', 'num'),
      ev.requiresAction(['c1', 'c2', 'c3', 'c4']),
    ]),
    finalText(),
  );
  const { agent, log } = makeAgent(server, {
    tools: [
      defTool('err', () => {
        throw new Error('Division by zero');
      }),
      defTool('str', () => {
        throw 'plain string';
      }),
      defTool('rej', async () => {
        throw new TypeError('async bad');
      }),
      defTool('num', () => Promise.reject(42)),
    ],
  });
  await agent.sendMessage('go');
  const calls = callCalls(agent);
  assert.deepEqual(calls.map((c) => [c.status, c.error]), [
    ['error', 'Division by zero'],
    ['error', 'plain string'],
    ['error', 'async bad'],
    ['error', '42'],
  ]);
  for (const c of calls) assert.ok(!('result' in c), 'no result key on an errored call');
  assert.deepEqual(results().results, [
    { tool_call_id: 'c1', status: 'error', error: 'Division by zero' },
    { tool_call_id: 'c2', status: 'error', error: 'plain string' },
    { tool_call_id: 'c3', status: 'error', error: 'async bad' },
    { tool_call_id: 'c4', status: 'error', error: '42' },
  ]);
  const tes = log.eventsOf('tool_executed').map((e) => e.data);
  assert.equal(tes.length, 4);
  for (const d of tes) {
    assert.equal(d.status, 'error');
    assert.equal(typeof d.error, 'string');
    assert.equal(typeof d.durationMs, 'number');
  }
  assert.deepEqual(tes.map((d) => d.toolName).sort(), ['err', 'num', 'rej', 'str']);
  assert.equal(agent.getMessages()[1].isError, undefined);
  assert.ok(!('isError' in agent.getMessages()[1]));
});

test('non-JSON results (function, cycle, BigInt) → error; undefined → output null', async () => {
  const cyc = { a: 1 };
  cyc.self = cyc;
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.toolCall('c1', 'fn'), ev.toolCall('c2', 'cyc'), ev.toolCall('c3', 'big'), ev.toolCall('c4', 'undef'), ev.requiresAction(['c1', 'c2', 'c3', 'c4'])]),
    finalText(),
  );
  const { agent, log } = makeAgent(server, {
    tools: [defTool('fn', () => () => 1), defTool('cyc', () => cyc), defTool('big', () => ({ n: 10n })), defTool('undef', () => undefined)],
  });
  await agent.sendMessage('go');
  const calls = callCalls(agent);
  assert.deepEqual(calls.map((c) => c.status), ['error', 'error', 'error', 'completed']);
  for (const c of calls.slice(0, 3)) assert.ok(typeof c.error === 'string' && c.error.length > 0);
  const rs = results().results;
  assert.deepEqual(rs.map((r) => [r.tool_call_id, r.status]), [['c1', 'error'], ['c2', 'error'], ['c3', 'error'], ['c4', 'completed']]);
  for (const r of rs.slice(0, 3)) assert.equal(typeof r.error, 'string');
  assert.deepEqual(rs[3], { tool_call_id: 'c4', status: 'completed', output: null });
  assert.deepEqual(log.eventsOf('tool_executed').map((e) => e.data.status).sort(), ['completed', 'error', 'error', 'error']);
});

test('parallel calls run at once; results go back in arrival order', async () => {
  const active = { now: 0, max: 0 };
  const run = (ms, out) => async () => {
    active.now++;
    active.max = Math.max(active.max, active.now);
    await sleep(ms);
    active.now--;
    return out;
  };
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('a', 'slow'), ev.toolCall('b', 'fast'), ev.toolCall('c', 'mid'), ev.requiresAction(['a', 'b', 'c'])]), finalText());
  const { agent, log } = makeAgent(server, { tools: [defTool('slow', run(120, 'A')), defTool('fast', run(5, 'B')), defTool('mid', run(40, 'C'))] });
  await agent.sendMessage('go');
  assert.equal(active.max, 3, 'all three ran concurrently');
  assert.deepEqual(results().results, [
    { tool_call_id: 'a', status: 'completed', output: 'A' },
    { tool_call_id: 'b', status: 'completed', output: 'B' },
    { tool_call_id: 'c', status: 'completed', output: 'C' },
  ]);
  assert.equal(server.requestsTo('chat').length, 2, 'one tool_results request for the step');
  const a = agent.getMessages()[1];
  assert.deepEqual(a.blocks.map((b) => b.type), ['tool_calls', 'text'], 'consecutive calls join one block');
  assert.deepEqual(a.blocks[0].toolCalls.map((c) => c.id), ['a', 'b', 'c']);
  assert.deepEqual(log.eventsOf('tool_executed').map((e) => e.data.toolName), ['fast', 'mid', 'slow']);
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 3 });
});

test('multiple round trips stay in one assistant message; toolCallCount counts client and server calls', async () => {
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.serverCall('s1', 'search_knowledge_base', { query: 'x' }), ev.toolResult('s1', 'completed', { sources: [] }), ev.text('A'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]),
    stream([ev.text('B'), ev.toolCall('c2', 't', { round: 2 }), ev.requiresAction(['c2'])]),
    stream([ev.text('C'), ev.done('thr_1')]),
  );
  let n = 0;
  const { agent, log } = makeAgent(server, { tools: [defTool('t', () => ++n)] });
  await agent.sendMessage('go');
  const msgs = agent.getMessages();
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs[1].blocks.map((b) => b.type), ['tool_calls', 'text', 'tool_calls', 'text', 'tool_calls', 'text']);
  assert.equal(msgs[1].content, 'ABC');
  const reqs = server.requestsTo('chat');
  assert.equal(reqs.length, 3);
  assert.deepEqual(reqs[1].body.input.results, [{ tool_call_id: 'c1', status: 'completed', output: 1 }]);
  assert.deepEqual(reqs[2].body.input.results, [{ tool_call_id: 'c2', status: 'completed', output: 2 }]);
  assert.equal(reqs[2].body.thread_id, 'thr_1');
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 3 });
  assert.deepEqual(log.streaming, [true, false], 'streaming stays true through round trips');
});

test('tool_call arguments given as a JSON string are parsed', async () => {
  let got;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't', '{"city":"Oslo","n":[1,2]}'), ev.requiresAction(['c1'])]), finalText());
  const { agent } = makeAgent(server, { tools: [defTool('t', (a) => ((got = a), 'ok'))] });
  await agent.sendMessage('go');
  assert.deepEqual(got, { city: 'Oslo', n: [1, 2] });
  assert.deepEqual(callCalls(agent)[0].arguments, { city: 'Oslo', n: [1, 2] });
});

test('displayName and needsApproval on calls come from the tool definition', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'shown'), ev.toolCall('c2', 'plain'), ev.requiresAction(['c1', 'c2'])]), finalText());
  const { agent } = makeAgent(server, { tools: [defTool('shown', () => 1, { displayName: 'Shown Tool' }), defTool('plain', () => 2)] });
  await agent.sendMessage('go');
  const [c1, c2] = callCalls(agent);
  assert.equal(c1.displayName, 'Shown Tool');
  assert.ok(!('displayName' in c2));
  assert.ok(!('needsApproval' in c1));
});

test('unknown tool: settled as error without running anything, error sent back, tool_executed with durationMs 0', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'no_such_tool', { a: 1 }), ev.toolCall('c2', 'known'), ev.requiresAction(['c1', 'c2'])]), finalText());
  let ran = 0;
  const { agent, log } = makeAgent(server, { tools: [defTool('known', () => (ran++, 'ok'))] });
  await agent.sendMessage('go');
  const [c1, c2] = callCalls(agent);
  assert.equal(c1.status, 'error');
  assert.match(c1.error, /no_such_tool/);
  assert.equal(c2.status, 'completed');
  assert.equal(ran, 1);
  const rs = results().results;
  assert.equal(rs[0].tool_call_id, 'c1');
  assert.equal(rs[0].status, 'error');
  assert.equal(typeof rs[0].error, 'string');
  assert.deepEqual(Object.keys(rs[0]).sort(), ['error', 'status', 'tool_call_id']);
  const te = log.eventsOf('tool_executed').find((e) => e.data.toolName === 'no_such_tool');
  assert.ok(te, 'tool_executed fires for the unknown tool');
  assert.deepEqual(te.data, { toolName: 'no_such_tool', status: 'error', durationMs: 0, error: c1.error });
});

async function badArgsCase(parameters, goodArgs, badArgs, errorPattern) {
  server.requests.length = 0;
  const ran = [];
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('bad', 'v', badArgs), ev.toolCall('good', 'v', goodArgs), ev.requiresAction(['bad', 'good'])]), finalText());
  const { agent, log } = makeAgent(server, { tools: [{ name: 'v', description: 'validated', parameters, execute: (a) => (ran.push(a), 'ran') }] });
  await agent.sendMessage('go');
  const [bad, good] = callCalls(agent);
  assert.equal(bad.status, 'error', `bad args must be an error: ${JSON.stringify(bad)}`);
  assert.equal(typeof bad.error, 'string');
  if (errorPattern) assert.match(bad.error, errorPattern);
  assert.equal(good.status, 'completed', `good args: ${JSON.stringify(good)}`);
  assert.equal(ran.length, 1, 'execute ran only for the valid call');
  const rs = results().results;
  assert.deepEqual(rs.map((r) => [r.tool_call_id, r.status]), [['bad', 'error'], ['good', 'completed']]);
  assert.equal(rs[0].error, bad.error);
  const te = log.eventsOf('tool_executed').map((e) => e.data);
  const badEv = te.find((d) => d.status === 'error');
  assert.deepEqual(badEv, { toolName: 'v', status: 'error', durationMs: 0, error: bad.error });
  return { ran, request: server.requestsTo('chat')[0] };
}

test('bad arguments, JSON Schema: type, required, enum, additionalProperties, nested', async () => {
  const params = {
    type: 'object',
    properties: {
      city: { type: 'string', minLength: 2 },
      days: { type: 'integer', minimum: 1, maximum: 10 },
      unit: { enum: ['c', 'f'] },
      opts: { type: 'object', properties: { deep: { type: 'boolean' } }, required: ['deep'] },
    },
    required: ['city'],
    additionalProperties: false,
  };
  const good = { city: 'Oslo', days: 3, unit: 'c', opts: { deep: true } };
  for (const badArgs of [{}, { city: 5 }, { city: 'Oslo', days: 11 }, { city: 'Oslo', days: 1.5 }, { city: 'Oslo', unit: 'k' }, { city: 'Oslo', extra: 1 }, { city: 'Oslo', opts: {} }, { city: 'O' }]) {
    const { ran } = await badArgsCase(params, good, badArgs);
    assert.deepEqual(ran, [good]);
  }
});

test('bad arguments, JSON Schema: const, anyOf, type arrays, array items', async () => {
  const params = {
    type: 'object',
    properties: {
      code: { type: 'string', pattern: '^[A-Z]{3}$' },
      kind: { const: 'fixed' },
      either: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      maybe: { type: ['string', 'null'] },
      list: { type: 'array', items: { type: 'integer' }, maxItems: 3 },
    },
    required: ['code'],
  };
  const good = { code: 'ABC', kind: 'fixed', either: 3, maybe: null, list: [1, 2] };
  for (const badArgs of [{ code: 'ABC', kind: 'other' }, { code: 'ABC', either: true }, { code: 'ABC', maybe: 5 }, { code: 'ABC', list: [1, 'x'] }, { code: 'ABC', list: [1, 2, 3, 4] }]) {
    const { ran } = await badArgsCase(params, good, badArgs);
    assert.deepEqual(ran, [good]);
  }
});

test('bad arguments, JSON Schema: pattern', async () => {
  const params = { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' } }, required: ['code'] };
  // JS RegExp with the u flag; the text exactly as the validator (schema-check.js) writes it.
  await badArgsCase(params, { code: 'ABC' }, { code: 'abc' }, /^Invalid arguments for tool v: arguments\.code: expected a string matching \/\^\[A-Z\]\{3\}\$\/, got "abc"$/);
  const unicode = { type: 'object', properties: { w: { type: 'string', pattern: '^\\p{L}+$' } } };
  await badArgsCase(unicode, { w: 'Ørsted' }, { w: 'a1' }, /^Invalid arguments for tool v: arguments\.w: expected a string matching/);
});

test('bad arguments, JSON Schema with $defs and $ref', async () => {
  const params = {
    type: 'object',
    $defs: { point: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } },
    properties: { at: { $ref: '#/$defs/point' } },
    required: ['at'],
  };
  await badArgsCase(params, { at: { x: 1 } }, { at: { x: 'one' } }, /^Invalid arguments for tool v: arguments\.at\.x: expected number, got string$/);
});

test('bad arguments, Zod 4 schema: sent as JSON Schema, validated by Zod (incl. refine)', async () => {
  const schema = z.object({
    city: z.string(),
    n: z.number().refine((v) => v % 2 === 0, { message: 'must be even' }),
  });
  const { request } = await badArgsCase(schema, { city: 'Oslo', n: 2 }, { city: 'Oslo', n: 3 }, /must be even/);
  const p = request.body.tools[0].parameters;
  assert.equal(p.type, 'object');
  assert.equal(p.properties.city.type, 'string');
  assert.equal(p.properties.n.type, 'number');
  await badArgsCase(schema, { city: 'Oslo', n: 2 }, { city: 7, n: 2 });
});

test('bad arguments, Zod 4.1 schema (a Zod 4 without the schema.toJSONSchema() method): after registerZodToJsonSchema', async () => {
  const schema = z41.object({ city: z41.string(), n: z41.number() });
  assert.equal(typeof schema.toJSONSchema, 'undefined', 'fixture: zod 4.1 schemas have no toJSONSchema method');
  // Unregistered: the constructor says what to do.
  assert.throws(() => makeAgent(server, { tools: [defTool('t', () => 1, { parameters: schema })] }), {
    name: 'TypeError',
    message: /options\.tools\[0\]\.parameters: .*registerZodToJsonSchema\(z\.toJSONSchema\)/,
  });
  registerZodToJsonSchema(z41.toJSONSchema);
  const { request } = await badArgsCase(schema, { city: 'Oslo', n: 2 }, { city: 'Oslo', n: 'two' });
  const p = request.body.tools[0].parameters;
  assert.equal(p.type, 'object');
  assert.equal(p.properties.city.type, 'string');
});

test('bad arguments, Zod 3 schema (converted by the package, no peer installed)', async () => {
  const schema = z3.object({ city: z3.string(), n: z3.number().int() });
  const { request } = await badArgsCase(schema, { city: 'Oslo', n: 2 }, { city: 'Oslo', n: 'two' });
  const p = request.body.tools[0].parameters;
  assert.equal(p.type, 'object');
  assert.equal(p.properties.city.type, 'string');
  assert.deepEqual([...p.required].sort(), ['city', 'n']);
});

test('approval: approve → tool_approved, executing, completed; other calls run while it waits', async () => {
  let safeRan = 0;
  let riskyRan = 0;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('r1', 'risky', { x: 1 }), ev.toolCall('s1', 'safe'), ev.requiresAction(['r1', 's1'])]), finalText());
  const { agent, log } = makeAgent(server, {
    tools: [defTool('risky', () => (riskyRan++, 'did it'), { needsApproval: true, displayName: 'Risky' }), defTool('safe', () => (safeRan++, 'safe'))],
  });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent)[1]?.status === 'completed');
  const [r1] = callCalls(agent);
  assert.equal(r1.status, 'approval_requested');
  assert.equal(r1.needsApproval, true);
  assert.equal(r1.displayName, 'Risky');
  assert.equal(riskyRan, 0);
  assert.equal(safeRan, 1);
  await sleep(30);
  assert.equal(server.requestsTo('chat').length, 1, 'results wait for the decision');
  assert.equal(agent.getIsStreaming(), true);
  assert.deepEqual(log.streaming, [true]);
  agent.approveToolCall('r1');
  await p;
  assert.equal(riskyRan, 1);
  const calls = callCalls(agent);
  assert.equal(calls[0].status, 'completed');
  assert.equal(calls[0].needsApproval, true);
  assert.deepEqual(log.eventsOf('tool_approved').map((e) => e.data), [{ toolName: 'risky', toolCallId: 'r1' }]);
  const order = log.eventTypes();
  assert.ok(order.indexOf('tool_approved') < order.lastIndexOf('tool_executed'));
  assert.deepEqual(results().results, [
    { tool_call_id: 'r1', status: 'completed', output: 'did it' },
    { tool_call_id: 's1', status: 'completed', output: 'safe' },
  ]);
  const statuses = log.messages.map((arr) => arr[1] && toolCallsOf(arr[1])[0]?.status).filter(Boolean);
  assert.ok(statuses.includes('executing'), `r1 went through executing: ${statuses}`);
});

test('approval: reject → denied, tool_denied, execute never runs, denied result sent back', async () => {
  let ran = 0;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('s0', 'safe'), ev.toolCall('r1', 'risky'), ev.requiresAction(['s0', 'r1'])]), finalText('OK, not doing it.'));
  const { agent, log } = makeAgent(server, { tools: [defTool('risky', () => ran++, { needsApproval: true }), defTool('safe', () => 'fine')] });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent)[1]?.status === 'approval_requested');
  agent.rejectToolCall('r1');
  await p;
  assert.equal(ran, 0);
  const c = callCalls(agent)[1];
  assert.equal(c.status, 'denied');
  assert.equal(c.needsApproval, true);
  assert.ok(!('error' in c) && !('result' in c));
  assert.deepEqual(log.eventsOf('tool_denied').map((e) => e.data), [{ toolName: 'risky', toolCallId: 'r1' }]);
  assert.deepEqual(log.eventsOf('tool_executed').map((e) => e.data.toolName), ['safe'], 'a denied call fires no tool_executed');
  assert.deepEqual(results().results, [
    { tool_call_id: 's0', status: 'completed', output: 'fine' },
    { tool_call_id: 'r1', status: 'denied' },
  ]);
});

test('approve/reject are no-ops on calls that are not approval_requested', async () => {
  const g = gate();
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('r1', 'risky'), ev.toolCall('s1', 'safe')], { tail: [g.item, Buffer.from('event: requires_action\ndata: {"tool_call_ids":["r1","s1"]}\n\n')] }), finalText());
  let ran = 0;
  const { agent, log } = makeAgent(server, { tools: [defTool('risky', () => ran++, { needsApproval: true }), defTool('safe', () => 'x')] });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent).length === 2);
  // pending: nothing happens
  const before = agent.getMessages();
  agent.approveToolCall('r1');
  agent.rejectToolCall('r1');
  agent.approveToolCall('unknown-id');
  agent.rejectToolCall('unknown-id');
  await sleep(20);
  assert.equal(agent.getMessages(), before);
  assert.equal(log.eventsOf('tool_approved').length + log.eventsOf('tool_denied').length, 0);
  g.release();
  await waitFor(() => callCalls(agent)[0].status === 'approval_requested' && callCalls(agent)[1].status === 'completed');
  // completed call: nothing happens
  const mid = agent.getMessages();
  agent.approveToolCall('s1');
  agent.rejectToolCall('s1');
  await sleep(10);
  assert.equal(agent.getMessages(), mid);
  agent.approveToolCall('r1');
  await p;
  // after the turn: nothing happens
  const after = agent.getMessages();
  agent.rejectToolCall('r1');
  agent.approveToolCall('r1');
  await sleep(10);
  assert.equal(agent.getMessages(), after);
  assert.equal(ran, 1);
  assert.equal(log.eventsOf('tool_approved').length, 1);
  assert.equal(log.eventsOf('tool_denied').length, 0);
});

test('server tool search_knowledge_base: executing until its result, sources mapped, builtinToolMeta displayName', async () => {
  const g = gate();
  const tail = Buffer.from(
    'event: tool_result\ndata: ' +
      JSON.stringify({
        id: 'call_9',
        status: 'completed',
        sources: [
          { title: 'Install|Quickstart', source_url: 'https://docs.example.com/install', source_type: 'doc', source_visibility: 'public' },
          { title: 'Forum', source_url: 'https://forum.example.com/t/1', source_type: 'forum_post', source_visibility: 'private' },
        ],
        duration_ms: 120,
      }) +
      '\n\nevent: text_delta\ndata: {"text":"Run `npm install`."}\n\nevent: done\ndata: {"thread_id":"thr_1"}\n\n',
  );
  server.queue('chat', stream([ev.start('thr_1'), ev.serverCall('call_9', 'search_knowledge_base', { query: 'install' })], { tail: [g.item, tail] }));
  const { agent, log } = makeAgent(server, { builtinToolMeta: { search_knowledge_base: { displayName: 'Searching the docs' } } });
  const p = agent.sendMessage('How to install?');
  await waitFor(() => callCalls(agent)[0]);
  const c0 = callCalls(agent)[0];
  assert.equal(c0.status, 'executing');
  assert.equal(c0.displayName, 'Searching the docs');
  assert.deepEqual(c0.arguments, { query: 'install' });
  g.release();
  await p;
  const [c] = callCalls(agent);
  assert.equal(c.status, 'completed');
  assert.equal(c.durationMs, 120);
  assert.equal(c.displayName, 'Searching the docs');
  assert.deepEqual(c.sources, [
    { title: 'Install|Quickstart', sourceUrl: 'https://docs.example.com/install', sourceType: 'doc', sourceVisibility: 'public' },
    { title: 'Forum', sourceUrl: 'https://forum.example.com/t/1', sourceType: 'forum_post', sourceVisibility: 'private' },
  ]);
  assert.equal(server.requestsTo('chat').length, 1, 'no tool_results for server tools');
  assert.equal(log.eventsOf('tool_executed').length, 0, 'server calls fire no tool_executed');
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 1 });
  assert.equal(agent.getMessages()[1].content, 'Run `npm install`.');
  assert.equal(isPlainDeep(agent.getMessages()), null);
});

test('server tool error result; a server call without displayName meta has none', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.serverCall('s1', 'search_knowledge_base', { query: 'x' }), ev.toolResult('s1', 'error', { error: 'index unavailable' }), ev.text('Sorry.'), ev.done('thr_1')]));
  const { agent } = makeAgent(server);
  await agent.sendMessage('q');
  const [c] = callCalls(agent);
  assert.equal(c.status, 'error');
  assert.equal(c.error, 'index unavailable');
  assert.ok(!('displayName' in c));
  assert.ok(!('sources' in c));
});

test('at done: client calls never named by requires_action and server calls without a result become stopped', async () => {
  let ran = 0;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.serverCall('s1', 'search_knowledge_base'), ev.text('hm'), ev.done('thr_1')]));
  const { agent, log } = makeAgent(server, { tools: [defTool('t', () => ran++)] });
  await agent.sendMessage('q');
  assert.deepEqual(callCalls(agent).map((c) => c.status), ['stopped', 'stopped']);
  assert.equal(ran, 0);
  assert.equal(agent.getMessages()[1].isError, undefined);
  assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_1', toolCallCount: 2 });
});

test('protocol failures: requires_action naming an unknown or server id; tool_result for a client call', async () => {
  const cases = [
    [ev.toolCall('c1', 't'), ev.requiresAction(['c1', 'zzz'])],
    [ev.serverCall('s1', 'search_knowledge_base'), ev.requiresAction(['s1'])],
    [ev.toolCall('c1', 't'), ev.toolResult('c1', 'completed', { result: 1 })],
  ];
  for (const events of cases) {
    server.requests.length = 0;
    let ran = 0;
    server.queue('chat', stream([ev.start('thr_1'), ev.text('pre'), ...events]));
    const { agent, log } = makeAgent(server, { tools: [defTool('t', () => ran++)] });
    await agent.sendMessage('q');
    const m = agent.getMessages()[1];
    assert.equal(m.isError, true, JSON.stringify(events));
    assert.match(m.content, /^pre\n\n/);
    assert.match(m.content, /unexpected/i);
    assert.equal(ran, 0, 'no tool runs after a protocol failure');
    for (const c of toolCallsOf(m)) {
      assert.equal(c.status, 'error', 'unsettled calls become error');
      assert.equal(c.error, log.eventsOf('response_error')[0].data.error);
    }
    assert.equal(server.requestsTo('chat').length, 1);
    assert.equal(log.eventsOf('tool_executed').length, 0);
  }
});

test('requires_action naming a call already settled in this turn is a failure', async () => {
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't'), ev.requiresAction(['c1'])]), stream([ev.text('again'), ev.requiresAction(['c1'])]));
  let ran = 0;
  const { agent, log } = makeAgent(server, { tools: [defTool('t', () => ++ran)] });
  await agent.sendMessage('q');
  const m = agent.getMessages()[1];
  assert.equal(m.isError, true);
  assert.equal(ran, 1);
  assert.equal(toolCallsOf(m)[0].status, 'completed', 'a settled call stays settled');
  assert.equal(log.eventsOf('response_error').length, 1);
  assert.equal(server.requestsTo('chat').length, 2);
});

test('createToolHelper with a typed context and Zod parameters works as a tool', async () => {
  const tool = createToolHelper()({
    name: 'add',
    description: 'Add two numbers',
    parameters: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => ({ sum: a + b }),
  });
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 'add', { a: 2, b: 3 }), ev.requiresAction(['c1'])]), finalText('5'));
  const { agent } = makeAgent(server, { tools: [tool] });
  await agent.sendMessage('2+3?');
  assert.deepEqual(results().results, [{ tool_call_id: 'c1', status: 'completed', output: { sum: 5 } }]);
});

test('double approve runs once; reject then approve stays denied', async () => {
  let ran = 0;
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('a', 'risky'), ev.toolCall('b', 'risky'), ev.requiresAction(['a', 'b'])]), finalText());
  const { agent, log } = makeAgent(server, { tools: [defTool('risky', () => ++ran, { needsApproval: true })] });
  const p = agent.sendMessage('go');
  await waitFor(() => callCalls(agent).length === 2 && callCalls(agent).every((c) => c.status === 'approval_requested'));
  agent.approveToolCall('a');
  agent.approveToolCall('a');
  agent.rejectToolCall('b');
  agent.approveToolCall('b');
  agent.rejectToolCall('a');
  await p;
  assert.equal(ran, 1);
  assert.deepEqual(callCalls(agent).map((c) => c.status), ['completed', 'denied']);
  assert.equal(log.eventsOf('tool_approved').length, 1);
  assert.equal(log.eventsOf('tool_denied').length, 1);
  assert.deepEqual(results().results, [
    { tool_call_id: 'a', status: 'completed', output: 1 },
    { tool_call_id: 'b', status: 'denied' },
  ]);
});

test('arguments and results cross the boundary as plain JSON values (no Map, no BigInt)', async () => {
  let got;
  const args = { n: 12345678901234, neg: -9007199254740991, f: 1.5, s: 'ü', nested: { arr: [1, { deep: true }], empty: {} }, nul: null, list: [] };
  server.queue('chat', stream([ev.start('thr_1'), ev.toolCall('c1', 't', args), ev.requiresAction(['c1'])]), finalText());
  const { agent, log } = makeAgent(server, { tools: [defTool('t', (a) => ((got = a), { big: 9007199254740991, echo: a }))] });
  await agent.sendMessage('go');
  assert.deepEqual(got, args);
  assert.equal(typeof got.n, 'number');
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.equal(Object.getPrototypeOf(got.nested), Object.prototype);
  assert.ok(Array.isArray(got.nested.arr));
  const [call] = callCalls(agent);
  assert.deepEqual(call.arguments, args);
  assert.deepEqual(call.result, { big: 9007199254740991, echo: args });
  assert.equal(isPlainDeep(call.arguments, '$', new Set(), true), null);
  assert.equal(isPlainDeep(call.result, '$', new Set(), true), null);
  assert.deepEqual(results().results[0].output, { big: 9007199254740991, echo: args });
  for (const e of log.events) assert.equal(isPlainDeep(e.data, '$', new Set(), true), null);
});
