// The benchmark suite, the same in Node and in the browser: every workload, every contender,
// side by side in one process, several rounds (contender order rotated each round), medians.
import { makeDeltas, deltasOfSize, answerWorkload, toolWorkload } from './workloads.mjs';
import { installFetch, runOurs, runLimit, runPeer, stub } from './contenders.mjs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** The workload table: id, what it is, deltas, and the streams each contender reads. */
export function buildWorkloads() {
  const long = makeDeltas(20000);
  const w = [];
  const ans = (id, group, label, deltas, readSize, extra = {}) => {
    const a = answerWorkload(deltas, readSize);
    w.push({ id, group, label, deltas: a.deltas, textBytes: a.textBytes, readSize, expectText: deltas.join('').length,
      streams: { ours: a.kapa, oursSse: a.kapaSse, limit: a.kapa, peer: a.ui }, ...extra });
  };
  ans('long-1k', 'long', '20,000 deltas, 1 KiB reads', long, 1024, { contenders: ['ours', 'oursSse', 'limit', 'peer', 'peerReact', 'oursThrottle'] });
  ans('long-16k', 'long', '20,000 deltas, 16 KiB reads', long, 16384, { contenders: ['ours', 'oursSse', 'limit', 'peer', 'peerReact', 'oursThrottle'] });
  const t = toolWorkload(1024);
  w.push({ id: 'tools', group: 'tools', label: 'server + client tool calls, 2 streams, 2,500 deltas, 1 KiB reads',
    deltas: t.deltas, readSize: 1024, tools: true, expectText: null,
    streams: { ours: t.kapa, limit: t.kapa, peer: t.ui }, contenders: ['ours', 'limit', 'peer'] });
  for (const n of [1, 100, 1000]) {
    ans(`earlier-${n}`, 'earlier', `20,000 deltas after ${n} earlier message${n > 1 ? 's' : ''}`, long, 1024, { earlier: n, x: n, contenders: ['ours', 'limit', 'peer'] });
  }
  for (const [id, bytes, x] of [['size-1k', 1024, 1], ['size-100k', 100 * 1024, 100], ['size-1m', 1024 * 1024, 1024]]) {
    ans(id, 'size', `answer of ${id.slice(5).toUpperCase()}iB, 1 KiB reads`, deltasOfSize(bytes), 1024, { x, contenders: ['ours', 'limit', 'peer'] });
  }
  return w;
}

// 'base' is "ours, baseline": the optional older package (env.base), run exactly as 'ours'.
const STREAM_OF = { ours: 'ours', base: 'ours', oursSse: 'oursSse', oursThrottle: 'ours', limit: 'limit', peer: 'peer', peerReact: 'peer' };
async function runOne(env, wl, who, limitMs) {
  const streams = wl.streams[STREAM_OF[who]];
  const base = { streams, earlier: wl.earlier, tools: wl.tools, limitMs };
  switch (who) {
    case 'ours': return runOurs(env.Agent, base);
    case 'base': return runOurs(env.base.Agent, base);
    case 'oursSse': return runOurs(env.Agent, { ...base, sse: true });
    case 'oursThrottle': return runOurs(env.Agent, { ...base, throttleMs: 16 });
    case 'limit': return runLimit(base);
    case 'peer': return runPeer(env.ai, base);
    case 'peerReact': return runPeer(env.ai, base, { react: true });
    default: throw new Error(who);
  }
}

const streams = (wl, who) => wl.streams[STREAM_OF[who]];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * env: { Agent, ai, memory(): {wasmBytes, jsHeapBytes, note}, gc?(), log(msg), runtime,
 *        base?: { Agent, memory() } (the baseline package, lib/baseline.mjs) }
 * cfg: { rounds, cellBudgetMs, only?: [workload ids], memTurns }
 */
