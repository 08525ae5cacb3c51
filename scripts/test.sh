#!/usr/bin/env bash
# test.sh — install what is missing, build, and run every test:
#   1. C unit tests (cmocka) under AddressSanitizer + UndefinedBehaviorSanitizer
#   2. integration tests (pytest) against the real processes, real Redis, and
#      the API description checked with real tools (scripts/openapi-check.sh)
#   3. browser tests of the web app (node --test, headless chromium)
# Extra arguments go to pytest (e.g. -k revoke). PEGASUS_WEB_TESTS=0 skips 3.
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

# The OpenAPI tools the integration tests run (tools/openapi, pinned; npm ci
# from its lock when it is missing or changed).
./scripts/openapi-check.sh install

py_rc=0
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" || py_rc=$?

# 3. the web app in a real browser (node --test on the project's own Node,
#    scripts/node.sh; playwright-core; Debian's chromium) against its own
#    system; screenshots in build/web-test-output.
web_rc=0
if [ "${PEGASUS_WEB_TESTS:-1}" != 0 ]; then
  echo "== browser tests (tests/web)"
  if ./scripts/web.sh --strict >/dev/null; then
    ./scripts/node.sh node --test tests/web/app.test.mjs tests/web/usage.test.mjs || web_rc=$?
  else
    web_rc=1
  fi
fi
[ "$py_rc" = 0 ] || echo "integration tests failed (exit $py_rc)" >&2
[ "$web_rc" = 0 ] || echo "browser tests failed (exit $web_rc)" >&2
[ "$py_rc" = 0 ] && [ "$web_rc" = 0 ]
