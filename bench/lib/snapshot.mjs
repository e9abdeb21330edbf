// Copies ../pkg to build/pkg so that a rebuild of the package during a run cannot pull files
// from under it; every bench run uses the copy. Retries while a rebuild is in progress. The
// optional baseline package (env BASELINE_PKG) is copied the same way to build/base-pkg.
import { cpSync, rmSync, existsSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const pkgSrc = resolve(here, '../../pkg');
export const pkgCopy = resolve(here, '../build/pkg');
export const basePkgCopy = resolve(here, '../build/base-pkg');
const NEED = ['index.js', 'kapa_agent_wasm_bg.wasm'];
const defaultSrc = pkgSrc, defaultCopy = pkgCopy;

export async function snapshotPkg(pkgSrc = defaultSrc, pkgCopy = defaultCopy) {
  for (let attempt = 0; attempt < 60; attempt++) {
    const ok = NEED.every((f) => existsSync(join(pkgSrc, f)));
    if (ok) {
      const before = statSync(join(pkgSrc, 'kapa_agent_wasm_bg.wasm')).mtimeMs;
      rmSync(pkgCopy, { recursive: true, force: true });
      try {
        cpSync(pkgSrc, pkgCopy, { recursive: true });
        const after = statSync(join(pkgSrc, 'kapa_agent_wasm_bg.wasm')).mtimeMs;
        if (before === after && NEED.every((f) => existsSync(join(pkgCopy, f)))) return new Date(before); // when the .wasm was built (the copy's mtime is the copy's time)
      } catch { /* mid-rebuild */ }
    }
    if (attempt === 0) console.error(`waiting for ${pkgSrc} (build it with bash scripts/build-pkg.sh)…`);
    await new Promise((r) => setTimeout(r, 5000));
  }
  throw new Error(`no complete ${pkgSrc}: build it first with bash scripts/build-pkg.sh`);
}
