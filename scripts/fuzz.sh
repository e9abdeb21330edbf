#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz / libFuzzer, nightly toolchain) of every target in
# fuzz/fuzz_targets/, SECONDS each (default 5), seeded by the kept corpora in fuzz/corpus/.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
# Prints each target's executions and coverage (libFuzzer's cov / ft) and fails on a crash
# (the input that crashed is kept in fuzz/artifacts/<target>/). New interesting inputs go to a
# scratch folder, so the repository's corpora do not change; KEEP=1 adds them to
# fuzz/corpus/<target>/ instead (then `cargo +"$(cat ../scripts/nightly-toolchain)" fuzz cmin <target>` in fuzz/ before committing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"

secs="${1:-5}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_split json_reader jcs schema machine)

mkdir -p target
scratch="$(mktemp -d "$PWD/target/fuzz-run.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "corpus/$t"
  dirs=("$scratch/$t" "corpus/$t")
  [ "${KEEP:-}" = 1 ] && dirs=("corpus/$t")
  log="$scratch/$t.log"
  if ! cargo +"$(cat ../scripts/nightly-toolchain)" fuzz run -O -s none "$t" "${dirs[@]}" -- -max_total_time="$secs" -max_len=8192 \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -v '^ *[0-9]*: \|^ *at ' "$log" | tail -40
    echo "fuzz: $t crashed (input kept in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]*' || true)
  corp=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -o 'corp: [0-9]*' || true)
  echo "fuzz: $t: $runs executions in ${secs} s, $cov, $corp"
done
