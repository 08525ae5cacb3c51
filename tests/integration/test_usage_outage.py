"""No usage lost to a Redis outage (issue 10, deliverable 9). Redis is killed
(SIGKILL) under traffic and started again 5 s later with its own command
line; every request that passed checks 1–4 is counted exactly once — the
edge kept the counts it could not send (in memory, then its spool file:
the memory part is made small, and counts are flushed every millisecond, so
both are used), showed how many requests wait in pegasusctl status, and sent them in order once Redis was back. Redis that
refuses writes (as on a full disk) while token lookups go on makes every
event wait: they are all counted, once, when it takes writes again — also
after an edge restart in between (they wait in its spool file)."""

import os
import signal
import subprocess
import threading
import time

import pytest

from pgs import poll, uniq

PEGASUS_ENV = {
    "PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE": "1000000",
    "PEGASUS_EDGE_USAGE_QUEUE_EVENTS": "50",
    # a stream entry per request or so, so that 300 requests need the file
    "PEGASUS_EDGE_USAGE_FLUSH_MS": "1",
}


def redis_proc(system):
    """The pid of this system's redis-server (its title names its socket)
    and the command line run.sh started it with."""
    sock = os.path.join(system.home, "redis.sock")
    argv = ["redis-server", "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
            "--dir", os.path.join(system.home, "redis"), "--appendonly", "yes", "--save", "",
            "--logfile", os.path.join(system.home, "log", "redis.log"), "--daemonize", "no"]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmd = f.read().decode(errors="replace")
            except OSError:
                continue
            if cmd.startswith("redis-server") and sock in cmd:
                return int(d), argv
    raise AssertionError("redis-server of this system not found")


@pytest.fixture(scope="module")
def restart_redis(system):
    """Starts redis-server again with the same arguments (run.sh's); the
    ones started are stopped when the module ends."""
    started = []

    def start(argv):
        started.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        poll(lambda: system.redis("PING") == "PONG", timeout=15, desc="redis back")
    yield start
    for p in started:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


class Load:
    """GET /v1/me with tok from two threads until stopped; counts the 200s
    (each an event: /v1/me passed checks 1–4) and the other answers."""

    def __init__(self, system, tok):
        self.system, self.tok = system, tok
        self.ok = 0
        self.other = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(2)]

    def run(self):
        while not self.stop.is_set():
            try:
                st = self.system.api(self.tok, "GET", "/v1/me", timeout=10).status_code
            except Exception as e:  # a connection refused is an answer too
                st = type(e).__name__
            with self.lock:
                if st == 200:
                    self.ok += 1
                else:
                    self.other[st] = self.other.get(st, 0) + 1
            time.sleep(0.005)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def counted(system, reader, tok_id):
    r = system.api(reader, "GET", "/v1/usage", params={"group_by": "token"})
    assert r.status_code == 200, r.text
    rows = {row["key"]: row for row in r.json()["data"]}
    return rows.get(tok_id, {}).get("requests", 0)


def edge_waiting(system):
    return sum(p.get("usage_waiting", 0) for p in system.procs("edge"))


def tokens(system):
    s = system.login(system.user("pro"))
    tok = s.create_token(name=uniq("load-"), scopes=["profile:read"], full=True)
    tok = {"id": tok["token"]["id"], "secret": tok["secret"]}
    reader = s.create_token(name=uniq("reader-"), scopes=["usage:read"])
    return tok, reader


def test_redis_killed_under_traffic_nothing_lost_nothing_doubled(system, restart_redis):
    """While Redis is gone the edge answers 503 (it cannot check tokens); the
    events of the requests that were answered 200 as it died are kept and
    counted once it is back."""
    tok, reader = tokens(system)
    pid, argv = redis_proc(system)
    with Load(system, tok["secret"]) as load:
        time.sleep(1)
        os.kill(pid, signal.SIGKILL)
        time.sleep(5)
        restart_redis(argv)
        time.sleep(2)
    assert load.ok > 100, (load.ok, load.other)
    assert set(load.other) <= {503}, load.other
    poll(lambda: edge_waiting(system) == 0, timeout=30, desc="the edge's queue sent")
    poll(lambda: counted(system, reader, tok["id"]) >= load.ok, timeout=30,
         desc="every 200 counted (%d)" % load.ok)
    time.sleep(1.5)  # anything counted twice would show by now
    assert counted(system, reader, tok["id"]) == load.ok, (load.ok, load.other)


def refuse_writes(system, on):
    """Redis refuses every write (as with a full disk's MISCONF) while reads
    — the token lookups — go on."""
    assert system.redis("CONFIG", "SET", "min-replicas-to-write", "1" if on else "0") == "OK"


def spooled_bytes(system):
    spool = os.path.join(system.home, "spool")
    return sum(os.path.getsize(os.path.join(spool, f)) for f in os.listdir(spool)
               if f.startswith("usage-"))


def test_redis_refusing_writes_events_wait_in_memory_then_the_spool_file(system):
    tok, reader = tokens(system)
    refuse_writes(system, True)
    try:
        for _ in range(300):
            assert system.api(tok["secret"], "GET", "/v1/me").status_code == 200
        poll(lambda: edge_waiting(system) == 300, timeout=10,
             desc="pegasusctl status shows the 300 events waiting (%d)" % edge_waiting(system))
        assert spooled_bytes(system) > 0, "past 50 in memory, events go to the spool file"
        assert counted(system, reader, tok["id"]) == 0
    finally:
        refuse_writes(system, False)
    poll(lambda: edge_waiting(system) == 0, timeout=30, desc="the queue sent")
    poll(lambda: counted(system, reader, tok["id"]) >= 300, timeout=30, desc="300 counted")
    time.sleep(1.5)
    assert counted(system, reader, tok["id"]) == 300
    assert spooled_bytes(system) == 0, "the spool file starts over once sent"


def test_events_kept_across_an_edge_restart(system):
    tok, reader = tokens(system)
    refuse_writes(system, True)
    try:
        for _ in range(80):
            assert system.api(tok["secret"], "GET", "/v1/me").status_code == 200
        poll(lambda: edge_waiting(system) == 80, timeout=10, desc="80 waiting")
        edge = system.procs("edge")[0]["pid"]
        system.signal(edge, signal.SIGTERM)  # a clean stop; the supervisor starts it again
        poll(lambda: [p for p in system.procs("edge") if p["pid"] not in (0, edge)
                      and p["state"] == "running" and p.get("usage_waiting") == 80],
             timeout=30, desc="a new edge with the 80 events from before")
        assert counted(system, reader, tok["id"]) == 0
    finally:
        refuse_writes(system, False)
    poll(lambda: counted(system, reader, tok["id"]) >= 80, timeout=30, desc="80 counted")
    time.sleep(1.5)
    assert counted(system, reader, tok["id"]) == 80
