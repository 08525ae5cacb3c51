"""The monthly message quota (SPEC §2 check 11, §3 Chat, §8 Quota) with a
tiny Pro quota: successful sends count, failed ones do not, the edge refuses
with 429 quota_exceeded and Retry-After, /v1/subscription shows the count,
and chat rebuilds the Redis counters from chat.db after a flush. The
reservation and the 429 are the edge's; the counting truth and the rebuild
are chat's."""

import calendar
import time

from pgs import assert_error, poll
from test_chat import CHAT_SCOPES, DOCS, Chat, sse_events

PEGASUS_ENV = {"PEGASUS_PLAN_PRO_MESSAGES_PER_MONTH": "2"}


def used(system, tok):
    r = system.api(tok, "GET", "/v1/subscription")
    assert r.status_code == 200, r.text
    return r.json()["quota"]


def test_quota_exhaustion_and_rebuild(system):
    u = system.user("pro")
    s = system.login(u)
    a = Chat(system, s.create_token(scopes=CHAT_SCOPES))
    sub = s.create_token(scopes=["subscription:read"])  # sessions do not survive FLUSHALL
    bot = a.bot(docs={"Office": DOCS["Office"]})
    conv = a.conv(bot["id"])
    cid = conv["id"]
    # failures count nothing: a bad body, an unknown conversation
    assert_error(a.send(cid, ""), 400, "invalid_request")
    assert_error(a.send("conv_" + "B" * 20, "Where is the office?"), 404, "not_found")
    assert used(system, sub)["messages_used"] == 0
    assert a.send(cid, "Where is the office?").status_code == 200
    ev = sse_events(a.stream(cid, "What is the vault code?"))
    assert ev[-1][0] == "message.completed", ev
    q = used(system, sub)
    assert (q["messages_used"], q["messages_limit"]) == (2, 2), q
    r = a.send(cid, "When does the office close?")
    assert_error(r, 429, "quota_exceeded")
    end = calendar.timegm(time.strptime(q["period_end"], "%Y-%m-%dT%H:%M:%SZ"))
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= end - time.time() + 5, (retry, q["period_end"])
    assert_error(a.stream(cid, "When does the office close?"), 429, "quota_exceeded")
    assert len(a.messages(cid)["data"]) == 4  # nothing stored for the refused sends
    assert used(system, sub)["messages_used"] == 2

    # Redis loses everything: chat rebuilds the counters from chat.db
    system.redis("FLUSHALL")
    poll(lambda: system.redis("GET", "pgs:quota_rebuilt") == "1", timeout=20, desc="quota rebuilt")

    def refused():
        r = a.send(cid, "When does the office close?")
        return (r,) if r.status_code == 429 else None

    assert_error(poll(refused, timeout=20, desc="429 after the rebuild")[0], 429, "quota_exceeded")
    assert used(system, sub)["messages_used"] == 2

    # another workspace has its own quota; deleting a conversation gives nothing back
    other = Chat(system, system.login(system.user("pro")).create_token(scopes=CHAT_SCOPES))
    ob = other.bot(docs={"Office": DOCS["Office"]})
    oc = other.conv(ob["id"])
    assert other.send(oc["id"], "Where is the office?").status_code == 200
    assert a.req("DELETE", "/v1/conversations/" + cid).status_code == 204
    system.redis("DEL", "pgs:quota_rebuilt")
    poll(lambda: system.redis("GET", "pgs:quota_rebuilt") == "1", timeout=20, desc="quota rebuilt")
    assert used(system, sub)["messages_used"] == 2
    assert_error(a.send(a.conv(bot["id"])["id"], "Where is the office?"), 429, "quota_exceeded")
