"""The served API description checked with the tools integrators use
(issue 11): redocly lint with its recommended rules, openapi-typescript, and
a TypeScript client on openapi-fetch compiled with tsc --strict and run
against this system. The tools are pinned in tools/openapi and run on the
project's Node through scripts/openapi-check.sh (which installs them when
needed)."""

import json
import os
import re
import subprocess

import pytest

from pgs import ROOT, running_system

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True

# A trusted proxy in front (the tests are it): X-Forwarded-Proto counts.
PEGASUS_ENV = {"PEGASUS_EDGE_TRUSTED_PROXIES": "127.0.0.1"}
CHECK = os.path.join(ROOT, "scripts", "openapi-check.sh")
NODE = os.path.join(ROOT, "scripts", "node.sh")
CLIENT_TS = os.path.join(ROOT, "tests", "openapi", "client.ts")
TOOL_TIMEOUT = 300


def run(*args, env=None, timeout=TOOL_TIMEOUT):
    return subprocess.run(list(args), cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def served(system, tmp_path, name="openapi.json"):
    r = system.get("/v1/openapi.json")
    assert r.status_code == 200, r.text[:300]
    path = tmp_path / name
    path.write_text(r.text)
    return path, r.json()


def lint(path):
    """redocly lint's report of one file (JSON), and the run."""
    p = run(CHECK, "lint", "--format", "json", str(path))
    start = p.stdout.find("{")
    assert start >= 0, "no report from redocly lint (exit %d)\n%s\n%s" % (
        p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return json.loads(p.stdout[start:]), p


def problems(report):
    return ["%s %s: %s" % (p.get("severity"), p.get("ruleId"), p.get("message"))
            for p in report.get("problems", [])]


def test_redocly_lint_of_the_served_document_is_clean(system, tmp_path):
    path, _ = served(system, tmp_path)
    report, p = lint(path)
    assert report["totals"]["errors"] == 0, problems(report)
    assert report["totals"]["warnings"] == 0, problems(report)
    assert p.returncode == 0, p.stderr[-2000:]


def test_redocly_lint_finds_what_the_old_document_had(system, tmp_path):
    """The check can fail: the search operation's description sentence back
    where its requestBody belongs (the crash of issue 11), one operationId
    gone and a 4xx-less operation."""
    _, doc = served(system, tmp_path)
    search = doc["paths"]["/v1/bots/{bot_id}/search"]["get"]
    search["requestBody"] = "Words of `q` are matched as plain terms."
    del doc["paths"]["/v1/me"]["get"]["operationId"]
    doc["paths"]["/v1/openapi.json"]["get"]["responses"].pop("405")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    report, p = lint(path)
    rules = {x["ruleId"] for x in report["problems"]}
    assert report["totals"]["errors"] >= 1 and p.returncode != 0, problems(report)
    assert {"struct", "operation-operationId", "operation-4xx-response"} <= rules, rules


def test_redocly_lint_of_the_in_app_document_is_clean():
    report, p = lint(os.path.join(ROOT, "config", "openapi-app.json"))
    assert report["totals"]["errors"] == 0 and report["totals"]["warnings"] == 0, problems(report)
    assert p.returncode == 0


def test_served_document_has_no_session_routes_and_an_absolute_server(system):
    doc = system.get("/v1/openapi.json").json()
    assert not [p for p in doc["paths"] if not p.startswith("/v1/")], sorted(doc["paths"])
    assert doc["servers"] == [{"url": system.url}]
    ids = [op["operationId"] for item in doc["paths"].values() for m, op in item.items()
           if m != "parameters"]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][A-Za-z]+", i) for i in ids), ids
    for want in ("listBots", "createBot", "createDocument", "createConversation", "sendMessage",
                 "getUsage"):
        assert want in ids, want


def test_server_url_is_https_behind_a_trusted_proxy_that_says_so(system):
    r = system.get("/v1/openapi.json", headers={"X-Forwarded-Proto": "https"})
    assert r.json()["servers"] == [{"url": "https://127.0.0.1:%d" % system.port}]
    r = system.get("/v1/openapi.json", headers={"X-Forwarded-Proto": "http"})
    assert r.json()["servers"] == [{"url": system.url}]


def test_server_url_is_the_public_url_when_configured():
    env = {"PEGASUS_EDGE_PUBLIC_URL": "https://api.example.test/"}
    with running_system(env, __name__ + "_public_url") as other:
        r = other.get("/v1/openapi.json", headers={"Host": "elsewhere.test"})
        assert r.status_code == 200
        assert r.json()["servers"] == [{"url": "https://api.example.test"}]
        assert "Vary" not in r.headers


def test_openapi_typescript_types_required_fields(system, tmp_path):
    path, _ = served(system, tmp_path)
    out = tmp_path / "api.d.ts"
    p = run(CHECK, "types", str(path), str(out))
    assert p.returncode == 0, p.stderr[-3000:]
    text = out.read_text()
    # required fields are plain, optional ones marked: ids are never optional
    bot = re.search(r"\n        Bot: \{(.*?)\n        \};", text, re.S)
    assert bot, text[:2000]
    assert re.search(r"\n\s+id: string;", bot.group(1)), bot.group(1)
    assert "id?:" not in bot.group(1)
    for op in ("createBot:", "createDocument:", "sendMessage:", "getUsage:"):
        assert op in text, op


def test_client_source_has_no_casts_assertions_or_any():
    src = open(CLIENT_TS).read()
    code = re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", src, flags=re.S))
    code = re.sub(r"`[^`]*`|\"[^\"\n]*\"", '""', code)  # strings hold words, not casts
    assert not re.search(r"\bas\s+(?!const\b)[A-Za-z{\[(]", code), "a cast"
    assert not re.search(r"(^|[=(,:?]|return)\s*<[A-Za-z][^<>;]*>\s*[\w(\[]", code, re.M), "a <T> cast"
    assert not re.search(r"[\w)\]]!(?!=)", code), "a non-null assertion"
    assert not re.search(r"\bany\b", code), "any"
    assert "@ts-" not in code and "eslint-disable" not in code


def test_typed_client_runs_against_the_system(system, tmp_path):
    user = system.user("pro")
    token = system.login(user).create_token(
        scopes=["bots:read", "bots:write", "conversations:read", "conversations:write",
                "chat:send", "usage:read"])
    path, doc = served(system, tmp_path)
    out = tmp_path / "client"
    p = run(CHECK, "client", str(path), str(out))
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert (out / "client.js").is_file()

    env = dict(os.environ, PEGASUS_BASE_URL=doc["servers"][0]["url"], PEGASUS_TOKEN=token)
    p = run(NODE, "node", str(out / "client.js"), env=env, timeout=120)
    assert token not in p.stdout and token not in p.stderr
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    steps = {}
    for line in p.stdout.splitlines():
        j = json.loads(line)
        steps[j["step"]] = j
    assert list(steps) == ["createBot", "createDocument", "createConversation", "sendMessage",
                           "getUsage"], p.stdout
    bot, document = steps["createBot"], steps["createDocument"]
    conv, msg, usage = steps["createConversation"], steps["sendMessage"], steps["getUsage"]
    assert bot["id"].startswith("bot_") and bot["object"] == "bot"
    assert bot["model"] == "pegasus-lite" and bot["document_count"] == 0
    assert document["id"].startswith("doc_") and document["bot_id"] == bot["id"]
    assert document["chunks"] >= 1
    assert conv["id"].startswith("conv_") and conv["bot_id"] == bot["id"]
    assert conv["title"] == "Refunds"
    assert msg["id"].startswith("msg_") and msg["role"] == "assistant"
    assert msg["model"] == "pegasus-lite"
    assert "within 14 days" in msg["content"], msg
    assert msg["cited"] == document["id"] and msg["output_tokens"] > 0
    assert usage["group_by"] == "bot" and usage["bot_messages"] == 1, usage
    assert usage["bot_requests"] >= 3 and usage["total_messages"] >= 1, usage

    # what the client did is what the system holds
    r = system.api(token, "GET", "/v1/bots/" + bot["id"])
    assert r.status_code == 200 and r.json()["document_count"] == 1
    r = system.api(token, "GET", "/v1/conversations/%s/messages" % conv["id"])
    assert [m["role"] for m in r.json()["data"]] == ["user", "assistant"]


def test_typed_client_reports_the_api_error(system, tmp_path):
    """A refusal comes out as the description's Error: a token without the
    scopes fails at the first call, named with its code."""
    user = system.user("pro")
    token = system.login(user).create_token(scopes=["bots:read"])
    path, doc = served(system, tmp_path)
    out = tmp_path / "client"
    p = run(CHECK, "client", str(path), str(out))
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    env = dict(os.environ, PEGASUS_BASE_URL=doc["servers"][0]["url"], PEGASUS_TOKEN=token)
    p = run(NODE, "node", str(out / "client.js"), env=env, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert "createBot: HTTP 403 insufficient_scope" in p.stderr, p.stderr
    assert token not in p.stderr


def test_response_validator_flags_what_the_description_does_not_allow(system):
    """The check every OPENAPI_VALIDATE module runs can fail: against a copy
    of the description missing what the server sends, the same responses are
    flagged (an undocumented status, an undeclared header, a body field the
    schema requires but the server does not send, a body where none is)."""
    import copy

    import openapi_validate

    good = openapi_validate.for_system(system)
    before = good.checked
    doc = copy.deepcopy(good.doc)
    bad = openapi_validate.Validator(doc, good.netloc)
    create = doc["paths"]["/v1/bots"]["post"]["responses"]
    del create["415"]
    me_200 = doc["paths"]["/v1/me"]["get"]["responses"]["200"]
    me_200["headers"].pop("X-RateLimit-Limit")
    doc["components"]["schemas"]["Me"]["required"].append("nickname")
    del doc["paths"]["/v1/token"]["delete"]["responses"]["405"]
    del doc["paths"]["/v1/token"]["get"]["responses"]["405"]

    token = system.login(system.user("pro")).create_token(scopes=["profile:read", "bots:write"])
    got = [
        system.api(token, "POST", "/v1/bots", data="name=x", headers={"Content-Type": "text/plain"}),
        system.api(token, "GET", "/v1/me"),
        system.api(token, "PUT", "/v1/token"),
        system.api(token, "GET", "/v1/no-such-thing"),
    ]
    assert [r.status_code for r in got] == [415, 200, 405, 404]
    assert [good.check(r) for r in got] == [[], [], [], []]
    flagged = [bad.check(r) for r in got]
    assert "status not in the description" in " ".join(flagged[0]), flagged[0]
    text = " ".join(flagged[1])
    assert "header x-ratelimit-limit sent but not declared" in text, text
    assert "'nickname' is a required property" in text, text
    assert "without a declared 405" in " ".join(flagged[2]), flagged[2]
    assert flagged[3] == []
    assert good.checked >= before + 4  # this module's responses are watched too
    # and a response body is checked against its schema
    r = system.api(token, "GET", "/v1/me")
    doc["components"]["schemas"]["Me"]["properties"]["email"] = {"type": "integer"}
    assert any("is not of type 'integer'" in p for p in bad.check(r)), bad.check(r)


def test_flows_answer_only_what_the_description_allows(system):
    """Flows whose answers the other validated modules see less of, each
    checked by this module's validator (OPENAPI_VALIDATE): an idempotent
    replay, a raw document, search, a stream read whole (its events against
    their schemas), a report as JSON and CSV, refusals (413, 415, 405 on
    HEAD/PUT/OPTIONS, 404) and deletes."""
    import time
    import uuid

    import openapi_validate

    v = openapi_validate.for_system(system)
    before = v.checked
    token = system.login(system.user("pro")).create_token(
        scopes=["bots:read", "bots:write", "conversations:read", "conversations:write",
                "chat:send", "usage:read"])

    def api(method, path, expect, **kw):
        r = system.api(token, method, path, **kw)
        assert r.status_code == expect, (method, path, r.status_code, r.text[:300])
        return r

    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Validated", "model": "pegasus-lite"}
    bot = api("POST", "/v1/bots", 201, json=body, headers=key).json()
    again = api("POST", "/v1/bots", 201, json=body, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json()["id"] == bot["id"]
    api("POST", "/v1/bots", 409, json=dict(body, name="Other"), headers=key)
    api("POST", "/v1/bots", 415, data="{}", headers={"Content-Type": "text/plain"})
    api("POST", "/v1/bots", 413, data="x" * (70 * 1024), headers={"Content-Type": "application/json"})
    api("PATCH", "/v1/bots/" + bot["id"], 200, json={"description": "checked"})
    b = "/v1/bots/" + bot["id"]
    doc = api("POST", b + "/documents?title=Guide", 201, data="# Guide\n\nReturns take 5 days.",
              headers={"Content-Type": "text/markdown"}).json()
    api("GET", b + "/documents/%s?include=content" % doc["id"], 200)
    api("GET", b + "/documents?limit=1", 200)
    api("GET", b + "/search?q=returns", 200)
    api("GET", b + "/search", 400)
    api("GET", "/v1/bots/bot_nope", 404)
    conv = api("POST", "/v1/conversations", 201, json={"bot_id": bot["id"]}).json()
    c = "/v1/conversations/" + conv["id"]
    s = api("POST", c + "/messages", 200, json={"content": "How long do returns take?",
                                                 "stream": True})
    assert s.headers["Content-Type"].startswith("text/event-stream")
    assert "event: message.completed" in s.text
    api("GET", c + "/messages", 200)
    api("GET", "/v1/conversations?bot_id=" + bot["id"], 200)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    rep = api("POST", "/v1/usage/reports", 202, json={"start": today, "end": today}).json()
    deadline = time.monotonic() + 20
    while api("GET", "/v1/usage/reports/" + rep["id"], 200).json()["status"] != "ready":
        assert time.monotonic() < deadline, "the report was not ready in time"
        time.sleep(0.2)
    csv = api("GET", "/v1/usage/reports/" + rep["id"], 200, headers={"Accept": "text/csv"})
    assert csv.headers["Content-Disposition"].startswith("attachment")
    api("GET", "/v1/usage/reports", 200)
    api("GET", "/v1/usage?group_by=route", 200)
    for method in ("HEAD", "PUT", "OPTIONS"):
        r = api(method, "/v1/bots", 405)
        assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]
    api("DELETE", c, 204)
    api("DELETE", b + "/documents/" + doc["id"], 204)
    api("DELETE", b, 204)
    api("DELETE", "/v1/token", 204)
    api("GET", "/v1/token", 401)
    assert v.checked >= before + 30


def test_the_readme_client_example_compiles_and_runs(system, tmp_path):
    """README "Use it from your code": the generated-client example, verbatim."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    marker = "<!-- example: typescript-client -->\n```ts\n"
    assert marker in readme
    src = tmp_path / "readme-client.ts"
    src.write_text(readme.split(marker, 1)[1].split("\n```", 1)[0] + "\n")
    s = system.login(system.user("pro"))
    token = s.create_token(scopes=["bots:read", "bots:write"])
    r = system.api(token, "POST", "/v1/bots", json={"name": "Readme bot", "model": "pegasus-lite"})
    assert r.status_code == 201, r.text
    path, doc = served(system, tmp_path)
    out = tmp_path / "readme"
    p = run(CHECK, "client", str(path), str(out), str(src))
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    env = dict(os.environ, PEGASUS_URL=doc["servers"][0]["url"], PEGASUS_TOKEN=token)
    p = run(NODE, "node", str(out / "client.js"), env=env, timeout=120)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert p.stdout.split() == [r.json()["id"], "Readme", "bot", "0"], p.stdout
    assert token not in p.stdout and token not in p.stderr
