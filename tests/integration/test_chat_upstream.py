"""The `openai` provider against a small OpenAI-compatible server started by
this module on 127.0.0.1 (streaming and plain JSON answers, an error
status, a stall), and what slow streams make testable: pings, a client that
goes away mid-stream (the reply is still stored) and a chat worker killed
mid-stream (an error event or a closed stream, never a hang)."""

import json
import os
import secrets
import signal
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from pgs import HTTP_TIMEOUT, ROOT, assert_error, free_port, poll
from test_chat import Chat, chat_token, check_stream, sse_events, tokens

API_KEY = "sk-fake-" + secrets.token_hex(16)
PORT = free_port()
RECEIVED = []  # (headers, body) of every call, newest last

SLOW_WORDS = ["word%d " % i for i in range(25)]


class FakeOpenAI(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse_head(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _chunk(self, text=None, usage=None):
        obj = {"id": "c1", "object": "chat.completion.chunk", "choices": []}
        if text is not None:
            obj["choices"] = [{"index": 0, "delta": {"content": text}}]
        if usage:
            obj["usage"] = usage
        self.wfile.write(("data: %s\n\n" % json.dumps(obj)).encode())
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n) or b"{}")
        RECEIVED.append((dict(self.headers), body))
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": "no such path"}})
        q = body["messages"][-1]["content"]
        try:
            if "#json" in q:
                return self._json(200, {"id": "c1", "object": "chat.completion",
                                        "choices": [{"index": 0, "message": {"role": "assistant",
                                                                             "content": "A plain JSON answer."}}],
                                        "usage": {"prompt_tokens": 33, "completion_tokens": 5}})
            if "#error" in q:
                return self._json(500, {"error": {"message": "the model crashed"}})
            if "#stallmid" in q:
                self._sse_head()
                self._chunk("Partial ")
                time.sleep(6)
                return
            if "#stall" in q:
                time.sleep(6)
                return self._json(200, {})
            if "#slow" in q:
                self._sse_head()
                if "#slowstart" in q:
                    time.sleep(1.2)
                for w in SLOW_WORDS:
                    self._chunk(w)
                    time.sleep(0.2)
                self.wfile.write(b"data: [DONE]\n\n")
                return
            self._sse_head()
            for part in ("Hello", " from", " the fake model."):
                self._chunk(part)
            self._chunk(None, {"prompt_tokens": 120, "completion_tokens": 7})
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):
            pass


SERVER = ThreadingHTTPServer(("127.0.0.1", PORT), FakeOpenAI)
SERVER.daemon_threads = True
threading.Thread(target=SERVER.serve_forever, daemon=True).start()

_conf_dir = tempfile.mkdtemp(prefix="pgs-chat-conf-")
CONFIG = os.path.join(_conf_dir, "pegasus.conf")
with open(os.path.join(ROOT, "config", "pegasus.conf")) as f:
    base = f.read()
with open(CONFIG, "w") as f:
    f.write(base + """
[model.fake-gpt]
provider = openai
plans = pro ultra
description = A fake OpenAI-compatible server of the tests.
base_url = http://127.0.0.1:%d
api_key_env = FAKE_OPENAI_KEY
upstream_model = fake-upstream-1
timeout_ms = 1500
""" % PORT)

PEGASUS_ENV = {
    "PEGASUS_CONFIG": CONFIG,
    "FAKE_OPENAI_KEY": API_KEY,
    "PEGASUS_CHAT_PING_INTERVAL_MS": "300",
}

DOCS = {"Office": "The office is in Lisbon. It opens at 9:00 and closes at 17:30 on weekdays."}


def setup_chat(system):
    system.secret(API_KEY)
    a = chat_token(system)
    bot = a.bot(model="fake-gpt", docs=DOCS, instructions="Speak like a pirate.")
    return a, bot


