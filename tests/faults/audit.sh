#!/usr/bin/env bash
# What the npm package ships: pkg/package.json must have no dependencies (only optional peers),
# so `npm audit --omit=dev --omit=peer --omit=optional` has nothing to flag. Also prints, for
# information, `npm audit` of the test folders' lockfiles (dev tools, not shipped).
# Exits non-zero if the package gained a dependency or the audit of what it ships fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pkgjson="$root/pkg/package.json"
[ -f "$pkgjson" ] || { echo "audit: build the package first (bash scripts/build-pkg.sh)" >&2; exit 1; }
node - "$pkgjson" <<'JS'
const p = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const fail = (m) => { console.error(`audit: ${m}`); process.exit(1); };
for (const k of ['dependencies', 'bundleDependencies', 'bundledDependencies', 'optionalDependencies']) {
  if (p[k] && Object.keys(p[k]).length) fail(`${k} in ${process.argv[2]}: ${Object.keys(p[k])}`);
}
const meta = p.peerDependenciesMeta ?? {};
for (const peer of Object.keys(p.peerDependencies ?? {})) {
  if (!meta[peer]?.optional) fail(`peer dependency ${peer} is not optional`);
}
if (p.scripts && ['preinstall', 'install', 'postinstall'].some((s) => p.scripts[s])) fail('install scripts');
console.log(`audit: ${p.name} ships no dependencies (optional peers: ${Object.keys(p.peerDependencies ?? {}).join(', ') || 'none'})`);
JS
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp "$pkgjson" "$tmp/package.json"
(cd "$tmp" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --omit=peer --omit=optional >/dev/null 2>&1 \
  && npm audit --omit=dev --omit=peer --omit=optional)
for d in tests/e2e tests/faults tests/js; do
  if [ -f "$root/$d/package-lock.json" ]; then
    echo "== npm audit $d (information only: test tooling, not shipped)"
    (cd "$root/$d" && npm audit 2>&1 | tail -3) || true
  fi
done
