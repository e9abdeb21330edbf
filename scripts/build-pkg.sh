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
# The shipped .wasm is built with the pinned nightly (scripts/nightly-toolchain, installed by
# scripts/setup.sh): core and alloc rebuilt for size, panics that abort at once with no message
# or location (a panic is a bug and traps either way), about 12 KB gzip less. KAPA_TOOLCHAIN=
# stable builds it with the stable toolchain instead, a little larger (its own budget).
# FEATURES (e.g. FEATURES=panic-hook, which needs panic messages: stable) builds with those
# cargo features; the size budget is then not checked.
export KAPA_TOOLCHAIN="${KAPA_TOOLCHAIN:-$([ -n "${FEATURES:-}" ] && echo stable || echo nightly)}"
cargo_args=()
if [ "$KAPA_TOOLCHAIN" = nightly ]; then
  export RUSTUP_TOOLCHAIN="$(cat scripts/nightly-toolchain)"
  # Its own target folder: stable builds (tests, lints) keep theirs.
  export CARGO_TARGET_DIR="$PWD/target/nightly"
  RUSTFLAGS="$RUSTFLAGS -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
  cargo_args=(-Z build-std=core,alloc -Z build-std-features=optimize_for_size)
fi
[ -n "${FEATURES:-}" ] && cargo_args+=(--features "$FEATURES")
[ ${#cargo_args[@]} -gt 0 ] && cargo_args=(-- "${cargo_args[@]}")
wasm-pack --log-level warn build --release --target web --out-dir pkg --out-name kapa_agent_wasm --no-pack . \
  "${cargo_args[@]}"

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
# The package's one JS file: the entry (pkg-template/index.js and lib/) with wasm-bindgen's glue
# and its snippets, bundled, so that a page needs one JS request besides the .wasm and the
# .wasm fetch starts as soon as it runs. Minified with names kept, so `Agent.name` and stack
# traces read as in the source; the target is the oldest browsers that run the entry as written
# (private methods). Bundlers minify again anyway. The readable sources are pkg-template/,
# src/wasm/*.js and wasm-bindgen's output.
scripts/node_modules/.bin/esbuild pkg-template/index.js --bundle --format=esm \
  --alias:kapa-agent-wasm-glue=./pkg/kapa_agent_wasm.js --minify --keep-names \
  --target=chrome84,firefox90,safari15,node20 --log-level=warning --outfile=pkg/index.js
rm -rf pkg/kapa_agent_wasm.js pkg/kapa_agent_wasm.d.ts pkg/kapa_agent_wasm_bg.wasm.d.ts pkg/snippets
node pkg-template/assemble.mjs

node pkg-template/size.mjs
