#!/usr/bin/env python3
"""http_fuzz.py — raw-HTTP fuzzing of the running edge (not part of scripts/test.sh).

Starts the whole system with scripts/run.sh (PEGASUS_BUILD=san: the edge runs
under AddressSanitizer) in a temporary PEGASUS_HOME on a free 127.0.0.1 port,
sends a bounded number of mutated HTTP requests over raw sockets with a fixed
seed, and after every batch checks that GET /healthz still answers 200 and
that no sanitizer report appeared in $PEGASUS_HOME/log/edge.log. Stops the
system at the end (SIGTERM to run.sh, which stops the supervisor and Redis;
SIGKILL to its process group if it has not ended within 20 s).

    tests/fuzz/http_fuzz.py [--requests 3000] [--seconds 300] [--seed 1] [--batch 100]

Exit status: 0 clean, 1 a finding (the failing batch is written to
build/fuzz/http/), 2 the system did not start.
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAN_RE = re.compile(rb"ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|Undefined)")

METHODS = [b"GET", b"POST", b"DELETE", b"PATCH", b"PUT", b"HEAD", b"OPTIONS", b"TRACE", b"CONNECT",
           b"get", b"G\x00T", b"", b"POST POST", b"\xff\xfe", b"A" * 300]
PATHS = [b"/healthz", b"/readyz", b"/v1/me", b"/v1/token", b"/v1/bots", b"/v1/bots/b1",
         b"/v1/bots/b1/documents", b"/v1/bots/b1/documents/d1", b"/v1/bots//documents",
         b"/v1/conversations/c1/messages", b"/app/api/login", b"/app/api/session",
         b"/app/api/tokens", b"/app/api/tokens/tok_1", b"/v1/openapi.json", b"/", b"/index.html",
         b"/../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/v1/%00", b"/v1/me?limit=%ff",
         b"/app/api/tokens?limit=0&after=%%%", b"*", b"http://example.com/v1/me", b"/v1/me#frag",
         b"/v1/usage?start=2026-02-30&group_by=%ff", b"/v1/usage/reports/rep_x",
         b"/app/api/usage?start=1&end=2", b"/app/api/usage",
         b"/" + b"a" * 9000, b"/v1/bots/" + b"%41" * 2000, b"/v1/me?" + b"a=b&" * 2000]
HEADER_NAMES = [b"Host", b"Content-Type", b"Content-Length", b"Transfer-Encoding", b"Authorization",
                b"Cookie", b"Origin", b"X-Forwarded-For", b"X-Request-Id", b"Idempotency-Key",
                b"X-CSRF-Token", b"Accept", b"User-Agent", b"Connection", b"Expect", b"Range",
                b"content-length", b"CONTENT-TYPE", b"X-Pgs-Invalidate", b"", b" Host", b"Host ",
                b"Na\x00me", b"\xff", b"A" * 5000]
HEADER_VALUES = [b"", b"127.0.0.1", b"application/json", b"application/json; charset=latin-1",
                 b"text/plain", b"text/markdown; charset=\"utf-8\"", b"chunked", b"gzip, chunked",
                 b"chunked, identity", b"0", b"-1", b"18446744073709551616", b"99999999999999999999",
                 b"1e3", b" 5", b"5, 5", b"Bearer pgs_0123456789abcdefghijklmnopqrstuvwxyzAB",
                 b"Bearer ", b"bearer\tx", b"Basic dXNlcjpwYXNz", b"pegasus_session=abc; a=b",
                 b"pegasus_session=; pegasus_session=x", b"a" * 9000, b"\x00", b"x\ry", b"x\ny",
                 b"\xc3\x28", b"100-continue", b"close", b"keep-alive", b"https://app.example",
                 b"1.2.3.4, 5.6.7.8", b"bytes=0-1"]
BODIES = [b"", b"{}", b'{"email":"a@b.c","password":"x"}', b'{"name":', b"\x00" * 10,
          b"[" * 5000, b'{"stream":true}', b"a" * 70000]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mutate(rng, data):
    """A few byte-level mutations: flips, CR/LF/NUL insertions, cuts, repeats."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not data:
            data += b"\r\n"
        op = rng.randrange(6)
        i = rng.randrange(len(data) + 1)
        if op == 0 and i < len(data):
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i:i] = rng.choice([b"\r", b"\n", b"\x00", b"\r\n", b"\r\n\r\n", b" ", b":", b"\t"])
        elif op == 2:
            del data[i:i + rng.randint(1, 16)]
        elif op == 3:
            j = rng.randrange(len(data) + 1)
            data[i:i] = data[min(i, j):max(i, j)][:512]
        elif op == 4:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            data = data[:i]
    return bytes(data)


def chunked(rng, body):
    """A chunked body, sometimes with framing errors."""
    out, pos = b"", 0
    while pos < len(body):
        n = rng.randint(1, 4096)
        piece = body[pos:pos + n]
        size = b"%x" % len(piece)
        kind = rng.randrange(10)
        if kind == 0:
            size = b"-1"
        elif kind == 1:
            size = b"ffffffffffffffffff"
        elif kind == 2:
            size = size + b";ext=1"
        elif kind == 3:
            size = b"%x" % (len(piece) + rng.randint(1, 100))
        out += size + b"\r\n" + piece + (b"\r\n" if kind != 4 else b"")
        pos += n
    return out + rng.choice([b"0\r\n\r\n", b"0\r\nTrailer: x\r\n\r\n", b"", b"0\r\n"])


