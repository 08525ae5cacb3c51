"""The OpenAI-compatible surface (/openai/v1; issue 11, deliverable 3):
a bot is a model, a Pegasus token the API key. Checked with the official
OpenAI SDK (tests/openai/sdk.test.mjs, npm "openai" pinned in tools/openai)
as an integrator uses it, and here for what a client sees beyond the SDK:
every check of SPEC §2 applies (scope, role, quota), a completion counts as
a message in usage with its tokens, nothing is stored as a conversation,
and Idempotency-Key replays."""

import json
import os
import subprocess

import pytest
import requests

from pgs import ROOT, poll, uniq
from test_chat import CHAT_SCOPES, DOCS, Chat

# Ultra: 10 requests a minute per token (the SDK's 429 check)
PEGASUS_ENV = {"PEGASUS_PLAN_ULTRA_REQUESTS_PER_MINUTE": "10"}


@pytest.fixture(scope="module")
def world(system):
    inst = subprocess.run([os.path.join(ROOT, "scripts", "tool-install.sh"), "openai"],
                          capture_output=True, timeout=600)
    assert inst.returncode == 0, inst.stderr.decode()[-2000:]
    s = system.login(system.user("pro"))
    tok = s.create_token(scopes=CHAT_SCOPES + ["usage:read"])
    a = Chat(system, tok)
    bot = a.bot(docs={"Office": DOCS["Office"]})
    other = Chat(system, system.login(system.user("pro")).create_token(scopes=CHAT_SCOPES))
    other_bot = other.bot(docs={"Office": DOCS["Office"]})
    limited = system.login(system.user("ultra")).create_token(scopes=["chat:send"])
    return {"tok": tok, "bot": bot["id"], "other_bot": other_bot["id"], "limited": limited,
            "session": s, "chat": a}


def completions(system, tok, body, headers=None, **kw):
    h = {"Authorization": "Bearer " + tok}
    h.update(headers or {})
    return requests.post(system.url + "/openai/v1/chat/completions", json=body, headers=h,
                         timeout=30, **kw)


def test_the_official_sdk(system, world):
    env = dict(os.environ, PEGASUS_URL=system.url, PEGASUS_TOKEN=world["tok"],
               PEGASUS_LIMITED=world["limited"], PEGASUS_BOT=world["bot"],
               PEGASUS_OTHER_BOT=world["other_bot"])
    p = subprocess.run([os.path.join(ROOT, "scripts", "node.sh"), "node", "--test",
                        "--test-reporter=tap", os.path.join(ROOT, "tests", "openai", "sdk.test.mjs")],
                       capture_output=True, env=env, timeout=300, cwd=ROOT)
    out = p.stdout.decode(errors="replace")
    for secret in (world["tok"], world["limited"]):
        assert secret not in out and secret not in p.stderr.decode(errors="replace")
    assert p.returncode == 0, out[-4000:]
    for line in ("ok models", "ok blocking", "ok streamed", "ok errors", "ok ratelimit"):
        assert line in out, (line, out[-3000:])
    assert "# fail 0" in out, out[-2000:]


