"""Chat (SPEC §3 conversations, messages, Chat, Models; §8): every
conversation and message route with its scope and errors, team visibility,
BOLA, the built-in models' answers and citations, the token counter,
streaming, idempotency, a client that goes away and a chat worker killed
mid-stream."""

import json
import os
import re
import signal
import socket
import time

import pytest
import requests

from pgs import HTTP_TIMEOUT, assert_error, err, poll, uniq

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True

CHAT_SCOPES = ["conversations:read", "conversations:write", "chat:send", "bots:read", "bots:write"]

DOCS = {
    "Refund policy": "Our refund policy is simple. Refunds are issued within 14 days of the return. "
    "Refunds go back to the original payment method. Gift cards are never refunded.",
    "Shipping": "Shipping is free for orders over 50 EUR. Express shipping costs 9 EUR and takes one day. "
    "Standard shipping takes three to five days.",
    "Office": "The office is in Lisbon. It opens at 9:00 and closes at 17:30 on weekdays. "
    "The vault code is 4711.",
}


# --------------------------------------------------------------------------
# helpers (also used by the other test_chat_* modules)


def tokens(text):
    """The documented tokenizer (README: pegasus-words-1)."""
    n, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch.isascii() and ch.isalnum() or not ch.isascii():
            n += 1
            while i < len(text) and (text[i].isascii() and text[i].isalnum() or not text[i].isascii()):
                i += 1
        else:
            if ch not in " \t\n\r\v\f":
                n += 1
            i += 1
    return n


def sse_events(resp):
    """[(event, data-as-JSON-or-text)] of an event stream; comments are
    returned as (':', text)."""
    out, ev, data = [], None, []
    for raw in resp.iter_lines(decode_unicode=False):
        line = raw.decode("utf-8")
        if line == "":
            if ev is not None or data:
                d = "\n".join(data)
                try:
                    d = json.loads(d)
                except ValueError:
                    pass
                out.append((ev, d))
            ev, data = None, []
        elif line.startswith(":"):
            out.append((":", line[1:].strip()))
        elif line.startswith("event:"):
            ev = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" "))
    return out


