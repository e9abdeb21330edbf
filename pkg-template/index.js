// The package entry: initialises the WebAssembly module once (top-level await), so
// `import { Agent } from 'kapa-agent-wasm'` is ready to use with no init() call in a plain
// page, a Web Worker, a bundler and Node.
import init, { initSync, Agent, __errorClasses, __setZodToJsonSchema } from './kapa_agent_wasm.js';

const wasmUrl = new URL('./kapa_agent_wasm_bg.wasm', import.meta.url);

if (wasmUrl.protocol === 'file:' && typeof process === 'object' && process?.versions?.node) {
  // Node: fetch() cannot read file: URLs, so read the module from disk.
  const fsModule = 'node:fs/promises';
  const { readFile } = await import(/* @vite-ignore */ fsModule);
  initSync({ module: await readFile(wasmUrl) });
} else {
  await init({ module_or_path: wasmUrl });
}

// Zod 3 schemas are converted by the optional peer `zod-to-json-schema` when it can be loaded.
try {
  const peer = 'zod-to-json-schema';
  const mod = await import(/* @vite-ignore */ peer);
  __setZodToJsonSchema(mod.zodToJsonSchema ?? mod.default);
} catch {
  // Not installed (or not resolvable here): Zod 3 users can call registerZodToJsonSchema().
}

/** Use `zod-to-json-schema` for Zod 3 tool schemas where it cannot be loaded automatically. */
export function registerZodToJsonSchema(zodToJsonSchema) {
  __setZodToJsonSchema(zodToJsonSchema);
}

/** Returns a function that returns the tool definition it is given; it exists for type inference. */
export function createToolHelper() {
  return (tool) => tool;
}

export const { SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError } = __errorClasses();
export { Agent };
