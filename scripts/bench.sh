#!/usr/bin/env bash
# bench.sh — measure Pegasus against the peer architecture in the same run.
#
# Starts the whole system (scripts/run.sh, demo data) and an nginx baseline:
# nginx proxy_pass to a second nginx server block that returns a JSON body of
# the size of Pegasus's /v1/me answer. Servers are pinned to core 0, wrk to
# core 1 (when there are two cores). wrk: 1 thread, 50 connections, 10 s, 3
# rounds each, authenticated GET /v1/me. Prints requests/s, p50 and p99 of
# each, medians, and the ratio Pegasus / nginx; the CPU time per request of
# the edge, the auth processes and Redis (utime + stime from /proc over each
# round) and, in one extra
# 3-second round under strace -c, its system calls per request
# (BENCH_SYSCALLS=0 skips that round).
#   BENCH_DURATION (10s)  BENCH_ROUNDS (3)  BENCH_CONNECTIONS (50)
#
# Then instructions per request of the edge and auth under callgrind
# (scripts/bench_callgrind.sh; BENCH_CALLGRIND=0 skips it) and req/s with
# one edge and with two (scripts/bench_edges.sh; BENCH_EDGES=0 skips it).
#
# Then the usage service's counting rate (scripts/bench_usage_consume.py,
# BENCH_USAGE_CONSUME=0 skips it): BENCH_USAGE_CONSUME_ENTRIES (100000)
# entries added at once, entries counted per second.
#
# Then BENCH_IDLE_CONNECTIONS (10000) idle keep-alive connections are held
# (scripts/bench_idle.py; BENCH_IDLE=0 skips it): the edge's RSS per
# connection (target <= 20 KB).
#
# Then the search case (BENCH_SEARCH=0 skips it): scripts/bench_search.py
# creates BENCH_SEARCH_BOTS (10) bots of BENCH_SEARCH_DOCS (10000) documents
# of ~2 KB each in alice's workspace (fixed seed, 20,000-word Zipf
# vocabulary), reporting p50/p99 of document creation; then wrk runs 2–4-word
# queries mixing common and rare terms against one bot at c=10 and reports
# p50/p99 of GET /v1/bots/{id}/search (target: p50 <= 5 ms).
#
# Then the chat cases (BENCH_CHAT=0 skips them), on the search case's bot of
# 10,000 documents (or, when that case was skipped, one bot made the same
# way), plus one document with a known fact (scripts/bench_chat.py): wrk at
# c=10 POSTs the question of that fact to one conversation (blocking send,
# pegasus-lite; target p50 <= 5 ms), then BENCH_CHAT_STREAMS (200) streamed
# sends, one at a time, measure the time from the request to the first
# "event: message.delta" byte (target <= 10 ms).
#
# Then the usage case (BENCH_USAGE=0 skips it): scripts/bench_usage.py gives
# the demo team Acme a year of usage, BENCH_USAGE_ROWS_PER_DAY (700) rows of
# usage_daily a day (255,500), sent as pgs:usage entries and counted by the
# usage processes (the time that takes is printed), then times
# BENCH_USAGE_REQUESTS (50) GET /v1/usage over 365 days per grouping, as the
# owner and as a member (own requests only): p50/p99 (target <= 20 ms).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PEGASUS_DEPS_BENCH=1 ./scripts/deps.sh
make -s -j2 all

DUR="${BENCH_DURATION:-10s}"
ROUNDS="${BENCH_ROUNDS:-3}"
CONNS="${BENCH_CONNECTIONS:-50}"
WORK=$(mktemp -d /tmp/pgs-bench.XXXXXX)
chmod 755 "$WORK"  # nginx workers run as nobody and read body.json
PORT=$((20000 + RANDOM % 10000))
NGINX_PORT=$((PORT + 1))
UPSTREAM_PORT=$((PORT + 2))
SERVER_CPU=0 CLIENT_CPU=1
[ "$(nproc)" -ge 2 ] || CLIENT_CPU=0

