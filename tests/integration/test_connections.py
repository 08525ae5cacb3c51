"""Connections past the edge's limits are refused at once, never left
waiting (issue 12, deliverable 4; docs/http.md "Limits and timers"): past
[edge] max_connections a new connection gets a JSON 503 and is closed while
the ones it holds go on being served; when the edge is out of file
descriptors (its limit lowered under it with prlimit) a waiting connection
gets the same 503 from the spare descriptor instead of sitting in the
backlog. Nothing here asserts a time: a refusal must arrive, not time out."""

import json
import os
import resource

from pgs import poll

MAX = 40
PEGASUS_ENV = {
    "PEGASUS_EDGE_MAX_CONNECTIONS": str(MAX),
    "PEGASUS_EDGE_MAX_CONNECTIONS_PER_ADDRESS": "100000",
}

GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def open_served(system, n):
    conns = []
    for _ in range(n):
        c = system.raw()
        assert c.send(GET)
        st, _, _ = c.read_response()
        assert st == 200, st
        conns.append(c)
    return conns


def assert_refused(c):
    """A 503 in the error format, then the close."""
    c.send(GET)  # may already be answered: the 503 can come before the request
    st, h, body = c.read_response()
    assert st == 503, (st, body[:200])
    assert h.get("content-type", "").startswith("application/json")
    assert h.get("retry-after") == "1"
    assert json.loads(body)["error"]["code"] == "service_unavailable"
    assert c.is_closed()


def close_all(conns):
    for c in conns:
        c.sock.close()


def edge_pid(system):
    return system.running("edge")[0]["pid"]


def test_past_max_connections_503_and_the_held_ones_still_served(system):
    held = open_served(system, MAX)
    try:
        for _ in range(5):
            assert_refused(system.raw())
        for c in held:  # every connection it holds is still served
            assert c.send(GET)
            assert c.read_response()[0] == 200
    finally:
        close_all(held)
    # once they are gone, new connections are served again
    poll(lambda: open_served(system, 1), timeout=10, desc="a new connection served")


def test_out_of_file_descriptors_503_not_a_backlog(system):
    pid = edge_pid(system)
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/%d/fd" % pid))
    held = []
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 5, hard))
        held = open_served(system, 5)  # the last descriptors the edge may open
        for _ in range(3):
            assert_refused(system.raw())
        for c in held:
            assert c.send(GET)
            assert c.read_response()[0] == 200
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        close_all(held)
    poll(lambda: open_served(system, 3), timeout=10, desc="served again once the limit is back")
