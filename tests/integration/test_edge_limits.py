"""What one client may hold of the edge (issue 10, deliverables 1, 2 and 5):
a slow body is answered 408 within its deadline while others are served; one
address may hold max_connections_per_address connections (503 past it, other
addresses unaffected); a document upload the plan refuses is answered 413
from its Content-Length, before any body byte, and stalled uploads cost the
edge no memory (large bodies are spooled to a file); the edge answers every
framing error itself, once, in the SPEC's JSON error format with an
X-Request-Id, and a client still sending when refused reads the answer
(lingering close).

The clients come from distinct loopback addresses (127.0.0.0/8 is all
local), so the per-address cap applies to each as to a separate machine.
The bounds are generous outcomes, never timings."""

import json
import os
import re
import socket
import threading
import time

import pytest

from pgs import poll, uniq

PER_ADDRESS = 8
BODY_TIMEOUT_S = 3

PEGASUS_ENV = {
    "PEGASUS_EDGE_MAX_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS),
    "PEGASUS_EDGE_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
}

H = "Host: 127.0.0.1\r\n"


class Conn:
    """A raw connection from a chosen loopback source address."""

    def __init__(self, port, src="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(src, 0))
        self.buf = b""

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def read_all(self, timeout=10.0):
        """Everything until the server closes (or timeout). Returns (bytes,
        closed)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.buf, False
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return self.buf, False
            except OSError:
                return self.buf, True
            if not d:
                return self.buf, True
            self.buf += d

    def read_response(self, timeout=10.0):
        """One response with a Content-Length body: (status, headers, body)."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = self.sock.recv(65536)
            except (socket.timeout, OSError):
                break
            if not d:
                break
            self.buf += d
        if b"\r\n\r\n" not in self.buf:
            return None, {}, self.buf
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        return parse(head + b"\r\n\r\n" + rest)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse(data):
    """(status, headers, body) of the first response in data, the body cut
    at its Content-Length."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    n = int(headers.get("content-length", "0"))
    return status, headers, rest[:n]


def json_error(data, status, code):
    """data holds exactly one response: status, a JSON error with code, an
    X-Request-Id equal to the error's request_id, nosniff."""
    assert len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", data)) == 1, \
        "want exactly one response, got %r" % data[:600]
    st, headers, body = parse(data)
    assert st == status, (st, data[:400])
    assert headers.get("content-type", "").startswith("application/json"), headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    e = json.loads(body)["error"]
    assert e["code"] == code, e
    assert headers.get("x-request-id") and e["request_id"] == headers["x-request-id"], (headers, e)
    assert len(data) == data.index(b"\r\n\r\n") + 4 + int(headers["content-length"]), \
        "bytes after the response: %r" % data[-200:]
    return e, headers


def served(system, src="127.0.0.1"):
    c = Conn(system.port, src)
    c.send(("GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
    st, _, _ = c.read_response()
    c.close()
    return st == 200


# ---- 1: slow bodies, per-address cap


def test_slow_bodies_answered_408_while_others_are_served(system):
    n = 12
    out = {}

    def slow(i):
        c = Conn(system.port, "127.0.1.%d" % (i + 1))
        t0 = time.monotonic()
        c.send(("POST /app/api/login HTTP/1.1\r\n" + H + "Content-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n{").encode())
        while time.monotonic() - t0 < 30:
            if not c.send(b" "):
                break
            data, closed = c.read_all(timeout=1.0)
            if closed:
                break
        data, closed = c.read_all(timeout=1.0)
        out[i] = (data, closed, time.monotonic() - t0)
        c.close()

    threads = [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(6):
        assert served(system), "a client was not served while slow bodies arrived"
        time.sleep(0.3)
    for t in threads:
        t.join(timeout=60)
    assert len(out) == n, out.keys()
    for i, (data, closed, took) in sorted(out.items()):
        assert closed, "slow body %d still open after %.0f s" % (i, took)
        assert took < BODY_TIMEOUT_S + 15, "slow body %d took %.0f s to be refused" % (i, took)
        e, headers = json_error(data, 408, "request_timeout")
        assert headers.get("connection") == "close", headers
    assert served(system)


def test_per_address_cap(system):
    held = [Conn(system.port, "127.0.0.2") for _ in range(PER_ADDRESS)]
    try:
        # each is accepted (the edge answers on it) before the next is counted
        for c in held:
            c.send(("GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
            assert c.read_response()[0] == 200
        extra = Conn(system.port, "127.0.0.2")
        data, closed = extra.read_all(timeout=5)
        extra.close()
        assert closed
        e, headers = json_error(data, 503, "service_unavailable")
        assert headers.get("retry-after") == "1", headers
        assert "address" in e["message"], e
        # another address is not affected
        assert served(system, "127.0.0.3")
        # a slot given back is free again
        held.pop().close()
        poll(lambda: served(system, "127.0.0.2"), timeout=10, desc="a freed slot is usable")
    finally:
        for c in held:
            c.close()


# ---- 2: document bodies refused from Content-Length, stalled uploads


@pytest.fixture(scope="module")
def doc_target(system):
    u = system.user("pro")
    s = system.login(u)
    tok = s.create_token(preset="bot_management")
    r = system.api(tok, "POST", "/v1/bots", json={"name": uniq("bot-"), "model": "pegasus-lite"})
    assert r.status_code == 201, r.text
    return tok, r.json()["id"]


def upload_head(tok, bot, length, ctype="text/plain"):
    return ("POST /v1/bots/%s/documents?title=t HTTP/1.1\r\n%sAuthorization: Bearer %s\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (bot, H, tok, ctype, length)).encode()


def test_document_over_plan_limit_refused_before_the_body(system, doc_target):
    tok, bot = doc_target
    pro_limit = 5242880  # config/pegasus.conf [plan.pro] max_document_bytes
    for ctype, length in (("text/plain", 9000000), ("text/plain", pro_limit + 1),
                          ("application/json", 6 * pro_limit + 65536 + 1)):
        c = Conn(system.port)
        c.send(upload_head(tok, bot, length, ctype))
        data, closed = c.read_all(timeout=5)  # no body byte sent
        c.close()
        assert closed, (ctype, length, data[:300])
        e, headers = json_error(data, 413, "payload_too_large")
        assert "max_document_bytes (5242880 bytes)" in e["message"], e
        assert headers.get("connection") == "close"
    # at the limit, the body is read and the document stored
    r = system.api(tok, "POST", "/v1/bots/%s/documents" % bot, params={"title": "max"},
                   data=b"word " * (pro_limit // 5), headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text[:300]
    assert r.json()["bytes"] == pro_limit


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def test_stalled_uploads_cost_the_edge_no_memory(system, doc_target):
    tok, bot = doc_target
    edge = system.procs("edge")[0]["pid"]
    before = vm_rss_kib(edge)
    conns = []
    try:
        for i in range(20):
            c = Conn(system.port, "127.0.2.%d" % (i + 1), timeout=20)
            c.send(upload_head(tok, bot, 4 * 1024 * 1024))
            c.send(b"a" * (2 * 1024 * 1024))  # half of it, then stalled
            conns.append(c)
        spool = system.home + "/spool"
        time.sleep(1)
        grown = vm_rss_kib(edge) - before
        # 40 MiB of bodies are in; the edge holds its 64 KiB buffers at most
        assert grown < 16 * 1024, "the edge grew %d KiB for 20 stalled uploads" % grown
        assert os.listdir(spool) == [], "spooled bodies must be unlinked: %r" % os.listdir(spool)
        fds = "/proc/%d/fd" % edge
        spooled = [t for t in (os.readlink(os.path.join(fds, f)) for f in os.listdir(fds))
                   if t.startswith(spool + "/body.") and t.endswith("(deleted)")]
        assert len(spooled) == 20, "want 20 spooled bodies, the edge holds %r" % spooled
    finally:
        for c in conns:
            c.close()
    assert served(system)


# ---- 5: framing errors answered once, as JSON


BAD_FRAMING = {
    "plus_content_length": "Content-Length: +117\r\n",
    "list_content_length": "Content-Length: 117, 117\r\n",
    "hex_content_length": "Content-Length: 0x75\r\n",
    "overflow_content_length": "Content-Length: 99999999999999999999\r\n",
    "space_in_content_length": "Content-Length: 1 17\r\n",
    "bare_cr_in_value": "X-Foo: a\rb\r\n",
    "obs_fold": "X-Foo: a\r\n b\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMING))
def test_bad_framing_is_one_json_400(system, name):
    c = Conn(system.port)
    c.send(("POST /app/api/login HTTP/1.1\r\n" + H + "Content-Type: application/json\r\n"
            + BAD_FRAMING[name] + "\r\n" + "{}").encode())
    data, closed = c.read_all(timeout=5)
    c.close()
    assert closed, (name, data[:300])
    e, headers = json_error(data, 400, "invalid_request")
    assert headers.get("connection") == "close"
    assert served(system)


def test_bare_lf_chunk_line_refused_and_the_pipelined_request_never_runs(system):
    c = Conn(system.port)
    c.send(("POST /app/api/login HTTP/1.1\r\n" + H + "Content-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n"
            "GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
    data, closed = c.read_all(timeout=5)
    c.close()
    assert closed
    json_error(data, 400, "invalid_request")  # one response: /healthz never answered


def test_bare_lf_header_line_refused(system):
    c = Conn(system.port)
    c.send(b"GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n")
    data, closed = c.read_all(timeout=5)
    c.close()
    assert closed
    json_error(data, 400, "invalid_request")


def test_absolute_form_is_routed(system):
    c = Conn(system.port)
    c.send(b"GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    st, headers, body = c.read_response()
    c.close()
    assert st == 200, (st, body)
    assert json.loads(body)["status"] == "ok"


def test_http09_is_closed_without_an_html_reply(system):
    c = Conn(system.port)
    c.send(b"GET /healthz\r\n\r\n")
    data, closed = c.read_all(timeout=5)
    c.close()
    assert closed and data == b"", data[:300]


def test_http2_version_is_505(system):
    c = Conn(system.port)
    c.send(b"GET /healthz HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n")
    data, closed = c.read_all(timeout=5)
    c.close()
    json_error(data, 505, "http_version_not_supported")


def test_client_still_sending_reads_the_413(system):
    """Lingering close: the edge refuses a 2 MiB login body at once and keeps
    reading (and dropping) what the client still sends, so the client — which
    writes the whole body before it reads — gets the answer, not a reset."""
    c = Conn(system.port, timeout=20)
    size = 2 * 1024 * 1024
    c.send(("POST /app/api/login HTTP/1.1\r\n" + H + "Content-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % size).encode())
    assert c.send(b"x" * size), "the edge reset the connection while the client sent"
    data, closed = c.read_all(timeout=10)
    c.close()
    e, headers = json_error(data, 413, "payload_too_large")
    assert "16384 bytes" in e["message"], e  # the sign-in route's limit


def test_small_unread_body_keeps_the_connection(system):
    """A refusal before the body (401: no token) with a small declared body:
    the body is read and dropped, and the connection serves the next
    request."""
    c = Conn(system.port)
    body = b'{"name": "x"}'
    c.send(("POST /v1/bots HTTP/1.1\r\n" + H + "Content-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
    st, headers, _ = c.read_response()
    assert st == 401 and headers.get("connection") != "close", (st, headers)
    c.buf = b""
    c.send(("GET /healthz HTTP/1.1\r\n" + H + "\r\n").encode())
    st, _, _ = c.read_response()
    c.close()
    assert st == 200
