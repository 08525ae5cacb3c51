"""Health endpoints, X-Request-Id, openapi.json and pegasusctl basics (SPEC §3, §6)."""

import json
import re

import pytest

from pgs import User, assert_error, find_key, poll, process_group, uniq


def test_healthz(system):
    r = system.get("/healthz")
    assert r.status_code == 200
    assert r.headers.get("X-Request-Id")


def test_readyz(system):
    r = system.get("/readyz")
    assert r.status_code == 200


def test_status_json_shape(system):
    procs = system.status()
    services = [p["service"] for p in procs]
    assert "edge" in services, procs
    assert services.count("auth") == 2, procs  # [service.auth] processes = 2
    for p in procs:
        assert set(p) >= {"service", "instance", "pid", "state", "uptime_s", "restarts"}, p
        assert isinstance(p["pid"], int) and p["pid"] > 0, p
        assert isinstance(p["uptime_s"], (int, float)) and p["uptime_s"] >= 0, p
        assert isinstance(p["restarts"], int) and p["restarts"] >= 0, p
        assert isinstance(p["state"], str) and p["state"], p
    auth = [p for p in procs if p["service"] == "auth"]
    assert len({p["instance"] for p in auth}) == 2, auth
    assert len({p["pid"] for p in procs}) == len(procs), procs


def test_status_pids_are_live_processes(system):
    for p in system.status():
        assert process_group(p["pid"]) == system.pgid, p  # alive, and one of this system's


def test_ctl_unknown_command_fails(system):
    rc, out, errout = system.ctl_raw("frobnicate")
    assert rc != 0
    assert (out + errout).strip(), "no message on error"


def test_ctl_errors_are_nonzero(system):
    rc, _, e1 = system.ctl_raw("plan", "set", "--email", "nobody-%s@example.test" % uniq(), "--plan", "pro")
    assert rc != 0
    u = system.user("pro")
    rc, _, _ = system.ctl_raw("plan", "set", "--email", u.email, "--plan", "platinum")
    assert rc != 0
    rc, _, _ = system.ctl_raw("team", "add", "--name", uniq("T"), "--owner", "nobody-%s@example.test" % uniq(),
                              "--plan", "pro", "--seats", "2")
    assert rc != 0
    rc, _, _ = system.ctl_raw("token", "revoke", "tok_doesnotexist")
    assert rc != 0


def test_ctl_duplicate_user_refused(system):
    u = system.user("pro")
    rc, _, _ = system.ctl_raw("user", "add", "--email", u.email.upper(), "--name", "Dup",
                              "--password-stdin", stdin="another-password-123\n")
    assert rc != 0, "emails are unique, case-insensitive"


def test_user_list_contains_user_and_no_secret(system):
    u = system.user("pro")
    lst = system.ctl("user", "list")
    text = json.dumps(lst)
    assert u.email in text
    assert u.password not in text
    assert "$argon2" not in text


def test_generated_password_printed_works_and_not_logged(system):
    email = "%s@example.test" % uniq("gen")
    out = system.ctl("user", "add", "--email", email, "--name", "Generated")
    pw = find_key(out, lambda k, v: "password" in k.lower() and isinstance(v, str))
    assert pw, "user add without --password-stdin must print the generated password: %r" % out
    system.secret(pw)
    s = system.login(User(email, "Generated", pw))
    assert s.info["user"]["email"].lower() == email


def test_request_id_echo_and_generation(system):
    r = system.get("/healthz", headers={"X-Request-Id": "abc-123._:XYZ"})
    assert r.headers.get("X-Request-Id") == "abc-123._:XYZ"
    r = system.get("/v1/me", headers={"X-Request-Id": "client.id-7"})
    assert r.headers.get("X-Request-Id") == "client.id-7"
    assert_error(r, 401, "missing_token")
    for bad in ["has space", "x" * 65, "semi;colon", "slash/x", ""]:
        r = system.get("/v1/me", headers={"X-Request-Id": bad})
        rid = r.headers.get("X-Request-Id")
        assert rid and rid != bad, (bad, rid)
        assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", rid), rid
    a = system.get("/healthz").headers.get("X-Request-Id")
    b = system.get("/healthz").headers.get("X-Request-Id")
    assert a and b and a != b


