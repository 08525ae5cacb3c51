#!/usr/bin/env bash
# openapi-check.sh — the API description checked with the tools integrators
# use, pinned in tools/openapi/package-lock.json (@redocly/cli,
# openapi-typescript, openapi-fetch, typescript, @types/node) and run on the
# project's own Node (scripts/node.sh). `npm ci` runs only when
# tools/openapi/node_modules is missing or the lock changed.
#
#   scripts/openapi-check.sh                 install, then lint config/openapi.json
#                                            and config/openapi-app.json
#   scripts/openapi-check.sh install         install only (scripts/deps.sh runs it)
#   scripts/openapi-check.sh lint [--format F] FILE...
#                                            redocly lint, the recommended rules
#                                            (redocly.yaml); exits 1 on an error
#   scripts/openapi-check.sh types DOC OUT   openapi-typescript: DOC (a file) → OUT (.d.ts)
#   scripts/openapi-check.sh client DOC DIR [SRC]
#                                            types from DOC, then SRC (default
#                                            tests/openapi/client.ts)
#                                            compiled with tsc --strict into DIR
#                                            (run it: scripts/node.sh node DIR/client.js)
#
# No tool here talks to any server but the npm registry (at install):
# redocly's telemetry and update check are off.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="$ROOT/tools/openapi"
NODE="$ROOT/scripts/node.sh"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true

install() {
  "$ROOT/scripts/tool-install.sh" openapi
}

lint() {
  local format=(--format stylish)
  case " $* " in *" --format"*) format=() ;; esac
  # --max-problems: every problem is listed, not the first 100.
  "$NODE" node "$DIR/node_modules/@redocly/cli/bin/cli.js" lint --config "$ROOT/redocly.yaml" \
    "${format[@]}" --max-problems 10000 "$@"
}

types() {
  "$NODE" node "$DIR/node_modules/openapi-typescript/bin/cli.js" "$1" --output "$2"
}

# client DOC DIR: DIR gets api.d.ts (from DOC), client.ts, a tsconfig and,
# compiled, client.js; its node_modules is the tools' own.
client() {
  local doc=$1 out=$2 src=${3:-$ROOT/tests/openapi/client.ts}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  ln -sfn "$DIR/node_modules" "$out/node_modules"
  types "$doc" "$out/api.d.ts"
  cp "$src" "$out/client.ts"
  printf '{"type": "module"}\n' >"$out/package.json"
  cat >"$out/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "noImplicitOverride": true,
    "noFallthroughCasesInSwitch": true,
    "target": "ES2022",
    "lib": ["ES2022"],
    "types": ["node"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "skipLibCheck": false,
    "outDir": "."
  },
  "files": ["client.ts", "api.d.ts"]
}
EOF
  (cd "$out" && "$NODE" node "$DIR/node_modules/typescript/bin/tsc" --strict -p tsconfig.json)
}

cmd="${1:-all}"
[ $# -gt 0 ] && shift
case "$cmd" in
  install) install ;;
  lint) install; lint "$@" ;;
  types) install; types "$@" ;;
  client) install; client "$@" ;;
  all) install; lint "$ROOT/config/openapi.json" "$ROOT/config/openapi-app.json" ;;
  *) echo "usage: scripts/openapi-check.sh [install | lint FILE... | types DOC OUT | client DOC DIR]" >&2; exit 2 ;;
esac
