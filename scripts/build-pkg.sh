#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack (web target, release, wasm-opt -Oz), then the
# overlay from pkg-template/ (entry module, types, README, package.json fields). Prints the
# raw / gzip / brotli sizes of the .wasm and the JS glue and fails past the size budget.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

rm -rf pkg
# Panic locations name source files: keep the build machine's paths (its home directory, the
# registry cache) out of the shipped .wasm, which also makes the file the same on any machine.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export RUSTFLAGS="${RUSTFLAGS:-} --remap-path-prefix=$cargo_home/registry/src=/crates --remap-path-prefix=$PWD=."
# FEATURES (e.g. FEATURES=panic-hook) builds with those cargo features; the size budget is then
# not checked.
wasm-pack --log-level warn build --release --target web --out-dir pkg --out-name kapa_agent_wasm --no-pack \
  ${FEATURES:+-- --features "$FEATURES"}

# A current wasm-opt from npm (Debian's binaryen 108 breaks wasm-bindgen's externref table),
# and esbuild for the JS below.
if [ ! -x scripts/node_modules/.bin/wasm-opt ] || [ ! -x scripts/node_modules/.bin/esbuild ]; then
  (cd scripts && npm install --no-audit --no-fund --silent)
fi
scripts/node_modules/.bin/wasm-opt pkg/kapa_agent_wasm_bg.wasm -Oz --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
  -o pkg/kapa_agent_wasm_bg.wasm

cp pkg-template/index.d.ts pkg-template/README.md pkg/
# The entry: pkg-template/index.js and its modules in pkg-template/lib/, bundled into one file
# (one request for a plain page; the glue is imported by it, not bundled into it).
# wasm-bindgen's glue and our snippets are minified too, each file on its own (imports and the
# .wasm URL stay as they are). Names are kept, so `Agent.name` and stack traces read as in the
# source; the target is the oldest browsers that run the entry as written (private methods).
# A plain page loads these files as they are; bundlers minify again anyway. The readable
# sources are pkg-template/, src/wasm/*.js and wasm-bindgen's output.
target=chrome84,firefox90,safari15,node20
scripts/node_modules/.bin/esbuild pkg-template/index.js --bundle --format=esm \
  --external:./kapa_agent_wasm.js --minify --keep-names --target=$target --log-level=warning \
  --outfile=pkg/index.js
scripts/node_modules/.bin/esbuild pkg/kapa_agent_wasm.js $(find pkg/snippets -name '*.js') \
  --minify --keep-names --format=esm --target=$target \
  --log-level=warning --allow-overwrite --outbase=pkg --outdir=pkg
node pkg-template/assemble.mjs

node pkg-template/size.mjs