export async function runSuite(env, cfg) {
  installFetch();
  const log = env.log || (() => {});
  const rounds = cfg.rounds ?? 5;
  const budget = cfg.cellBudgetMs ?? 8000;
  const every = buildWorkloads(); // encodes every stream: built once
  const all = every.filter((w) => !cfg.only || cfg.only.includes(w.id));
  if (cfg.contenders) for (const w of all) w.contenders = w.contenders.filter((c) => cfg.contenders.includes(c));
  // The baseline runs wherever 'ours' runs, right after it in the rotation (so the two are
  // back to back in most rounds and their per-round ratio pairs up).
  const withBase = !!env.base && (!cfg.contenders || cfg.contenders.includes('base'));
  if (withBase) for (const w of all) { const i = w.contenders.indexOf('ours'); if (i >= 0) w.contenders.splice(i + 1, 0, 'base'); }
  const out = { runtime: env.runtime, rounds, workloads: {}, warnings: [] };

  // Memory first, on the freshly loaded module, so its wasm memory figures are not the
  // high-water mark of the workloads below.
  if (cfg.memTurns) out.memory = await memoryRun(env, cfg.memTurns, log);
  // The baseline's, on its own freshly loaded module (its own wasm memory; the JS heap is shared).
  if (cfg.memTurns && withBase) out.baseMemory = await memoryRun({ ...env, runtime: `${env.runtime} baseline`, Agent: env.base.Agent, memory: env.base.memory }, cfg.memTurns, log);

  // Warm up every contender (JIT, wasm tier-up) on the tool turn and short answers.
  const warm = all.find((w) => w.id === 'tools') || all[0];
  const short = every.find((w) => w.id === 'size-1k');
  for (const who of ['ours', ...(withBase ? ['base'] : []), 'limit', 'peer']) {
    await runOne(env, warm, who, 0);
    for (let i = 0; i < (cfg.warmupTurns ?? 0); i++) await runOne(env, short, who, 0);
  }

  for (const wl of all) {
    const cell = { id: wl.id, group: wl.group, label: wl.label, deltas: wl.deltas, readSize: wl.readSize, x: wl.x, contenders: {} };
    const spent = {};
    for (const who of wl.contenders) { cell.contenders[who] = { samples: [], calls: [], reads: [], first: [] }; spent[who] = 0; }
    for (let r = 0; r < rounds; r++) {
      const order = wl.contenders.map((_, i) => wl.contenders[(i + r) % wl.contenders.length]);
      for (const who of order) {
        const c = cell.contenders[who];
        if (c.samples.length >= 2 && spent[who] > budget) continue; // slow contender: enough samples
        if (c.timedOut) continue; // one sample past the time limit is enough
        if (cfg.gcEach) env.gc?.();
        for (let i = 0; i < (cfg.warmTurns ?? 0); i++) await runOne(env, short, who, 0);
        let res;
        try { res = await runOne(env, wl, who, cfg.sampleLimitMs); } catch (e) {
          c.error = String(e?.message || e); out.warnings.push(`${wl.id}/${who}: ${c.error}`); spent[who] = Infinity; continue;
        }
        spent[who] += res.ms;
        if (res.timedOut) {
          // Stopped at the time limit: per-delta time over the part that was read (a lower
          // bound when the cost per delta grows with the answer).
          const total = streams(wl, who).reduce((n, s) => n + s.length, 0);
          c.timedOut = { ms: res.ms, fraction: res.reads / total };
          c.deltasDone = wl.deltas * res.reads / total;
          c.samples.push(res.ms); c.calls.push(res.calls); c.reads.push(res.reads);
          continue;
        }
        c.samples.push(res.ms); (c.byRound ??= {})[r] = res.ms; c.calls.push(res.calls); c.reads.push(res.reads);
        if (res.firstMs != null) c.first.push(res.firstMs);
        if (r === 0 && wl.expectText != null && res.textLength !== wl.expectText) {
          out.warnings.push(`${wl.id}/${who}: text length ${res.textLength}, expected ${wl.expectText}`);
        }
        if (r === 0) c.textLength = res.textLength;
      }
    }
    for (const [who, c] of Object.entries(cell.contenders)) {
      if (!c.samples.length) continue;
      c.medianMs = median(c.samples);
      c.perDeltaUs = (c.medianMs * 1000) / (c.timedOut ? c.deltasDone : wl.deltas);
      c.readsPerTurn = median(c.reads);
      c.callsPerTurn = median(c.calls);
      c.callsPerRead = c.callsPerTurn / c.readsPerTurn;
      if (c.first.length) c.firstMs = median(c.first);
    }
    const o = cell.contenders.ours; const l = cell.contenders.limit; const p = cell.contenders.peer;
    // Ratios: the median of the per-round ratios (the two ran back to back in that round, so
    // machine noise mostly cancels); per-delta medians when the rounds do not pair up.
    const paired = (a, b) => {
      const rs = Object.keys(a?.byRound || {}).filter((k) => b?.byRound?.[k] != null).map((k) => a.byRound[k] / b.byRound[k]);
      if (rs.length >= 2 && !a.timedOut && !b.timedOut) return median(rs);
      return a?.perDeltaUs && b?.perDeltaUs ? a.perDeltaUs / b.perDeltaUs : undefined;
    };
    cell.oursOverLimit = paired(o, l);
    cell.oursOverPeer = paired(o, p);
    if (cell.contenders.base) cell.oursOverBase = paired(o, cell.contenders.base);
    out.workloads[wl.id] = cell;
    log(`${env.runtime} ${wl.id}: ` + Object.entries(cell.contenders).map(([k, c]) => `${k} ${c.perDeltaUs?.toFixed(2)} µs/delta (n=${c.samples.length})`).join(', '));
  }

  return out;
}