def test_blocking_send(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    r = a.send(conv["id"], "Where is the office?")
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["content"] == "Hello from the fake model." and m["model"] == "fake-gpt"
    assert m["usage"] == {"input_tokens": 120, "output_tokens": 7}
    assert [c["document_id"] for c in m["citations"]] == [bot["docs"]["Office"]]
    headers, body = RECEIVED[-1]
    assert headers.get("Authorization") == "Bearer " + API_KEY
    assert body["model"] == "fake-upstream-1" and body["stream"] is True
    system_msg = body["messages"][0]
    assert system_msg["role"] == "system"
    assert "Speak like a pirate." in system_msg["content"] and "Lisbon" in system_msg["content"]
    assert body["messages"][-1] == {"role": "user", "content": "Where is the office?"}
    # the next question carries the earlier turns
    assert a.send(conv["id"], "And when does it close?").status_code == 200
    _, body = RECEIVED[-1]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"], roles
    msgs = a.messages(conv["id"])["data"]
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 2


def test_streamed_send(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    r = a.stream(conv["id"], "Where is the office?")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    ev = sse_events(r)
    text, (kind, msg) = check_stream(ev)
    assert kind == "message.completed"
    assert text == msg["content"] == "Hello from the fake model."
    assert [d["delta"] for e, d in ev if e == "message.delta"] == ["Hello", " from", " the fake model."]
    assert a.messages(conv["id"])["data"][-1] == msg


def test_plain_json_upstream(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    m = a.send(conv["id"], "Answer in one piece #json").json()
    assert m["content"] == "A plain JSON answer." and m["usage"] == {"input_tokens": 33, "output_tokens": 5}
    ev = sse_events(a.stream(conv["id"], "And streamed #json"))
    text, (kind, msg) = check_stream(ev)
    assert kind == "message.completed" and text == msg["content"] == "A plain JSON answer."


def test_upstream_error_status(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    e = assert_error(a.send(conv["id"], "Break #error"), 502, "upstream_error")
    assert "500" in e["message"] and API_KEY not in e["message"]
    r = a.stream(conv["id"], "Break streamed #error")
    e = assert_error(r, 502, "upstream_error")  # before the stream started: JSON
    assert "500" in e["message"]
    msgs = a.messages(conv["id"])["data"]
    # the blocking send stored nothing; the streamed one its question only
    assert [m["role"] for m in msgs] == ["user"] and msgs[0]["content"] == "Break streamed #error"


def test_upstream_stall_is_504(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    t0 = time.monotonic()
    assert_error(a.send(conv["id"], "Hang #stall"), 504, "upstream_timeout")
    assert time.monotonic() - t0 < 5
    # a stall after the stream began: an error event, exactly one terminal event
    ev = sse_events(a.stream(conv["id"], "Hang later #stallmid"))
    text, (kind, data) = check_stream(ev)
    assert kind == "error" and data["error"]["code"] == "upstream_timeout", ev
    assert text == "Partial "
    assert all(m["role"] == "user" for m in a.messages(conv["id"])["data"])


def test_worker_keeps_serving_while_upstream_waits(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    done = {}

    def slow():
        done["r"] = a.send(conv["id"], "Hang #stall")

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    # both chat workers hold a stalled call; they still answer at once
    t0 = time.monotonic()
    for _ in range(5):
        assert a.req("GET", "/v1/conversations/" + conv["id"]).status_code == 200
    assert time.monotonic() - t0 < 1.0
    for t in threads:
        t.join()
    assert done["r"].status_code == 504


def test_pings_while_the_upstream_is_quiet(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    ev = sse_events(a.stream(conv["id"], "Take your time #slowstart"))
    text, (kind, msg) = check_stream(ev)
    assert kind == "message.completed" and text == "".join(SLOW_WORDS)
    first_delta = next(i for i, (e, _) in enumerate(ev) if e == "message.delta")
    assert (":", "ping") in ev[:first_delta], ev[:first_delta + 1]


def test_client_disconnect_still_stores_the_reply(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    r = a.stream(conv["id"], "Talk slowly #slow")
    lines = r.iter_lines()
    for line in lines:
        if line.startswith(b"data:"):
            break
    r.close()  # the client goes away after the first delta

    def stored():
        msgs = a.messages(conv["id"])["data"]
        return msgs if len(msgs) == 2 else None

    msgs = poll(stored, timeout=20, desc="the reply stored after the client left")
    assert msgs[1]["role"] == "assistant" and msgs[1]["content"] == "".join(SLOW_WORDS)
    assert msgs[1]["usage"]["output_tokens"] == tokens("".join(SLOW_WORDS))


def test_kill_chat_worker_mid_stream(system):
    a, bot = setup_chat(system)
    conv = a.conv(bot["id"])
    old = {p["pid"] for p in system.running("chat")}
    r = a.stream(conv["id"], "Talk slowly #slow")
    assert r.status_code == 200
    lines = r.iter_lines()
    for line in lines:
        if line.startswith(b"data:"):
            break
    for pid in old:
        system.signal(pid, signal.SIGKILL)
    t0 = time.monotonic()
    rest = []
    try:
        for line in lines:  # must end: an error event, or the stream closes
            rest.append(line)
    except requests.exceptions.ChunkedEncodingError:
        pass
    assert time.monotonic() - t0 < HTTP_TIMEOUT
    text = b"\n".join(rest).decode()
    assert "message.completed" not in text
    if "event: error" not in text:
        print("stream closed without an error event")

    def restarted():
        procs = system.procs("chat")
        return len(procs) == len(old) and all(p["state"] == "running" and p["pid"] not in old for p in procs)

    poll(restarted, timeout=30, desc="chat workers restarted")
    poll(lambda: a.send(conv["id"], "Back? ").status_code == 200, timeout=20, desc="sends work again")


# ---- the OpenAI-compatible surface (/openai/v1) with an upstream model


def openai_completion(system, a, body, **kw):
    return requests.post(system.url + "/openai/v1/chat/completions", json=body,
                         headers={"Authorization": "Bearer " + a.tok}, timeout=HTTP_TIMEOUT, **kw)


def test_openai_completion_through_an_upstream_model(system):
    a, bot = setup_chat(system)
    body = {"model": bot["id"], "temperature": 0.3, "top_p": 0.9, "max_tokens": 64,
            "stop": ["\n\n"], "seed": 7, "metadata": {"k": "v"},
            "messages": [{"role": "system", "content": "Answer in French."},
                         {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Ahoy."},
                         {"role": "user", "content": "Where is the office?"}]}
    r = openai_completion(system, a, body)
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["object"] == "chat.completion"
    assert c["choices"][0]["message"]["content"] == "Hello from the fake model."
    assert c["usage"] == {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127}
    assert c["pegasus"]["model"] == "fake-gpt"
    _, up = RECEIVED[-1]
    # the sampling fields passed on, the system message after the bot's instructions
    for k in ("temperature", "top_p", "max_tokens", "stop", "seed"):
        assert up[k] == body[k], (k, up)
    assert "metadata" not in up
    sys_msg = up["messages"][0]["content"]
    assert "Speak like a pirate." in sys_msg and "Answer in French." in sys_msg
    assert [m["role"] for m in up["messages"]] == ["system", "user", "assistant", "user"]
    assert up["messages"][-1]["content"] == "Where is the office?"
    # nothing stored as a conversation
    assert a.req("GET", "/v1/conversations").json()["data"] == []


def test_openai_stream_through_an_upstream_model(system):
    a, bot = setup_chat(system)
    r = openai_completion(system, a, {"model": bot["id"], "stream": True,
                                      "messages": [{"role": "user", "content": "Where is the office?"}]},
                          stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    chunks, done = [], False
    for line in r.iter_lines():
        if line == b"data: [DONE]":
            done = True
        elif line.startswith(b"data: "):
            chunks.append(json.loads(line[6:]))
    assert done
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
    assert text == "Hello from the fake model."
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert not any("usage" in ch for ch in chunks), "no usage chunk unless asked"
    assert len({ch["id"] for ch in chunks}) == 1


def test_openai_upstream_error_in_openai_shape(system):
    a, bot = setup_chat(system)
    r = openai_completion(system, a, {"model": bot["id"],
                                      "messages": [{"role": "user", "content": "#error please"}]})
    assert r.status_code == 502, r.text
    e = r.json()["error"]
    assert (e["type"], e["code"]) == ("api_error", "upstream_error"), e
    assert API_KEY not in r.text