run_pid="" nginx_started=0
cleanup() {
  [ -n "$run_pid" ] && kill -TERM "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null || true
  [ "$nginx_started" = 1 ] && nginx -c "$WORK/nginx.conf" -p "$WORK" -s stop 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "starting Pegasus on 127.0.0.1:$PORT (pinned to cpu $SERVER_CPU)"
PEGASUS_HOME="$WORK/home" PEGASUS_PORT=$PORT PEGASUS_DEMO=1 PEGASUS_LOG_LEVEL=warn \
  PEGASUS_SERVICE_EDGE_PROCESSES=1 \
  PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE=1000000000 PEGASUS_PLAN_PRO_MAX_DOCUMENTS_PER_BOT=1000000 \
  PEGASUS_PLAN_PRO_MESSAGES_PER_MONTH=1000000000 PEGASUS_EDGE_MAX_CONNECTIONS_PER_ADDRESS=100000 \
  taskset -c $SERVER_CPU ./scripts/run.sh >"$WORK/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 300); do grep -q '^ready' "$WORK/run.log" 2>/dev/null && break; sleep 0.2; done
grep -q '^ready' "$WORK/run.log" || { cat "$WORK/run.log"; echo "bench: Pegasus did not start" >&2; exit 1; }

URL="http://127.0.0.1:$PORT"
TOKEN=$(python3 scripts/bench_token.py "$URL") || { cat "$WORK/run.log"; tail "$WORK/home/log/"*.log; exit 1; }
BODY_BYTES=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$URL/v1/me" | wc -c)

mkdir -p "$WORK/logs"
python3 - "$WORK/body.json" "$BODY_BYTES" <<'PY'
import sys
n = int(sys.argv[2])
body = '{"id":"usr_x","object":"user","pad":"' + "x" * max(0, n - 40) + '"}'
open(sys.argv[1], "w").write(body[:n] if len(body) > n else body)
PY
cat >"$WORK/nginx.conf" <<NGINX
worker_processes 1;
worker_cpu_affinity 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$UPSTREAM_PORT;
    default_type application/json;
    root $WORK;
    location / { try_files /body.json =404; }
  }
}
NGINX
taskset -c $SERVER_CPU nginx -c "$WORK/nginx.conf" -p "$WORK"
nginx_started=1
curl -fsS "http://127.0.0.1:$NGINX_PORT/me" >/dev/null

