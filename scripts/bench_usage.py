#!/usr/bin/env python3
"""bench_usage.py — the usage case of scripts/bench.sh (issue 12, deliverable 6).

Gives the demo team "Acme" a year of usage: ROWS_PER_DAY (700) distinct rows
of usage_daily on each of the 365 days before today (255,500 rows), spread
over 30 users (alice, bob and 28 others), 3 tokens each, 25 bots and none,
40 routes (fixed seed). They go in the way an edge sends them: one entry of
pgs:usage per row (XADD through redis-cli --pipe, with the row's day as its
time), which the usage processes count into usage.db, its rollups
included; the time that takes is printed. Then, SETTLE_S (12) seconds
later, for each grouping (day, token, bot, user, route), REQUESTS (50)
sequential GET /v1/usage over the 365 days (after 5 unmeasured ones) as
alice, the owner (the whole workspace), and as bob, a member (his own
requests only), each answer's totals checked against the sums sent; prints
p50 and p99 (of 50 requests: the slowest) of each, from sending the
request to reading the whole answer.

usage: bench_usage.py URL REDIS_SOCKET   (env: BENCH_USAGE_ROWS_PER_DAY=700,
       BENCH_USAGE_REQUESTS=50)
Logs in with the demo logins (public, fixed values: README.md).
"""
import datetime
import http.client
import http.cookiejar
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlparse

URL, REDIS_SOCK = sys.argv[1], sys.argv[2]
ROWS_PER_DAY = int(os.environ.get("BENCH_USAGE_ROWS_PER_DAY", "700"))
REQUESTS = int(os.environ.get("BENCH_USAGE_REQUESTS", "50"))
DAYS = 365
SEED = 20261203
SETTLE_S = 12
DEMO_PASSWORD = "pegasus-demo"  # the demo data's (README.md), not a secret
GROUPINGS = ("day", "token", "bot", "user", "route")
FIELDS = ("requests", "messages", "input_tokens", "output_tokens", "errors")


