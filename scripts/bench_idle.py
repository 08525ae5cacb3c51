#!/usr/bin/env python3
"""bench_idle.py — idle keep-alive connections and what they cost the edge.

usage: bench_idle.py PORT EDGE_PID [N]   (N: 10000)

Opens N connections to 127.0.0.1:PORT, each making one GET /healthz with
keep-alive and then staying open, and reports the edge's resident memory
(VmRSS) before and with them, per connection; then sends one more request
on every 100th connection (they must all still be served), and closes
them. Needs N + a few file descriptors (bench.sh raises ulimit -n)."""
import socket
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
REQ = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


def rss_kb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one(s):
    s.sendall(REQ)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise RuntimeError("closed")
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        body += s.recv(4096)
    return int(head.split()[1])


before = rss_kb()
conns, bad = [], 0
t0 = time.monotonic()
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if one(s) != 200:
            bad += 1
            s.close()
            continue
        conns.append(s)
    except (OSError, RuntimeError, ValueError, IndexError):
        bad += 1  # refused, reset or closed: not held
opened = time.monotonic() - t0
time.sleep(1)
held = rss_kb()
def still(s):
    try:
        return one(s) == 200
    except (OSError, RuntimeError, ValueError, IndexError):
        return False


alive = sum(1 for s in conns[::100] if still(s))
for s in conns:
    s.close()
print("idle connections: %d of %d held (%d refused or not 200) in %.1f s; edge RSS %d KiB -> %d KiB: "
      "%.0f bytes per held connection (target <= 20 KB); %d of %d sampled still served"
      % (len(conns), n, bad, opened, before, held, (held - before) * 1024 / max(1, len(conns)), alive,
         len(conns[::100])))
