// Loads the WebAssembly module once, without top-level await: the entry evaluates at once
// (bundlers' default targets reject top-level await) and `ready` settles when the module is
// usable. The .wasm fetch starts as soon as the entry runs.
//
// `kapa-agent-wasm-glue` is wasm-bindgen's glue: scripts/build-pkg.sh bundles it (and its
// snippets) into each entry's one JS file, so a page loads one JS file and the .wasm, and
// bundlers see no dynamic import (a Web Worker bundled as an IIFE cannot split code). Relative
// URLs here are relative to the package's root, where the entries and the .wasm files lie.
//
// The package has two entries, each its own bundle of these sources with its own .wasm:
// index.js (kapa_agent_wasm_bg.wasm, no governance) and governance.js
// (kapa_agent_wasm_governance_bg.wasm). scripts/build-pkg.sh defines `KAPA_WASM` as that
// file's relative URL, a string literal in the bundle, and aliases the matching glue.

import init, * as glue from 'kapa-agent-wasm-glue';

const PACKAGE = 'kapa-agent-wasm';

// Bundlers (webpack 5, Vite's build, Parcel) see this exact pattern and emit the .wasm as an
// asset, rewriting the URL; a plain page and Node resolve it next to this file.
const wasmUrl = new URL(KAPA_WASM, import.meta.url);

/**
 * Where to fetch the .wasm from. Vite's dev server pre-bundles dependencies into
 * node_modules/.vite/deps/ (its cache folder) without copying the .wasm there: the package's
 * own folder, beside that cache in node_modules, has it (and the dev server serves it).
 */
function sourceUrl() {
  const here = import.meta.url; // a variable: bundlers must not treat the next URL as an asset
  const m = /^(.*\/)node_modules\/\.vite[^/]*\/deps[^/]*\/[^/]*$/.exec(here.split(/[?#]/)[0]);
  return m ? new URL(`${m[1]}node_modules/${PACKAGE}/${KAPA_WASM.slice(2)}`, here) : wasmUrl;
}

/** The .wasm as something wasm-bindgen's init takes: a Response, or bytes from disk in Node. */
async function wasmSource(url) {
  // Node's fetch cannot read file: URLs: read the file (Node 20.16+; Deno and Bun fetch it).
  // getBuiltinModule, not an import of node:fs, which bundlers would try to resolve.
  const fs = url.protocol === 'file:' ? globalThis.process?.getBuiltinModule?.('node:fs') : undefined;
  if (fs) return fs.promises.readFile(url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
  return response;
}

async function load() {
  const url = sourceUrl();
  let type = null;
  try {
    const source = await wasmSource(url);
    type = source.headers?.get('content-type') ?? null;
    await init({ module_or_path: source });
    return glue;
  } catch (cause) {
    let why = cause instanceof Error ? cause.message : String(cause);
    // An HTML page where the .wasm should be (a single-page app's fallback route) is a common
    // cause; wasm-bindgen's glue itself accepts a real module served with another type.
    if (type && !/wasm/.test(type)) why += ` (it was served as ${type})`;
    const hint = /\/\.vite\/deps/.test(import.meta.url)
      ? ` (under Vite's dev server, add optimizeDeps: { exclude: ['${PACKAGE}'] } to vite.config)`
      : '';
    throw new Error(`${PACKAGE}: could not load the WebAssembly module from ${url.href}: ${why}${hint}`, { cause });
  }
}

/** Resolves with wasm-bindgen's glue module once the WebAssembly module is ready. */
export const loaded = load();
// Nobody may be listening yet: a failure is reported through `ready` and the calls that need
// the module, not as an unhandled rejection.
loaded.catch(() => {});