class App:
    """A web-app session (cookie + CSRF token) of one demo user, switched to Acme."""

    def __init__(self, email):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None
        login = self.call("POST", "/app/api/login", {"email": email, "password": DEMO_PASSWORD})
        self.csrf = login["csrf_token"]
        acme = [w for w in self.call("GET", "/app/api/session")["workspaces"] if w.get("name") == "Acme"]
        if not acme:
            sys.exit("bench_usage: %s is not in the demo team Acme" % email)
        self.ws = acme[0]["id"]
        self.call("POST", "/app/api/workspace", {"workspace_id": self.ws})
        info = self.call("GET", "/app/api/session")
        self.user = info["user"]["id"]
        made = self.call("POST", "/app/api/tokens",
                         {"name": "bench-usage", "preset": "read_only", "expires_in_days": 30})
        self.token_id, self.secret = made["token"]["id"], made["secret"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(URL + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.csrf and method != "GET":
            req.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(req, timeout=30) as r:
                data = r.read()
        except urllib.error.HTTPError as e:
            sys.exit("bench_usage: %s %s → %d %s" % (method, path, e.code, e.read()[:300]))
        return json.loads(data) if data else {}


class Api:
    """One keep-alive connection with a token."""

    def __init__(self, secret):
        u = urlparse(URL)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.auth = {"Authorization": "Bearer " + secret}

    def usage(self, **params):
        """The answer, and the time to it (request sent, body read: not the
        JSON decoding) in ms."""
        s = time.perf_counter()
        self.conn.request("GET", "/v1/usage?" + urlencode(params), headers=self.auth)
        r = self.conn.getresponse()
        data = r.read()
        ms = (time.perf_counter() - s) * 1000
        if r.status != 200:
            sys.exit("bench_usage: GET /v1/usage → %d %s" % (r.status, data[:300]))
        return json.loads(data), ms


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def make_events(ws, alice, bob, first_day):
    """The XADDs of a year of usage, and the totals they add up to: the
    workspace's and bob's."""
    r = random.Random(SEED)
    users = [alice.user, bob.user] + ["usr_bench%02d" % i for i in range(28)]
    tokens = {u: ["tok_bench%02d%d" % (i, k) for k in range(3)] for i, u in enumerate(users)}
    tokens[alice.user][0], tokens[bob.user][0] = alice.token_id, bob.token_id  # named by auth
    bots = [""] + ["bot_bench%02d" % i for i in range(25)]
    routes = ["GET /v1/bench/%02d" % i for i in range(40)]
    total, mine = dict.fromkeys(FIELDS, 0), dict.fromkeys(FIELDS, 0)
    out, seq = [], 0
    for d in range(DAYS):
        day = first_day + datetime.timedelta(days=d)
        noon_ms = (int(datetime.datetime(day.year, day.month, day.day, 12,
                                         tzinfo=datetime.timezone.utc).timestamp())) * 1000
        rows = set()
        while len(rows) < ROWS_PER_DAY:
            u = r.choice(users)
            rows.add((u, r.choice(tokens[u]), r.choice(bots), r.choice(routes)))
        for u, tok, bot, route in sorted(rows):
            seq += 1
            n = r.randint(1, 60)
            c = {"requests": n, "messages": r.randint(0, n // 3), "errors": r.randint(0, n // 10)}
            c["input_tokens"] = c["messages"] * r.randint(5, 200)
            c["output_tokens"] = c["messages"] * r.randint(5, 400)
            args = ["XADD", "pgs:usage", "*", "ws", ws, "user", u, "tok", tok, "route", route,
                    "n", str(n), "t", str(noon_ms + r.randint(-43200000, 43199999)),
                    "e", "bench%d.%d" % (SEED, seq)]
            if bot:
                args += ["bot", bot]
            for field, name in (("messages", "msgs"), ("input_tokens", "in"),
                                ("output_tokens", "out"), ("errors", "err")):
                if c[field]:
                    args += [name, str(c[field])]
            out.append(resp(*args))
            for f in FIELDS:
                total[f] += c[f]
                if u == bob.user:
                    mine[f] += c[f]
    return out, seq, total, mine


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    alice, bob = App("alice@example.com"), App("bob@example.com")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    first, last = today - datetime.timedelta(days=DAYS), today - datetime.timedelta(days=1)
    rng = {"start": first.isoformat(), "end": last.isoformat()}
    cmds, nrows, total, mine = make_events(alice.ws, alice, bob, first)
    t0 = time.monotonic()
    p = subprocess.run(["redis-cli", "-s", REDIS_SOCK, "--pipe"], input=b"".join(cmds),
                       capture_output=True, timeout=600)
    if p.returncode != 0 or b"errors: 0," not in p.stdout:
        sys.exit("bench_usage: XADD failed: %s %s" % (p.stdout[-300:], p.stderr[-300:]))
    sent = time.monotonic()
    owner, member = Api(alice.secret), Api(bob.secret)
    deadline = sent + 900
    while owner.usage(**rng)[0]["totals"]["requests"] != total["requests"]:
        if time.monotonic() > deadline:
            sys.exit("bench_usage: the events were not counted within 15 minutes")
        time.sleep(0.2)
    counted = time.monotonic()
    # The backlog left a long WAL: the usage processes' checkpoints (every
    # 5 s, pgs_db_wal_tick) copy it back first, as after any burst.
    time.sleep(SETTLE_S)
    print("usage: %d rows of usage_daily for one workspace over %d days (%s..%s; 30 users,"
          " 90 tokens, 26 bots, 40 routes), sent in %.1f s, counted %.1f s later (%.0f events/s)"
          % (nrows, DAYS, rng["start"], rng["end"], sent - t0, counted - sent,
             nrows / max(counted - sent, 1e-9)))
    print("%-8s %-14s %6s %9s %9s" % ("group_by", "caller", "rows", "p50_ms", "p99_ms"))
    worst = 0.0
    for g in GROUPINGS:
        for who, api, want in (("owner (all)", owner, total), ("member (own)", member, mine)):
            lat, rows = [], 0
            for i in range(5 + REQUESTS):
                j, d = api.usage(group_by=g, **rng)
                if i >= 5:
                    lat.append(d)
                rows = len(j["data"])
                if j["totals"] != want:
                    sys.exit("bench_usage: %s group_by=%s totals %r, sent %r" % (who, g, j["totals"], want))
            worst = max(worst, pct(lat, 99))
            print("%-8s %-14s %6d %9.2f %9.2f" % (g, who, rows, pct(lat, 50), pct(lat, 99)))
    print("usage query, 365 days, %d requests each: worst p99 %.2f ms (target <= 20 ms)" % (REQUESTS, worst))


if __name__ == "__main__":
    main()
