// Self-test of the mock backend (runs without the package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMockServer, stream, ev, sse, records, splitAt, splitEvery, gate, reply, RECORD_DELIM } from './helpers/mock-server.mjs';

test('mock: encoders', () => {
  assert.equal(sse([ev.text('a')]), 'event: text_delta\ndata: {"text":"a"}\n\n');
  assert.equal(sse([ev.done('t')], { eol: '\r\n' }), 'event: done\r\ndata: {"thread_id":"t"}\r\n\r\n');
  assert.equal(records([ev.text('a')]), '{"chunk":{"type":"text_delta","content":{"text":"a"},"stream_end":false}}' + RECORD_DELIM);
  assert.equal(Buffer.from(RECORD_DELIM).toString('hex'), 'e2909e');
  const parts = splitAt('é😀', [1, 3]);
  assert.deepEqual(parts.map((p) => p.length), [1, 2, 3]);
  assert.equal(Buffer.concat(parts).toString(), 'é😀');
  assert.deepEqual(splitEvery('abcde', 2).map(String), ['ab', 'cd', 'e']);
});

test('mock: records requests and serves queued, streamed and gated responses', async () => {
  const s = await startMockServer();
  try {
    const g = gate();
    s.queue('chat', stream([ev.start('t'), ev.text('hé')], { chunkSize: 3, tail: [g.item, 'tail'] }));
    s.queue('listThreads', reply(200, { threads: [], next_cursor: null }));
    const resP = fetch(`${s.baseUrl}/agent/v1/projects/p/agent/chat/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ a: 1 }),
    });
    const res = await resP;
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body.getReader();
    const reads = [];
    setTimeout(() => g.release(), 50);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      reads.push(Buffer.from(value));
    }
    assert.ok(reads.length > 3, `separate reads: ${reads.length}`);
    assert.equal(Buffer.concat(reads).toString(), sse([ev.start('t'), ev.text('hé')]) + 'tail');
    const l = await (await fetch(`${s.baseUrl}/agent/v1/projects/p/agent/threads/?limit=2`)).json();
    assert.deepEqual(l, { threads: [], next_cursor: null });
    const un = await fetch(`${s.baseUrl}/agent/v1/projects/p/agent/threads/x/`, { method: 'DELETE' });
    assert.equal(un.status, 599);
    assert.deepEqual(s.requests.map((r) => [r.endpoint, r.method]), [['chat', 'POST'], ['listThreads', 'GET'], ['deleteThread', 'DELETE']]);
    assert.deepEqual(s.requests[0].body, { a: 1 });
    assert.equal(s.requests[0].headers.authorization, 'Bearer x');
    assert.deepEqual(s.requests[1].query, { limit: '2' });
    assert.equal(s.requests[2].unscripted, true);
  } finally {
    await s.close();
  }
});

test('mock: network errors and mid-body drops', async () => {
  const s = await startMockServer();
  try {
    s.queue('chat', { networkError: true }, { status: 200, chunks: ['abc', { delay: 10 }, { destroy: true }] });
    await assert.rejects(fetch(`${s.baseUrl}/agent/v1/projects/p/agent/chat/`, { method: 'POST' }));
    const res = await fetch(`${s.baseUrl}/agent/v1/projects/p/agent/chat/`, { method: 'POST' });
    await assert.rejects(res.text());
  } finally {
    await s.close();
  }
});
