// The package entry. No top-level await: importing it never blocks, and an `Agent` can be
// constructed at once; the WebAssembly module loads in the background (`ready`). Bundled
// with the modules in lib/ and wasm-bindgen's glue into the package's index.js by
// scripts/build-pkg.sh.

import { Agent } from './lib/agent.js';
import { SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError } from './lib/errors.js';

/** Returns a function that returns the tool definition it is given; it exists for type inference. */
export function createToolHelper() {
  return (tool) => tool;
}

// The shipped JS is minified without esbuild's --keep-names (2 KB gzip of `name` calls): the
// public classes and functions keep the names they are exported under.
const pub = { Agent, SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError, createToolHelper };
for (const name in pub) Object.defineProperty(pub[name], 'name', { value: name });

export { Agent, SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError };
export { ready } from './lib/agent.js';
export { registerZodToJsonSchema } from './lib/schemas.js';

/** Not public API: the Rust heap's live bytes and the wasm memory, for the benchmark. */
export { heapBytes as __heapBytes, memoryBytes as __memoryBytes } from './lib/agent.js';
