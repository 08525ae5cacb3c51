#!/usr/bin/env bash
# tool-install.sh — installs the npm packages of one tool folder (tools/NAME:
# its package.json and pinned package-lock.json) with the project's own Node
# and npm (scripts/node.sh), once per lock: `npm ci` runs again only when
# the lock changed. docs/javascript.md says why each tool has its own lock.
#   scripts/tool-install.sh NAME
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NAME=${1:?usage: tool-install.sh NAME}
DIR="$ROOT/tools/$NAME"
[ -f "$DIR/package-lock.json" ] || { echo "tool-install.sh: no $DIR/package-lock.json" >&2; exit 2; }
STAMP="$DIR/node_modules/.pegasus-lock.sha256"
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.tool-$NAME.lock"
flock 9
want=$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)
[ "$(cat "$STAMP" 2>/dev/null || true)" = "$want" ] && exit 0
"$ROOT/scripts/node.sh" check >/dev/null
(cd "$DIR" && "$ROOT/scripts/node.sh" npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
echo "$want" >"$STAMP"