# wrk: one round → "rps p50_ms p99_ms"
one_round() {
  local url=$1; shift
  taskset -c $CLIENT_CPU wrk -t1 -c"$CONNS" -d"$DUR" --latency "$@" "$url" >"$WORK/wrk.out" 2>&1
  python3 - "$WORK/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x * 1000 if m.group(2) == "s" else x
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {non2xx.group(1) if non2xx else 0}")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

STATUS_JSON=$(PEGASUS_HOME="$WORK/home" ./build/bin/pegasusctl --json status)
pids_of() { python3 -c '
import json, sys
print(" ".join(str(p["pid"]) for p in json.loads(sys.argv[1])["processes"] if p["service"] == sys.argv[2]))' "$STATUS_JSON" "$1"; }
EDGE_PID=$(pids_of edge | cut -d" " -f1)
AUTH_PIDS=$(pids_of auth)
REDIS_PID=$(python3 -c '
import os, sys
for d in os.listdir("/proc"):
    try:
        cmd = open("/proc/%s/cmdline" % d, "rb").read().decode(errors="replace") if d.isdigit() else ""
    except OSError:
        continue
    if cmd.startswith("redis-server") and sys.argv[1] in cmd:
        print(d)
        break' "$WORK/home/redis.sock")
# CPU time so far (utime + stime), in microseconds, of the processes given
cpu_us() {
  python3 -c 'import os, sys
t = 0
for pid in sys.argv[1:]:
    try:
        f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])
    except OSError:
        pass
print(t * 1000000 // os.sysconf("SC_CLK_TCK"))' "$@"
}
edge_cpu_us() { cpu_us "$EDGE_PID"; }
per_req() { python3 -c 'import sys; print("%.1f" % ((int(sys.argv[2]) - int(sys.argv[1])) / max(1, int(sys.argv[3]))))' "$@"; }
requests_done() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$WORK/wrk.out"; }

declare -a P_RPS P_P50 P_P99 N_RPS N_P50 N_P99 P_CPU P_ACPU P_RCPU
printf '%-8s %-8s %10s %9s %9s %8s %9s %9s %9s\n' target round req/s p50_ms p99_ms non2xx edge_us auth_us redis_us
for i in $(seq 1 "$ROUNDS"); do
  cpu0=$(edge_cpu_us); acpu0=$(cpu_us $AUTH_PIDS); rcpu0=$(cpu_us $REDIS_PID)
  read -r rps p50 p99 bad < <(one_round "$URL/v1/me" -H "Authorization: Bearer $TOKEN")
  n=$(requests_done)
  cpu=$(per_req "$cpu0" "$(edge_cpu_us)" "$n")
  acpu=$(per_req "$acpu0" "$(cpu_us $AUTH_PIDS)" "$n")
  rcpu=$(per_req "$rcpu0" "$(cpu_us $REDIS_PID)" "$n")
  P_RPS+=("$rps"); P_P50+=("$p50"); P_P99+=("$p99"); P_CPU+=("$cpu"); P_ACPU+=("$acpu"); P_RCPU+=("$rcpu")
  printf '%-8s %-8s %10s %9s %9s %8s %9s %9s %9s\n' pegasus "$i" "$rps" "$p50" "$p99" "$bad" "$cpu" "$acpu" "$rcpu"
  read -r rps p50 p99 bad < <(one_round "http://127.0.0.1:$NGINX_PORT/me")
  N_RPS+=("$rps"); N_P50+=("$p50"); N_P99+=("$p99")
  printf '%-8s %-8s %10s %9s %9s %8s\n' nginx "$i" "$rps" "$p50" "$p99" "$bad"
done
prps=$(printf '%s\n' "${P_RPS[@]}" | median); pp50=$(printf '%s\n' "${P_P50[@]}" | median); pp99=$(printf '%s\n' "${P_P99[@]}" | median)
nrps=$(printf '%s\n' "${N_RPS[@]}" | median); np50=$(printf '%s\n' "${N_P50[@]}" | median); np99=$(printf '%s\n' "${N_P99[@]}" | median)
echo
echo "median of $ROUNDS x $DUR, c=$CONNS, GET /v1/me ($BODY_BYTES bytes)"
printf 'pegasus:            %8s req/s  p50 %s ms  p99 %s ms\n' "$prps" "$pp50" "$pp99"
printf 'nginx proxy_pass:   %8s req/s  p50 %s ms  p99 %s ms\n' "$nrps" "$np50" "$np99"
python3 -c "import sys; print('ratio pegasus/nginx: %.2fx (target >= 1.0x, p99 <= 4 ms)' % (float(sys.argv[1]) / float(sys.argv[2])))" "$prps" "$nrps"
printf 'CPU per request (medians of the rounds): edge %s us, auth %s us, redis %s us\n' \
  "$(printf '%s\n' "${P_CPU[@]}" | median)" "$(printf '%s\n' "${P_ACPU[@]}" | median)" "$(printf '%s\n' "${P_RCPU[@]}" | median)"
if [ "${BENCH_SYSCALLS:-1}" = 1 ]; then
  # strace slows the edge: this round counts calls, it is not timed
  strace -c -f -q -p "$EDGE_PID" -o "$WORK/strace.out" & strace_pid=$!
  sleep 1
  saved_dur=$DUR; DUR=3s
  one_round "$URL/v1/me" -H "Authorization: Bearer $TOKEN" >/dev/null
  DUR=$saved_dur
  kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
  python3 - "$WORK/strace.out" "$(requests_done)" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and l[0] in " 0123456789" and not l.startswith("%")]
total = [r for r in rows if r[-1] == "total"]
calls = {r[-1]: int(r[3]) for r in rows if r[-1] != "total" and len(r) >= 5 and r[3].isdigit()}
n = max(1, int(sys.argv[2]))
top = ", ".join("%s %.2f" % (k, v / n) for k, v in sorted(calls.items(), key=lambda kv: -kv[1])[:6])
print("edge syscalls per request: %.2f (%s; %d requests under strace)" % (int(total[0][3]) / n, top, n))
PY
fi

# ---- instructions per request, and several edges (issue 12)
if [ "${BENCH_CALLGRIND:-1}" = 1 ]; then
  echo
  ./scripts/bench_callgrind.sh
fi
if [ "${BENCH_EDGES:-1}" = 1 ]; then
  echo
  ./scripts/bench_edges.sh
fi

# ---- usage aggregation (issue 12)
if [ "${BENCH_USAGE_CONSUME:-1}" = 1 ]; then
  echo
  python3 scripts/bench_usage_consume.py "$WORK/home/redis.sock" "${BENCH_USAGE_CONSUME_ENTRIES:-100000}"
fi

# ---- idle keep-alive connections (issue 12)
if [ "${BENCH_IDLE:-1}" = 1 ]; then
  echo
  (ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
   taskset -c $CLIENT_CPU python3 scripts/bench_idle.py "$PORT" "$EDGE_PID" "${BENCH_IDLE_CONNECTIONS:-10000}")
fi

# ---- search (issue 3)
if [ "${BENCH_SEARCH:-1}" = 1 ]; then
  BOT_TOKEN=$(python3 scripts/bench_token.py "$URL" bot_management)
  echo
  echo "search: creating ${BENCH_SEARCH_BOTS:-10} bots x ${BENCH_SEARCH_DOCS:-10000} documents"
  taskset -c $CLIENT_CPU python3 scripts/bench_search.py "$URL" "$BOT_TOKEN" "$WORK" | tee "$WORK/search.out"
  SEARCH_BOT=$(tail -n 1 "$WORK/search.out")
  [ "${SEARCH_BOT#bot_}" != "$SEARCH_BOT" ] || { echo "bench: the search case failed" >&2; exit 1; }
  declare -a S_RPS S_P50 S_P99
  saved_conns=$CONNS; CONNS=10
  printf '%-8s %-8s %10s %9s %9s %8s\n' target round req/s p50_ms p99_ms non2xx
  for i in $(seq 1 "$ROUNDS"); do
    read -r rps p50 p99 bad < <(one_round "$URL/" -s "$WORK/search.lua")
    S_RPS+=("$rps"); S_P50+=("$p50"); S_P99+=("$p99")
    printf '%-8s %-8s %10s %9s %9s %8s\n' search "$i" "$rps" "$p50" "$p99" "$bad"
  done
  CONNS=$saved_conns
  srps=$(printf '%s\n' "${S_RPS[@]}" | median); sp50=$(printf '%s\n' "${S_P50[@]}" | median); sp99=$(printf '%s\n' "${S_P99[@]}" | median)
  echo
  echo "median of $ROUNDS x $DUR, c=10, GET /v1/bots/{id}/search (2-4 words, common + rare)"
  printf 'search:             %8s req/s  p50 %s ms  p99 %s ms  (target p50 <= 5 ms)\n' "$srps" "$sp50" "$sp99"
  grep '^document create' "$WORK/search.out"
fi

# ---- chat (issue 4)
if [ "${BENCH_CHAT:-1}" = 1 ]; then
  CHAT_TOKEN=$(python3 scripts/bench_token.py "$URL" bots:read,bots:write,conversations:read,conversations:write,chat:send)
  echo
  CHAT_BOT=${SEARCH_BOT:-}
  if [ -z "$CHAT_BOT" ]; then
    echo "chat: creating 1 bot x ${BENCH_SEARCH_DOCS:-10000} documents"
    BENCH_SEARCH_BOTS=1 taskset -c $CLIENT_CPU python3 scripts/bench_search.py "$URL" "$CHAT_TOKEN" "$WORK" >"$WORK/chatbot.out"
    CHAT_BOT=$(tail -n 1 "$WORK/chatbot.out")
  fi
  taskset -c $CLIENT_CPU python3 scripts/bench_chat.py setup "$URL" "$CHAT_TOKEN" "$CHAT_BOT" "$WORK" | tee "$WORK/chat.out"
  CONV=$(tail -n 1 "$WORK/chat.out")
  [ "${CONV#conv_}" != "$CONV" ] || { echo "bench: the chat case failed" >&2; exit 1; }
  declare -a C_RPS C_P50 C_P99 S_P50 S_P99 F_P50 F_P99
  saved_conns=$CONNS; CONNS=10
  printf '%-8s %-8s %10s %9s %9s %8s\n' target round req/s p50_ms p99_ms non2xx
  for i in $(seq 1 "$ROUNDS"); do
    read -r rps p50 p99 bad < <(one_round "$URL/" -s "$WORK/chat.lua")
    C_RPS+=("$rps"); C_P50+=("$p50"); C_P99+=("$p99")
    printf '%-8s %-8s %10s %9s %9s %8s\n' send "$i" "$rps" "$p50" "$p99" "$bad"
    CONNS=1
    read -r rps p50 p99 bad < <(one_round "$URL/" -s "$WORK/chat.lua")
    CONNS=10
    S_P50+=("$p50"); S_P99+=("$p99")
    printf '%-8s %-8s %10s %9s %9s %8s\n' send-c1 "$i" "$rps" "$p50" "$p99" "$bad"
    read -r p50 p99 bad < <(taskset -c $CLIENT_CPU python3 scripts/bench_chat.py stream "$URL" "$CHAT_TOKEN" "$CONV" "${BENCH_CHAT_STREAMS:-200}")
    F_P50+=("$p50"); F_P99+=("$p99")
    printf '%-8s %-8s %10s %9s %9s %8s\n' delta1 "$i" - "$p50" "$p99" "$bad"
  done
  CONNS=$saved_conns
  crps=$(printf '%s\n' "${C_RPS[@]}" | median); cp50=$(printf '%s\n' "${C_P50[@]}" | median); cp99=$(printf '%s\n' "${C_P99[@]}" | median)
  fp50=$(printf '%s\n' "${F_P50[@]}" | median); fp99=$(printf '%s\n' "${F_P99[@]}" | median)
  sp50=$(printf '%s\n' "${S_P50[@]}" | median); sp99=$(printf '%s\n' "${S_P99[@]}" | median)
  echo
  echo "median of $ROUNDS rounds, POST /v1/conversations/{id}/messages (pegasus-lite, bot of ${BENCH_SEARCH_DOCS:-10000} documents)"
  printf 'blocking send c=10: %8s req/s  p50 %s ms  p99 %s ms  (target p50 <= 5 ms)\n' "$crps" "$cp50" "$cp99"
  printf 'blocking send c=1:                p50 %s ms  p99 %s ms\n' "$sp50" "$sp99"
  printf 'first delta c=1:                  p50 %s ms  p99 %s ms  (target <= 10 ms)\n' "$fp50" "$fp99"
fi

# ---- usage (issue 12)
if [ "${BENCH_USAGE:-1}" = 1 ]; then
  echo
  echo "usage: sending a year of usage of the team Acme (${BENCH_USAGE_ROWS_PER_DAY:-700} rows a day)"
  taskset -c $CLIENT_CPU python3 scripts/bench_usage.py "$URL" "$WORK/home/redis.sock"
fi
