// The Node side: loads the built package and the AI SDK, exposes the wasm memory.
import { Agent, ready, __heapBytes, __memoryBytes } from '../build/pkg/index.js';
import * as ai from 'ai';

await ready;
export const env = {
  runtime: 'node',
  Agent,
  ai,
  gc: globalThis.gc,
  memory: () => ({
    wasmBytes: __memoryBytes(),
    heapBytes: __heapBytes(),
    jsHeapBytes: process.memoryUsage().heapUsed,
    source: 'WebAssembly.Memory (module exports)',
  }),
  log: (m) => console.error(m),
};
