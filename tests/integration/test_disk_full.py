"""A full disk (issue 10, deliverable 8): the whole system runs with its
PEGASUS_HOME on a small tmpfs this test mounts, which is then filled. Every
write a client asks for is answered 507 insufficient_storage with
Retry-After — a document kept in memory (the bots worker's SQLite write
fails), one large enough to be spooled by the edge, a chat message, a token
— while reads keep working and /readyz says why it is not ready. Once space
comes back the same writes succeed, with nothing lost or doubled.

Needs root and CAP_SYS_ADMIN (mount); skipped with that reason otherwise."""

import os
import shutil
import subprocess
import tempfile

import pytest

from pgs import SCOPES, poll, running_system, uniq

SIZE = "96m"


@pytest.fixture(scope="module")
def full_system():
    mnt = tempfile.mkdtemp(prefix="pgs-full-", dir="/tmp")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % SIZE, "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs (needs root and CAP_SYS_ADMIN): %s"
                    % r.stderr.decode().strip())
    home = os.path.join(mnt, "home")
    os.mkdir(home)
    try:
        with running_system({}, "test_disk_full", home=home) as sysm:
            yield sysm, mnt
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(mnt, ignore_errors=True)


def fill(mnt):
    """Fills the filesystem: big writes, then small ones until ENOSPC."""
    path = os.path.join(mnt, "filler")
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 512):
            block = b"\0" * size
            try:
                while True:
                    f.write(block)
            except OSError:
                pass
    return path


def free_bytes(mnt):
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize


def assert_507(r, what):
    assert r.status_code == 507, "%s → %d %s" % (what, r.status_code, r.text[:300])
    e = r.json()["error"]
    assert e["code"] == "insufficient_storage", (what, e)
    assert r.headers.get("Retry-After", "").isdigit(), (what, r.headers)
    assert e["request_id"] == r.headers.get("X-Request-Id"), (what, e, r.headers)


def until_507(what, fn, ok, limit=200):
    """Calls fn until it answers 507: a write that still fits in space the
    database already holds (SQLite reuses its WAL file) succeeds, which is
    right; one that does not is 507. Every answer is one or the other.
    Returns the number of successes."""
    for n in range(limit):
        r = fn()
        if r.status_code == 507:
            assert_507(r, what)
            return n
        assert r.status_code == ok, "%s → %d %s" % (what, r.status_code, r.text[:300])
    raise AssertionError("%s: no 507 in %d writes on a full disk" % (what, limit))


def test_full_disk_answers_507_reads_work_and_it_recovers(full_system):
    system, mnt = full_system
    u = system.user("pro")
    s = system.login(u)
    tok = s.create_token(scopes=SCOPES)
    bot = system.api(tok, "POST", "/v1/bots", json={"name": uniq("bot-"), "model": "pegasus-lite"})
    assert bot.status_code == 201, bot.text
    bot = bot.json()["id"]
    d = system.api(tok, "POST", "/v1/bots/%s/documents" % bot,
                   json={"title": "fact", "content": "The harbour opens at seven."})
    assert d.status_code == 201, d.text
    conv = system.api(tok, "POST", "/v1/conversations", json={"bot_id": bot})
    assert conv.status_code == 201, conv.text
    conv = conv.json()["id"]

    filler = fill(mnt)
    assert free_bytes(mnt) < 64 * 1024

    small = "A small note about the harbour. " * 30  # ~1 KB: in the edge's memory
    r = system.api(tok, "POST", "/v1/bots/%s/documents" % bot, params={"title": "small"},
                   data=small.encode(), headers={"Content-Type": "text/plain"})
    assert_507(r, "a small document")
    big = ("Tides and ferries and the harbour master's log. " * 5000).encode()  # ~250 KB: spooled
    r = system.api(tok, "POST", "/v1/bots/%s/documents" % bot, params={"title": "big"},
                   data=big, headers={"Content-Type": "text/plain"})
    assert_507(r, "a spooled document")
    sent_full = until_507("a chat message", lambda: system.api(
        tok, "POST", "/v1/conversations/%s/messages" % conv,
        json={"content": "When does the harbour open?"}), 200)
    until_507("a token", lambda: s.post("/app/api/tokens", json={
        "name": uniq("tok-"), "expires_in_days": 30, "preset": "read_only"}), 201)

    # reads keep working
    assert system.api(tok, "GET", "/v1/bots/" + bot).status_code == 200
    docs = system.api(tok, "GET", "/v1/bots/%s/documents" % bot)
    assert docs.status_code == 200 and [x["title"] for x in docs.json()["data"]] == ["fact"], docs.text
    msgs = system.api(tok, "GET", "/v1/conversations/%s/messages" % conv)
    assert msgs.status_code == 200 and len(msgs.json()["data"]) == 2 * sent_full, msgs.text[:300]
    ready = system.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "not_ready"
    assert "space" in ready.json()["reason"] or "MISCONF" in ready.json()["reason"], ready.text

    os.unlink(filler)

    def doc_stored():
        r = system.api(tok, "POST", "/v1/bots/%s/documents" % bot, params={"title": "small"},
                       data=small.encode(), headers={"Content-Type": "text/plain"})
        assert r.status_code in (201, 503, 507), r.text
        return r.status_code == 201
    poll(doc_stored, timeout=30, interval=0.5, desc="a document stored once space is back")
    r = system.api(tok, "POST", "/v1/bots/%s/documents" % bot, params={"title": "big"},
                   data=big, headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text[:300]

    def sent():
        r = system.api(tok, "POST", "/v1/conversations/%s/messages" % conv,
                       json={"content": "When does the harbour open?"})
        assert r.status_code in (200, 201, 503, 507), r.text
        return r.status_code in (200, 201)
    poll(sent, timeout=30, interval=0.5, desc="a message sent once space is back")
    poll(lambda: system.get("/readyz").status_code == 200, timeout=30, desc="/readyz ready again")

    docs = system.api(tok, "GET", "/v1/bots/%s/documents" % bot).json()["data"]
    assert sorted(x["title"] for x in docs) == ["big", "fact", "small"], docs
    msgs = system.api(tok, "GET", "/v1/conversations/%s/messages" % conv,
                      params={"limit": 100}).json()["data"]
    assert len(msgs) == 2 * (sent_full + 1), (sent_full, len(msgs))