/** Wasm memory (and JS heap) before/after a long conversation and after resetConversation(). */
async function memoryRun(env, turns, log) {
  const { answerWorkload: aw } = await import('./workloads.mjs');
  const turn = aw(makeDeltas(200, 9), 1024).kapa[0]; // ~1 KiB answers
  const probe = async () => { env.gc?.(); await sleep(0); env.gc?.(); return env.memory(); };
  let calls = 0;
  const agent = new env.Agent({
    projectId: 'bench', integrationId: 'int_bench', baseUrl: 'http://bench.invalid',
    getSessionToken: () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
    onMessagesChange: () => { calls++; }, onStreamingChange: () => {},
  });
  stub.contentType = 'text/plain; charset=utf-8';
  const conversation = async () => {
    const t0 = performance.now();
    for (let i = 0; i < turns; i++) { stub.queue = [turn]; await agent.sendMessage(`question ${i}`); }
    return performance.now() - t0;
  };
  // The start: the agent after one turn and a reset, so what a first turn sets up once (the
  // cached session token, the timer callback; on the JS side, compiled code) is not counted
  // as growth. The figure before that turn is kept as `fresh`.
  const fresh = await probe();
  for (let i = 0; i < 21; i++) { stub.queue = [turn]; await agent.sendMessage(`warm-up ${i}`); }
  agent.resetConversation();
  const start = await probe();
  const ms1 = await conversation();
  const messages1 = agent.getMessages().length;
  const after1 = await probe();
  agent.resetConversation();
  const reset1 = await probe();
  const ms2 = await conversation();
  const after2 = await probe();
  agent.resetConversation();
  const reset2 = await probe();
  agent.free();
  const freed = await probe();
  const r = { turns, messages: messages1, answerDeltas: 200, msPerTurn1: ms1 / turns, msPerTurn2: ms2 / turns, fresh, start, after1, reset1, after2, reset2, freed };
  log(`${env.runtime} memory: heap ${start.heapBytes} → ${after1.heapBytes} → reset ${reset1.heapBytes}; wasm ${start.wasmBytes} → ${after1.wasmBytes} → reset ${reset1.wasmBytes} → ${after2.wasmBytes} → reset ${reset2.wasmBytes}`);
  return r;
}
