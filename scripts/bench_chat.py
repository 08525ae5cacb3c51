#!/usr/bin/env python3
"""bench_chat.py — the chat cases of scripts/bench.sh (issue 4 item 8).

  bench_chat.py setup URL TOKEN BOT WORKDIR
      adds one document with a known fact to BOT (which holds the search
      case's 10,000 documents), creates a conversation, checks that the
      answer to the benchmark's question contains the fact, and writes
      WORKDIR/chat.lua: wrk POSTs of the question (blocking send). Prints the
      conversation id on the last line.
  bench_chat.py stream URL TOKEN CONV N
      sends the question N times with "stream": true, one at a time, over
      raw sockets, and prints "p50 p99" in ms of the time from writing the
      request to reading the first byte of "event: message.delta".
"""
import json
import socket
import sys
import time
import http.client
from urllib.parse import urlparse

FACT = ("Refund policy. Customers on the annual plan may ask for a full refund "
        "within 45 days of purchase; monthly plans are not refunded.")
QUESTION = "Within how many days may annual plan customers ask for a full refund?"
ANSWER = "45 days"


def call(url, token, method, path, body=None):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Authorization": "Bearer " + token}
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def setup(url, token, bot, work):
    st, data = call(url, token, "POST", "/v1/bots/%s/documents" % bot,
                    {"title": "Refunds", "content": FACT, "content_type": "text/plain"})
    if st != 201:
        sys.exit("bench_chat: document → %d %s" % (st, data[:200]))
    st, data = call(url, token, "POST", "/v1/conversations", {"bot_id": bot})
    if st != 201:
        sys.exit("bench_chat: conversation → %d %s" % (st, data[:200]))
    conv = json.loads(data)["id"]
    st, data = call(url, token, "POST", "/v1/conversations/%s/messages" % conv, {"content": QUESTION})
    if st != 200:
        sys.exit("bench_chat: send → %d %s" % (st, data[:200]))
    answer = json.loads(data)["content"]
    print("sample answer: %s" % answer[:160].replace("\n", " "))
    if ANSWER not in answer:
        sys.exit("bench_chat: the answer lacks %r" % ANSWER)
    body = json.dumps({"content": QUESTION}).replace("\\", "\\\\").replace('"', '\\"')
    with open(work + "/chat.lua", "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.path = "/v1/conversations/%s/messages"\n' % conv)
        f.write('wrk.body = "%s"\n' % body)
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write('wrk.headers["Authorization"] = "Bearer %s"\n' % token)
    print(conv)


def stream(url, token, conv, n):
    u = urlparse(url)
    body = json.dumps({"content": QUESTION, "stream": True}).encode()
    req = ("POST /v1/conversations/%s/messages HTTP/1.1\r\nHost: %s:%d\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
           "Accept: text/event-stream\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (conv, u.hostname, u.port, token, len(body))).encode() + body
    lat, bad = [], 0
    for _ in range(n):
        s = socket.create_connection((u.hostname, u.port), timeout=30)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.monotonic()
        s.sendall(req)
        buf, first = b"", None
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if first is None and b"event: message.delta" in buf:
                first = (time.monotonic() - t0) * 1000
            if b"event: message.completed" in buf or b"event: error" in buf:
                break
        s.close()
        if first is None or b" 200 " not in buf.split(b"\r\n", 1)[0]:
            bad += 1
        else:
            lat.append(first)
    lat.sort()
    if not lat:
        sys.exit("bench_chat: no stream delivered a delta")
    pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
    print("%.3f %.3f %d" % (pct(50), pct(99), bad))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(*sys.argv[2:6])
    elif sys.argv[1] == "stream":
        stream(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(__doc__)
