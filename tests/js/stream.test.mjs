// PROTOCOL §3: both framings, reads split anywhere, forward compatibility, malformed streams.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev, sse, records, splitAt, withDelays, RECORD_DELIM } from './helpers/mock-server.mjs';
import { makeAgent, waitFor, sleep, ready } from './helpers/agent.mjs';

let server;
// SPEC's synchronous effects hold once the module is ready (before that, calls wait for it).
before(async () => {
  await ready;
  server = await startMockServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const TEXT = ['Grüße, ', '世界! ', '🎉🚀', ' naïve café — ✓', '\n`npm install`'];
const FULL = TEXT.join('');
const EVENTS = [ev.start('thr_u'), ...TEXT.map(ev.text), ev.done('thr_u')];

function raw(bytes, contentType, extra = {}) {
  return { status: 200, headers: { 'content-type': contentType }, chunks: bytes, ...extra };
}

async function runTurn(response, { expectError = false } = {}) {
  server.queue('chat', response);
  const { agent, log } = makeAgent(server);
  await agent.sendMessage('q');
  const m = agent.getMessages()[1];
  if (!expectError) {
    assert.ok(m, 'assistant message present');
    assert.ok(!m.isError, `unexpected error: ${m.content}`);
  }
  return { agent, log, m };
}

for (const framing of ['sse', 'records']) {
  test(`${framing}: whole stream in one read`, async () => {
    const { m, agent, log } = await runTurn(stream(EVENTS, { framing }));
    assert.deepEqual(m, { role: 'assistant', content: FULL, blocks: [{ type: 'text', content: FULL }] });
    assert.equal(agent.getThreadId(), 'thr_u');
    assert.deepEqual(log.eventsOf('response_completed')[0].data, { threadId: 'thr_u', toolCallCount: 0 });
  });

  test(`${framing}: every byte its own read`, async () => {
    const { m } = await runTurn(stream(EVENTS, { framing, chunkSize: 1, delay: 0 }));
    assert.equal(m.content, FULL);
    assert.deepEqual(m.blocks, [{ type: 'text', content: FULL }]);
  });

  test(`${framing}: split into two reads at every byte offset (incl. inside UTF-8 characters)`, async () => {
    const bytes = Buffer.from(framing === 'sse' ? sse(EVENTS) : records(EVENTS), 'utf8');
    const failures = [];
    for (let k = 1; k < bytes.length; k++) {
      server.queue('chat', raw(withDelays(splitAt(bytes, [k]), 2), framing === 'sse' ? 'text/event-stream' : 'application/json'));
      const { agent } = makeAgent(server);
      await agent.sendMessage('q');
      const m = agent.getMessages()[1];
      if (!m || m.content !== FULL || m.isError || agent.getThreadId() !== 'thr_u') {
        failures.push(`split at ${k}: ${JSON.stringify(m)}`);
        if (failures.length > 5) break;
      }
    }
    assert.deepEqual(failures, []);
  });

  test(`${framing}: three-way splits around multi-byte characters`, async () => {
    const bytes = Buffer.from(framing === 'sse' ? sse(EVENTS) : records(EVENTS), 'utf8');
    // Offsets of every byte that is a UTF-8 continuation byte: cutting there splits a character.
    const inside = [];
    for (let i = 0; i < bytes.length; i++) if ((bytes[i] & 0xc0) === 0x80) inside.push(i);
    assert.ok(inside.length > 10);
    const failures = [];
    for (let j = 0; j + 2 < inside.length; j += 3) {
      server.queue('chat', raw(withDelays(splitAt(bytes, [inside[j], inside[j + 1], inside[j + 2]]), 2), framing === 'sse' ? 'text/event-stream' : 'text/plain'));
      const { agent } = makeAgent(server);
      await agent.sendMessage('q');
      const m = agent.getMessages()[1];
      if (!m || m.content !== FULL) failures.push(`${inside.slice(j, j + 3)}: ${JSON.stringify(m?.content)}`);
    }
    assert.deepEqual(failures, []);
  });

  test(`${framing}: ping and unknown event types are ignored`, async () => {
    const { m } = await runTurn(
      stream([ev.start('t'), ev.ping(), { type: 'future_thing', content: { x: [1, 2] } }, ev.text('ok'), ev.ping(), ev.done('t')], { framing }),
    );
    assert.equal(m.content, 'ok');
  });

  test(`${framing}: after a terminal event the client stops reading and cancels the body`, async () => {
    const bytes = framing === 'sse' ? sse([ev.start('t'), ev.text('done here'), ev.done('t'), ev.text(' IGNORED')]) : records([ev.start('t'), ev.text('done here'), ev.done('t'), ev.text(' IGNORED')]);
    const { m } = await runTurn(raw([bytes], framing === 'sse' ? 'text/event-stream' : 'application/octet-stream', { keepOpen: true }));
    assert.equal(m.content, 'done here');
    await waitFor(() => server.requests[0].finished, { message: 'the response body was not cancelled' });
    assert.equal(server.requests[0].aborted, true);
  });

  test(`${framing}: a stream that closes without a terminal event fails; content kept`, async () => {
    const { m, log } = await runTurn(stream([ev.start('t'), ev.text('partial')], { framing }), { expectError: true });
    assert.equal(m.isError, true);
    assert.match(m.blocks.at(-1).content, /^\n\n/);
    assert.match(m.content, /^partial\n\n/);
    assert.match(m.content, /unexpected|ended|malformed/i);
    assert.equal(log.eventsOf('response_error').length, 1);
    assert.equal(log.eventsOf('response_error')[0].data.threadId, 't');
  });

  test(`${framing}: error event → its reason; missing reason → "unknown error"`, async () => {
    let r = await runTurn(stream([ev.start('t'), ev.error('Model overloaded', 'overloaded')], { framing }), { expectError: true });
    assert.deepEqual(r.m, { role: 'assistant', content: 'Model overloaded', blocks: [{ type: 'text', content: 'Model overloaded' }], isError: true });
    assert.deepEqual(r.log.eventsOf('response_error')[0].data, { error: 'Model overloaded', threadId: 't' });
    r = await runTurn(stream([{ type: 'error', content: {} }], { framing }), { expectError: true });
    assert.equal(r.m.content, 'unknown error');
    assert.deepEqual(r.log.eventsOf('response_error')[0].data, { error: 'unknown error', threadId: null });
  });
}

test('sse: CRLF and CR line ends', async () => {
  for (const eol of ['\r\n', '\r']) {
    const { m } = await runTurn(stream(EVENTS, { eol, chunkSize: 3, delay: 0 }));
    assert.equal(m.content, FULL, JSON.stringify(eol));
  }
});

test('sse: CRLF split between CR and LF', async () => {
  const bytes = Buffer.from(sse(EVENTS, { eol: '\r\n' }));
  const cuts = [];
  for (let i = 0; i < bytes.length - 1; i++) if (bytes[i] === 13) cuts.push(i + 1);
  const { m } = await runTurn(raw(withDelays(splitAt(bytes, cuts), 2), 'text/event-stream'));
  assert.equal(m.content, FULL);
});

test('sse: comments, id:, retry:, multi-line data and data without a space', async () => {
  const body =
    ': keep-alive\n\n' +
    'id: 1\nretry: 5000\nevent: stream_start\ndata: {"thread_id":"t9"}\n\n' +
    ':ping\n' +
    'event: text_delta\ndata: {"text":\ndata: "A"}\n\n' +
    'event: text_delta\ndata:{"text":"B"}\n\n' +
    'event: text_delta\nid: 7\ndata: {"text":"C"}\n\n' +
    ': bye\n' +
    'event: done\ndata: {"thread_id":"t9"}\n\n';
  const { m, agent } = await runTurn(raw([body], 'text/event-stream; charset=utf-8'));
  assert.equal(m.content, 'ABC');
  assert.equal(agent.getThreadId(), 't9');
});

test('records: bytes after the last delimiter are ignored; stream_end is not relied on', async () => {
  const frame = (type, content, stream_end) => JSON.stringify({ chunk: { type, content, stream_end } }) + RECORD_DELIM;
  const body =
    frame('stream_start', { thread_id: 'r1' }, false) +
    frame('text_delta', { text: 'one' }, true) + // says end, but the type decides
    frame('text_delta', { text: ' two' }, false) +
    frame('done', { thread_id: 'r1' }, false) + // says not end, but done is terminal
    '{"chunk": {"type": "text_del';
  const { m } = await runTurn(raw([body], 'application/json'));
  assert.equal(m.content, 'one two');
});

test('records: chosen for any non-SSE content type, including none', async () => {
  for (const ct of ['application/x-ndjson', 'text/plain; charset=utf-8', undefined]) {
    const bytes = records(EVENTS);
    const resp = { status: 200, headers: ct ? { 'content-type': ct } : {}, chunks: [bytes] };
    const { m } = await runTurn(resp);
    assert.equal(m.content, FULL, String(ct));
  }
});

test('malformed: invalid JSON frame → failure, events decoded before it are applied', async () => {
  const body = `event: stream_start\ndata: {"thread_id":"m1"}\n\nevent: text_delta\ndata: {"text":"abc"}\n\nevent: text_delta\ndata: {not json}\n\n`;
  const { m, log } = await runTurn(raw([body], 'text/event-stream'), { expectError: true });
  assert.equal(m.isError, true);
  assert.equal(m.blocks[0].content, 'abc');
  assert.match(m.content, /^abc\n\n/);
  assert.match(m.content, /unexpected|malformed/i);
  assert.equal(log.eventsOf('response_error')[0].data.threadId, 'm1');
});

test('malformed: known type missing a required field → failure', async () => {
  const cases = [
    [{ type: 'text_delta', content: {} }],
    [{ type: 'text_delta', content: { text: 5 } }],
    [{ type: 'stream_start', content: {} }],
    [{ type: 'tool_call', content: { id: 'c', name: 'x', arguments: {} } }],
    [{ type: 'tool_call', content: { id: 'c', name: 'x', arguments: 5, executor: 'client' } }],
    [{ type: 'tool_call', content: { name: 'x', arguments: {}, executor: 'client' } }],
    [{ type: 'requires_action', content: {} }],
  ];
  for (const events of cases) {
    const { m, log } = await runTurn(stream([ev.text('pre'), ...events, ev.text('post'), ev.done('t')]), { expectError: true });
    assert.equal(m.isError, true, JSON.stringify(events));
    assert.equal(m.blocks[0].content, 'pre');
    assert.ok(!m.content.includes('post'), JSON.stringify(events));
    assert.match(m.content, /unexpected/i);
    assert.equal(log.eventsOf('response_error').length, 1);
    assert.equal(log.eventsOf('response_completed').length, 0);
  }
});

test('malformed: frame that is JSON but not an object does not crash the agent', async () => {
  const body = `event: text_delta\ndata: "just a string"\n\nevent: done\ndata: {}\n\n`;
  const { m, agent } = await runTurn(raw([body], 'text/event-stream'), { expectError: true });
  assert.equal(m.isError, true);
  server.queue('chat', stream([ev.text('still alive'), ev.done('t')]));
  await agent.sendMessage('again');
  assert.equal(agent.getMessages()[3].content, 'still alive');
});

test('an empty 200 body fails as a stream that ended unexpectedly', async () => {
  const { m } = await runTurn({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: '' }, { expectError: true });
  assert.equal(m.isError, true);
  assert.equal(m.blocks.length, 1);
  assert.match(m.content, /unexpected|ended/i);
});

test('a long text stream accumulates correctly (many small reads)', async () => {
  const parts = Array.from({ length: 400 }, (_, i) => `w${i} `);
  const { m } = await runTurn(stream([ev.start('t'), ...parts.map(ev.text), ev.done('t')], { chunkSize: 50, delay: 0 }));
  assert.equal(m.content, parts.join(''));
  assert.equal(m.blocks.length, 1);
});

test('content of an assistant message is always the concatenation of its text blocks', async () => {
  await sleep(0);
  const { log } = await runTurn(stream([ev.start('t'), ev.text('a'), ev.serverCall('s1', 'search_knowledge_base', { query: 'q' }), ev.toolResult('s1', 'completed'), ev.text('b'), ev.text(''), ev.text('c'), ev.done('t')], { chunkSize: 9 }));
  for (const arr of log.messages) {
    const a = arr[1];
    if (!a) continue;
    const joined = a.blocks.filter((b) => b.type === 'text').map((b) => b.content).join('');
    assert.equal(a.content, joined);
    for (const b of a.blocks) if (b.type === 'text') assert.notEqual(b.content, '', 'no empty text blocks');
  }
  const final = log.messages.at(-1)[1];
  assert.deepEqual(final.blocks.map((b) => b.type), ['text', 'tool_calls', 'text']);
  assert.equal(final.content, 'abc');
});

for (const framing of ['sse', 'records']) {
  test(`${framing}: a tool round trip split at every byte offset`, async () => {
    const first = [ev.start('thr_t'), ev.text('Wëather '), ev.serverCall('s1', 'search_knowledge_base', { query: 'météo ☀' }), ev.toolResult('s1', 'completed', { sources: [{ title: 'Tëst ✓', source_url: 'https://x/é', source_type: 'doc', source_visibility: 'public' }], duration_ms: 3 }), ev.toolCall('c1', 'city', { name: 'Zürich 🏔' }), ev.requiresAction(['c1'])];
    const bytes = Buffer.from(framing === 'sse' ? sse(first) : records(first), 'utf8');
    const failures = [];
    for (let k = 1; k < bytes.length; k += 1) {
      server.reset();
      let got;
      server.queue('chat', raw(withDelays(splitAt(bytes, [k]), 1), framing === 'sse' ? 'text/event-stream' : 'application/json'), stream([ev.text('ok'), ev.done('thr_t')]));
      const { agent } = makeAgent(server, { tools: [{ name: 'city', description: 'c', parameters: { type: 'object', properties: { name: { type: 'string' } } }, execute: (a) => ((got = a), 'fine') }] });
      await agent.sendMessage('q');
      const m = agent.getMessages()[1];
      const calls = m?.blocks.filter((b) => b.type === 'tool_calls').flatMap((b) => b.toolCalls) || [];
      const okk = m && !m.isError && m.content === 'Wëather ok' && got?.name === 'Zürich 🏔' && calls[0]?.sources?.[0]?.title === 'Tëst ✓' && calls[0]?.arguments.query === 'météo ☀';
      if (!okk) {
        failures.push(`split at ${k}: ${JSON.stringify(m)}`);
        if (failures.length > 3) break;
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('sse: field names without a space after the colon', async () => {
  const body = 'event:stream_start\ndata:{"thread_id":"t1"}\n\nevent:text_delta\ndata:{"text":"tight"}\n\nevent:done\ndata:{"thread_id":"t1"}\n\n';
  const { m } = await runTurn(raw([body], 'text/event-stream'));
  assert.equal(m.content, 'tight');
});

test('sse: an event is only complete at its blank line; a stream ending mid-event fails', async () => {
  const body = 'event: stream_start\ndata: {"thread_id":"t1"}\n\nevent: text_delta\ndata: {"text":"x"}\n\nevent: done\ndata: {"thread_id":"t1"}\n';
  const { m } = await runTurn(raw([body], 'text/event-stream'), { expectError: true });
  assert.equal(m.isError, true);
  assert.match(m.content, /^x\n\n/);
});

test('a turn that ends normally releases its request by cancelling the body, without abort()', async () => {
  // abort() costs a DOMException (tens of µs in Chromium); a body still open after the
  // terminal event is cancelled instead, which ends the fetch just as well.
  const RS = RECORD_DELIM;
  const rec = (type, content) => JSON.stringify({ chunk: { type, content } }) + RS;
  const realFetch = globalThis.fetch;
  let signal;
  let cancelled = false;
  globalThis.fetch = async (_url, init) => {
    signal = init.signal;
    const enc = new TextEncoder();
    let sent = false;
    return new Response(new ReadableStream({
      pull(c) {
        if (sent) return new Promise(() => {}); // the server keeps the body open
        sent = true;
        c.enqueue(enc.encode(rec('stream_start', { thread_id: 'thr_1' }) + rec('text_delta', { text: 'Hi' }) + rec('done', { thread_id: 'thr_1' })));
      },
      cancel() { cancelled = true; },
    }), { status: 200, headers: { 'content-type': 'text/plain' } });
  };
  try {
    const { agent } = makeAgent(server);
    await agent.sendMessage('hello');
    await waitFor(() => cancelled, { message: 'the body was not cancelled' });
    assert.equal(signal.aborted, false, 'abort() was not used');
    assert.equal(agent.getMessages()[1].content, 'Hi');
    agent.free();
  } finally {
    globalThis.fetch = realFetch;
  }
});
