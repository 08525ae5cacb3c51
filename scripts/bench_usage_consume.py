#!/usr/bin/env python3
"""bench_usage_consume.py REDIS_SOCK [N] — how fast the usage service
counts: N (100000) usage entries of one request each (the shape an edge
writes, docs/internals.md "Usage analytics"; 50 tokens, 4 routes) are added
to pgs:usage in one pipeline, then the time until the usage processes have
read and acknowledged them all (the group's entries-read has moved by N
and nothing is pending) gives entries per second; how long the stream
still held them after that is printed beside it. The entries name a workspace of their own
(ws_benchconsume), so they never mix with real counts."""
import subprocess
import sys
import time

sock = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000


def cli(*args):
    return subprocess.run(["redis-cli", "-s", sock] + list(args), capture_output=True, text=True,
                          check=True).stdout.strip()


def resp(*words):
    out = ["*%d\r\n" % len(words)]
    for w in words:
        b = w.encode()
        out.append("$%d\r\n%s\r\n" % (len(b), w))
    return "".join(out)


routes = ["GET /v1/me", "GET /v1/bots", "GET /v1/usage", "POST /v1/conversations/{conversation_id}/messages"]
now = int(time.time() * 1000)
cmds = []
for i in range(n):
    tok = "tok_bench%02d" % (i % 50)
    cmds.append(resp("XADD", "pgs:usage", "*", "ws", "ws_benchconsume", "user", "usr_bench", "tok", tok,
                     "route", routes[i % 4], "n", "1", "t", str(now), "e", "bench%d.%d" % (now, i)))
def group():
    """(entries-read, pending) of the consumer group usage."""
    out = cli("XINFO", "GROUPS", "pgs:usage").splitlines()
    f = dict(zip(out[0::2], out[1::2]))
    read = f.get("entries-read", "0")
    return int(read) if read.isdigit() else 0, int(f.get("pending", "0"))


read0, _ = group()
t0 = time.monotonic()
subprocess.run(["redis-cli", "-s", sock, "--pipe"], input="".join(cmds).encode(), capture_output=True,
               check=True)
added = time.monotonic() - t0
deadline = time.monotonic() + 300
took = None
while time.monotonic() < deadline:
    read, pending = group()
    if took is None and read - read0 >= n and pending == 0:
        took = time.monotonic() - t0
    if took is not None and (int(cli("XLEN", "pgs:usage")) <= 1 or time.monotonic() - t0 > took + 15):
        break
    time.sleep(0.05)
left = int(cli("XLEN", "pgs:usage"))
trimmed = time.monotonic() - t0
if took is None:
    print("usage aggregation: %d entries not all counted in 300 s" % n)
else:
    print("usage aggregation: %d entries counted in %.2f s (added in %.2f s): %.0f entries/s; "
          "the stream held %d entries %.1f s after the start" % (n, took, added, n / took, left, trimmed))
