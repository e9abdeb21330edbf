// Writes pkg/package.json: the npm fields wasm-pack does not know (exports with types first,
// two entries, files, sideEffects, engines, the optional peer zod). The version comes from Cargo.toml.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const cargo = readFileSync(new URL('Cargo.toml', root), 'utf8');
const version = /^version\s*=\s*"([^"]+)"/m.exec(cargo)[1];
const files = readdirSync(new URL('pkg/', root)).filter((f) => f !== 'package.json' && f !== '.gitignore');

const pkg = {
  name: 'kapa-agent-wasm',
  version,
  description: "Kapa's browser agent SDK (the @kapaai/agent-core API) in Rust compiled to WebAssembly",
  license: 'MIT',
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': { types: './index.d.ts', default: './index.js' },
    // The same API plus the `governance` option, with its own .wasm (scripts/build-pkg.sh).
    './governance': { types: './governance.d.ts', default: './governance.js' },
    './package.json': './package.json',
  },
  files,
  sideEffects: ['./index.js', './governance.js'],
  engines: { node: '>=20.16' },
  peerDependencies: { zod: '^3.24 || ^4' },
  peerDependenciesMeta: { zod: { optional: true } },
  keywords: ['kapa', 'agent', 'ai', 'wasm', 'webassembly', 'sdk'],
};
writeFileSync(new URL('pkg/package.json', root), JSON.stringify(pkg, null, 2) + '\n');
