#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack (web target, release, wasm-opt -Oz) twice, without
# and with governance, then the overlay from pkg-template/ (the two entry modules, types,
# README, package.json fields). Prints the raw / gzip / brotli sizes of what a page downloads
# through each entry and fails past the size budgets.
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
  # Without the reference-types feature, wasm-bindgen keeps JS values in a JS array rather
  # than an externref table, with no shim around each export: 1 KB gzip less, measured. Only
  # here, where core and alloc are rebuilt with the same features: stable's prebuilt ones
  # carry reference-types, and wasm-bindgen then expects the externref table.
  RUSTFLAGS="$RUSTFLAGS -Ctarget-feature=-reference-types"
  # The per-delta path (stream decoder, JSON strings, event parsing) compiled for speed inside
  # the module optimised for size (#[optimize(speed)], nightly): 13-34 % faster per streamed
  # delta for 0.4 KiB gzip, measured side by side.
  RUSTFLAGS="$RUSTFLAGS --cfg kapa_speed"
  # core and alloc themselves at opt-level 3, as stable's prebuilt ones are (our profile's "z"
  # would apply to them too): 10-15 % faster per streamed delta for 0.3 KiB gzip, measured.
  cargo_args=(-Z build-std=core,alloc -Z build-std-features=optimize_for_size
    --config profile.release.package.core.opt-level=3
    --config profile.release.package.alloc.opt-level=3)
fi
# A current wasm-opt from npm (Debian's binaryen 108 breaks wasm-bindgen's externref table),
# and esbuild for the JS below.
if [ ! -x scripts/node_modules/.bin/wasm-opt ] || [ ! -x scripts/node_modules/.bin/esbuild ]; then
  (cd scripts && npm install --no-audit --no-fund --silent)
fi

# Two .wasm files, one per package entry: `kapa-agent-wasm` (index.js) without the `governance`
# cargo feature, so that pages which do not use governance do not download it, and
# `kapa-agent-wasm/governance` (governance.js) with it. Only the crate itself is compiled
# twice; its dependencies (and nightly's core and alloc) are shared.
build_wasm() { # <out-name> <cargo features, comma-separated, may be empty>
  local features="$2${FEATURES:+,$FEATURES}"
  local args=("${cargo_args[@]}" --no-default-features)
  [ -n "${features#,}" ] && args+=(--features "${features#,}")
  wasm-pack --log-level warn build --release --target web --out-dir pkg --out-name "$1" --no-pack . \
    -- "${args[@]}"
  # The cargo artifact, before wasm-bindgen, for `cd bench && npm run size` (twiggy).
  mkdir -p target/pkg-artifacts
  cp "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/kapa_agent_wasm.wasm" "target/pkg-artifacts/$1.wasm"
  scripts/node_modules/.bin/wasm-opt "pkg/$1_bg.wasm" -Oz --enable-bulk-memory \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
    -o "pkg/$1_bg.wasm"
  # Imports and exports renamed to one or two letters, in the .wasm and in the glue
  # (pkg-template/minify-names.mjs says why and checks the result).
  scripts/node_modules/.bin/wasm-opt "pkg/$1_bg.wasm" --minify-imports-and-exports-and-modules \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "pkg/$1_bg.wasm" > "pkg/$1.names.json"
  # Then the optimiser again, twice, after turning the control flow into a flat form and back
  # (--flatten --rereloop): 2.3 KB gzip less than the single -Oz above, measured.
  scripts/node_modules/.bin/wasm-opt "pkg/$1_bg.wasm" --flatten --rereloop -Oz -Oz \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "pkg/$1_bg.wasm"
  node pkg-template/minify-names.mjs "pkg/$1.js" "pkg/$1.names.json"
  rm "pkg/$1.names.json"
}
build_wasm kapa_agent_wasm ""
build_wasm kapa_agent_wasm_governance governance

cp pkg-template/index.d.ts pkg-template/governance.d.ts pkg-template/README.md pkg/
# Each entry's one JS file: the entry (pkg-template/index.js and lib/) with wasm-bindgen's glue
# and its snippets, bundled, so that a page needs one JS request besides its .wasm and the
# .wasm fetch starts as soon as it runs. Minified without --keep-names (its `name` calls cost
# 2 KB gzip): pkg-template/index.js names the exported classes itself. The target is the
# oldest browsers that run the entry as written (private methods). Bundlers minify again anyway. The readable sources are pkg-template/,
# src/wasm/*.js and wasm-bindgen's output.
# The two entries are two bundles of the same sources, with its glue and its .wasm's file name
# (KAPA_WASM, a string literal in the output, which bundlers follow) and KAPA_GOVERNANCE, which
# decides whether the `governance` option is read or refused (pkg-template/lib/options.js).
bundle() { # <glue out-name> <governance: true|false> <output>
  scripts/node_modules/.bin/esbuild pkg-template/index.js --bundle --format=esm \
    --alias:kapa-agent-wasm-glue="./pkg/$1.js" --define:KAPA_WASM="\"./$1_bg.wasm\"" \
    --define:KAPA_GOVERNANCE="$2" --minify \
    --target=chrome84,firefox90,safari15,node20 --log-level=warning --outfile="pkg/$3"
}
bundle kapa_agent_wasm false index.js
bundle kapa_agent_wasm_governance true governance.js
rm -rf pkg/kapa_agent_wasm{,_governance}.js pkg/kapa_agent_wasm{,_governance}.d.ts \
  pkg/kapa_agent_wasm{,_governance}_bg.wasm.d.ts pkg/snippets
node pkg-template/assemble.mjs

node pkg-template/size.mjs
