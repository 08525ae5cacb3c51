"""Usage analytics (SPEC §5, §8 "Usage queries" and "Team visibility";
docs/internals.md "Usage analytics"): what is counted and what is not,
the query answer for every grouping, chat messages and token counts
(blocking and streamed), validation and scope, team visibility, exactly-once
counting across kill -9 and `pegasusctl restart usage`, the app route, and
reports (background generation, list, CSV, idempotency, visibility,
`pegasusctl usage report`).

Every test counts the /v1 requests it makes itself (class Traffic) and waits
until the aggregates show exactly that: the usage queries made with a /v1
token are counted too (they are /v1 requests), so an answer must show every
request finished before the query was sent. Requests are only polled for
(with a growing interval and a generous limit); nothing here asserts a
timing."""

import calendar
import csv
import datetime
import io
import os
import re
import signal
import sqlite3
import threading
import time

import pytest
import requests

from pgs import HTTP_TIMEOUT, assert_error, break_checksum, err, make_token, poll, running_system, uniq
from test_chat import DOCS, check_stream, sse_events

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True

PEGASUS_ENV = {
    # the traffic tests send more than the default 600 requests a minute
    "PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE": "100000",
    # an Ultra token is rate limited at once (429s are counted too)
    "PEGASUS_PLAN_ULTRA_REQUESTS_PER_MINUTE": "5",
}

FIELDS = ("requests", "messages", "input_tokens", "output_tokens", "errors")
ZERO = dict.fromkeys(FIELDS, 0)
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\d$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CSV_HEADER = "date,requests,messages,input_tokens,output_tokens,errors"
NO_BOT = "No bot"
MSG_ROUTE = "POST /v1/conversations/{conversation_id}/messages"


# --------------------------------------------------------------------------
# helpers


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def days(start, end):
    """Every date from start to end inclusive, as YYYY-MM-DD."""
    out, d = [], start
    while d <= end:
        out.append(d.isoformat())
        d += datetime.timedelta(days=1)
    return out


class Tok:
    """A token as the app created it: id, name, secret, and its user."""

    def __init__(self, session, scopes=None, preset=None, name=None):
        j = session.create_token(name=name or uniq("tok-"), scopes=scopes, preset=preset, full=True)
        self.id = j["token"]["id"]
        self.name = j["token"]["name"]
        self.secret = j["secret"]  # registered with system.secret by create_token
        self.user_id = session.info["user"]["id"]
        self.user_name = session.info["user"]["name"]

    def __repr__(self):
        return "Tok(%s %s)" % (self.id, self.name)


class Traffic:
    """The /v1 requests a test made, each one a usage event as the contract
    defines it: every request made through call() carries a token that
    passes checks 1–4 (call() asserts it), so it must be counted once."""

    def __init__(self, system):
        self.sys = system
        self.lock = threading.Lock()
        self.events = []  # dicts: tok, route, status, bot, msgs, in, out

    def call(self, tok, method, path, route=None, bot=None, msgs=0, tin=0, tout=0, **kw):
        r = self.sys.api(tok.secret, method, path, **kw)
        assert r.status_code != 401, "a counted request must pass checks 1-4: %s %s → %d %r" % (
            method, path, r.status_code, r.text[:300])
        self.record(tok, route or "%s %s" % (method, path), r.status_code, bot, msgs, tin, tout)
        return r

    def record(self, tok, route, status, bot=None, msgs=0, tin=0, tout=0):
        with self.lock:
            self.events.append(dict(tok=tok, route=route, status=status, bot=bot, msgs=msgs, tin=tin, tout=tout))

    def snapshot(self, pred=None):
        with self.lock:
            return [e for e in self.events if pred is None or pred(e)]

    def usage(self, tok, **params):
        """GET /v1/usage with tok; the query itself is recorded once it is
        answered (the answer cannot contain its own request)."""
        r = self.call(tok, "GET", "/v1/usage", route="GET /v1/usage", params=params)
        assert r.status_code == 200, "GET /v1/usage %r → %d %r" % (params, r.status_code, r.text[:500])
        return r.json()


def expect(events, by, day=None):
    """The rows the contract promises for these events, grouped by `by`:
    {key: {field: n}}."""
    out = {}
    for e in events:
        k = {"token": lambda: e["tok"].id, "user": lambda: e["tok"].user_id, "route": lambda: e["route"],
             "bot": lambda: e["bot"], "day": lambda: day or today().isoformat()}[by]()
        row = out.setdefault(k, dict(ZERO))
        row["requests"] += 1
        row["errors"] += 1 if e["status"] >= 400 else 0
        row["messages"] += e["msgs"]
        row["input_tokens"] += e["tin"]
        row["output_tokens"] += e["tout"]
    return out


def totals_of(rows):
    t = dict(ZERO)
    for r in rows.values():
        for f in FIELDS:
            t[f] += r[f]
    return t


def seen(answer, nonzero_only=True):
    """{key: {field: n}} of an answer's rows (day rows with no requests left
    out unless asked)."""
    out = {}
    for row in answer["data"]:
        if nonzero_only and not row["requests"]:
            continue
        assert row["key"] not in out, "key %r twice in %r" % (row["key"], answer["data"])
        out[row["key"]] = {f: row[f] for f in FIELDS}
    return out


def check_shape(answer, group_by, start=None, end=None):
    assert answer.get("object") == "usage", answer
    assert answer["group_by"] == group_by, answer
    assert DATE_RE.match(answer["start"]) and DATE_RE.match(answer["end"]), answer
    if start:
        assert answer["start"] == start, answer
    if end:
        assert answer["end"] == end, answer
    assert isinstance(answer["data"], list), answer
    for row in answer["data"]:
        assert set(row) >= {"key", "label"} | set(FIELDS), row
        for f in FIELDS:
            assert isinstance(row[f], int) and not isinstance(row[f], bool) and row[f] >= 0, row
    assert set(answer["totals"]) >= set(FIELDS), answer
    # the totals are the sum of the rows (every grouping partitions the same requests)
    for f in FIELDS:
        assert answer["totals"][f] == sum(r[f] for r in answer["data"]), (f, answer)
    if group_by == "day":
        want = days(datetime.date.fromisoformat(answer["start"]), datetime.date.fromisoformat(answer["end"]))
        assert [r["key"] for r in answer["data"]] == want, "every day, oldest first: %r" % answer["data"]
        assert all(r["label"] == r["key"] for r in answer["data"]), answer["data"]
    else:
        reqs = [r["requests"] for r in answer["data"]]
        assert reqs == sorted(reqs, reverse=True), "most requests first: %r" % answer["data"]
        assert all(r["requests"] > 0 for r in answer["data"]), "only keys that had requests: %r" % answer["data"]
    return answer


def converge(fetch, want, desc, timeout=15.0):
    """Calls fetch() until want(answer) holds; returns the answer. The wait
    between calls grows, so that a usage query that is itself counted (a /v1
    request) is eventually answered after the previous one reached the
    aggregates."""
    deadline = time.monotonic() + timeout
    delay, last = 0.1, None
    while True:
        try:
            last = fetch()
            if want(last):
                return last
        except Exception as e:  # noqa: BLE001 - a restarting service may refuse meanwhile
            last = repr(e)
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s; last answer: %r" % (timeout, desc, last))
        time.sleep(delay)
        delay = min(delay * 1.6, 2.5)


