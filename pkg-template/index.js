// The package entry. No top-level await: importing it never blocks, and an `Agent` can be
// constructed at once; the WebAssembly module loads in the background (`ready`). Bundled
// with the modules in lib/ and wasm-bindgen's glue into the package's index.js by
// scripts/build-pkg.sh.

export { Agent, ready } from './lib/agent.js';
export { SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError } from './lib/errors.js';
export { registerZodToJsonSchema } from './lib/schemas.js';

/** Returns a function that returns the tool definition it is given; it exists for type inference. */
export function createToolHelper() {
  return (tool) => tool;
}

/** Not public API: the Rust heap's live bytes and the wasm memory, for the benchmark. */
export { heapBytes as __heapBytes, memoryBytes as __memoryBytes } from './lib/agent.js';