class Chat:
    """A workspace seen through one token with chat and bot scopes."""

    def __init__(self, system, token):
        self.sys = system
        self.tok = token

    def req(self, method, path, **kw):
        return self.sys.api(self.tok, method, path, **kw)

    def bot(self, model="pegasus-lite", docs=DOCS, name=None, instructions="Answer briefly."):
        r = self.req("POST", "/v1/bots", json={"name": name or uniq("bot-"), "model": model,
                                                "instructions": instructions})
        assert r.status_code == 201, r.text
        b = r.json()
        b["docs"] = {}
        for title, content in (docs or {}).items():
            d = self.req("POST", "/v1/bots/%s/documents" % b["id"], json={"title": title, "content": content})
            assert d.status_code == 201, d.text
            b["docs"][title] = d.json()["id"]
        return b

    def conv(self, bot_id, title=None):
        body = {"bot_id": bot_id}
        if title is not None:
            body["title"] = title
        r = self.req("POST", "/v1/conversations", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def send(self, conv_id, content, **kw):
        return self.req("POST", "/v1/conversations/%s/messages" % conv_id, json=dict(content=content, **kw))

    def stream(self, conv_id, content, headers=None):
        r = self.req("POST", "/v1/conversations/%s/messages" % conv_id,
                     json={"content": content, "stream": True}, headers=headers, stream=True)
        return r

    def messages(self, conv_id, **params):
        r = self.req("GET", "/v1/conversations/%s/messages" % conv_id, params=params)
        assert r.status_code == 200, r.text
        return r.json()


def chat_token(system, user=None, plan="pro", scopes=CHAT_SCOPES, workspace=None):
    user = user or system.user(plan)
    s = system.login(user, workspace)
    return Chat(system, s.create_token(scopes=scopes))


def assert_message(m, role):
    assert m["object"] == "message" and m["id"].startswith("msg_"), m
    assert m["role"] == role
    assert isinstance(m["content"], str) and isinstance(m["citations"], list)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", m["created_at"]), m


def check_stream(events):
    """Asserts the framing of a finished stream; returns (deltas joined,
    terminal event)."""
    kinds = [e for e, _ in events if e != ":"]
    terminal = [e for e in kinds if e in ("message.completed", "error")]
    assert len(terminal) == 1, kinds
    assert kinds[-1] == terminal[0], kinds
    assert all(k == "message.delta" for k in kinds[:-1]), kinds
    text = "".join(d["delta"] for e, d in events if e == "message.delta")
    return text, events[-1] if events[-1][0] != ":" else [e for e in events if e[0] != ":"][-1]


@pytest.fixture(scope="module")
def alice(system):
    return chat_token(system)


@pytest.fixture(scope="module")
def kb(alice):
    return alice.bot()


# --------------------------------------------------------------------------
# conversations


def test_conversation_lifecycle(system, alice, kb):
    c = alice.conv(kb["id"], title="  Refunds  ")
    assert c["object"] == "conversation" and c["id"].startswith("conv_")
    assert (c["bot_id"], c["title"], c["message_count"]) == (kb["id"], "Refunds", 0)
    assert c["created_at"] == c["updated_at"]
    r = alice.req("GET", "/v1/conversations/" + c["id"])
    assert r.status_code == 200 and r.json() == c
    assert alice.conv(kb["id"])["title"] is None
    r = alice.send(c["id"], "How long do refunds take?")
    assert r.status_code == 200, r.text
    assert alice.req("GET", "/v1/conversations/" + c["id"]).json()["message_count"] == 2
    r = alice.req("DELETE", "/v1/conversations/" + c["id"])
    assert r.status_code == 204 and r.content == b""
    assert_error(alice.req("GET", "/v1/conversations/" + c["id"]), 404, "not_found")
    assert_error(alice.req("GET", "/v1/conversations/%s/messages" % c["id"]), 404, "not_found")
    assert_error(alice.send(c["id"], "hello?"), 404, "not_found")
    assert_error(alice.req("DELETE", "/v1/conversations/" + c["id"]), 404, "not_found")


def test_conversation_create_errors(system, alice, kb):
    def post(body, **kw):
        return alice.req("POST", "/v1/conversations", json=body, **kw)

    e = assert_error(post({}), 400, "invalid_request")
    assert e.get("param") == "bot_id"
    assert assert_error(post({"bot_id": 5}), 400, "invalid_request")["param"] == "bot_id"
    assert assert_error(post({"bot_id": kb["id"], "color": "red"}), 400, "invalid_request")["param"] == "color"
    assert assert_error(post({"bot_id": kb["id"], "title": "x" * 201}), 400, "invalid_request")["param"] == "title"
    assert assert_error(post({"bot_id": kb["id"], "title": "   "}), 400, "invalid_request")["param"] == "title"
    assert assert_error(post({"bot_id": kb["id"], "title": "a\u0007b"}), 400, "invalid_request")["param"] == "title"
    assert post({"bot_id": kb["id"], "title": "é" * 200}).status_code == 201
    e = assert_error(post({"bot_id": "bot_doesnotexist000000"}), 404, "not_found")
    assert e.get("param") == "bot_id"
    assert_error(post({"bot_id": "../../etc"}), 404, "not_found")
    r = alice.req("POST", "/v1/conversations", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")


def test_list_pagination_and_filter(system):
    a = chat_token(system)
    b1, b2 = a.bot(docs={}), a.bot(docs={})
    made = [a.conv(b1["id"], title="c%d" % i)["id"] for i in range(5)] + [a.conv(b2["id"])["id"]]
    r = a.req("GET", "/v1/conversations")
    j = r.json()
    assert j["object"] == "list" and j["has_more"] is False and j["next_cursor"] is None
    assert [c["id"] for c in j["data"]] == made[::-1]  # newest first
    seen, cursor = [], None
    while True:
        params = {"limit": 2}
        if cursor:
            params["after"] = cursor
        j = a.req("GET", "/v1/conversations", params=params).json()
        seen += [c["id"] for c in j["data"]]
        if not j["has_more"]:
            assert j["next_cursor"] is None
            break
        cursor = j["next_cursor"]
    assert seen == made[::-1]
    j = a.req("GET", "/v1/conversations", params={"bot_id": b1["id"]}).json()
    assert [c["id"] for c in j["data"]] == made[:5][::-1]
    assert a.req("GET", "/v1/conversations", params={"bot_id": "bot_nope"}).json()["data"] == []
    for bad in ("0", "101", "ten", "-1"):
        assert assert_error(a.req("GET", "/v1/conversations", params={"limit": bad}), 400,
                            "invalid_request")["param"] == "limit"
    assert assert_error(a.req("GET", "/v1/conversations", params={"after": "garbage!"}), 400,
                        "invalid_request")["param"] == "after"


# --------------------------------------------------------------------------
# scopes, BOLA, team visibility


def test_scopes(system):
    u = system.user("pro")
    s = system.login(u)
    full = Chat(system, s.create_token(scopes=CHAT_SCOPES))
    bot = full.bot(docs={"Office": DOCS["Office"]})
    conv = full.conv(bot["id"])
    read = Chat(system, s.create_token(scopes=["conversations:read"]))
    write = Chat(system, s.create_token(scopes=["conversations:write"]))
    send = Chat(system, s.create_token(scopes=["chat:send"]))
    cid = conv["id"]
    cases = [
        (read, "POST", "/v1/conversations", {"bot_id": bot["id"]}, "conversations:write"),
        (read, "DELETE", "/v1/conversations/" + cid, None, "conversations:write"),
        (read, "POST", "/v1/conversations/%s/messages" % cid, {"content": "hi"}, "chat:send"),
        (write, "GET", "/v1/conversations", None, "conversations:read"),
        (write, "GET", "/v1/conversations/" + cid, None, "conversations:read"),
        (write, "GET", "/v1/conversations/%s/messages" % cid, None, "conversations:read"),
        (send, "GET", "/v1/conversations", None, "conversations:read"),
    ]
    for tok, method, path, body, scope in cases:
        e = assert_error(tok.req(method, path, json=body), 403, "insufficient_scope")
        assert e.get("required_scope") == scope, (method, path, e)
    assert read.req("GET", "/v1/conversations/" + cid).status_code == 200
    assert read.req("GET", "/v1/conversations/%s/messages" % cid).status_code == 200
    assert send.send(cid, "Where is the office?").status_code == 200
    assert write.req("POST", "/v1/conversations", json={"bot_id": bot["id"]}).status_code == 201
    assert write.req("DELETE", "/v1/conversations/" + cid).status_code == 204


def test_other_workspace_is_404_like_nothing(system, alice, kb):
    mine = alice.conv(kb["id"])
    other = chat_token(system)
    ghost = "conv_" + "A" * 20
    for method, suffix, body in (("GET", "", None), ("DELETE", "", None), ("GET", "/messages", None),
                                 ("POST", "/messages", {"content": "hi"})):
        a = other.req(method, "/v1/conversations/" + mine["id"] + suffix, json=body)
        b = other.req(method, "/v1/conversations/" + ghost + suffix, json=body)
        assert a.status_code == b.status_code == 404, (a.text, b.text)
        ea, eb = err(a), err(b)
        ea.pop("request_id"), eb.pop("request_id")
        assert ea == eb
    # a bot of another workspace cannot start a conversation
    e = assert_error(other.req("POST", "/v1/conversations", json={"bot_id": kb["id"]}), 404, "not_found")
    assert e.get("param") == "bot_id"
    assert mine["id"] not in other.req("GET", "/v1/conversations").text
    # and it is still there for its owner
    assert alice.req("GET", "/v1/conversations/" + mine["id"]).status_code == 200


def test_team_visibility(system):
    owner, admin, member, member2, viewer = (system.user("pro") for _ in range(5))
    team = system.team(owner, plan="ultra", seats=6)
    system.member(team, admin, role="admin")
    system.member(team, member, role="member")
    system.member(team, member2, role="member")
    system.member(team, viewer, role="viewer")
    to = chat_token(system, owner, workspace=team)
    ta = chat_token(system, admin, workspace=team)
    tm = chat_token(system, member, workspace=team)
    tm2 = chat_token(system, member2, workspace=team)
    tv = chat_token(system, viewer, workspace=team, scopes=["conversations:read", "bots:read"])
    bot = to.bot(docs={"Office": DOCS["Office"]})
    c_owner = to.conv(bot["id"])
    c_member = tm.conv(bot["id"])
    assert tm.send(c_member["id"], "Where is the office?").status_code == 200

    def ids(t):
        return {c["id"] for c in t.req("GET", "/v1/conversations").json()["data"]}

    assert {c_owner["id"], c_member["id"]} <= ids(to)
    assert {c_owner["id"], c_member["id"]} <= ids(ta)
    assert ids(tm) == {c_member["id"]}
    assert ids(tm2) == set() and ids(tv) == set()
    # the owner and admins read a member's conversation; other members cannot
    assert len(ta.messages(c_member["id"])["data"]) == 2
    assert to.req("GET", "/v1/conversations/" + c_member["id"]).status_code == 200
    assert_error(tm2.req("GET", "/v1/conversations/" + c_member["id"]), 404, "not_found")
    assert_error(tm2.send(c_member["id"], "hi"), 404, "not_found")
    assert_error(tm2.req("DELETE", "/v1/conversations/" + c_member["id"]), 404, "not_found")
    assert_error(tm.req("GET", "/v1/conversations/" + c_owner["id"]), 404, "not_found")
    assert_error(tv.req("GET", "/v1/conversations/%s/messages" % c_owner["id"]), 404, "not_found")
    # an admin may delete a member's conversation
    assert ta.req("DELETE", "/v1/conversations/" + c_member["id"]).status_code == 204
    # a viewer cannot write at all (the edge's check 8)
    v2 = Chat(system, system.login(viewer, team).create_token(scopes=["conversations:read"]))
    assert v2.req("GET", "/v1/conversations").status_code == 200


# --------------------------------------------------------------------------
# sending


def test_answers_hold_the_facts_they_cite(system, alice, kb):
    conv = alice.conv(kb["id"])
    cases = [
        ("How long do refunds take?", "14 days", "Refund policy"),
        ("How much does express shipping cost?", "9 EUR", "Shipping"),
        ("Where is the office?", "Lisbon", "Office"),
        ("What is the vault code?", "4711", "Office"),
    ]
    for q, fact, title in cases:
        r = alice.send(conv["id"], q)
        assert r.status_code == 200, r.text
        m = r.json()
        assert_message(m, "assistant")
        assert m["conversation_id"] == conv["id"] and m["model"] == "pegasus-lite"
        assert fact in m["content"], (q, m["content"])
        cited = {c["document_id"] for c in m["citations"]}
        assert kb["docs"][title] in cited, (q, m["citations"])
        for c in m["citations"]:
            assert set(c) == {"document_id", "title", "snippet"}, c
            assert c["title"] in DOCS and c["snippet"] and c["snippet"][:20] in DOCS[c["title"]]
        # every cited document holds a sentence of the answer
        assert any(c["snippet"][:20] in m["content"] for c in m["citations"])
        assert m["usage"]["output_tokens"] == tokens(m["content"])
        assert m["usage"]["input_tokens"] >= tokens(q)
    msgs = alice.messages(conv["id"])["data"]
    assert [m["role"] for m in msgs] == ["user", "assistant"] * len(cases)  # oldest first
    assert [m["content"] for m in msgs[::2]] == [q for q, _, _ in cases]
    assert msgs[0]["usage"] is None and msgs[0]["model"] is None and msgs[0]["citations"] == []


def test_follow_up_uses_the_earlier_turn(system, alice, kb):
    conv = alice.conv(kb["id"])
    assert "9 EUR" in alice.send(conv["id"], "How much does express shipping cost?").json()["content"]
    m = alice.send(conv["id"], "And how long does it take?").json()
    assert "one day" in m["content"], m["content"]


def test_nothing_relevant(system, alice, kb):
    conv = alice.conv(kb["id"])
    m = alice.send(conv["id"], "What is the airspeed velocity of an unladen swallow?").json()
    assert m["citations"] == [] and "could not find" in m["content"], m
    empty = alice.bot(docs={})
    m = alice.send(alice.conv(empty["id"])["id"], "How long do refunds take?").json()
    assert m["citations"] == [] and "could not find" in m["content"], m


def test_send_validation(system, alice, kb):
    conv = alice.conv(kb["id"])
    path = "/v1/conversations/%s/messages" % conv["id"]
    cases = [
        ({}, "content"),
        ({"content": ""}, "content"),
        ({"content": " \n\t "}, "content"),
        ({"content": 5}, "content"),
        ({"content": "x" * 32001}, "content"),
        ({"content": "hi", "stream": "yes"}, "stream"),
        ({"content": "hi", "temperature": 1}, "temperature"),
    ]
    for body, param in cases:
        e = assert_error(alice.req("POST", path, json=body), 400, "invalid_request")
        assert e.get("param") == param, (body, e)
    r = alice.req("POST", path, data=b'{"content":"caf\xe9"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert alice.send(conv["id"], "é" * 32000).status_code == 200  # code points, not bytes
    # nothing of the refused sends was stored
    assert len(alice.messages(conv["id"])["data"]) == 2


def test_bot_deleted_keeps_the_conversation_readable(system):
    a = chat_token(system)
    bot = a.bot(docs={"Office": DOCS["Office"]})
    conv = a.conv(bot["id"])
    assert a.send(conv["id"], "Where is the office?").status_code == 200
    assert a.req("DELETE", "/v1/bots/" + bot["id"]).status_code == 204
    assert a.req("GET", "/v1/conversations/" + conv["id"]).status_code == 200
    assert len(a.messages(conv["id"])["data"]) == 2
    assert_error(a.send(conv["id"], "Where is the office?"), 409, "bot_deleted")
    r = a.stream(conv["id"], "Where is the office?")
    assert_error(r, 409, "bot_deleted")
    assert len(a.messages(conv["id"])["data"]) == 2
    assert_error(a.req("POST", "/v1/conversations", json={"bot_id": bot["id"]}), 404, "not_found")
    assert a.req("DELETE", "/v1/conversations/" + conv["id"]).status_code == 204


def test_model_of_another_plan(system):
    u = system.user("ultra")
    a = chat_token(system, u)
    bot = a.bot(model="pegasus-max", docs={"Office": DOCS["Office"]})
    conv = a.conv(bot["id"])
    m = a.send(conv["id"], "When does the office close?").json()
    assert m["model"] == "pegasus-max" and "17:30" in m["content"], m
    system.ctl("plan", "set", "--email", u.email, "--plan", "pro")

    def refused():
        r = a.send(conv["id"], "When does the office close?")
        return (r,) if r.status_code == 403 else None

    e = assert_error(poll(refused, desc="403 after the downgrade")[0], 403, "model_not_allowed")
    assert "pegasus-max" in e["message"]


def test_message_list_pagination(system, alice, kb):
    conv = alice.conv(kb["id"])
    for q in ("Where is the office?", "What is the vault code?", "How long do refunds take?"):
        assert alice.send(conv["id"], q).status_code == 200
    everything = alice.messages(conv["id"])["data"]
    assert len(everything) == 6
    seen, cursor = [], None
    while True:
        params = {"limit": 4}
        if cursor:
            params["after"] = cursor
        j = alice.messages(conv["id"], **params)
        seen += j["data"]
        if not j["has_more"]:
            break
        cursor = j["next_cursor"]
    assert [m["id"] for m in seen] == [m["id"] for m in everything]


def test_idempotency_key(system, alice, kb):
    conv = alice.conv(kb["id"])
    path = "/v1/conversations/%s/messages" % conv["id"]
    key = {"Idempotency-Key": uniq("k")}
    a = alice.req("POST", path, json={"content": "Where is the office?"}, headers=key)
    b = alice.req("POST", path, json={"content": "Where is the office?"}, headers=key)
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert len(alice.messages(conv["id"])["data"]) == 2
    assert_error(alice.req("POST", path, json={"content": "Something else"}, headers=key), 409,
                 "idempotency_key_reused")
    # a replayed stream: one delta with the whole text, then message.completed
    skey = {"Idempotency-Key": uniq("s")}
    first = sse_events(alice.stream(conv["id"], "What is the vault code?", headers=skey))
    again = alice.stream(conv["id"], "What is the vault code?", headers=skey)
    assert again.headers.get("Idempotent-Replayed") == "true"
    ev = sse_events(again)
    text, (_, done) = check_stream(ev)
    assert [e for e, _ in ev if e != ":"] == ["message.delta", "message.completed"]
    assert done == first[-1][1] and text == done["content"]
    assert len(alice.messages(conv["id"])["data"]) == 4
    # conversations.create honours keys too
    k = {"Idempotency-Key": uniq("c")}
    c1 = alice.req("POST", "/v1/conversations", json={"bot_id": kb["id"]}, headers=k).json()
    c2 = alice.req("POST", "/v1/conversations", json={"bot_id": kb["id"]}, headers=k).json()
    assert c1["id"] == c2["id"]


# --------------------------------------------------------------------------
# streaming


def test_stream_reassembly(system, alice, kb):
    conv = alice.conv(kb["id"])
    r = alice.stream(conv["id"], "Tell me about refunds, shipping and the office hours.")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert "no-store" in r.headers.get("Cache-Control", "")
    ev = sse_events(r)
    text, (kind, msg) = check_stream(ev)
    assert kind == "message.completed"
    assert_message(msg, "assistant")
    assert text == msg["content"] and len([e for e, _ in ev if e == "message.delta"]) > 1
    assert msg["citations"] and msg["usage"]["output_tokens"] == tokens(msg["content"])
    stored = alice.messages(conv["id"])["data"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1] == msg


def test_stream_errors_before_start_are_json(system, alice, kb):
    conv = alice.conv(kb["id"])
    r = alice.req("POST", "/v1/conversations/%s/messages" % conv["id"], json={"content": "", "stream": True})
    assert_error(r, 400, "invalid_request")
    r = alice.req("POST", "/v1/conversations/conv_nope/messages", json={"content": "hi", "stream": True})
    assert_error(r, 404, "not_found")


def test_logs_hold_no_message_content(system, alice, kb):
    conv = alice.conv(kb["id"])
    secret_q = "Where is the office " + uniq("zz") + "?"
    assert alice.send(conv["id"], secret_q).status_code == 200
    for path in system.log_files():
        with open(path, "rb") as f:
            data = f.read()
        assert secret_q.encode() not in data, path
        assert b"vault code is 4711" not in data, path