def make_request(rng):
    method = rng.choice(METHODS)
    path = rng.choice(PATHS)
    version = rng.choice([b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1x", b""])
    body = rng.choice(BODIES)
    headers = [(b"Host", b"127.0.0.1")]
    for _ in range(rng.randint(0, 8)):
        headers.append((rng.choice(HEADER_NAMES), rng.choice(HEADER_VALUES)))
    framing = rng.randrange(5)
    if framing == 0:
        headers.append((b"Content-Length", b"%d" % len(body)))
    elif framing == 1:
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = chunked(rng, body)
    elif framing == 2:
        headers.append((b"Content-Length", rng.choice([b"-1", b"-100", b"18446744073709551615",
                                                        b"9223372036854775808", b"%d" % (len(body) + 50),
                                                        b"1, 2", b"+3"])))
    elif framing == 3:
        headers.append((b"Content-Length", b"%d" % len(body)))
        headers.append((b"Transfer-Encoding", b"chunked"))
    head = method + b" " + path + (b" " + version if version else b"") + b"\r\n"
    head += b"".join(n + b": " + v + b"\r\n" for n, v in headers) + b"\r\n"
    raw = head + body
    if rng.random() < 0.5:
        raw = mutate(rng, raw)
    return raw


def send(port, payloads, half_close, timeout=2.0):
    """Sends payloads on one connection (pipelined) and reads until the edge is done."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None
    try:
        for p in payloads:
            s.sendall(p)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end and len(got) < 1 << 20:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not d:
                break
            got += d
        return got
    except OSError:
        return b""
    finally:
        s.close()


def healthy(port):
    r = send(port, [b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"], False, 5.0)
    return r is not None and r.startswith(b"HTTP/1.1 200")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--keep", action="store_true", help="keep PEGASUS_HOME")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="pgs-httpfuzz-")
    web = os.path.join(home, "web")
    os.makedirs(web)
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<!doctype html><title>fuzz</title>\n")
    port = free_port()
    env = dict(os.environ, PEGASUS_HOME=home, PEGASUS_PORT=str(port), PEGASUS_BUILD="san",
               PEGASUS_DEMO="0", PEGASUS_EDGE_WEB_ROOT=web)
    out = open(os.path.join(home, "run.out"), "wb")
    proc = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh")], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    edge_log = os.path.join(home, "log", "edge.log")
    rc = 0
    sent = batches = 0
    try:
        deadline = time.monotonic() + 300  # the first san build can take a while
        while time.monotonic() < deadline and not healthy(port):
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        if not healthy(port):
            print("http_fuzz: the system did not start; see", os.path.join(home, "run.out"))
            rc = 2
            return rc
        print(f"http_fuzz: system up on 127.0.0.1:{port}, PEGASUS_HOME={home}, seed {args.seed}")
        rng = random.Random(args.seed)
        t_end = time.monotonic() + args.seconds
        log_pos = os.path.getsize(edge_log) if os.path.exists(edge_log) else 0
        statuses = {}
        while sent < args.requests and time.monotonic() < t_end:
            batch = []
            while len(batch) < args.batch and sent + len(batch) < args.requests:
                n = 1 if rng.random() < 0.8 else rng.randint(2, 5)  # pipelining
                batch.append(([make_request(rng) for _ in range(n)], rng.random() < 0.3))
            for payloads, half in batch:
                r = send(port, payloads, half, timeout=1.0)
                m = re.match(rb"HTTP/1\.[01] (\d{3})", r or b"")
                key = m.group(1).decode() if m else ("refused" if r is None else "none")
                statuses[key] = statuses.get(key, 0) + 1
            sent += len(batch)
            batches += 1
            alive = healthy(port)
            report = b""
            if os.path.exists(edge_log):
                with open(edge_log, "rb") as f:
                    f.seek(log_pos)
                    new = f.read()
                    log_pos += len(new)
                if SAN_RE.search(new):
                    report = new
            if not alive or report:
                dest = os.path.join(ROOT, "build", "fuzz", "http")
                os.makedirs(dest, exist_ok=True)
                path = os.path.join(dest, f"batch-seed{args.seed}-{batches}.bin")
                with open(path, "wb") as f:
                    for payloads, half in batch:
                        f.write(b"=== half_close=%d\n" % half + b"\n--- pipelined ---\n".join(payloads) + b"\n")
                print(f"http_fuzz: FINDING after batch {batches} ({sent} requests): "
                      f"{'healthz failed' if not alive else 'sanitizer report in edge.log'}; batch in {path}")
                if report:
                    sys.stdout.write(report.decode(errors="replace")[-4000:])
                rc = 1
                break
        print(f"http_fuzz: {sent} requests in {batches} batches; statuses {dict(sorted(statuses.items()))}")
        if rc == 0:
            print("http_fuzz: no finding (healthz answered after every batch, edge.log has no sanitizer report)")
        return rc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        out.close()
        # A sanitizer report written while stopping (leaks) counts too.
        if os.path.exists(edge_log):
            with open(edge_log, "rb") as f:
                tail = f.read()
            if SAN_RE.search(tail) and rc == 0:
                print("http_fuzz: FINDING: sanitizer report in edge.log at shutdown:")
                sys.stdout.write(tail.decode(errors="replace")[-4000:])
                rc = 1
        if args.keep or rc:
            print("http_fuzz: PEGASUS_HOME kept:", home)
        else:
            shutil.rmtree(home, ignore_errors=True)
        sys.exit(rc)


if __name__ == "__main__":
    main()
