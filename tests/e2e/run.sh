#!/usr/bin/env bash
# End-to-end tests of the demo page: installs playwright-core if needed, builds the
# development server, and runs the suite in Debian's headless Chromium. Needs pkg/ built
# (bash scripts/build-pkg.sh) and /usr/bin/chromium (apt-get install chromium).
# Exits non-zero on failure. Screenshots land in tests/e2e/screenshots/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  echo "installing chromium (apt)" >&2
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if [ ! -f "$root/pkg/index.js" ]; then
  echo "pkg/index.js is missing: building the package" >&2
  bash "$root/scripts/build-pkg.sh"
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm install --no-audit --no-fund)
fi
# The demo page's libraries (marked, DOMPurify: www/package.json), served at /vendor/.
[ -f "$root/www/node_modules/marked/package.json" ] && [ -f "$root/www/node_modules/dompurify/package.json" ] \
  || (cd "$root/www" && npm ci --no-audit --no-fund)
(cd "$root" && cargo build -p kapa-dev-server)
export KAPA_DEV_SERVER="${KAPA_DEV_SERVER:-$root/target/debug/kapa-dev-server}"
cd "$here"
exec node --test --test-concurrency=1 demo.test.mjs governance.test.mjs persist.test.mjs
