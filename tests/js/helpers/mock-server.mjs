// A scriptable mock of the agent backend of PROTOCOL.md, on 127.0.0.1 with a random port.
//
// Tests queue responses per endpoint and read back every request the package sent:
//
//   const server = await startMockServer();
//   server.queue('chat', stream([ev.start('thr_1'), ev.text('Hi'), ev.done('thr_1')]));
//   ... new Agent({ baseUrl: server.baseUrl, ... }) ...
//   server.requests[0].body  // parsed JSON body
//
// Endpoints: 'chat' (POST .../agent/chat/), 'listThreads' (GET .../agent/threads/),
// 'getThread' (GET .../agent/threads/{id}/), 'deleteThread' (DELETE .../agent/threads/{id}/),
// 'session' (the server-side session endpoint), 'appSession' (POST /api/session, an
// integrator's own endpoint as in the docs), 'other' (anything else). A request with nothing queued gets a 599 and is flagged `unscripted`.
//
// A response is an object (or a function `(req) => object`, or a promise of one):
//   { status = 200, headers = {}, body }            body: string | Buffer | object (sent as JSON)
//   { status = 200, headers, chunks: [...] }        streamed; each item is a string/Buffer/
//                                                   Uint8Array written as is, `{delay: ms}`,
//                                                   `{wait: promise}`, or `{destroy: true}`
//                                                   (drops the connection mid-body)
//   { networkError: true }                          drops the connection before any byte
//   { keepOpen: true }                              with chunks: never ends the body
import http from 'node:http';

export const SSE = 'text/event-stream';
export const RECORD_DELIM = '\u241E';

function endpointOf(method, path) {
  if (/\/agent\/v1\/projects\/[^/]+\/agent\/sessions\/$/.test(path)) return 'session';
  if (path === '/api/session') return 'appSession';
  if (/\/agent\/v1\/projects\/[^/]+\/agent\/chat\/$/.test(path)) return 'chat';
  if (/\/agent\/v1\/projects\/[^/]+\/agent\/threads\/$/.test(path) && method === 'GET') return 'listThreads';
  if (/\/agent\/v1\/projects\/[^/]+\/agent\/threads\/[^/]+\/$/.test(path)) {
    if (method === 'GET') return 'getThread';
    if (method === 'DELETE') return 'deleteThread';
  }
  return 'other';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startMockServer() {
  const queues = new Map();
  const requests = [];
  const waiters = [];

  const notify = () => {
    for (const w of [...waiters]) {
      if (w.pred()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body = null;
    if (raw.length) {
      try { body = JSON.parse(raw); } catch { body = undefined; }
    }
    const url = new URL(req.url, 'http://127.0.0.1');
    const endpoint = endpointOf(req.method, url.pathname);
    const record = {
      endpoint,
      method: req.method,
      url: req.url,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      rawBody: raw,
      body,
      time: Date.now(),
      aborted: false,
      finished: false,
      unscripted: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
      record.finished = true;
      notify();
    });
    notify();

    const q = queues.get(endpoint);
    let spec = q && q.length ? q.shift() : null;
    if (!spec) {
      record.unscripted = true;
      res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`mock: nothing queued for ${endpoint} ${req.method} ${req.url}`);
      return;
    }
    try {
      if (typeof spec === 'function') spec = await spec(record);
      spec = await spec;
      if (spec.delayMs) await sleep(spec.delayMs);
      if (spec.networkError) {
        req.socket.destroy();
        return;
      }
      const headers = { ...(spec.headers || {}) };
      let bodyOut = spec.body;
      if (bodyOut !== undefined && typeof bodyOut !== 'string' && !(bodyOut instanceof Uint8Array)) {
        bodyOut = JSON.stringify(bodyOut);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['content-type'] = 'application/json';
        }
      }
      res.writeHead(spec.status ?? 200, headers);
      if (spec.chunks) {
        res.flushHeaders();
        for (const item of spec.chunks) {
          if (res.destroyed) return;
          if (typeof item === 'string' || item instanceof Uint8Array) {
            await new Promise((r) => res.write(item, r));
          } else if (item && item.delay !== undefined) {
            await sleep(item.delay);
          } else if (item && item.wait) {
            await item.wait;
          } else if (item && item.destroy) {
            req.socket.destroy();
            return;
          }
        }
        if (!spec.keepOpen) res.end();
        return;
      }
      res.end(bodyOut ?? '');
    } catch (e) {
      try { res.destroy(e); } catch {}
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();

  const api = {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    requests,
    /** Queue one or more responses for an endpoint. */
    queue(endpoint, ...specs) {
      if (!queues.has(endpoint)) queues.set(endpoint, []);
      queues.get(endpoint).push(...specs);
      return api;
    },
    /** Forget queued responses and recorded requests (between tests). */
    reset() {
      queues.clear();
      requests.length = 0;
    },
    pending(endpoint) {
      return (queues.get(endpoint) || []).length;
    },
    requestsTo(endpoint) {
      return requests.filter((r) => r.endpoint === endpoint);
    },
    /** Resolves once predicate(requests) is true (checked at each request start/end). */
    waitForRequests(pred, timeoutMs = 5000) {
      if (typeof pred === 'number') {
        const n = pred;
        pred = (rs) => rs.length >= n;
      }
      const p = () => pred(requests);
      if (p()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { pred: p, resolve };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new Error(`waitForRequests timed out; ${requests.length} requests seen`));
          }
        }, timeoutMs);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return api;
}

// ---------------------------------------------------------------- events and encoders

export const ev = {
  start: (thread_id) => ({ type: 'stream_start', content: { thread_id } }),
  text: (text) => ({ type: 'text_delta', content: { text } }),
  toolCall: (id, name, args = {}, executor = 'client') => ({
    type: 'tool_call',
    content: { id, name, arguments: args, executor },
  }),
  serverCall: (id, name, args = {}) => ({
    type: 'tool_call',
    content: { id, name, arguments: args, executor: 'server' },
  }),
  toolResult: (id, status, extra = {}) => ({ type: 'tool_result', content: { id, status, ...extra } }),
  requiresAction: (ids) => ({ type: 'requires_action', content: { tool_call_ids: ids } }),
  done: (thread_id) => ({ type: 'done', content: thread_id === undefined ? {} : { thread_id } }),
  error: (reason, code) => ({ type: 'error', content: code === undefined ? { reason } : { reason, code } }),
  ping: () => ({ type: 'ping', content: {} }),
};

/** SSE framing of PROTOCOL.md §3.1. `eol` may be '\n', '\r\n' or '\r'. */
export function sse(events, { eol = '\n' } = {}) {
  return events
    .map((e) => `event: ${e.type}${eol}data: ${JSON.stringify(e.content)}${eol}${eol}`)
    .join('');
}

/** Record framing of PROTOCOL.md §3.2. */
export function records(events) {
  return events
    .map(
      (e) =>
        JSON.stringify({
          chunk: {
            type: e.type,
            content: e.content,
            stream_end: ['done', 'error', 'requires_action'].includes(e.type),
          },
        }) + RECORD_DELIM,
    )
    .join('');
}

/** Split bytes at the given byte offsets. */
export function splitAt(bytes, offsets) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const cuts = [...new Set(offsets)].filter((o) => o > 0 && o < buf.length).sort((a, b) => a - b);
  const out = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

/** Split bytes into pieces of n bytes. */
export function splitEvery(bytes, n) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8');
  const out = [];
  for (let i = 0; i < buf.length; i += n) out.push(buf.subarray(i, i + n));
  return out;
}

