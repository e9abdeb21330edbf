#!/usr/bin/env bash
# Runs every test: host tests of the core and the dev server, the wasm glue in headless
# Chromium, the package build (with its size budget), the JS tests of the built package
# (Node, TypeScript types, Vite) and the demo page end to end in headless Chromium.
# Installs what is missing first (scripts/setup.sh). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

step "host tests (core + dev server)"
cargo test --workspace -q 2>&1 | grep -v '^$'
test "${PIPESTATUS[0]}" = 0

step "wasm glue tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER="$(command -v chromedriver)" \
  cargo test -q --target wasm32-unknown-unknown --test wasm_glue

step "build the package (sizes and budget)"
bash scripts/build-pkg.sh

step "JS tests of the built package"
bash tests/js/run.sh

step "demo page end to end in headless Chromium"
bash tests/e2e/run.sh

step "all tests passed"
