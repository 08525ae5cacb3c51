#!/usr/bin/env bash
# run.sh — build the libFuzzer targets (tests/fuzz/fuzz_*.c, including
# fuzz_edge_request) and run each for a bounded time.
#   tests/fuzz/run.sh [seconds per target (default 20)] [target …]
# Corpora grow under build/fuzz/corpus/<target> (seeded from
# tests/fuzz/seeds/<target>), crash inputs land in build/fuzz/artifacts/,
# full logs in build/fuzz/logs/. Exits non-zero when any target crashed,
# leaked, timed out or failed to build. Needs clang (apt-get install clang).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

secs=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

command -v clang >/dev/null || { echo "run.sh: clang is needed (apt-get install clang)" >&2; exit 2; }
make -s -f tests/fuzz/Makefile -j"$(nproc)" || { echo "run.sh: build failed" >&2; exit 2; }

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=0
for t in "${targets[@]}"; do
  bin=build/fuzz/$t
  corpus=build/fuzz/corpus/$t
  art=build/fuzz/artifacts/$t/
  log=build/fuzz/logs/$t.log
  mkdir -p "$corpus" "$art" "$(dirname "$log")"
  [ -d "tests/fuzz/seeds/$t" ] && cp -n tests/fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null
  echo "== $t (${secs}s)"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art" "$corpus" >"$log" 2>&1
  rc=$?
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^Done [0-9]+ runs' "$log" | tr '\n' ' '
  echo "corpus=$(find "$corpus" -type f | wc -l) rc=$rc"
  if [ $rc -ne 0 ]; then
    failed=1
    echo "!! $t failed; see $log and $art" >&2
    grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | head -5 >&2
  fi
done
exit $failed
