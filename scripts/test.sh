#!/usr/bin/env bash
# Runs every test: host tests of the core and the dev server (with property-based fuzzing of
# the decoders and the machine), the dependency audit (RustSec snapshot), a few seconds of
# coverage-guided fuzzing of each target (nightly), the wasm glue in headless Chromium, the package build (with
# its size budget), the JS tests of the built package (Node, TypeScript types, Vite), the demo
# page end to end, the fault matrix and security tests in headless Chromium, and the consumer
# fixtures (the packed package in small apps per bundler, default configs).
# Installs what is missing first (scripts/setup.sh). Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KAPA_SETUP_TESTS=1 # also the fuzzing and audit tools
source scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
# The wasm skin (src/wasm/) and the glue tests only compile for wasm32: lint them there too,
# as shipped (no_std) and with std, which the glue tests' harness needs.
cargo clippy -p kapa-agent-wasm --lib --target wasm32-unknown-unknown -q -- -D warnings
cargo clippy -p kapa-agent-wasm --lib --test wasm_glue --features std --target wasm32-unknown-unknown -q -- -D warnings
# Without the `governance` feature (the main entry's .wasm): it must build and lint clean too.
cargo clippy -p kapa-agent-wasm --all-targets --no-default-features -q -- -D warnings
cargo clippy -p kapa-agent-wasm --lib --no-default-features --target wasm32-unknown-unknown -q -- -D warnings

step "host tests (core + dev server)"
cargo test --workspace -q 2>&1 | grep -v '^$'
test "${PIPESTATUS[0]}" = 0
# The core without the `governance` feature, as the main entry's .wasm is built.
cargo test -p kapa-agent-wasm --no-default-features -q 2>&1 | grep -v '^$'
test "${PIPESTATUS[0]}" = 0

step "dependency audit: cargo audit against the RustSec snapshot in ../shared/advisory-db"
# Accepted findings, if any, are listed with their reasons in .cargo/audit.toml and
# docs/reliability.md; anything else fails.
cargo audit --db ../shared/advisory-db --no-fetch --deny warnings

step "coverage-guided fuzzing, 5 s per target (cargo-fuzz, nightly; the long run: docs/reliability.md)"
bash scripts/fuzz.sh 5

step "wasm glue tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER="$(command -v chromedriver)" \
  cargo test --target wasm32-unknown-unknown --features std --test wasm_glue

step "the package still builds with the stable toolchain (sizes and its budget)"
KAPA_TOOLCHAIN=stable bash scripts/build-pkg.sh

step "build the package as shipped, with the pinned nightly (sizes and budget)"
bash scripts/build-pkg.sh

step "what the package ships: no dependencies, npm audit"
bash tests/faults/audit.sh

step "JS tests of the built package (Node, TypeScript types, Vite, worker)"
bash tests/js/run.sh

step "demo page end to end in headless Chromium (incl. governance)"
bash tests/e2e/run.sh

step "fault matrix and security tests in headless Chromium"
bash tests/faults/run.sh

step "consumer fixtures: the packed package in a plain page, Vite 5/6/7, webpack, Rollup, esbuild, a worker and Node"
bash tests/consumers/run.sh

step "all tests passed"