def v1_converge(traffic, tok, by, pred=None, desc="usage", **params):
    """GET /v1/usage?group_by=by with tok until the rows equal what the
    requests recorded before the query (those matching pred) promise. by
    None: no group_by parameter at all (the default, day)."""
    state = {}

    def fetch():
        before = traffic.snapshot(pred)
        state["want"] = expect(before, by or "day")
        if by:
            params["group_by"] = by
        return traffic.usage(tok, **params)

    def want(a):
        return seen(a) == state["want"]

    a = converge(fetch, want, "%s (group_by=%s)" % (desc, by))
    check_shape(a, by or "day")
    return a, state["want"]


def app_usage(session, expect_status=200, **params):
    r = session.get("/app/api/usage", params=params)
    assert r.status_code == expect_status, "GET /app/api/usage %r → %d %r" % (params, r.status_code, r.text[:500])
    return r.json()


def app_converge(session, traffic, by, pred=None, desc="usage", timeout=15.0, **params):
    """GET /app/api/usage (not a /v1 request: never counted) until its rows
    equal what the recorded requests (those matching pred) promise."""
    want_rows = {}

    def fetch():
        want_rows.clear()
        want_rows.update(expect(traffic.snapshot(pred), by))
        return app_usage(session, group_by=by, **params)

    a = converge(fetch, lambda a: seen(a) == want_rows, "%s (app, group_by=%s)" % (desc, by), timeout)
    check_shape(a, by)
    return a, dict(want_rows)


def labels(answer):
    return {r["key"]: r["label"] for r in answer["data"]}


def pro_account(system, name=None, plan="pro"):
    u = system.user(plan, name=name or "Usage " + uniq("u"))
    return u, system.login(u)


def report_obj_check(rep, start=None, end=None):
    assert rep.get("object") == "usage_report", rep
    assert isinstance(rep.get("id"), str) and re.match(r"^rep_[A-Za-z0-9]+$", rep["id"]), rep  # SPEC §3
    assert rep["status"] in ("pending", "ready", "failed"), rep
    assert TIME_RE.match(rep["created_at"]), rep
    if start:
        assert rep["start"] == start, rep
    if end:
        assert rep["end"] == end, rep
    return rep


def wait_ready(traffic, tok, rid):
    def ready():
        r = traffic.call(tok, "GET", "/v1/usage/reports/" + rid, route="GET /v1/usage/reports/{report_id}")
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["status"] != "failed", j
        return j if j["status"] == "ready" else None

    return poll(ready, timeout=15, interval=0.2, desc="report %s ready" % rid)


# --------------------------------------------------------------------------
# counting


