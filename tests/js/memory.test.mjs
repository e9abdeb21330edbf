// Memory: what a conversation takes on the Rust side is given back by resetConversation()
// and by free(), and nothing grows per turn. Reads the allocator's live-byte counter
// (`__heapBytes`, src/wasm/heap.rs), which the entry exports for this and the benchmark.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev } from './helpers/mock-server.mjs';
import { makeAgent, sleep, ready } from './helpers/agent.mjs';
import { __heapBytes, __memoryBytes } from 'kapa-agent-wasm';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const answer = 'An answer of a few hundred bytes. '.repeat(12);
async function turns(agent, n) {
  for (let i = 0; i < n; i++) {
    server.queue('chat', stream([ev.start('thr_1'), ...answer.match(/.{1,7}/g).map(ev.text), ev.done('thr_1')]));
    await agent.sendMessage(`question ${i}`);
  }
}
const quiet = { onMessagesChange() {}, onStreamingChange() {}, onEvent() {}, onThreadIdChange() {} };

test('resetConversation() gives back what 60 turns took, and nothing grows per turn', async () => {
  const { agent } = makeAgent(server, quiet);
  await turns(agent, 1);
  agent.resetConversation();
  const base = __heapBytes();
  const memory = __memoryBytes();
  // The wasm memory's size, for the benchmark (it broke once when the exports were renamed).
  assert.ok(Number.isInteger(memory) && memory >= 65536 && memory % 65536 === 0, `wasm memory ${memory}`);
  await turns(agent, 60);
  const full = __heapBytes();
  assert.equal(agent.getMessages().length, 120);
  assert.ok(full > base + 60 * answer.length, `the counter sees the conversation (${base} → ${full})`);
  agent.resetConversation();
  const reset = __heapBytes();
  // Before the fix a turn left ~44 bytes behind (a timer callback leaked when its timer was
  // cleared) and the reset kept the message vector's capacity: well past this slack.
  assert.ok(reset <= base + 512, `after reset ${reset} bytes, at the start ${base}`);
  await turns(agent, 60);
  agent.resetConversation();
  assert.ok(__heapBytes() <= base + 512, `after a second conversation and reset ${__heapBytes()}, at the start ${base}`);
  agent.free();
});

test('free() gives back an agent: a second agent used and freed ends where the first did', async () => {
  const one = makeAgent(server, quiet).agent;
  await turns(one, 5);
  one.free();
  await sleep(20); // the aborted reads settle, and their tasks let go of the agent
  const afterFirst = __heapBytes();
  const two = makeAgent(server, quiet).agent;
  await turns(two, 20);
  assert.ok(__heapBytes() > afterFirst, 'the second agent holds memory while alive');
  two.free();
  await sleep(20);
  assert.ok(__heapBytes() <= afterFirst + 256, `after the second free ${__heapBytes()}, after the first ${afterFirst}`);
});
