// Issue 13: no RefCell borrow is held while user code runs. Every callback the agent calls
// (a tool's abort listener, onMessagesChange, onEvent, onStreamingChange, getSessionToken)
// calls each method that changes the agent (free, stopGeneration, resetConversation,
// sendMessage, updateOptions) at the moment of a stop, a reset, a free, a failed turn and a
// normal turn end. Nothing may trap ("unreachable", "recursive use"): the agent keeps working
// (or, freed, says so with a clear error), and so does every other agent on the page.
//
// The stop, reset and free are themselves made from inside onMessagesChange while a tool
// task is being handled (no method of the agent on the stack), the path on which a borrow
// held across abort() used to trap. The failed turn and the end come from the server, after a
// tool step.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, toolCallsOf } from './helpers/agent.mjs';

let server;
before(async () => (server = await startMockServer()));
after(() => server.close());
beforeEach(() => server.reset());

const BAD = /unreachable|recursive use|already (mutably )?borrowed|RuntimeError|memory access/i;
const CALLBACKS = ['abort', 'onMessagesChange', 'onEvent', 'onStreamingChange', 'getSessionToken'];
const ACTIONS = ['free', 'stopGeneration', 'resetConversation', 'sendMessage', 'updateOptions'];
const SCENARIOS = ['stop', 'reset', 'free', 'failed', 'end'];

const quick = () => stream([ev.start('thr_q'), ev.text('ok'), ev.done('thr_q')]);
const tool = (name, execute) => ({ name, description: name, parameters: { type: 'object', properties: {} }, execute });

function captureUncaught() {
  const errs = [];
  const h = (e) => errs.push(e);
  process.on('uncaughtException', h);
  process.on('unhandledRejection', h);
  return { errs, stop: () => (process.off('uncaughtException', h), process.off('unhandledRejection', h)) };
}

async function run(callback, action, scenario) {
  const problems = [];
  const note = (where, e) => {
    if (BAD.test(String(e?.message ?? e)) || BAD.test(String(e?.name))) problems.push(`${where}: ${e?.name}: ${e?.message ?? e}`);
  };
  let agent;
  let freed = false;
  let armed = false;
  let fired = false;
  const act = () => {
    switch (action) {
      case 'free':
        freed = true;
        return agent.free();
      case 'stopGeneration':
        return agent.stopGeneration();
      case 'resetConversation':
        return agent.resetConversation();
      case 'sendMessage':
        return agent.sendMessage('from a callback').catch((e) => note('sendMessage rejection', e));
      case 'updateOptions':
        return agent.updateOptions({ customInstructions: 'changed from a callback' });
    }
  };
  const fire = (name) => {
    if (!armed || fired || name !== callback) return;
    fired = true;
    try {
      act();
    } catch (e) {
      note(`${callback} -> ${action}()`, e);
    }
  };
  const trigger = () => {
    armed = true;
    try {
      if (scenario === 'stop') agent.stopGeneration();
      else if (scenario === 'reset') agent.resetConversation();
      else if (scenario === 'free') (freed = true), agent.free();
    } catch (e) {
      note(`${scenario} trigger`, e);
    }
  };
  const ends = scenario === 'failed' || scenario === 'end';
  server.reset();
  server.queue(
    'chat',
    stream([ev.start('thr_1'), ev.toolCall('c1', 'slow'), ev.toolCall('c2', 'quick'), ev.requiresAction(['c1', 'c2'])]),
    ...(ends ? [scenario === 'failed' ? stream([ev.text('x'), ev.error('boom')]) : stream([ev.text('x'), ev.done('thr_1')])] : []),
    quick(),
    quick(),
  );
  const uncaught = captureUncaught();
  let done = false;
  // Tokens with 29 s left: each request asks for a new one (refresh below 30 s), so
  // getSessionToken also runs for the tool_results request, from a tool's task.
  let tokens = 0;
  ({ agent } = makeAgent(
    server,
    {
      getSessionToken: () => {
        fire('getSessionToken');
        tokens++;
        return { token: `tok-${tokens}`, expiresAt: Date.now() + 29_000 };
      },
      tools: [
        tool('slow', (_args, _ctx, { signal }) => {
          signal.addEventListener('abort', () => fire('abort'));
          return ends ? sleep(15).then(() => 'slow done') : new Promise(() => {});
        }),
        tool('quick', () => sleep(5).then(() => 'quick done')),
      ],
      onMessagesChange: (m) => {
        fire('onMessagesChange');
        const calls = m[1] ? toolCallsOf(m[1]) : [];
        if (!ends && !armed && !done && calls[1]?.status === 'completed') {
          done = true;
          trigger();
        }
      },
      onEvent: (e) => {
        fire('onEvent');
        // A failed turn or a turn's end: armed once the tool step is over, so the callbacks
        // act during the last round (its token, its stream, the failure or the end).
        if (ends && !armed && e.type === 'tool_executed' && e.data.toolName === 'slow') armed = true;
      },
      onStreamingChange: () => fire('onStreamingChange'),
    },
  ));
  const bystander = makeAgent(server).agent;
  const turn = agent.sendMessage('go');
  const settled = await Promise.race([turn.then(() => true), sleep(5000).then(() => false)]);
  if (!settled && !freed) problems.push('the turn never settled');
  await sleep(20);
  armed = false; // the moment is over: the checks below call nothing back
  // The agent: freed ones say so clearly; the others run a whole turn.
  if (freed) {
    try {
      await agent.sendMessage('after free');
    } catch (e) {
      note('method after free', e);
    }
  } else {
    try {
      await waitFor(() => !agent.getIsStreaming(), { timeout: 3000, message: 'the agent stays streaming' });
      server.reset();
      server.queue('chat', quick());
      await agent.sendMessage('after');
      const last = agent.getMessages().at(-1);
      if (last?.content !== 'ok') problems.push(`the agent's next turn ended with ${JSON.stringify(last?.content)}`);
    } catch (e) {
      problems.push(`the agent stopped working: ${e?.message ?? e}`);
    }
    try {
      agent.free();
    } catch (e) {
      problems.push(`free() at the end: ${e?.message ?? e}`);
    }
  }
  // Another agent on the page.
  server.reset();
  server.queue('chat', quick());
  try {
    await bystander.sendMessage('bystander');
    if (bystander.getMessages().at(-1)?.content !== 'ok') problems.push('the other agent failed its turn');
  } catch (e) {
    problems.push(`the other agent: ${e?.message ?? e}`);
  }
  bystander.free();
  uncaught.stop();
  for (const e of uncaught.errs) note('uncaught', e);
  return { problems, fired };
}

for (const scenario of SCENARIOS) {
  test(`callbacks calling back into the agent during: ${scenario}`, async () => {
    const failures = [];
    let fired = 0;
    for (const callback of CALLBACKS) {
      for (const action of ACTIONS) {
        const r = await run(callback, action, scenario);
        if (r.fired) fired++;
        for (const p of r.problems) failures.push(`${callback} -> ${action}: ${p}`);
      }
    }
    assert.deepEqual(failures, []);
    // The pairs really ran: every callback but one that has nothing to do at that moment (no
    // abort at a failure or an end, no token asked for at a stop or reset; after a free only
    // the abort listeners run).
    assert.ok(fired >= (scenario === 'free' ? 5 : 20), `only ${fired} of 25 callbacks fired`);
  });
}
