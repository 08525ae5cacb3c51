"""/v1 routes of the auth service (SPEC §3): /v1/token, /v1/me,
/v1/subscription, /v1/models, DELETE /v1/token; headers every response has."""

import calendar
import time

from pgs import assert_error

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True


def ts(s):
    return calendar.timegm(time.strptime(s.replace("Z", "").split(".")[0], "%Y-%m-%dT%H:%M:%S"))


def test_token_get(system, pro):
    u, s = pro
    j = s.create_token(name="my client", scopes=["usage:read", "models:read"], days=60, full=True)
    r = system.api(j["secret"], "GET", "/v1/token")
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["id"] == j["token"]["id"] and t.get("object") == "token"
    assert t["name"] == "my client"
    assert t["prefix"] == j["secret"][:12]
    assert set(t["scopes"]) == {"usage:read", "models:read"}
    p = s.ws("personal")
    w = t["workspace"]
    assert (w["id"], w["type"], w["name"]) == (p["id"], "personal", p["name"]), w
    assert ts(t["expires_at"]) - ts(t["created_at"]) == 60 * 86400
    assert "secret" not in t
    assert "application/json" in r.headers.get("Content-Type", "")


def test_me(system, pro):
    u, s = pro
    tok = s.create_token(scopes=["profile:read"])
    r = system.api(tok, "GET", "/v1/me")
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["id"] == s.info["user"]["id"] and me["id"].startswith("usr_")
    assert me.get("object") == "user"
    assert me["email"].lower() == u.email and me["name"] == u.name
    assert me["workspace"]["id"] == s.ws("personal")["id"] and me["workspace"]["type"] == "personal"
    assert me["role"] == "owner"
    assert "password" not in r.text.lower()


def test_me_in_team(system):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="ultra", seats=3)
    system.member(team, m, role="admin")
    s = system.login(m, team)
    tok = s.create_token(preset="read_only")
    me = system.api(tok, "GET", "/v1/me").json()
    w = me["workspace"]
    assert (w["id"], w["type"], w["name"]) == (s.ws(team)["id"], "team", team), w
    assert me["role"] == "admin"


def test_subscription_personal(system, pro):
    _, s = pro
    tok = s.create_token(scopes=["subscription:read"])
    r = system.api(tok, "GET", "/v1/subscription")
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["plan"] == "pro" and j["status"] == "active"
    assert j["api_access"] is True and j["read_only"] is False
    q = j["quota"]
    assert q["messages_limit"] == 5000 and q["messages_used"] == 0 and q["disabled"] is False
    # calendar month, UTC
    now = time.gmtime()
    assert q["period_start"].startswith("%04d-%02d-01T00:00:00" % (now.tm_year, now.tm_mon)), q
    assert ts(q["period_end"]) > time.time()
    assert j.get("seats") is None, "seats only for teams"


def test_subscription_team(system):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="ultra", seats=4)
    system.member(team, m)
    s = system.login(owner, team)
    j = system.api(s.create_token(preset="read_only"), "GET", "/v1/subscription").json()
    assert j["plan"] == "ultra" and j["quota"]["messages_limit"] == 50000
    assert j["seats"] == {"total": 4, "used": 2}


def models_of(system, tok):
    r = system.api(tok, "GET", "/v1/models")
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["object"] == "list" and isinstance(j["data"], list)
    for m in j["data"]:
        assert m.get("object") == "model" and {"id", "name", "description", "plans", "provider"} <= set(m), m
    out = {m["id"]: m for m in j["data"]}
    out.update({m["name"]: m for m in j["data"]})  # a model is known by id or name
    return out


def test_models_by_plan(system):
    pro = system.login(system.user("pro"))
    ultra = system.login(system.user("ultra"))
    mp = models_of(system, pro.create_token(scopes=["models:read"]))
    mu = models_of(system, ultra.create_token(scopes=["models:read"]))
    assert "pegasus-lite" in mp and "pegasus-max" not in mp, mp
    assert {"pegasus-lite", "pegasus-max"} <= set(mu), mu
    assert set(mu["pegasus-max"]["plans"]) == {"ultra"}
    assert set(mu["pegasus-lite"]["plans"]) == {"pro", "ultra"}
    assert mu["pegasus-lite"]["provider"] == "builtin"


def test_delete_token(system, pro):
    _, s = pro
    j = s.create_token(preset="read_only", full=True)
    tok = j["secret"]
    assert system.api(tok, "GET", "/v1/me").status_code == 200
    r = system.api(tok, "DELETE", "/v1/token")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(system.api(tok, "GET", "/v1/me"), 401, "token_revoked")
    assert_error(system.api(tok, "DELETE", "/v1/token"), 401, "token_revoked")
    row = [t for t in s.tokens() if t["id"] == j["token"]["id"]][0]
    assert row["revoked_at"]


def test_rate_limit_headers_on_success(system, pro):
    _, s = pro
    tok = s.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1/me")
    assert r.status_code == 200
    lim = int(r.headers["X-RateLimit-Limit"])
    rem = int(r.headers["X-RateLimit-Remaining"])
    reset = int(r.headers["X-RateLimit-Reset"])
    assert lim == 600  # [plan.pro] requests_per_minute
    assert 0 <= rem < lim
    now = time.time()
    assert now - 5 <= reset <= now + 65, (reset, now)
    r2 = system.api(tok, "GET", "/v1/me")
    assert int(r2.headers["X-RateLimit-Remaining"]) <= rem


def test_no_rate_limit_headers_before_check_4(system):
    r = system.get("/v1/me")
    assert "X-RateLimit-Limit" not in r.headers


def test_error_envelope(system):
    r = system.get("/v1/me", headers={"X-Request-Id": "env-check-1"})
    assert r.status_code == 401
    assert "application/json" in r.headers.get("Content-Type", "")
    j = r.json()
    assert set(j) == {"error"}
    assert j["error"]["request_id"] == "env-check-1"


def test_unknown_query_params_are_refused(system, pro):
    # issue 11: a misspelt parameter must not be ignored silently
    _, s = pro
    tok = s.create_token(preset="read_only")
    e = assert_error(system.api(tok, "GET", "/v1/me?foo=bar&x=1"), 400, "invalid_request")
    assert e["param"] == "foo"
    assert system.api(tok, "GET", "/v1/me").status_code == 200


def test_percent_encoded_path_is_not_normalised_into_a_route(system, pro):
    _, s = pro
    tok = s.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1%2Fme")
    assert_error(r, 404, "not_found")


def test_every_api_response_says_nosniff(system, pro):
    """X-Content-Type-Options: nosniff on answers of every kind (issue 10, deliverable 6): a
    worker's JSON, the edge's own errors, an unknown route, the app API, a stream's head."""
    u, s = pro
    tok = s.create_token()
    answers = {
        "GET /v1/me": system.api(tok, "GET", "/v1/me"),
        "GET /v1/me without a token": system.get("/v1/me"),
        "GET /v1/nope": system.api(tok, "GET", "/v1/nope"),
        "GET /app/api/session": s.get("/app/api/session"),
        "POST /app/api/login (bad JSON)": system.request("POST", "/app/api/login", data=b"{",
                                                          headers={"Content-Type": "application/json"}),
        "GET /healthz": system.get("/healthz"),
    }
    wrong = {k: (r.status_code, r.headers.get("X-Content-Type-Options")) for k, r in answers.items()
             if r.headers.get("X-Content-Type-Options") != "nosniff"}
    assert not wrong, wrong
    assert answers["GET /v1/me"].status_code == 200
    assert answers["GET /v1/me without a token"].status_code == 401
