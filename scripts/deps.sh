#!/usr/bin/env bash
# deps.sh — install every Debian package Pegasus needs to build, run and test.
# Idempotent and quiet when nothing is missing. Leaves an existing node/npm alone
# (Debian's npm conflicts with other Node.js builds); the project's own Node
# comes from scripts/node.sh.
set -euo pipefail

PKGS=(
  build-essential pkg-config ca-certificates curl procps
  libzmq3-dev libhiredis-dev libsqlite3-dev libsodium-dev
  libjansson-dev uthash-dev libcmocka-dev zlib1g-dev
  libxml2-dev libcmark-dev libcurl4-openssl-dev
  redis-server
  python3 python3-pytest python3-requests python3-jsonschema
  chromium fonts-dejavu-core
)
# The JavaScript steps run on the project's own Node (scripts/node.sh), which
# npm installs once from tools/node's lock. Any npm will do for that, so an
# existing node/npm (any build) is left alone — Debian's npm conflicts with
# other Node.js builds — and Debian's nodejs and npm come only when there is
# no npm at all.
if ! command -v npm >/dev/null 2>&1; then
  command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
  PKGS+=(npm)
fi
if [ "${PEGASUS_DEPS_BENCH:-0}" = 1 ]; then
  PKGS+=(nginx-light wrk strace valgrind)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian may start its own redis-server (127.0.0.1:6379) on install. Pegasus
# runs one per system on a unix socket and never uses it: stop the service,
# and only it (other Pegasus systems' servers may be running).
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now redis-server >/dev/null 2>&1 || true
elif [ -x /etc/init.d/redis-server ]; then
  /etc/init.d/redis-server stop >/dev/null 2>&1 || true
fi
exit 0
