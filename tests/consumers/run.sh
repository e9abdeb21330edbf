#!/usr/bin/env bash
# The consumer-fixture matrix (README.md here): packs pkg/ once, installs the tarball into every
# fixture as a user would (npm install <tarball>, one shared npm cache; skipped when the tarball,
# package.json and lockfile are unchanged), copies the shared app source into each browser
# fixture, builds the development server, and runs consumers.test.mjs (each fixture built with
# its tool's default config, or served by its dev server, and driven in headless Chromium;
# Node as a script). Needs pkg/ built (bash scripts/build-pkg.sh) and /usr/bin/chromium.
# CONSUMERS=vite7-build,node runs a subset of the cases. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
cd "$here"

FIXTURES=(plain vite5 vite6 vite7 webpack rollup esbuild worker node)
BROWSER_FIXTURES=(plain vite5 vite6 vite7 webpack rollup esbuild worker)
export npm_config_cache="$here/.npm-cache" npm_config_audit=false npm_config_fund=false \
  npm_config_update_notifier=false

if [ ! -f "$root/pkg/package.json" ]; then
  echo "tests/consumers: $root/pkg/package.json not found; build the package first" >&2
  exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "tests/consumers: no Chromium at ${CHROMIUM:-/usr/bin/chromium} (bash scripts/setup.sh installs it)" >&2
  exit 1
fi

t0=$SECONDS
# The harness's own dependency (playwright-core).
stamp="node_modules/.install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --silent
  echo "$want" > "$stamp"
fi

# Pack once. npm pack gives the same bytes for the same files, so an unchanged package keeps
# its hash and a rebuilt one changes it.
rm -rf .pack && mkdir .pack
tarball="$here/.pack/$(cd "$root/pkg" && npm pack --ignore-scripts --silent --pack-destination "$here/.pack" | tail -n1)"
tar_sum="$(sha256sum "$tarball" | cut -d' ' -f1)"

# Install into each fixture (in parallel: it is mostly waiting on the network or the cache).
install_fixture() {
  local dir="$1" stamp want
  stamp="$dir/node_modules/.install-stamp"
  want="$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)-$tar_sum"
  # The stamp also records which packages node_modules holds, so that anything installed there
  # by hand since (e.g. zod-to-json-schema) makes the next run reinstall and prune it.
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want-$(listing "$dir")" ]; then return 0; fi
  # The tool versions come from the committed lockfile; the package goes in as `npm install
  # ./kapa-agent-wasm-x.y.z.tgz` does (--no-save keeps the lockfile as committed). The old copy
  # is removed first so a rebuilt tarball at the same path is unpacked again, and Vite's
  # pre-bundled copy of the old one goes with it.
  rm -rf "$dir/node_modules/kapa-agent-wasm" "$dir/node_modules/.vite"
  (cd "$dir" && npm install --no-save --prefer-offline --no-progress --loglevel=error "$tarball") \
    > "$dir/.install.log" 2>&1 || { echo "npm install failed in tests/consumers/$dir:" >&2; cat "$dir/.install.log" >&2; return 1; }
  rm -f "$dir/.install.log"
  echo "$want-$(listing "$dir")" > "$stamp"
}
listing() { (cd "$1/node_modules" && ls -d -- * @*/* 2>/dev/null | sha256sum | cut -c1-16); }
pids=()
for dir in "${FIXTURES[@]}"; do install_fixture "$dir" & pids+=($!); done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || exit 1

# The shared app source, the same in every browser fixture (src/ is generated; see .gitignore).
for dir in "${BROWSER_FIXTURES[@]}"; do
  rm -rf "$dir/src" && mkdir "$dir/src" && cp app/*.js "$dir/src/"
done
echo "tests/consumers: fixtures ready in $((SECONDS - t0)) s"

(cd "$root" && cargo build -q -p kapa-dev-server)
export KAPA_DEV_SERVER="${KAPA_DEV_SERVER:-$root/target/debug/kapa-dev-server}"

status=0
node --test --test-reporter=spec --test-concurrency=1 consumers.test.mjs || status=$?
echo "tests/consumers: $((SECONDS - t0)) s in all"
exit $status