def test_request_id_on_404_and_405(system):
    r = system.get("/v1/no-such-route", headers={"X-Request-Id": "rid-404"})
    e = assert_error(r, 404, "not_found")
    assert e["request_id"] == "rid-404"
    r = system.request("PUT", "/v1/me", headers={"X-Request-Id": "rid-405"})
    e = assert_error(r, 405, "method_not_allowed")
    assert e["request_id"] == "rid-405"


def test_openapi_served_and_parses(system):
    r = system.get("/v1/openapi.json")
    assert r.status_code == 200, r.text[:300]
    assert "json" in r.headers.get("Content-Type", "")
    doc = r.json()
    assert str(doc.get("openapi", "")).startswith("3.1"), doc.get("openapi")
    paths = doc.get("paths", {})
    for p in ["/v1/token", "/v1/me", "/v1/subscription", "/v1/models"]:
        assert p in paths, sorted(paths)
    assert "delete" in paths["/v1/token"] and "get" in paths["/v1/token"]
    assert not any(p.startswith("/app/api/") for p in paths), sorted(paths)


def test_openapi_server_url_is_the_request_origin(system):
    """[edge] public_url is empty here: the server URL is the origin the
    client sent the request to, absolute (a generated client needs one)."""
    doc = system.get("/v1/openapi.json").json()
    assert doc["servers"] == [{"url": system.url}], doc["servers"]
    r = system.get("/v1/openapi.json", headers={"Host": "api.example.test:8443"})
    assert r.json()["servers"] == [{"url": "http://api.example.test:8443"}]
    assert "Host" in r.headers.get("Vary", "")
    # X-Forwarded-Proto counts only from a trusted proxy (none here)
    r = system.get("/v1/openapi.json", headers={"X-Forwarded-Proto": "https"})
    assert r.json()["servers"] == [{"url": system.url}]
    # a Host that could not stand in a URL as it is: no origin from it
    r = system.get("/v1/openapi.json", headers={"Host": "evil.example/\"x"})
    assert r.status_code == 200 and r.json()["servers"] == [{"url": "/"}], r.text[:200]


def test_no_cors_headers_by_default(system):
    r = system.request("OPTIONS", "/v1/me", headers={"Origin": "https://evil.example",
                                                     "Access-Control-Request-Method": "GET"})
    assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers
    r = system.get("/v1/me", headers={"Origin": "https://evil.example"})
    assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers


def test_ctl_token_list_and_revoke(system):
    u = system.user("pro")
    s = system.login(u)
    j = s.create_token(preset="read_only", full=True)
    tok, tid = j["secret"], j["token"]["id"]
    assert system.api(tok, "GET", "/v1/token").status_code == 200
    lst = system.ctl("token", "list", "--workspace", s.ws("personal")["id"])
    text = json.dumps(lst)
    assert tid in text
    assert tok not in text, "pegasusctl token list must never show a secret"
    system.ctl("token", "revoke", tid)
    # takes effect on the very next request, no polling
    assert_error(system.api(tok, "GET", "/v1/token"), 401, "token_revoked")


def test_ctl_restart_service(system):
    before = {p["pid"] for p in system.procs("auth")}
    system.ctl("restart", "auth")
    poll(lambda: (lambda now: len(now) == 2 and not (now & before))({p["pid"] for p in system.procs("auth")}),
         timeout=30, desc="both auth workers replaced")
    poll(lambda: system.get("/readyz").status_code == 200, timeout=30, desc="ready again")


def test_ctl_scale(system):
    system.ctl("scale", "auth", "3")
    poll(lambda: len(system.procs("auth")) == 3, timeout=30, desc="3 auth workers")
    system.ctl("scale", "auth", "2")
    poll(lambda: len(system.procs("auth")) == 2, timeout=30, desc="2 auth workers")
    for bad in (["scale", "edge", "2"], ["scale", "auth", "0"], ["scale", "auth", "65"], ["scale", "nosuch", "2"]):
        rc, _, _ = system.ctl_raw(*bad)
        assert rc != 0, bad
    assert len(system.procs("auth")) == 2
    assert len(system.procs("edge")) == 1
