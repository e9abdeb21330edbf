// The optional contender "ours, baseline": an older build of the package (env BASELINE_PKG,
// snapshotted to build/base-pkg), loaded from its own files next to the current one and run
// through the same workloads and timed section as "ours" (runOurs). Runs in Node and the
// browser. Older packages differ: the entry may initialise with a top-level await and export
// no `ready`, and the heap/memory probes may live in the wasm-bindgen glue
// (kapa_agent_wasm.js) or not exist at all; a missing probe reads null (its cell shows –).

/** dir: URL of the package directory, ending in '/'. Returns { Agent, memory(), probes }. */
export async function loadBaseline(dir, jsHeapBytes) {
  const entry = await import(dir + 'index.js'); // the entry's top-level await (if any) is done here
  if (entry.ready) await entry.ready;
  if (typeof entry.Agent !== 'function') throw new Error(`baseline ${dir}index.js exports no Agent`);
  let glue = null;
  if (!entry.__heapBytes || !entry.__memoryBytes) {
    try { glue = await import(dir + 'kapa_agent_wasm.js'); } catch { /* bundled into the entry */ }
  }
  const heapBytes = entry.__heapBytes ?? glue?.__heapBytes ?? null;
  let memoryBytes = entry.__memoryBytes ?? null;
  if (!memoryBytes && glue) {
    // wasm-bindgen's init returns the module's exports once it has run (the entry ran it).
    try {
      const exp = glue.initSync?.() ?? (await glue.default?.());
      const mem = exp && Object.values(exp).find((v) => v instanceof WebAssembly.Memory);
      if (mem) memoryBytes = () => mem.buffer.byteLength;
    } catch { /* not initialised by the entry: no memory figure */ }
  }
  return {
    Agent: entry.Agent,
    probes: { heapBytes: !!heapBytes, wasmBytes: !!memoryBytes },
    memory: () => ({
      wasmBytes: memoryBytes ? memoryBytes() : null,
      heapBytes: heapBytes ? heapBytes() : null,
      jsHeapBytes: jsHeapBytes(),
      source: 'baseline package',
    }),
  };
}
