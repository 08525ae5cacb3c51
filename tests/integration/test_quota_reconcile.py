"""Quota reservations left by a crashed edge are reconciled (issue 10,
deliverable 10). The chat workers are stopped (SIGSTOP) and more sends are
made than they have credit for: each is reserved at the edge; some reach a
stopped worker, the rest wait in the edge's queue. The edge is then killed
(SIGKILL) and the workers continued: the queued sends are lost with the
edge, and the ones the workers had fail (their bots lookup went through the
broker, which died with the edge) — nothing gives any reservation back. Within a few reconcile
rounds (here every second, stale after 3 s) /v1/subscription's
messages_used equals the messages stored — nothing charged for a message
the workspace did not get, nothing forgotten that it did."""

import signal
import threading
import time

from pgs import poll
from test_chat import CHAT_SCOPES, DOCS, Chat

PEGASUS_ENV = {
    "PEGASUS_CHAT_QUOTA_RECONCILE_S": "1",
    "PEGASUS_CHAT_QUOTA_STALE_S": "3",
    "PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE": "100000",
}

SENDS = 48  # more than the 4 chat workers' 8 credits each


def used(system, tok):
    r = system.api(tok, "GET", "/v1/subscription")
    assert r.status_code == 200, r.text
    return r.json()["quota"]["messages_used"]


def stored(a, cid):
    msgs = a.messages(cid, limit=100)["data"]
    return sum(1 for m in msgs if m["role"] == "user")


def test_reservations_of_a_crashed_edge_reconciled(system):
    s = system.login(system.user("pro"))
    a = Chat(system, s.create_token(scopes=CHAT_SCOPES))
    sub = s.create_token(scopes=["subscription:read"])
    bot = a.bot(docs={"Office": DOCS["Office"]})
    cid = a.conv(bot["id"])["id"]
    assert a.send(cid, "Where is the office?").status_code == 200
    assert used(system, sub) == 1

    chat = [p["pid"] for p in system.running("chat")]
    for pid in chat:
        system.signal(pid, signal.SIGSTOP)
    try:
        def send():
            try:
                a.send(cid, "Where is the office?", timeout=30)
            except Exception:  # the edge dies under it
                pass
        threads = [threading.Thread(target=send, daemon=True) for _ in range(SENDS)]
        for t in threads:
            t.start()
        poll(lambda: used(system, sub) == 1 + SENDS, timeout=20,
             desc="every send reserved at the edge")
        edge = system.procs("edge")[0]["pid"]
        system.signal(edge, signal.SIGKILL)
    finally:
        for pid in chat:
            system.signal(pid, signal.SIGCONT)
    for t in threads:
        t.join(timeout=40)
    poll(lambda: [p for p in system.procs("edge") if p["pid"] not in (0, edge)
                  and p["state"] == "running"], timeout=30, desc="the edge started again")
    poll(lambda: system.get("/readyz").status_code == 200, timeout=30, desc="ready")
    # a send a worker had needs the bots service through the broker, which
    # died with the edge: the workers' sends fail too, and store nothing
    time.sleep(2)
    n = stored(a, cid)
    assert 1 <= n < 1 + SENDS, n

    poll(lambda: used(system, sub) == n, timeout=30,
         desc="messages_used reconciled to the %d stored" % n)
    time.sleep(3)  # further rounds change nothing
    assert used(system, sub) == stored(a, cid) == n
    assert system.redis("ZCARD", "pgs:quota_held") == "0"
    # and the quota goes on from there
    assert a.send(cid, "Where is the office?").status_code == 200
    assert used(system, sub) == n + 1
