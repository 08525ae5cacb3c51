#!/usr/bin/env bash
# web.sh — assemble the web app the edge serves: build/web = web/ + the API
# reference renderer (swagger-ui-dist) copied from node_modules. Runs
# `npm ci` (quietly, with the project's own Node and npm: scripts/node.sh)
# only when node_modules is missing or package-lock.json changed. Third-party
# code is never committed: it comes from the pinned lock.
#
#   scripts/web.sh            assemble; without npm the docs page says the
#                             renderer is missing, everything else works
#   scripts/web.sh --strict   fail when the npm packages cannot be installed
#
# Files are replaced one by one with a rename, so a running edge never serves
# half a file. Prints the folder it assembled.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STRICT=0
[ "${1:-}" = --strict ] && STRICT=1
OUT="$ROOT/build/web"
STAMP="$ROOT/node_modules/.pegasus-lock.sha256"
# One assembly at a time (several systems may start at once, e.g. in tests).
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.web.lock"
flock 9

npm_ready=0
if "$ROOT/scripts/node.sh" check >/dev/null; then
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  have=$(cat "$STAMP" 2>/dev/null || true)
  if [ "$want" = "$have" ] && [ -d node_modules/swagger-ui-dist ] && [ -d node_modules/playwright-core ]; then
    npm_ready=1
  else
    # --ignore-scripts: no package needs an install script (swagger-ui-dist's
    # telemetry dependency has one; it never runs here).
    if SCARF_ANALYTICS=false "$ROOT/scripts/node.sh" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null; then
      echo "$want" >"$STAMP"
      npm_ready=1
    fi
  fi
fi
if [ "$npm_ready" != 1 ]; then
  echo "web.sh: the npm packages are not installed (npm ci failed or npm is missing)" >&2
  [ "$STRICT" = 1 ] && exit 1
fi

# copy SRC DST: replace DST with SRC unless they are the same bytes.
copy() {
  if ! cmp -s "$1" "$2"; then
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp.$$"
    chmod 644 "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
  fi
}

mkdir -p "$OUT"
(cd web && find . -type f ! -name '*~' -print0) | while IFS= read -r -d '' f; do
  copy "web/${f#./}" "$OUT/${f#./}"
done
# Files that left web/ leave build/web too (vendor/ is handled below).
(cd "$OUT" && find . -type f ! -path './vendor/*' -print0) | while IFS= read -r -d '' f; do
  [ -e "web/${f#./}" ] || rm -f "$OUT/${f#./}"
done
if [ "$npm_ready" = 1 ]; then
  for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE package.json; do
    copy "node_modules/swagger-ui-dist/$f" "$OUT/vendor/swagger-ui/$f"
  done
fi
echo "$OUT"
