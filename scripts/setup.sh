#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already there (idempotent).
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust (rustup) first" >&2
  exit 1
fi

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The pinned nightly that builds the shipped .wasm (scripts/build-pkg.sh), with the standard
# library's source (-Z build-std) and the wasm32 target. Minimal profile: about 45 s.
NIGHTLY="$(cat scripts/nightly-toolchain)"
if command -v rustup >/dev/null; then
  if ! rustup +"$NIGHTLY" component list --installed 2>/dev/null | grep -q '^rust-src' \
    || ! rustup +"$NIGHTLY" target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "installing the Rust toolchain $NIGHTLY (rust-src, wasm32) for the shipped .wasm"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src --target wasm32-unknown-unknown
  fi
fi

# The wasm-bindgen CLI must match the crate version pinned in Cargo.lock exactly.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, "", $0); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (a few minutes)"
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
fi

if ! command -v wasm-pack >/dev/null; then
  say "installing wasm-pack (a few minutes)"
  cargo install wasm-pack --locked
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v wasm-opt >/dev/null || need_apt+=(binaryen)
command -v brotli >/dev/null || need_apt+=(brotli)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# For the tests only (scripts/test.sh sets KAPA_SETUP_TESTS=1; the demo does not need them):
# coverage-guided fuzzing (scripts/fuzz.sh) needs the pinned nightly above and cargo-fuzz; the
# dependency audit needs cargo-audit. Each cargo install takes a few minutes on 2 cores, once.
if [ "${KAPA_SETUP_TESTS:-}" = 1 ]; then
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz (a few minutes)"
    cargo install cargo-fuzz --locked
  fi
  if ! cargo audit --version >/dev/null 2>&1; then
    say "installing cargo-audit (a few minutes)"
    cargo install cargo-audit --locked
  fi
fi