def test_counting_what_passes_checks_1_to_4(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read", "bots:read", "usage:read"])
    t2 = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    for _ in range(3):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    assert_error(tr.call(t, "GET", "/v1/bots/bot_doesnotexist0000", route="GET /v1/bots/{bot_id}"), 404, "not_found")
    e = assert_error(tr.call(t, "GET", "/v1/models"), 403, "insufficient_scope")
    assert e["required_scope"] == "models:read"
    assert tr.call(t2, "GET", "/v1/me").status_code == 200
    assert tr.call(t2, "DELETE", "/v1/token").status_code == 204
    # never counted: no token, an unknown token, a bad checksum, a revoked
    # token (its workspace and user are known), an unknown path or method
    # (refused before the token is looked at)
    bad = system.secret(break_checksum(t.secret))
    for _ in range(2):
        assert_error(system.api(None, "GET", "/v1/me"), 401, "missing_token")
        assert_error(system.api(system.secret(make_token()), "GET", "/v1/me"), 401, "invalid_token")
        assert_error(system.api(bad, "GET", "/v1/me"), 401, "invalid_token")
        assert_error(system.api(t2.secret, "GET", "/v1/me"), 401, "token_revoked")
        assert_error(system.api(t2.secret, "GET", "/v1/usage"), 401, "token_revoked")
        assert_error(system.api(t.secret, "GET", "/v1/no-such-route"), 404, "not_found")
        assert_error(system.api(t.secret, "PUT", "/v1/me"), 405, "method_not_allowed")

    # day (the default): today's row holds everything, errors are the 403 and the 404
    a, want = v1_converge(tr, t, "day", desc="today's requests")
    d = today().isoformat()
    assert list(want) == [d]
    assert want[d]["errors"] == 2 and want[d]["requests"] >= 7, want
    assert a["totals"] == {**a["totals"], **want[d]}, (a["totals"], want)
    # the same with no parameter at all: the 30 days ending today, by day
    plain, _ = v1_converge(tr, t, None, desc="the default query")
    check_shape(plain, "day", start=(today() - datetime.timedelta(days=29)).isoformat(), end=d)
    assert len(plain["data"]) == 30

    # by token: the revoked token's two counted requests, and nothing after
    a, want = v1_converge(tr, t, "token", desc="per token")
    assert want[t2.id] == {"requests": 2, "messages": 0, "input_tokens": 0, "output_tokens": 0, "errors": 0}
    assert labels(a) == {t.id: t.name, t2.id: t2.name}
    # by route: the route pattern, not the path
    a, want = v1_converge(tr, t, "route", desc="per route")
    assert labels(a) == {k: k for k in want}
    assert want["GET /v1/me"]["requests"] == 4 and want["GET /v1/bots/{bot_id}"]["errors"] == 1
    assert "DELETE /v1/token" in want and "GET /v1/models" in want
    # by user: one user, labelled with the name
    a, want = v1_converge(tr, t, "user", desc="per user")
    assert labels(a) == {t.user_id: u.name}
    # by bot: nothing here concerns a bot (the 404 bot does not exist)
    a, want = v1_converge(tr, t, "bot", desc="per bot")
    assert labels(a) == {None: NO_BOT}, a["data"]


def test_rate_limited_and_forbidden_requests_are_counted(system):
    # Ultra: 5 requests a minute per token (PEGASUS_ENV)
    u, s = pro_account(system, plan="ultra")
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    statuses = []
    while statuses.count(429) < 2:
        assert len(statuses) < 30, statuses
        r = tr.call(t, "GET", "/v1/me")
        if r.status_code == 429:
            assert_error(r, 429, "rate_limited")
        statuses.append(r.status_code)
    assert_error(tr.call(t, "GET", "/v1/subscription"), 403, "insufficient_scope")
    a, want = app_converge(s, tr, "token", desc="429s and 403s counted")
    row = want[t.id]
    assert row["requests"] == len(statuses) + 1 and row["errors"] == statuses.count(429) + 1, (row, statuses)
    assert labels(a) == {t.id: t.name}


# --------------------------------------------------------------------------
# the query


def test_day_rows_fill_the_range(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read", "usage:read"])
    tr = Traffic(system)
    assert tr.call(t, "GET", "/v1/me").status_code == 200
    d = today()
    start = (d - datetime.timedelta(days=6)).isoformat()
    a, want = v1_converge(tr, t, "day", start=start, end=d.isoformat(), desc="a week")
    check_shape(a, "day", start=start, end=d.isoformat())
    assert len(a["data"]) == 7 and a["data"][-1]["key"] == d.isoformat()
    assert all(r == {**r, **ZERO} for r in a["data"][:-1]), a["data"]
    # a range in the past: every day there, all zeros
    past = tr.usage(t, start="2026-02-25", end="2026-03-02")
    check_shape(past, "day", start="2026-02-25", end="2026-03-02")
    assert [r["key"] for r in past["data"]] == ["2026-02-25", "2026-02-26", "2026-02-27", "2026-02-28",
                                                "2026-03-01", "2026-03-02"]
    assert past["totals"] == {**past["totals"], **ZERO}
    # one day (end is inclusive)
    one = tr.usage(t, start=d.isoformat(), end=d.isoformat())
    check_shape(one, "day", start=d.isoformat(), end=d.isoformat())
    assert len(one["data"]) == 1 and one["data"][0]["requests"] >= 1
    # 366 days is the most a query may span
    long_start = (d - datetime.timedelta(days=365)).isoformat()
    full = tr.usage(t, start=long_start, end=d.isoformat())
    check_shape(full, "day", start=long_start, end=d.isoformat())
    assert len(full["data"]) == 366
    # other groupings over a range without requests: no rows, zero totals
    for by in ("token", "bot", "user", "route"):
        j = tr.usage(t, group_by=by, start="2026-02-25", end="2026-03-02")
        check_shape(j, by, start="2026-02-25", end="2026-03-02")
        assert j["data"] == [] and j["totals"] == {**j["totals"], **ZERO}, j


def test_validation_and_scope(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read", "usage:read"])
    d = today()
    cases = [
        ({"start": "2026-02-30", "end": "2026-03-03"}, "start"),
        ({"start": "2026-02-01", "end": "2026-02-30"}, "end"),
        ({"start": "yesterday", "end": d.isoformat()}, "start"),
        ({"start": "2026-01-01", "end": "tomorrow"}, "end"),
        ({"start": "2026-1-5", "end": "2026-01-31"}, "start"),
        ({"start": "2026-01-05", "end": "2026-1-31"}, "end"),
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        ({"start": "2026-01-01T00:00:00Z", "end": "2026-01-31"}, "start"),
        ({"group_by": "month"}, "group_by"),
        ({"group_by": "days"}, "group_by"),
    ]
    for params, param in cases:
        e = assert_error(system.api(t.secret, "GET", "/v1/usage", params=params), 400, "invalid_request")
        assert e.get("param") == param, (params, e)
    # start after end; more than 366 days: the README names start as the one at fault
    for params in ({"start": "2026-03-02", "end": "2026-03-01"},
                   {"start": (d - datetime.timedelta(days=367)).isoformat(), "end": d.isoformat()},
                   {"start": "2020-01-01", "end": "2026-01-01"}):
        e = assert_error(system.api(t.secret, "GET", "/v1/usage", params=params), 400, "invalid_request")
        assert e.get("param") == "start", (params, e)
    # the app route validates the same way
    e = assert_error(s.get("/app/api/usage", params={"group_by": "month"}), 400, "invalid_request")
    assert e.get("param") == "group_by"
    e = assert_error(s.get("/app/api/usage", params={"start": "2026-02-30"}), 400, "invalid_request")
    assert e.get("param") == "start"
    # usage:read is needed for every usage route
    no = Tok(s, preset="bot_management")
    for method, path, body in (("GET", "/v1/usage", None), ("GET", "/v1/usage/reports", None),
                               ("POST", "/v1/usage/reports", {"start": d.isoformat(), "end": d.isoformat()}),
                               ("GET", "/v1/usage/reports/rep_doesnotexist0000000", None)):
        e = assert_error(system.api(no.secret, method, path, json=body), 403, "insufficient_scope")
        assert e.get("required_scope") == "usage:read", (method, path, e)
    # the read_only preset has it
    ro = Tok(s, preset="read_only")
    assert system.api(ro.secret, "GET", "/v1/usage").status_code == 200


def test_group_by_bot_route_and_labels(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["bots:read", "bots:write", "profile:read", "usage:read"], name="bot-manager")
    tr = Traffic(system)
    made = {}
    for name in ("Alpha bot", "Beta bot"):
        made[name] = create_bot(tr, t, name)
    alpha, beta = made["Alpha bot"], made["Beta bot"]
    for _ in range(3):
        assert tr.call(t, "GET", "/v1/bots/" + alpha, route="GET /v1/bots/{bot_id}", bot=alpha).status_code == 200
    r = tr.call(t, "POST", "/v1/bots/%s/documents" % alpha, route="POST /v1/bots/{bot_id}/documents", bot=alpha,
                json={"title": "Office", "content": DOCS["Office"]})
    assert r.status_code == 201, r.text
    doc = r.json()["id"]
    r = tr.call(t, "GET", "/v1/bots/%s/documents/%s" % (alpha, doc), bot=alpha,
                route="GET /v1/bots/{bot_id}/documents/{doc_id}")
    assert r.status_code == 200, r.text
    r = tr.call(t, "GET", "/v1/bots/%s/search" % alpha, route="GET /v1/bots/{bot_id}/search", bot=alpha,
                params={"q": "office"})
    assert r.status_code == 200, r.text
    assert tr.call(t, "GET", "/v1/bots/" + beta, route="GET /v1/bots/{bot_id}", bot=beta).status_code == 200
    # a deleted bot keeps its name as the label
    assert tr.call(t, "DELETE", "/v1/bots/" + beta, route="DELETE /v1/bots/{bot_id}", bot=beta).status_code == 204
    # requests about no bot: the list, the profile, a bot that does not exist (404)
    assert tr.call(t, "GET", "/v1/bots").status_code == 200
    assert tr.call(t, "GET", "/v1/me").status_code == 200
    assert tr.call(t, "GET", "/v1/bots/" + beta, route="GET /v1/bots/{bot_id}").status_code == 404
    assert tr.call(t, "GET", "/v1/bots/bot_nope00000000", route="GET /v1/bots/{bot_id}").status_code == 404

    a, want = v1_converge(tr, t, "bot", desc="per bot")
    assert labels(a) == {alpha: "Alpha bot", beta: "Beta bot", None: NO_BOT}, a["data"]
    assert want[alpha]["requests"] == 7 and want[beta]["requests"] == 3, want
    assert want[None]["errors"] == 2, want
    # by route: each pattern once, the label is the route itself
    a = converge(lambda: app_usage(s, group_by="route"),
                 lambda a: a["totals"]["requests"] == len(tr.snapshot()), "per route")
    check_shape(a, "route")
    rows = seen(a)
    assert labels(a) == {k: k for k in rows}
    assert rows["GET /v1/bots/{bot_id}"]["requests"] == 6 and rows["GET /v1/bots/{bot_id}"]["errors"] == 2, rows
    assert rows["POST /v1/bots"]["requests"] == 2 and rows["GET /v1/bots/{bot_id}/search"]["requests"] == 1
    assert rows["GET /v1/usage"]["requests"] == len([e for e in tr.snapshot() if e["route"] == "GET /v1/usage"])
    assert not [k for k in rows if alpha in k or beta in k or doc in k], "paths instead of patterns: %r" % list(rows)


def create_bot(traffic, tok, name):
    """POST /v1/bots: the event names the bot it created (docs/internals.md)."""
    r = traffic.sys.api(tok.secret, "POST", "/v1/bots", json={"name": name, "model": "pegasus-lite"})
    assert r.status_code == 201, r.text
    bot = r.json()["id"]
    traffic.record(tok, "POST /v1/bots", 201, bot)
    return bot


# --------------------------------------------------------------------------
# chat


def test_chat_messages_and_token_counts(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["bots:read", "bots:write", "conversations:read", "conversations:write", "chat:send",
                       "usage:read"])
    tr = Traffic(system)
    bot = create_bot(tr, t, "Helpdesk")
    for title, content in DOCS.items():
        r = tr.call(t, "POST", "/v1/bots/%s/documents" % bot, route="POST /v1/bots/{bot_id}/documents", bot=bot,
                    json={"title": title, "content": content})
        assert r.status_code == 201, r.text
    r = tr.call(t, "POST", "/v1/conversations", bot=bot, json={"bot_id": bot})
    assert r.status_code == 201, r.text
    conv = r.json()["id"]
    path = "/v1/conversations/%s/messages" % conv

    # blocking
    r = system.api(t.secret, "POST", path, json={"content": "How long do refunds take?"})
    assert r.status_code == 200, r.text
    m1 = r.json()
    assert m1["usage"]["input_tokens"] > 0 and m1["usage"]["output_tokens"] > 0, m1
    tr.record(t, MSG_ROUTE, 200, bot, 1, m1["usage"]["input_tokens"], m1["usage"]["output_tokens"])
    # streamed, read to the end
    r = system.api(t.secret, "POST", path, json={"content": "Where is the office?", "stream": True}, stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream"), r.text
    text, (kind, m2) = check_stream(sse_events(r))
    assert kind == "message.completed" and text == m2["content"], m2
    assert m2["usage"]["input_tokens"] > 0 and m2["usage"]["output_tokens"] > 0, m2
    tr.record(t, MSG_ROUTE, 200, bot, 1, m2["usage"]["input_tokens"], m2["usage"]["output_tokens"])
    # a refused send is a request and an error, and no message (its bot is
    # named only by the worker: a 400 names no path bot)
    r = system.api(t.secret, "POST", path, json={"content": ""})
    assert_error(r, 400, "invalid_request")
    refused_at = len(tr.snapshot())
    tr.record(t, MSG_ROUTE, 400, None)
    # reading the messages is no message either
    r = tr.call(t, "GET", path, route="GET /v1/conversations/{conversation_id}/messages", bot=bot)
    assert r.status_code == 200 and len(r.json()["data"]) == 4, r.text

    tin = m1["usage"]["input_tokens"] + m2["usage"]["input_tokens"]
    tout = m1["usage"]["output_tokens"] + m2["usage"]["output_tokens"]
    # totals and the token's row: exact
    a, want = app_converge(s, tr, "token", desc="messages counted")
    assert a["totals"]["messages"] == 2, a
    assert (a["totals"]["input_tokens"], a["totals"]["output_tokens"]) == (tin, tout), (a["totals"], m1, m2)
    # by bot: the sends carry the bot, and so do the bot's creation, its
    # documents, the conversation and its messages (docs/internals.md); the
    # refused send may name it or not (a worker's reply header is optional there)
    ba = app_usage(s, group_by="bot")
    check_shape(ba, "bot")
    assert labels(ba)[bot] == "Helpdesk", ba["data"]
    b = seen(ba)
    alt = [dict(e) for e in tr.snapshot()]
    alt[refused_at]["bot"] = bot
    assert b in (expect(tr.snapshot(), "bot"), expect(alt, "bot")), (b, expect(tr.snapshot(), "bot"))
    assert b[bot]["messages"] == 2 and (b[bot]["input_tokens"], b[bot]["output_tokens"]) == (tin, tout), b
    # by route: the sends' route holds the messages, and the refused send
    rows = seen(app_usage(s, group_by="route"))
    assert rows[MSG_ROUTE] == {"requests": 3, "messages": 2, "input_tokens": tin, "output_tokens": tout,
                               "errors": 1}, rows
    # by day: today's row, as /v1/usage gives it too
    a, want = v1_converge(tr, t, "day", desc="messages per day")
    assert a["data"][-1]["messages"] == 2 and a["data"][-1]["input_tokens"] == tin


# --------------------------------------------------------------------------
# team visibility and workspaces


def test_team_visibility(system):
    owner, so = pro_account(system, name="Olivia Owner " + uniq(""))
    admin, sa = pro_account(system, name="Adam Admin " + uniq(""))
    member, sm = pro_account(system, name="Mia Member " + uniq(""))
    member2, sm2 = pro_account(system, name="Max Member " + uniq(""))
    viewer, sv = pro_account(system, name="Vera Viewer " + uniq(""))
    team = system.team(owner, plan="pro", seats=5)
    system.member(team, admin, role="admin")
    system.member(team, member, role="member")
    system.member(team, member2, role="member")
    system.member(team, viewer, role="viewer")
    for sess in (so, sa, sm, sm2, sv):
        sess.switch(team)
        sess.session()
    to, ta, tm, tm2, tv = (Tok(x, preset="read_only") for x in (so, sa, sm, sm2, sv))
    assert to.user_id != tm.user_id
    tr = Traffic(system)
    for tok, n in ((to, 2), (ta, 1), (tm, 3), (tm2, 4), (tv, 2)):
        for _ in range(n):
            assert tr.call(tok, "GET", "/v1/me").status_code == 200
    assert tr.call(tm, "GET", "/v1/bots/bot_nope00000000", route="GET /v1/bots/{bot_id}").status_code == 404
    # the owner's Personal workspace, with traffic of its own
    so2 = system.login(owner)
    tp = Tok(so2, preset="read_only")
    tpersonal = Traffic(system)
    for _ in range(5):
        assert tpersonal.call(tp, "GET", "/v1/subscription").status_code == 200

    def mine(tok):
        return lambda e: e["tok"].user_id == tok.user_id

    # owner and admin: everyone's, by user with names
    for sess in (so, sa):
        a, want = app_converge(sess, tr, "user", desc="whole team")
        assert labels(a) == {to.user_id: owner.name, ta.user_id: admin.name, tm.user_id: member.name,
                             tm2.user_id: member2.name, tv.user_id: viewer.name}, a["data"]
    # members and viewers: their own only, data and totals alike
    for sess, tok, name in ((sm, tm, member.name), (sm2, tm2, member2.name), (sv, tv, viewer.name)):
        a, want = app_converge(sess, tr, "user", pred=mine(tok), desc="own usage")
        assert labels(a) == {tok.user_id: name}
        a, want = app_converge(sess, tr, "token", pred=mine(tok), desc="own tokens")
        assert list(want) == [tok.id]
    # the same through /v1/usage with the member's token (its queries are its own requests)
    a, want = v1_converge(tr, tm, "token", pred=mine(tm), desc="member's own")
    assert list(want) == [tm.id] and a["totals"]["errors"] == 1 and a["totals"]["requests"] >= 4
    a, want = v1_converge(tr, tm, "bot", pred=mine(tm), desc="member's own by bot")
    a, want = v1_converge(tr, tm, "day", pred=mine(tm), desc="member's own by day")
    a, want = v1_converge(tr, tv, "user", pred=mine(tv), desc="viewer's own")
    assert labels(a) == {tv.user_id: viewer.name}
    # and the owner's token sees everything, the member's queries included
    a, want = v1_converge(tr, to, "token", desc="owner sees all")
    assert set(want) == {to.id, ta.id, tm.id, tm2.id, tv.id}
    assert labels(a)[tm.id] == tm.name
    a, want = v1_converge(tr, ta, "route", desc="admin sees all routes")
    # workspaces never mix: the Personal workspace shows its own requests only
    a, want = v1_converge(tpersonal, tp, "token", desc="personal workspace")
    assert set(want) == {tp.id}
    so2_answer, _ = app_converge(so2, tpersonal, "user", desc="personal in the app")
    assert labels(so2_answer) == {tp.user_id: owner.name}
    # a stranger sees nothing of either
    stranger, ss = pro_account(system)
    ts = Tok(ss, preset="read_only")
    j = system.api(ts.secret, "GET", "/v1/usage", params={"group_by": "token"}).json()
    assert j["data"] == [] and j["totals"] == {**j["totals"], **ZERO}, j
    j = app_usage(ss, group_by="user")
    assert [r["key"] for r in j["data"]] in ([], [ts.user_id]), j
    assert to.user_id not in str(j) and tm.user_id not in str(j)


# --------------------------------------------------------------------------
# the app route


def test_app_route(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read", "usage:read"])
    tr = Traffic(system)
    for _ in range(4):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    a, want = app_converge(s, tr, "day", desc="app usage")
    check_shape(a, "day", start=(today() - datetime.timedelta(days=29)).isoformat(), end=today().isoformat())
    assert len(a["data"]) == 30
    # the same answer as /v1/usage: everything is counted by now, so the
    # /v1 query shows exactly what was made before it
    before = expect(tr.snapshot(), "token")
    v = tr.usage(t, group_by="token")
    check_shape(v, "token")
    assert seen(v) == before, (v, before)
    a3, _ = app_converge(s, tr, "token", desc="the /v1 query counted")
    assert seen(a3)[t.id]["requests"] == seen(v)[t.id]["requests"] + 1
    assert {k: a3[k] for k in ("object", "start", "end", "group_by")} == \
        {k: v[k] for k in ("object", "start", "end", "group_by")}
    assert labels(a3) == labels(v) == {t.id: t.name}
    # start/end/group_by as for /v1
    j = app_usage(s, group_by="route", start=today().isoformat(), end=today().isoformat())
    check_shape(j, "route", start=today().isoformat(), end=today().isoformat())
    assert labels(j) == {"GET /v1/me": "GET /v1/me", "GET /v1/usage": "GET /v1/usage"}
    # the active workspace: a team of this user shows the team's usage, not the Personal one
    team = system.team(u, plan="pro", seats=2)
    s.switch(team)
    s.session()
    tt = Tok(s, preset="read_only")
    tteam = Traffic(system)
    assert tteam.call(tt, "GET", "/v1/subscription").status_code == 200
    a, want = app_converge(s, tteam, "token", desc="team usage in the app")
    assert list(want) == [tt.id]
    s.switch("personal")
    a, want = app_converge(s, tr, "token", desc="personal again")
    assert tt.id not in want
    # no session, an unknown session, a signed-out session
    assert_error(system.get("/app/api/usage"), 401, "not_signed_in")
    assert_error(system.get("/app/api/usage", cookies={"pegasus_session": "nope" * 8}), 401, "not_signed_in")
    # a token is no session
    assert_error(system.api(t.secret, "GET", "/app/api/usage"), 401, "not_signed_in")
    out = system.login(u)
    assert out.post("/app/api/logout").status_code in (200, 204)
    assert_error(out.get("/app/api/usage"), 401, "not_signed_in")


# --------------------------------------------------------------------------
# exactly once across restarts


class Background:
    """GET /v1/me and GET /v1/models (403) with one token until stopped;
    every answered request is recorded."""

    def __init__(self, traffic, tok):
        self.tr, self.tok = traffic, tok
        self.stop = threading.Event()
        self.failures = []
        self.th = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self.stop.is_set():
            path = "/v1/models" if i % 5 == 4 else "/v1/me"
            i += 1
            try:
                r = self.tr.call(self.tok, "GET", path, timeout=HTTP_TIMEOUT)
                if r.status_code not in (200, 403):
                    self.failures.append((path, r.status_code, r.text[:200]))
            except (requests.RequestException, AssertionError) as e:
                self.failures.append((path, repr(e)))
            time.sleep(0.01)

    def count(self):
        return len(self.tr.snapshot())

    def until(self, n, desc):
        poll(lambda: self.count() >= n, timeout=30, interval=0.05, desc=desc)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.th.join(timeout=HTTP_TIMEOUT + 5)
        assert not self.th.is_alive(), "a request hung"


def exact_and_stays(session, traffic, desc):
    """Waits until the answer equals the recorded requests, then checks it
    again a little later: a re-delivered event counted twice shows then."""
    a, want = app_converge(session, traffic, "token", desc=desc)
    total = totals_of(want)
    assert a["totals"] == {**a["totals"], **total}
    time.sleep(2.5)
    again = app_usage(session, group_by="token")
    assert seen(again) == want, "counted twice after the restart: %r, made %r" % (seen(again), want)
    return total


def test_kill_9_usage_workers_loses_and_doubles_nothing(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    before = system.running("usage")
    with Background(tr, t) as bg:
        bg.until(40, "traffic before the kill")
        for p in before:
            system.signal(p["pid"], signal.SIGKILL)
        n = bg.count()
        bg.until(n + 40, "traffic while usage is down")

        def restarted():
            now = system.running("usage", n=len(before))
            return now if not {p["pid"] for p in now} & {p["pid"] for p in before} else None

        poll(restarted, timeout=30, interval=0.2, desc="usage workers restarted")
        n = bg.count()
        bg.until(n + 40, "traffic after the restart")
    assert not bg.failures, bg.failures[:10]
    total = exact_and_stays(s, tr, "every request once after kill -9")
    assert total["requests"] >= 120 and total["errors"] >= 20, total


def test_ctl_restart_usage_in_traffic(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    before = {p["pid"] for p in system.running("usage")}
    with Background(tr, t) as bg:
        bg.until(30, "traffic before the restart")
        system.ctl("restart", "usage")
        poll(lambda: not ({p["pid"] for p in system.running("usage")} & before), timeout=30, interval=0.2,
             desc="usage workers replaced")
        n = bg.count()
        bg.until(n + 30, "traffic after the restart")
    assert not bg.failures, bg.failures[:10]
    exact_and_stays(s, tr, "every request once after pegasusctl restart usage")


def test_scale_usage_down_and_up_in_traffic(system):
    """A scaled-down process's entries are taken over (XAUTOCLAIM of what it
    left pending, after 30 s): the wait allows for that."""
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    n0 = len(system.running("usage"))
    with Background(tr, t) as bg:
        bg.until(30, "traffic before scaling down")
        system.ctl("scale", "usage", "1")
        poll(lambda: len(system.procs("usage")) == 1, timeout=30, interval=0.2, desc="one usage process")
        n = bg.count()
        bg.until(n + 30, "traffic with one usage process")
        system.ctl("scale", "usage", str(n0))
        system.running("usage", n=n0)
        n = bg.count()
        bg.until(n + 30, "traffic after scaling back up")
    assert not bg.failures, bg.failures[:10]
    a, want = app_converge(s, tr, "token", desc="every request once after scaling", timeout=50)
    assert seen(app_usage(s, group_by="token")) == want


# --------------------------------------------------------------------------
# reports


def post_report(traffic, tok, body, headers=None):
    return traffic.call(tok, "POST", "/v1/usage/reports", json=body, headers=headers)


def test_report_lifecycle_csv_and_list(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read", "usage:read"])
    tr = Traffic(system)
    for _ in range(3):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    assert tr.call(t, "GET", "/v1/subscription").status_code == 403
    d = today()
    start, end = (d - datetime.timedelta(days=2)).isoformat(), d.isoformat()
    app_converge(s, tr, "day", desc="traffic counted before the report")
    settled = len(tr.snapshot())
    r = post_report(tr, t, {"start": start, "end": end})
    assert r.status_code == 202, r.text
    rep = report_obj_check(r.json(), start, end)
    assert rep["kind"] == "requested" and rep["scope"] == "workspace", rep
    if rep["status"] == "pending":
        assert rep["rows"] is None and rep["totals"] is None, rep
        c = system.api(t.secret, "GET", "/v1/usage/reports/" + rep["id"], headers={"Accept": "text/csv"})
        tr.record(t, "GET /v1/usage/reports/{report_id}", c.status_code)
        if c.status_code != 200:  # still pending: 409
            assert_error(c, 409, "conflict")
    ready = wait_ready(tr, t, rep["id"])
    made_before_ready = len(tr.snapshot())
    errors_before_ready = len(tr.snapshot(lambda e: e["status"] >= 400))
    report_obj_check(ready, start, end)
    assert ready["id"] == rep["id"] and ready["created_at"] == rep["created_at"]
    assert [x["key"] for x in ready["rows"]] == days(d - datetime.timedelta(days=2), d)
    for row in ready["rows"]:
        assert row["label"] == row["key"] and set(row) >= set(FIELDS), row
    assert ready["rows"][0] == {**ready["rows"][0], **ZERO} and ready["rows"][1] == {**ready["rows"][1], **ZERO}
    todays = ready["rows"][2]
    # everything settled before the POST is in; at most what was sent before it was ready
    assert settled <= todays["requests"] <= made_before_ready, (todays, settled, made_before_ready)
    assert 1 <= todays["errors"] <= errors_before_ready, (todays, errors_before_ready)
    for f in FIELDS:
        assert ready["totals"][f] == sum(x[f] for x in ready["rows"]), ready
    # the same rows as group_by=day gives for that range (the report is a
    # snapshot: only requests made since may differ)
    q = app_usage(s, start=start, end=end)
    assert [x["key"] for x in q["data"]] == [x["key"] for x in ready["rows"]]
    assert seen({"data": q["data"][:2]}, False) == seen({"data": ready["rows"][:2]}, False)
    assert q["data"][2]["requests"] >= todays["requests"] and q["data"][2]["errors"] >= todays["errors"]
    # the stored report does not change
    r = tr.call(t, "GET", "/v1/usage/reports/" + rep["id"], route="GET /v1/usage/reports/{report_id}")
    assert r.status_code == 200 and r.json() == ready
    # CSV
    c = tr.call(t, "GET", "/v1/usage/reports/" + rep["id"], route="GET /v1/usage/reports/{report_id}",
                headers={"Accept": "text/csv"})
    assert c.status_code == 200, c.text
    assert c.headers["Content-Type"].replace(" ", "").lower() == "text/csv;charset=utf-8", c.headers
    lines = c.text.strip("\r\n").replace("\r\n", "\n").split("\n")
    assert lines[0] == CSV_HEADER, lines
    assert len(lines) == 1 + 3, lines
    got = list(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert got == [[x["key"]] + [str(x[f]) for f in FIELDS] for x in ready["rows"]], (got, ready["rows"])
    # the list: newest first, the list envelope
    r2 = post_report(tr, t, {"start": end, "end": end})
    assert r2.status_code == 202, r2.text
    rep2 = report_obj_check(r2.json(), end, end)
    assert rep2["id"] != rep["id"]
    r = tr.call(t, "GET", "/v1/usage/reports")
    assert r.status_code == 200, r.text
    lst = r.json()
    assert lst["object"] == "list" and lst["has_more"] is False and lst["next_cursor"] is None, lst
    assert [x["id"] for x in lst["data"]] == [rep2["id"], rep["id"]], lst
    for x in lst["data"]:
        report_obj_check(x)
    r = tr.call(t, "GET", "/v1/usage/reports", params={"limit": 1})
    page = r.json()
    assert [x["id"] for x in page["data"]] == [rep2["id"]] and page["has_more"] is True, page
    r = tr.call(t, "GET", "/v1/usage/reports", params={"limit": 1, "after": page["next_cursor"]})
    page2 = r.json()
    assert [x["id"] for x in page2["data"]] == [rep["id"]] and page2["has_more"] is False, page2
    e = assert_error(tr.call(t, "GET", "/v1/usage/reports", params={"after": "garbage!"}), 400, "invalid_request")
    assert e.get("param") == "after"
    # unknown ids, another workspace's report
    assert_error(tr.call(t, "GET", "/v1/usage/reports/rep_doesnotexist0000000",
                         route="GET /v1/usage/reports/{report_id}"), 404, "not_found")
    other, so = pro_account(system)
    to = Tok(so, preset="read_only")
    assert_error(system.api(to.secret, "GET", "/v1/usage/reports/" + rep["id"]), 404, "not_found")
    assert_error(system.api(to.secret, "GET", "/v1/usage/reports/" + rep["id"], headers={"Accept": "text/csv"}),
                 404, "not_found")
    j = system.api(to.secret, "GET", "/v1/usage/reports").json()
    assert j["data"] == [], j


def test_report_bodies_and_idempotency(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["usage:read"])
    d = today().isoformat()
    cases = [
        ({"start": d}, "end"),
        ({"end": d}, "start"),
        ({"start": d, "end": d, "format": "csv"}, "format"),
        ({"start": 20260101, "end": d}, "start"),
        ({"start": d, "end": None}, "end"),
        ({"start": d, "end": ["2026-01-01"]}, "end"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "start"),
        ({"start": "2026-02-01", "end": "yesterday"}, "end"),
        ({"start": "2026-1-5", "end": "2026-01-31"}, "start"),
    ]
    for body, param in cases:
        e = assert_error(system.api(t.secret, "POST", "/v1/usage/reports", json=body), 400, "invalid_request")
        assert e.get("param") == param, (body, e)
    e = assert_error(system.api(t.secret, "POST", "/v1/usage/reports",
                                json={"start": "2026-03-02", "end": "2026-03-01"}), 400, "invalid_request")
    assert e.get("param") == "start", e
    e = assert_error(system.api(t.secret, "POST", "/v1/usage/reports",
                                json={"start": "2024-01-01", "end": "2026-01-01"}), 400, "invalid_request")
    assert e.get("param") == "start", e
    assert_error(system.api(t.secret, "POST", "/v1/usage/reports", data=b"{nope",
                            headers={"Content-Type": "application/json"}), 400, "invalid_json")
    # a body that is JSON but no object (the project answers invalid_json, as common/pgs_json does everywhere)
    r = system.api(t.secret, "POST", "/v1/usage/reports", json=["2026-01-01", d])
    assert r.status_code == 400 and err(r)["code"] in ("invalid_json", "invalid_request"), r.text
    # nothing of that made a report
    j = system.api(t.secret, "GET", "/v1/usage/reports").json()
    assert j["data"] == [], j
    # Idempotency-Key: the first response again, one report
    key = {"Idempotency-Key": uniq("rep")}
    body = {"start": "2026-11-01", "end": d}
    a = system.api(t.secret, "POST", "/v1/usage/reports", json=body, headers=key)
    assert a.status_code == 202 and "Idempotent-Replayed" not in a.headers, (a.status_code, a.headers)
    b = system.api(t.secret, "POST", "/v1/usage/reports", json=body, headers=key)
    assert b.status_code == 202 and b.headers.get("Idempotent-Replayed") == "true", (b.status_code, b.headers)
    assert b.json() == a.json()
    assert_error(system.api(t.secret, "POST", "/v1/usage/reports", json={"start": d, "end": d}, headers=key),
                 409, "idempotency_key_reused")
    j = system.api(t.secret, "GET", "/v1/usage/reports").json()
    assert [x["id"] for x in j["data"]] == [a.json()["id"]], j
    # the key belongs to the user in its workspace, across its tokens (issue 11):
    # another token of the same user with another body is a reuse
    t2 = Tok(s, scopes=["usage:read"])
    c = system.api(t2.secret, "POST", "/v1/usage/reports", json={"start": "2026-11-02", "end": d}, headers=key)
    assert_error(c, 409, "idempotency_key_reused")
    # and another user has keys of its own
    _, s_other = pro_account(system)
    t3 = Tok(s_other, scopes=["usage:read"])
    c = system.api(t3.secret, "POST", "/v1/usage/reports", json={"start": "2026-11-02", "end": d}, headers=key)
    assert c.status_code == 202 and "Idempotent-Replayed" not in c.headers and c.json()["id"] != a.json()["id"]


def test_report_visibility_in_a_team(system):
    owner, so = pro_account(system)
    m1, s1 = pro_account(system)
    m2, s2 = pro_account(system)
    team = system.team(owner, plan="pro", seats=4)
    system.member(team, m1, role="member")
    system.member(team, m2, role="member")
    for sess in (so, s1, s2):
        sess.switch(team)
        sess.session()
    to, t1, t2 = (Tok(x, preset="read_only") for x in (so, s1, s2))
    tr = Traffic(system)
    for _ in range(20):
        assert tr.call(to, "GET", "/v1/me").status_code == 200
    for _ in range(3):
        assert tr.call(t1, "GET", "/v1/me").status_code == 200
    app_converge(so, tr, "token", desc="team traffic counted")
    d = today().isoformat()
    r = post_report(tr, t1, {"start": d, "end": d})
    assert r.status_code == 202, r.text
    r1 = report_obj_check(r.json())
    assert r1["scope"] == "user", r1
    r = post_report(tr, t2, {"start": d, "end": d})
    assert r.status_code == 202, r.text
    r2 = report_obj_check(r.json())
    r = post_report(tr, to, {"start": d, "end": d})
    assert r.status_code == 202, r.text
    ro = report_obj_check(r.json())
    assert ro["scope"] == "workspace", ro
    # a member's report: their own usage only
    m1_before = len([e for e in tr.snapshot() if e["tok"] is t1])
    ready1 = wait_ready(tr, t1, r1["id"])
    m1_after = len([e for e in tr.snapshot() if e["tok"] is t1])
    assert 3 <= ready1["totals"]["requests"] <= m1_after, (ready1, m1_before, m1_after)
    readyo = wait_ready(tr, to, ro["id"])
    assert readyo["totals"]["requests"] >= 20 + 3, readyo
    # members see their own reports; another member's is 404
    j = tr.call(t1, "GET", "/v1/usage/reports").json()
    assert [x["id"] for x in j["data"]] == [r1["id"]], j
    j = tr.call(t2, "GET", "/v1/usage/reports").json()
    assert [x["id"] for x in j["data"]] == [r2["id"]], j
    assert_error(tr.call(t2, "GET", "/v1/usage/reports/" + r1["id"], route="GET /v1/usage/reports/{report_id}"),
                 404, "not_found")
    assert_error(tr.call(t1, "GET", "/v1/usage/reports/" + ro["id"], route="GET /v1/usage/reports/{report_id}"),
                 404, "not_found")
    assert_error(tr.call(t2, "GET", "/v1/usage/reports/" + r1["id"], route="GET /v1/usage/reports/{report_id}",
                         headers={"Accept": "text/csv"}), 404, "not_found")
    # the owner sees every report of the workspace
    j = tr.call(to, "GET", "/v1/usage/reports").json()
    assert {r1["id"], r2["id"], ro["id"]} <= {x["id"] for x in j["data"]}, j
    assert tr.call(to, "GET", "/v1/usage/reports/" + r1["id"], route="GET /v1/usage/reports/{report_id}"
                   ).status_code == 200
    # reports work in a read-only team (POST /v1/usage/reports is a read)
    system.team_state(team, pending=True)
    yesterday = (datetime.date.fromisoformat(d) - datetime.timedelta(days=1)).isoformat()
    r = post_report(tr, t1, {"start": yesterday, "end": d})
    assert r.status_code == 202, r.text
    system.team_state(team, pending=False)


def test_ctl_monthly_report(system):
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    for _ in range(6):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    assert tr.call(t, "GET", "/v1/models").status_code == 403
    app_converge(s, tr, "token", desc="traffic counted")
    ws = s.ws("personal")["id"]
    d = today()
    month = d.strftime("%Y-%m")
    last = calendar.monthrange(d.year, d.month)[1]
    rep = system.ctl("usage", "report", "--workspace", ws, "--month", month)
    assert isinstance(rep, dict), rep
    report_obj_check(rep, "%s-01" % month, "%s-%02d" % (month, last))
    assert rep["status"] == "ready" and rep["kind"] == "monthly" and rep["scope"] == "workspace", rep
    assert [x["key"] for x in rep["rows"]] == days(d.replace(day=1), d.replace(day=last))
    # nothing but pegasusctl ran since the traffic settled: exact
    assert rep["totals"] == {**rep["totals"], "requests": 7, "errors": 1, "messages": 0}, rep["totals"]
    assert rep["rows"][d.day - 1]["requests"] == 7
    # a second call finds the same report
    again = system.ctl("usage", "report", "--workspace", ws, "--month", month)
    assert again["id"] == rep["id"], (again, rep)
    # the owner lists it
    tr2 = Tok(s, scopes=["usage:read"])
    j = system.api(tr2.secret, "GET", "/v1/usage/reports").json()
    assert rep["id"] in [x["id"] for x in j["data"]], j
    r = system.api(tr2.secret, "GET", "/v1/usage/reports/" + rep["id"])
    assert r.status_code == 200 and r.json()["kind"] == "monthly"
    # errors: a bad month, an unknown workspace
    for bad in (["--workspace", ws, "--month", "2026-13"], ["--workspace", ws, "--month", "2026-1"],
                ["--workspace", "ws_doesnotexist000000", "--month", month]):
        rc, out, errout = system.ctl_raw("usage", "report", *bad)
        assert rc != 0 and (out + errout).strip(), (bad, rc, out, errout)


def test_monthly_reports_made_in_the_background(system):
    """A workspace with usage last month gets its monthly report without
    anyone asking. Last month's usage comes as an edge sends it, entries of
    pgs:usage with last month's times (the clock cannot be moved); restarted
    usage processes look for due reports at once (then every 10 minutes)."""
    u, s = pro_account(system)
    t = Tok(s, scopes=["usage:read"])
    ws = s.ws("personal")["id"]
    first = today().replace(day=1)
    prev_last = first - datetime.timedelta(days=1)
    prev_first = prev_last.replace(day=1)
    for day, counts in ((prev_first, {"n": 7, "msgs": 2, "in": 30, "out": 40, "err": 1}),
                        (prev_last, {"n": 5})):
        noon_ms = (calendar.timegm(day.timetuple()) + 12 * 3600) * 1000
        fields = ["ws", ws, "user", s.info["user"]["id"], "tok", t.id, "route", "GET /v1/me",
                  "t", str(noon_ms), "e", uniq("bg")]
        for k, v in counts.items():
            fields += [k, str(v)]
        system.redis("XADD", "pgs:usage", "*", *fields)

    def counted():
        r = system.api(t.secret, "GET", "/v1/usage",
                       params={"start": prev_first.isoformat(), "end": prev_last.isoformat()})
        assert r.status_code == 200, r.text
        return r.json()["totals"]["requests"] == 12
    poll(counted, timeout=30, interval=0.2, desc="last month's events counted")
    system.ctl("restart", "usage")

    def monthly():
        r = system.api(t.secret, "GET", "/v1/usage/reports")
        assert r.status_code == 200, r.text
        for x in r.json()["data"]:
            if x["kind"] == "monthly" and x["start"] == prev_first.isoformat() and x["status"] == "ready":
                return x
    rep = poll(monthly, timeout=30, interval=0.5, desc="the monthly report of last month")
    report_obj_check(rep, prev_first.isoformat(), prev_last.isoformat())
    assert rep["scope"] == "workspace", rep
    assert rep["totals"] == {"requests": 12, "messages": 2, "input_tokens": 30, "output_tokens": 40,
                             "errors": 1}, rep
    full = system.api(t.secret, "GET", "/v1/usage/reports/" + rep["id"]).json()
    assert [x["key"] for x in full["rows"]] == days(prev_first, prev_last)
    assert full["rows"][0]["requests"] == 7 and full["rows"][-1]["requests"] == 5, full["rows"]
    # one per workspace and month, however many processes look
    system.ctl("restart", "usage")
    time.sleep(2)
    again = [x for x in system.api(t.secret, "GET", "/v1/usage/reports").json()["data"]
             if x["kind"] == "monthly" and x["start"] == prev_first.isoformat()]
    assert len(again) == 1, again


def test_client_that_hangs_up_is_counted_once(system):
    """A request whose client hangs up before the answer is still counted,
    once, when it ends (with the status the worker gave it). The auth
    workers are stopped (SIGSTOP) so that GET /v1/me waits; the client
    gives up after a second; then auth goes on and answers."""
    u, s = pro_account(system)
    me = Tok(s, scopes=["profile:read"])
    reader = Tok(s, scopes=["usage:read"])
    assert system.api(me.secret, "GET", "/v1/me").status_code == 200  # the token is now cached
    pids = [p["pid"] for p in system.running("auth")]
    for pid in pids:
        system.signal(pid, signal.SIGSTOP)
    try:
        with pytest.raises(requests.exceptions.Timeout):
            system.api(me.secret, "GET", "/v1/me", timeout=1.0)
    finally:
        for pid in pids:
            system.signal(pid, signal.SIGCONT)

    def me_row():
        r = system.api(reader.secret, "GET", "/v1/usage", params={"group_by": "route"})
        assert r.status_code == 200, r.text
        rows = {x["key"]: x for x in r.json()["data"]}
        row = rows.get("GET /v1/me")
        return row if row and row["requests"] >= 2 else None
    row = poll(me_row, timeout=30, interval=0.5, desc="the abandoned request counted")
    assert row["requests"] == 2, row
    time.sleep(1.5)  # and not a second time
    assert me_row()["requests"] == 2


def stream_entries_added(system):
    """Entries ever added to the usage stream (XINFO STREAM entries-added)."""
    out = system.redis("XINFO", "STREAM", "pgs:usage").splitlines()
    return int(out[out.index("entries-added") + 1])


def test_counts_are_summed_into_few_stream_entries(system):
    """The edge sums a token's requests per route and bot and writes one
    stream entry per key every 100 ms, not one per request: 300 requests
    make a handful of entries, each counted exactly, and once counted the
    stream holds no more than the group's last entry."""
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    before = stream_entries_added(system)
    start = time.monotonic()
    for i in range(300):
        r = tr.call(t, "GET", "/v1/models" if i % 3 == 2 else "/v1/me")
        assert r.status_code in (200, 403), r.text
    elapsed = time.monotonic() - start
    app_converge(s, tr, "route", desc="300 requests counted")
    added = stream_entries_added(system) - before
    # two keys (two routes), at most one entry each per 100 ms flush
    assert added <= 2 * (elapsed / 0.1 + 2), (added, elapsed)
    assert added < 100, "one entry per request or so: %d for 300" % added
    poll(lambda: int(system.redis("XLEN", "pgs:usage")) <= 1, timeout=10, interval=0.2,
         desc="the counted entries trimmed from the stream (XLEN %s)" % system.redis("XLEN", "pgs:usage"))
    exact_and_stays(s, tr, "every request once")


def edge_replaced(system, old_pid):
    return poll(lambda: [p for p in system.running("edge") if p["pid"] != old_pid], timeout=30,
                interval=0.2, desc="a new edge")


def test_edge_stops_lose_no_counts(system):
    """A clean stop (SIGTERM) right after requests writes what it summed; a
    kill -9 loses at most the last 100 ms, so requests answered half a
    second before it are all counted."""
    u, s = pro_account(system)
    t = Tok(s, scopes=["profile:read"])
    tr = Traffic(system)
    for _ in range(40):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    edge = system.running("edge")[0]["pid"]
    system.signal(edge, signal.SIGTERM)
    edge = edge_replaced(system, edge)[0]["pid"]
    app_converge(s, tr, "token", desc="the requests before a clean stop")
    for _ in range(40):
        assert tr.call(t, "GET", "/v1/me").status_code == 200
    time.sleep(0.5)
    system.signal(edge, signal.SIGKILL)
    edge_replaced(system, edge)
    exact_and_stays(s, tr, "the requests before a kill -9, half a second on")


def test_reports_are_bounded(request):
    """Issue 10, deliverable 3: an identical pending or ready report is returned (200) instead of
    a new one; at most [usage] max_reports_per_day new ones per workspace per UTC day (429
    report_limit_reached with Retry-After to midnight UTC, nothing stored); requested reports
    older than report_retention_days are deleted, monthly ones kept."""
    env = {"PEGASUS_USAGE_MAX_REPORTS_PER_DAY": "3", "PEGASUS_USAGE_REPORT_RETENTION_DAYS": "1"}
    with running_system(env, request.node.name) as system:
        s = system.login(system.user("pro"))
        tok = s.create_token(scopes=["profile:read", "usage:read"])
        other = system.login(system.user("pro")).create_token(scopes=["profile:read", "usage:read"])
        d = today()
        day = lambda n: (d - datetime.timedelta(days=n)).isoformat()
        post = lambda t, a, b: system.api(t, "POST", "/v1/usage/reports", json={"start": a, "end": b})
        # closed ranges (they end yesterday): pending or ready, the same report
        first = post(tok, day(3), day(1))
        assert first.status_code == 202, first.text
        again = post(tok, day(3), day(1))
        assert again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"], (again.json(), first.json())
        for n in (4, 5):
            r = post(tok, day(n), day(1))
            assert r.status_code == 202, r.text
        r = post(tok, day(7), day(1))
        e = assert_error(r, 429, "report_limit_reached")
        assert "3 usage reports today" in e["message"], e
        ra = r.headers.get("Retry-After")
        now = datetime.datetime.now(datetime.timezone.utc)
        to_midnight = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
        assert ra and ra.isdigit() and abs(int(ra) - to_midnight) <= 5, (ra, to_midnight)
        # the same report is still answered while pending; another workspace is not limited
        assert post(tok, day(3), day(1)).status_code == 200
        assert post(other, day(7), day(0)).status_code == 202
        listed = system.api(tok, "GET", "/v1/usage/reports", params={"limit": 100}).json()["data"]
        assert len(listed) == 3, [x["id"] for x in listed]

        # expiry: the first report made two days old is deleted within the purge interval
        db = sqlite3.connect(os.path.join(system.home, "data", "usage.db"), timeout=10)
        with db:
            db.execute("UPDATE usage_reports SET created_at = created_at - 2 * 86400000 WHERE id = ?",
                       (first.json()["id"],))
        db.close()
        poll(lambda: system.api(tok, "GET", "/v1/usage/reports/" + first.json()["id"]).status_code == 404,
             timeout=20, desc="the old report expired")
        listed = system.api(tok, "GET", "/v1/usage/reports", params={"limit": 100}).json()["data"]
        assert len(listed) == 2, [x["id"] for x in listed]
