#!/usr/bin/env bash
# bench_callgrind.sh — user-space instructions per GET /v1/me in the edge
# and in auth, counted by callgrind over a fixed number of requests (the
# machine's noise does not move them, so a change can be judged by them).
#
# Starts a second system of its own (scripts/run.sh, demo data, one auth
# process) whose edge and auth run under valgrind --tool=callgrind through
# [service.<name>] wrapper; makes BENCH_CALLGRIND_WARMUP (300) requests,
# zeroes the counters, makes BENCH_CALLGRIND_REQUESTS (2000) on one
# keep-alive connection, dumps, and prints the instructions per request of
# each and the edge's top functions. Called by bench.sh (BENCH_CALLGRIND=0
# skips it); needs valgrind (PEGASUS_DEPS_BENCH=1 ./scripts/deps.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WARM="${BENCH_CALLGRIND_WARMUP:-300}"
N="${BENCH_CALLGRIND_REQUESTS:-2000}"
WORK=$(mktemp -d /tmp/pgs-callgrind.XXXXXX)
PORT=$((30000 + RANDOM % 10000))
run_pid=""
cleanup() {
  [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null || true
  [ -n "${BENCH_CALLGRIND_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
VG="$(command -v valgrind) --tool=callgrind --callgrind-out-file=$WORK/cg.%p"
PEGASUS_HOME="$WORK/home" PEGASUS_PORT=$PORT PEGASUS_DEMO=1 PEGASUS_LOG_LEVEL=warn \
  PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=1000000000 PEGASUS_SERVICE_AUTH_PROCESSES=1 \
  PEGASUS_SERVICE_EDGE_PROCESSES=1 \
  PEGASUS_SERVICE_EDGE_WRAPPER="$VG" PEGASUS_SERVICE_AUTH_WRAPPER="$VG" \
  PEGASUS_EDGE_DEADLINE_MS=60000 ./scripts/run.sh >"$WORK/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do grep -q '^ready' "$WORK/run.log" 2>/dev/null && break; sleep 0.2; done
grep -q '^ready' "$WORK/run.log" || { tail -20 "$WORK/run.log"; echo "bench_callgrind: the system did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
TOKEN=$(python3 scripts/bench_token.py "$URL")
python3 - "$URL" "$TOKEN" "$WARM" "$N" <<'PY'
import http.client, subprocess, sys, time, urllib.parse
url, token, warm, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
u = urllib.parse.urlparse(url)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
auth = {"Authorization": "Bearer " + token}
def me():
    c.request("GET", "/v1/me", headers=auth)
    r = c.getresponse()
    r.read()
    return r.status
for _ in range(warm):
    assert me() == 200
def control(flag):
    subprocess.run(["callgrind_control", flag], check=True, capture_output=True)
control("-z")
for _ in range(n):
    assert me() == 200
control("-d")
time.sleep(1)
PY
# the dumps of the edge and auth processes: the newest part of each
for f in "$WORK"/cg.*.1; do
  cmd=$(sed -n 's/^cmd: //p' "$f" | head -1)
  case "$cmd" in *pegasus-edge*) who=edge ;; *pegasus-auth*) who=auth ;; *) continue ;; esac
  total=$(sed -n 's/^summary: //p;s/^totals: //p' "$f" | tail -1 | cut -d' ' -f1)
  [ -n "$total" ] || continue
  python3 -c 'import sys; print("%s: %.0f instructions per GET /v1/me (callgrind, %s requests)" % (sys.argv[1], int(sys.argv[2]) / int(sys.argv[3]), sys.argv[3]))' "$who" "$total" "$N"
  # the functions that cost the most themselves (callgrind_annotate's list
  # starts with the roots' inclusive totals — main, and each thread's entry
  # point with the frames under it, which share its figure —: skipped)
  callgrind_annotate --threshold=100 "$f" 2>/dev/null | sed -n '/file:function/,$p' |
    grep -E '^ *[0-9,]+ ' | python3 -c 'import sys
n, total, shown, roots = int(sys.argv[1]), int(sys.argv[3]), 0, set()
for l in sys.stdin:
    parts = l.split()
    ir, name = int(parts[0].replace(",", "")), parts[-2]
    if ir > 0.3 * total or "start_thread" in name or name.endswith(":clone"):
        roots.add(ir)
    if ir in roots or shown == 8:
        continue
    shown += 1
    print("  %s %8.0f  %s" % (sys.argv[2], ir / n, name[:100]))' "$N" "$who" "$total"
done
