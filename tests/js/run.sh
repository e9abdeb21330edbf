#!/usr/bin/env bash
# Black-box JS tests of the built package in ../../pkg (build it first).
# Installs the test dependencies when node_modules is missing or package.json changed, installs
# the freshly built package as a packed copy (as a user gets it from npm, honouring its `files`),
# then runs the node:test suite and the TypeScript consumer check. Non-zero exit on any failure.
set -euo pipefail
cd "$(dirname "$0")"
PKG_DIR="$(cd ../.. && pwd)/pkg"

if [ ! -f "$PKG_DIR/package.json" ]; then
  echo "tests/js: $PKG_DIR/package.json not found; build the package first" >&2
  exit 1
fi

stamp="node_modules/.deps-stamp"
want="$(sha256sum package.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm install --no-audit --no-fund
  echo "$want" > "$stamp"
fi

# Re-install the package from a fresh `npm pack` of pkg/, replacing the file: symlink, so that
# a rebuilt pkg is picked up and files missing from its `files` list are noticed.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tarball="$(cd "$PKG_DIR" && npm pack --ignore-scripts --silent --pack-destination "$tmp" | tail -n1)"
rm -rf node_modules/kapa-agent-wasm
mkdir -p node_modules/kapa-agent-wasm
tar -xzf "$tmp/$tarball" -C node_modules/kapa-agent-wasm --strip-components=1

status=0
node --test --test-reporter=spec --test-timeout=180000 ./*.test.mjs || status=1
echo "== tsc --noEmit --strict (types/consumer.ts)"
node_modules/.bin/tsc -p types/tsconfig.json || status=1
exit $status
