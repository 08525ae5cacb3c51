#!/usr/bin/env bash
# test.sh — install what is missing, build, and run every test:
#   1. C unit tests (cmocka) under AddressSanitizer + UndefinedBehaviorSanitizer
#   2. integration tests (pytest) against the real processes, real Redis
# Extra arguments go to pytest (e.g. -k revoke).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

./scripts/deps.sh
make -s -j2 all
make -s -j2 SAN=1 all unit

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
unit_failed=0
for t in build/san/tests/test_*; do
  [ -x "$t" ] || continue
  echo "== $t"
  "$t" || unit_failed=1
done
[ "$unit_failed" = 0 ] || { echo "unit tests failed" >&2; exit 1; }

exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
