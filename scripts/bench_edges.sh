#!/usr/bin/env bash
# bench_edges.sh — GET /v1/me with one edge and with BENCH_EDGES_N (2)
# edges on one port (SO_REUSEPORT), each case a system of its own
# (scripts/run.sh, demo data), nothing pinned: on a 2-core machine wrk
# shares the cores with the servers, so the figures are for comparing the
# two cases of the same run, not a target. wrk: 2 threads, 50 connections,
# BENCH_DURATION (10s), BENCH_ROUNDS (3) rounds, medians. Called by
# bench.sh (BENCH_EDGES=0 skips it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DUR="${BENCH_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-3}"
N="${BENCH_EDGES_N:-2}"
WORK=$(mktemp -d /tmp/pgs-edges.XXXXXX)
run_pid=""
cleanup() {
  [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

one_case() {
  local edges=$1 port=$((40000 + RANDOM % 10000))
  PEGASUS_HOME="$WORK/home-$edges" PEGASUS_PORT=$port PEGASUS_DEMO=1 PEGASUS_LOG_LEVEL=warn \
    PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=1000000000 PEGASUS_EDGE_MAX_CONNECTIONS_PER_ADDRESS=100000 \
    PEGASUS_SERVICE_EDGE_PROCESSES=$edges ./scripts/run.sh >"$WORK/run-$edges.log" 2>&1 &
  run_pid=$!
  for _ in $(seq 1 300); do grep -q '^ready' "$WORK/run-$edges.log" 2>/dev/null && break; sleep 0.2; done
  grep -q '^ready' "$WORK/run-$edges.log" || { tail "$WORK/run-$edges.log"; echo "bench_edges: no start" >&2; exit 1; }
  local token rps
  token=$(python3 scripts/bench_token.py "http://127.0.0.1:$port")
  declare -a all=()
  for _ in $(seq 1 "$ROUNDS"); do
    rps=$(wrk -t2 -c50 -d"$DUR" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/me" |
      sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
    all+=("${rps%.*}")
  done
  printf 'edges=%s  GET /v1/me req/s (rounds: %s) median %s\n' "$edges" "${all[*]}" \
    "$(printf '%s\n' "${all[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  kill -TERM "$run_pid"; wait "$run_pid" 2>/dev/null || true
  run_pid=""
}
echo "edges on one port, unpinned (wrk on the same cores):"
one_case 1
one_case "$N"
