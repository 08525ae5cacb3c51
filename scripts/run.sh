#!/usr/bin/env bash
# run.sh — install what is missing, build, and run the whole system in the
# foreground: its own redis-server (unix socket, append-only) and
# pegasus-master, which starts the edge and every worker. Ctrl-C (SIGINT) or
# SIGTERM stops everything.
#
#   PEGASUS_HOME   data, sockets and logs (default ./var)
#   PEGASUS_PORT   HTTP port (default 8080)
#   PEGASUS_DEMO   1 (default): create demo users and a team when the
#                  databases are empty, and print their logins; 0: nothing
#   PEGASUS_BUILD  release (default) or san (AddressSanitizer build)
#   PEGASUS_EDGE_WEB_ROOT  the web app's folder (default: build/web, which
#                  scripts/web.sh assembles from web/ and node_modules)
#   any PEGASUS_<SECTION>_<KEY> overrides config/pegasus.conf
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

./scripts/deps.sh
if [ "${PEGASUS_BUILD:-release}" = san ]; then
  make -s -j2 SAN=1 all >/dev/null
  BIN="$ROOT/build/san/bin"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
else
  make -s -j2 all >/dev/null
  BIN="$ROOT/build/bin"
fi

export PEGASUS_HOME=$(realpath -m "${PEGASUS_HOME:-$ROOT/var}")
export PEGASUS_PORT="${PEGASUS_PORT:-8080}"
export PEGASUS_EDGE_PORT="$PEGASUS_PORT"
export PEGASUS_CONFIG="${PEGASUS_CONFIG:-$ROOT/config/pegasus.conf}"
if [ -z "${PEGASUS_EDGE_WEB_ROOT:-}" ]; then
  # web/ plus the API reference renderer from node_modules (scripts/web.sh).
  ./scripts/web.sh >/dev/null
  export PEGASUS_EDGE_WEB_ROOT="$ROOT/build/web"
fi
export PEGASUS_EDGE_OPENAPI="${PEGASUS_EDGE_OPENAPI:-$ROOT/config/openapi.json}"
DEMO="${PEGASUS_DEMO:-1}"
mkdir -p "$PEGASUS_HOME"/{data,log,redis}
chmod 700 "$PEGASUS_HOME"

REDIS_SOCK="$PEGASUS_HOME/redis.sock"
redis_pid="" master_pid=""
stop() {
  trap - INT TERM EXIT
  if [ -n "$master_pid" ] && kill -0 "$master_pid" 2>/dev/null; then
    kill -TERM "$master_pid" 2>/dev/null || true
    wait "$master_pid" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Redis runs under the processes' scheduling policy too ([master] scheduler;
# for Redis, which run.sh starts, PEGASUS_MASTER_SCHEDULER: batch or other).
SCHED=()
if [ "${PEGASUS_MASTER_SCHEDULER:-batch}" = batch ] && command -v chrt >/dev/null 2>&1; then
  SCHED=(chrt --batch 0)
fi
"${SCHED[@]}" redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
  --dir "$PEGASUS_HOME/redis" --appendonly yes --save "" \
  --logfile "$PEGASUS_HOME/log/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 1 100); do
  redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$REDIS_SOCK" ping >/dev/null 2>&1 || { echo "run.sh: redis-server did not start (see $PEGASUS_HOME/log/redis.log)" >&2; exit 1; }

# The edge holds up to [edge] max_connections (16,384) connections and
# raises its own soft file-descriptor limit to what that needs; make sure
# the hard limit allows it (root may raise it; nobody else can).
hard_fds=$(ulimit -Hn)
if [ "$hard_fds" != unlimited ] && [ "$hard_fds" -lt 65536 ]; then
  ulimit -Hn 65536 2>/dev/null || true
fi
"$BIN/pegasus-master" -c "$PEGASUS_CONFIG" 2>>"$PEGASUS_HOME/log/master.log" &
master_pid=$!

URL="http://127.0.0.1:$PEGASUS_PORT"
ready=0
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then ready=1; break; fi
  kill -0 "$master_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "run.sh: the system did not become ready; logs are in $PEGASUS_HOME/log" >&2
  exit 1
fi

if [ "$DEMO" = 1 ]; then
  PEGASUSCTL="$BIN/pegasusctl" ./scripts/demo.sh
fi
echo "Pegasus is running at $URL  (data in $PEGASUS_HOME; Ctrl-C stops it)"
[ "$DEMO" = 1 ] && ./scripts/demo.sh --print
echo "ready"
wait "$master_pid" || true
