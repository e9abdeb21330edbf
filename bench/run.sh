#!/usr/bin/env bash
# The benchmark's one command: bash bench/run.sh [--update-docs]
# Env: ROUNDS (7), CELL_BUDGET_MS (6000), SAMPLE_LIMIT_MS (10000), COLD_SAMPLES (7),
#      MEM_TURNS (1000), RUNTIMES (node,chromium), ONLY (workload ids), CHROMIUM (/usr/bin/chromium),
#      WARMUP_TURNS (30), GC_EACH (0), WARM_TURNS (0), CONTENDERS (all),
#      BASELINE_PKG (an older build's pkg/ dir: adds "ours, baseline", see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/ai ] && [ -d node_modules/playwright-core ] && [ -d node_modules/esbuild ] || npm install --no-audit --no-fund
exec node run.mjs "$@"