/** Interleave a delay between pieces, so that each one becomes its own network read. */
export function withDelays(pieces, ms = 3) {
  const out = [];
  pieces.forEach((p, i) => {
    if (i) out.push({ delay: ms });
    out.push(p);
  });
  return out;
}

/**
 * A 200 streamed response. Options: framing 'sse' | 'records'; chunkSize (bytes per read,
 * with a small delay between reads); splits (byte offsets); delay (ms between reads);
 * tail (extra items appended after the events, e.g. {wait: promise}); keepOpen.
 */
export function stream(events, opts = {}) {
  const framing = opts.framing || 'sse';
  const text = framing === 'sse' ? sse(events, opts) : records(events);
  const buf = Buffer.from(text, 'utf8');
  let pieces;
  if (opts.splits) pieces = withDelays(splitAt(buf, opts.splits), opts.delay ?? 3);
  else if (opts.chunkSize) pieces = withDelays(splitEvery(buf, opts.chunkSize), opts.delay ?? 1);
  else pieces = [buf];
  const contentType =
    opts.contentType || (framing === 'sse' ? 'text/event-stream' : 'application/octet-stream');
  return {
    status: 200,
    headers: { 'content-type': contentType, 'cache-control': 'no-cache' },
    chunks: [...(opts.head || []), ...pieces, ...(opts.tail || [])],
    keepOpen: opts.keepOpen,
  };
}

/** A response whose body is held open until `release()`; `gate.wait` is a chunk item. */
export function gate() {
  let release;
  const wait = new Promise((r) => (release = r));
  return { item: { wait }, release: () => release() };
}

/** A plain JSON or text HTTP response. */
export function reply(status, body, headers = {}) {
  return { status, body, headers };
}
