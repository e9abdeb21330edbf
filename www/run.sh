#!/usr/bin/env bash
# Installs the page's npm libraries if missing, builds the development server and starts it
# with this repository as its root.
# Assumes the package was built into pkg/ (bash scripts/build-pkg.sh). Extra arguments go to
# the server, e.g. `bash www/run.sh --port 9000 --token-ttl-secs 40`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ ! -f pkg/index.js ]; then
  echo "warning: pkg/index.js is missing; build the package first: bash scripts/build-pkg.sh" >&2
fi
# The demo page's libraries (marked, DOMPurify: www/package.json), served at /vendor/.
[ -f www/node_modules/marked/package.json ] && [ -f www/node_modules/dompurify/package.json ] \
  || (cd www && npm ci --no-audit --no-fund)
# A debug build: shared with the test suite, and fast enough for one person's demo.
cargo build -p kapa-dev-server
exec ./target/debug/kapa-dev-server --root "$PWD" "$@"