def test_checks_of_spec_2_apply(system, world):
    body = {"model": world["bot"], "messages": [{"role": "user", "content": "Where is the office?"}]}
    # scope: chat:send
    s = world["session"]
    no_chat = s.create_token(scopes=["bots:read"])
    r = completions(system, no_chat, body)
    assert r.status_code == 403, r.text
    e = r.json()["error"]
    assert (e["type"], e["code"]) == ("permission_error", "insufficient_scope"), e
    # no token: OpenAI's 401 shape, with a Content-Type
    r = requests.post(system.url + "/openai/v1/chat/completions", json=body, timeout=10)
    assert r.status_code == 401 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]["type"] == "authentication_error"
    # an unknown route under /openai is a 404 in OpenAI's shape
    r = requests.get(system.url + "/openai/v1/embeddings",
                     headers={"Authorization": "Bearer " + world["tok"]}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error", r.text


def test_counted_as_a_message_not_stored_as_a_conversation(system, world):
    tok = world["tok"]
    convs_before = world["chat"].req("GET", "/v1/conversations").json()["data"]
    sub = world["session"].create_token(scopes=["subscription:read"])

    def used():
        return system.api(sub, "GET", "/v1/subscription").json()["quota"]["messages_used"]
    before = used()
    r = completions(system, tok, {"model": world["bot"],
                                  "messages": [{"role": "user", "content": "Where is the office?"}]})
    assert r.status_code == 200, r.text
    c = r.json()
    assert used() == before + 1
    assert world["chat"].req("GET", "/v1/conversations").json()["data"] == convs_before

    def counted():
        u = system.api(tok, "GET", "/v1/usage", params={"group_by": "route"})
        rows = {row["key"]: row for row in u.json()["data"]}
        row = rows.get("POST /openai/v1/chat/completions")
        return row if row and row["messages"] >= 1 else None
    row = poll(counted, timeout=15, desc="the completion in usage")
    assert row["input_tokens"] >= c["usage"]["prompt_tokens"]
    assert row["output_tokens"] >= c["usage"]["completion_tokens"]


def test_idempotency_key_replays(system, world):
    body = {"model": world["bot"], "messages": [{"role": "user", "content": "Where is the office?"}]}
    key = {"Idempotency-Key": uniq("idem-")}
    a = completions(system, world["tok"], body, headers=key)
    b = completions(system, world["tok"], body, headers=key)
    assert a.status_code == b.status_code == 200
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert a.json()["id"] == b.json()["id"]
    # a streamed completion replayed: the same text, as chunks again
    key = {"Idempotency-Key": uniq("idem-")}

    def streamed():
        r = completions(system, world["tok"], dict(body, stream=True), headers=key, stream=True)
        assert r.status_code == 200, r.text
        text, done = "", False
        for line in r.iter_lines():
            if line == b"data: [DONE]":
                done = True
            elif line.startswith(b"data: {"):
                for ch in json.loads(line[6:])["choices"]:
                    text += ch["delta"].get("content") or ""
        assert done
        return text, r.headers.get("Idempotent-Replayed")
    first, replayed1 = streamed()
    again, replayed2 = streamed()
    assert "Lisbon" in first and again == first
    assert (replayed1, replayed2) == (None, "true")
    # the same key with another body is a conflict
    r = completions(system, world["tok"], dict(body, temperature=0.5), headers=key)
    assert r.status_code == 409, r.text


@pytest.mark.parametrize("body,param", [
    ({"messages": [{"role": "user", "content": "Hi"}]}, "model"),
    ({"model": "BOT", "messages": []}, "messages"),
    ({"model": "BOT", "messages": [{"role": "assistant", "content": "Hi"}]}, "messages"),
    ({"model": "BOT", "messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]},
     "messages[0].role"),
    ({"model": "BOT", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}, "messages[0].content"),
    ({"model": "BOT", "messages": [{"role": "user", "content": "Hi"}],
      "response_format": {"type": "json_object"}}, "response_format"),
    ({"model": "BOT", "messages": [{"role": "user", "content": "Hi"}], "temperature": 3},
     "temperature"),
    ({"model": "BOT", "messages": [{"role": "user", "content": "  "}]}, "messages[0].content"),
])
def test_what_cannot_be_honoured_is_a_400_naming_the_param(system, world, body, param):
    if body.get("model") == "BOT":
        body = dict(body, model=world["bot"])
    r = completions(system, world["tok"], body)
    assert r.status_code == 400, r.text
    e = r.json()["error"]
    assert e["type"] == "invalid_request_error" and e["param"] == param, e


def test_the_readme_example_runs_as_it_stands(system, world):
    """README "Use it from your code": the OpenAI SDK example, verbatim."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    marker = "<!-- example: openai-node -->\n```js\n"
    assert marker in readme
    code = readme.split(marker, 1)[1].split("\n```", 1)[0]
    # run where `import 'openai'` resolves: beside the installed SDK
    sdk = os.path.join(ROOT, "tools", "openai")
    path = os.path.join(sdk, "readme-example-%d.mjs" % os.getpid())
    with open(path, "w") as f:
        f.write(code + "\n")
    try:
        env = dict(os.environ, PEGASUS_URL=system.url, PEGASUS_TOKEN=world["tok"])
        p = subprocess.run([os.path.join(ROOT, "scripts", "node.sh"), "node", path],
                           capture_output=True, env=env, timeout=120, cwd=sdk)
    finally:
        os.unlink(path)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, p.stderr.decode(errors="replace")[-2000:]
    lines = out.strip().split("\n")
    assert len(lines) == 2 and all(l.strip() for l in lines), out
    assert world["tok"] not in out
