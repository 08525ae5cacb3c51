"""The slow cases of the hostile-HTTP list, with the default config:
headers not complete 10 s after accept → closed, even when the client
trickles a byte every second; an idle keep-alive connection → closed after
60 s. They run concurrently in one test so the module costs about one
keep-alive timeout of wall time. The limits below are generous bounds on the
outcome, not timing assertions."""

import threading
import time

from pgs import Raw

H = "Host: 127.0.0.1\r\n"


def slow_header(port, out):
    c = Raw(port, timeout=5)
    t0 = time.monotonic()
    c.send(("GET /healthz HTTP/1.1\r\n" + H).encode())
    closed = False
    while time.monotonic() - t0 < 30:
        if not c.send(b"X"):
            closed = True
            break
        if c.is_closed(timeout=1.0):
            closed = True
            break
    out["slow_header"] = (closed, time.monotonic() - t0)
    c.close()


def silent(port, out):
    c = Raw(port, timeout=5)
    t0 = time.monotonic()
    closed = c.is_closed(timeout=30)
    out["silent"] = (closed, time.monotonic() - t0)
    c.close()


def keepalive(port, out):
    c = Raw(port, timeout=5)
    c.send(("GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
    s1, _, _ = c.read_response()
    time.sleep(1)
    c.send(("GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
    s2, _, _ = c.read_response()
    t0 = time.monotonic()
    closed = c.is_closed(timeout=100)
    out["keepalive"] = (s1, s2, closed, time.monotonic() - t0)
    c.close()


def test_timeouts(system):
    out = {}
    threads = [threading.Thread(target=f, args=(system.port, out), daemon=True)
               for f in (slow_header, silent, keepalive)]
    for t in threads:
        t.start()
    # meanwhile, others are served
    for _ in range(20):
        assert system.get("/healthz").status_code == 200
        time.sleep(0.5)
    for t in threads:
        t.join(timeout=120)
    assert set(out) == {"slow_header", "silent", "keepalive"}, out
    closed, took = out["slow_header"]
    assert closed, "a client trickling header bytes was not cut off within 30 s (%.0fs)" % took
    closed, took = out["silent"]
    assert closed, "a connection that never sent a byte was not closed within 30 s"
    s1, s2, closed, took = out["keepalive"]
    assert (s1, s2) == (200, 200), "keep-alive must serve a second request on the same connection"
    assert closed, "an idle keep-alive connection was not closed within 100 s"
    assert system.get("/healthz").status_code == 200
