"""Conventions an integrator's code relies on (issue 11, deliverable 4): a
misspelt query parameter on a token route is a 400 naming it, never
ignored; every response with a body says its Content-Type — the edge's own
answers (401, 404, 405, 413, 503-class) and the workers' alike."""

import pytest
import requests

from pgs import assert_error, uniq


@pytest.fixture(scope="module")
def tok(system):
    s = system.login(system.user("pro"))
    return s.create_token(preset="bot_management")


@pytest.mark.parametrize("path,param", [
    ("/v1/bots?limt=5", "limt"),
    ("/v1/bots?limit=5&order=asc", "order"),
    ("/v1/me?fields=id", "fields"),
    ("/v1/bots?" + "x" * 200 + "=1", "x" * 64),
])
def test_unknown_query_parameter_is_400_naming_it(system, tok, path, param):
    r = system.api(tok, "GET", path)
    e = assert_error(r, 400, "invalid_request")
    assert e["param"] == param, e


def test_known_query_parameters_pass(system, tok):
    r = system.api(tok, "GET", "/v1/bots?limit=2")
    assert r.status_code == 200, r.text
    b = system.api(tok, "POST", "/v1/bots", json={"name": uniq("b"), "model": "pegasus-lite"})
    assert b.status_code == 201
    bot = b.json()["id"]
    r = system.api(tok, "GET", "/v1/bots/%s/search?q=office&limit=3" % bot)
    assert r.status_code == 200, r.text
    r = system.api(tok, "POST", "/v1/bots/%s/documents?title=T" % bot, data=b"Some text.",
                   headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text


def test_every_body_has_a_content_type(system, tok):
    u = system.url
    answers = [
        requests.get(u + "/v1/me", timeout=10),                                    # 401
        requests.get(u + "/v1/nothing-here", timeout=10),                          # 404
        requests.put(u + "/v1/me", timeout=10),                                    # 405
        requests.post(u + "/app/api/login", data=b"x" * 20000,                     # 413
                      headers={"Content-Type": "application/json"}, timeout=10),
        system.api(tok, "GET", "/v1/bots"),                                        # 200
        system.api(tok, "GET", "/v1/bots/bot_doesnotexist0000000"),                # 404 (worker)
        system.api(tok, "POST", "/v1/bots", data=b"{", headers={"Content-Type": "application/json"}),
        requests.get(u + "/healthz", timeout=10),
        requests.get(u + "/v1/openapi.json", timeout=10),
        requests.get(u + "/openai/v1/models", timeout=10),                         # 401 (OpenAI shape)
    ]
    for r in answers:
        assert r.content, (r.status_code, r.url)
        assert r.headers.get("Content-Type"), (r.status_code, r.url, dict(r.headers))
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (r.status_code, r.url)


def test_an_idempotency_key_is_the_callers_across_services(system):
    """A key first used to create a bot (bots) is refused on a conversation
    create (chat) — the services keep their keys apart, the edge knows
    both — and still replays on its own route."""
    s = system.login(system.user("pro"))
    tok = s.create_token(scopes=["bots:read", "bots:write", "conversations:read",
                                 "conversations:write"])
    key = {"Idempotency-Key": uniq("k-")}
    b = system.api(tok, "POST", "/v1/bots", json={"name": uniq("b"), "model": "pegasus-lite"},
                   headers=key)
    assert b.status_code == 201, b.text
    r = system.api(tok, "POST", "/v1/conversations", json={"bot_id": b.json()["id"]}, headers=key)
    e = assert_error(r, 409, "idempotency_key_reused")
    assert "another route" in e["message"], e
    again = system.api(tok, "POST", "/v1/bots", json={"name": "x", "model": "pegasus-lite"},
                       headers=key)
    assert_error(again, 409, "idempotency_key_reused")  # same route, another body
    r = system.api(tok, "POST", "/v1/conversations", json={"bot_id": b.json()["id"]},
                   headers={"Idempotency-Key": uniq("k-")})
    assert r.status_code == 201, r.text
