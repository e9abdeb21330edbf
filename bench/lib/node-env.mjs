// The Node side: loads the built package and the AI SDK, exposes the wasm memory.
import { Agent } from '../build/pkg/index.js';
import { initSync, __heapBytes } from '../build/pkg/kapa_agent_wasm.js';
import * as ai from 'ai';

// The entry already instantiated the module; initSync() then just returns its exports.
const exports = initSync();
export const env = {
  runtime: 'node',
  Agent,
  ai,
  gc: globalThis.gc,
  memory: () => ({
    wasmBytes: exports.memory?.buffer?.byteLength ?? null,
    heapBytes: __heapBytes?.() ?? null,
    jsHeapBytes: process.memoryUsage().heapUsed,
    source: exports.memory ? 'WebAssembly.Memory (module exports)' : 'process.memoryUsage',
  }),
  log: (m) => console.error(m),
};
