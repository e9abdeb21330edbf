// The package entry: initialises the WebAssembly module once (top-level await), so
// `import { Agent } from 'kapa-agent-wasm'` is ready to use with no init() call in a plain
// page, a Web Worker, a bundler and Node.
import init, {
  initSync,
  Agent,
  __errorClasses,
  __setZodToJsonSchema,
  __setZod4ToJSONSchema,
} from './kapa_agent_wasm.js';

const wasmUrl = new URL('./kapa_agent_wasm_bg.wasm', import.meta.url);

if (wasmUrl.protocol === 'file:' && typeof process === 'object' && process?.versions?.node) {
  // Node: fetch() cannot read file: URLs, so read the module from disk.
  const fsModule = 'node:fs/promises';
  const { readFile } = await import(/* @vite-ignore */ fsModule);
  initSync({ module: await readFile(wasmUrl) });
} else {
  await init({ module_or_path: wasmUrl });
}

// Optional peers, used when they can be loaded (nothing here depends on them): zod 4's
// z.toJSONSchema for zod 4.0 / 4.1 schemas (4.2+ schemas describe themselves), and
// `zod-to-json-schema` for Zod 3 schemas.
const optional = async (name) => {
  try {
    return await import(/* @vite-ignore */ name);
  } catch {
    return null; // not installed, or not resolvable here (e.g. a plain page)
  }
};
const [zod, zodToJsonSchema] = await Promise.all([optional('zod'), optional('zod-to-json-schema')]);
const z = zod?.z ?? zod;
if (typeof z?.toJSONSchema === 'function') __setZod4ToJSONSchema(z.toJSONSchema);
if (zodToJsonSchema) __setZodToJsonSchema(zodToJsonSchema.zodToJsonSchema ?? zodToJsonSchema.default);

/**
 * Where the package cannot load them itself (bundlers): register `zodToJsonSchema` from
 * `zod-to-json-schema` for Zod 3 schemas, or zod 4's `z.toJSONSchema` for zod 4.0 / 4.1.
 */
export function registerZodToJsonSchema(converter) {
  if (converter && converter === z?.toJSONSchema) __setZod4ToJSONSchema(converter);
  else if (converter?.name === 'toJSONSchema') __setZod4ToJSONSchema(converter);
  else __setZodToJsonSchema(converter);
}

/** Returns a function that returns the tool definition it is given; it exists for type inference. */
export function createToolHelper() {
  return (tool) => tool;
}

export const { SessionWithoutOwnerError, HistoryDisabledError, ThreadNotFoundError } = __errorClasses();
export { Agent };
