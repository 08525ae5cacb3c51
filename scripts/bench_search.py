#!/usr/bin/env python3
"""bench_search.py — the search case of scripts/bench.sh (issue 3 item 8).

Makes BOTS bots in one workspace with DOCS documents each (~2 KB, generated
from a fixed seed out of a 20,000-word vocabulary with Zipf-distributed word
frequencies, paragraphs of ~50 words), created through the API with
CONCURRENCY clients, and reports p50/p99 of document creation. Then writes a
wrk Lua script of 2–4-word queries mixing common and rare terms against one
bot, for bench.sh to run at c=10.

usage: bench_search.py URL TOKEN WORKDIR   (env: BENCH_SEARCH_BOTS=10,
       BENCH_SEARCH_DOCS=10000, BENCH_SEARCH_CONCURRENCY=8)
Prints "bot_id" on the last line of stdout.
"""
import itertools
import json
import os
import random
import sys
import threading
import time
import urllib.request
import http.client
from urllib.parse import urlparse, quote

URL, TOKEN, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
NBOTS = int(os.environ.get("BENCH_SEARCH_BOTS", "10"))
NDOCS = int(os.environ.get("BENCH_SEARCH_DOCS", "10000"))
CONC = int(os.environ.get("BENCH_SEARCH_CONCURRENCY", "8"))
SEED = 20261128


def vocabulary(n=20000):
    r = random.Random(SEED)
    cons, vow = "bcdfghjklmnprstvwz", "aeiou"
    seen, out = set(), []
    while len(out) < n:
        w = "".join(r.choice(cons) + r.choice(vow) for _ in range(r.choice((2, 2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


V = vocabulary()
CUM = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(V))))


def document(r, size=2000):
    words = r.choices(V, cum_weights=CUM, k=size // 5)
    paras, para, n = [], [], 0
    for w in words:
        para.append(w)
        n += len(w) + 1
        if len(para) >= 50 and r.random() < 0.08:
            paras.append(" ".join(para) + ".")
            para = []
        if n >= size:
            break
    if para:
        paras.append(" ".join(para) + ".")
    return "\n\n".join(paras)


class Client:
    def __init__(self):
        u = urlparse(URL)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def call(self, method, path, body=None, ctype="application/json"):
        h = {"Authorization": "Bearer " + TOKEN}
        if body is not None:
            h["Content-Type"] = ctype
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    c = Client()
    bots = []
    for i in range(NBOTS):
        st, data = c.call("POST", "/v1/bots", json.dumps({"name": "bench %d" % i, "model": "pegasus-lite"}).encode())
        if st != 201:
            sys.exit("bench_search: bot create → %d %s" % (st, data[:200]))
        bots.append(json.loads(data)["id"])
    jobs = [(b, i) for i in range(NDOCS) for b in bots]  # interleaved, as real traffic would be
    lat, errors, lock = [], [0], threading.Lock()
    it = iter(jobs)
    t0 = time.monotonic()

    def worker(k):
        cl = Client()
        r = random.Random(SEED * 1000 + k)
        while True:
            with lock:
                job = next(it, None)
            if job is None:
                return
            b, i = job
            body = document(r).encode()
            s = time.monotonic()
            st, data = cl.call("POST", "/v1/bots/%s/documents?title=doc%d" % (b, i), body, "text/plain")
            d = (time.monotonic() - s) * 1000
            with lock:
                lat.append(d)
                if st != 201:
                    errors[0] += 1
                    if errors[0] < 5:
                        print("bench_search: create → %d %s" % (st, data[:200]), file=sys.stderr)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONC)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    el = time.monotonic() - t0
    print("documents: %d bots x %d, %d created in %.0f s (%.0f/s), c=%d, %d errors"
          % (NBOTS, NDOCS, len(lat), el, len(lat) / el, CONC, errors[0]))
    print("document create: p50 %.2f ms  p99 %.2f ms" % (pct(lat, 50), pct(lat, 99)))
    # queries: 1–2 common words (Zipf rank < 100) and 1–2 rare ones (rank 1,000–20,000)
    r = random.Random(SEED + 1)
    target = bots[len(bots) // 2]
    paths = []
    for _ in range(2000):
        words = r.sample(V[:100], r.choice((1, 2))) + r.sample(V[1000:], r.choice((1, 2)))
        r.shuffle(words)
        paths.append("/v1/bots/%s/search?q=%s" % (target, quote(" ".join(words))))
    with open(os.path.join(WORK, "search.lua"), "w") as f:
        f.write("local paths = {\n%s\n}\n" % ",\n".join('"%s"' % p for p in paths))
        f.write("local i = 0\nrequest = function()\n  i = i %% #paths + 1\n"
                "  return wrk.format(nil, paths[i], {[\"Authorization\"] = \"Bearer %s\"})\nend\n" % TOKEN)
    c = Client()  # the first one idled through the creation, past the keep-alive timeout
    st, data = c.call("GET", paths[0])
    hits = len(json.loads(data)["data"]) if st == 200 else -1
    print("sample query → %d, %d hits" % (st, hits))
    print(target)


if __name__ == "__main__":
    main()
