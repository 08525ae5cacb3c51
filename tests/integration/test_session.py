"""In-app sessions (SPEC §4, §8): login, logout, session, CSRF, lockout,
workspace switch, cookie flags."""

import http.client
import json

import requests

from pgs import HTTP_TIMEOUT, AppSession, assert_error, running_system, uniq


def login_raw(system, email, password, **kw):
    return requests.post(system.url + "/app/api/login", json={"email": email, "password": password},
                         timeout=HTTP_TIMEOUT, **kw)


def test_login_shape_and_personal_first(system):
    u = system.user("pro")
    owner = system.user("pro")
    team = system.team(owner, plan="ultra", seats=3)
    system.member(team, u, role="member")
    r = login_raw(system, u.email, u.password)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["user"]["email"].lower() == u.email
    assert j["user"]["id"].startswith("usr_")
    assert isinstance(j["csrf_token"], str) and len(j["csrf_token"]) >= 16
    system.secret(j["csrf_token"])
    ws = j["workspaces"]
    personal = [w for w in ws if w["type"] == "personal"]
    assert len(personal) == 1, ws
    assert j["active_workspace_id"] == personal[0]["id"], "sign-in starts in the Personal workspace"
    p = personal[0]
    assert p["id"].startswith("ws_") and p["plan"] == "pro" and p["role"] == "owner" and p["seat"] is True
    assert p["read_only"] is False
    t = [w for w in ws if w.get("name") == team]
    assert len(t) == 1, ws
    assert t[0]["type"] == "team" and t[0]["plan"] == "ultra" and t[0]["role"] == "member"
    assert t[0]["seat"] is True and t[0]["read_only"] is False
    for w in ws:
        assert set(w) >= {"id", "type", "name", "plan", "role", "seat", "read_only"}, w
    assert u.password not in r.text


def test_login_email_case_insensitive(system):
    u = system.user("pro")
    r = login_raw(system, u.email.upper(), u.password)
    assert r.status_code == 200, r.text


def test_cookie_flags(system):
    u = system.user("pro")
    r = login_raw(system, u.email, u.password)
    assert r.status_code == 200
    sc = r.headers.get("Set-Cookie", "")
    assert "pegasus_session=" in sc, sc
    low = sc.lower()
    assert "httponly" in low, sc
    assert "samesite=strict" in low, sc
    assert "secure" not in low.replace("samesite", ""), "not Secure over plain http: %s" % sc
    cookie = r.cookies.get("pegasus_session")
    assert cookie and len(cookie) >= 16
    system.secret(cookie)


def test_wrong_password_and_unknown_email_same_error(system):
    u = system.user("pro")
    r1 = login_raw(system, u.email, "wrong-" + u.password)
    r2 = login_raw(system, "nobody-%s@example.test" % uniq(), "whatever-password")
    e1 = assert_error(r1, 401, "invalid_credentials")
    e2 = assert_error(r2, 401, "invalid_credentials")
    assert e1["message"] == e2["message"]
    assert "pegasus_session" not in r1.cookies


def test_login_needs_json_content_type(system):
    u = system.user("pro")
    r = requests.post(system.url + "/app/api/login", data="email=%s&password=%s" % (u.email, u.password),
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=HTTP_TIMEOUT)
    assert_error(r, 415, "unsupported_media_type")


def test_login_bad_bodies(system):
    r = requests.post(system.url + "/app/api/login", data=b"{not json",
                      headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert_error(r, 400, "invalid_json")
    u = system.user("pro")
    r = requests.post(system.url + "/app/api/login", json={"email": u.email, "password": u.password, "x": 1},
                      timeout=HTTP_TIMEOUT)
    assert_error(r, 400, "invalid_request")
    r = requests.post(system.url + "/app/api/login", json={"email": u.email, "password": 123}, timeout=HTTP_TIMEOUT)
    assert_error(r, 400, "invalid_request")


def test_session_get_and_not_signed_in(system):
    r = requests.get(system.url + "/app/api/session", timeout=HTTP_TIMEOUT)
    assert_error(r, 401, "not_signed_in")
    r = requests.get(system.url + "/app/api/session", cookies={"pegasus_session": "forged" + uniq()},
                     timeout=HTTP_TIMEOUT)
    assert_error(r, 401, "not_signed_in")
    u = system.user("pro")
    s = system.login(u)
    info = s.session()
    assert info["user"]["email"].lower() == u.email
    assert info["active_workspace_id"] == s.ws("personal")["id"]
    assert info["csrf_token"] == s.csrf


def test_logout(system):
    u = system.user("pro")
    s = system.login(u)
    cookie = s.s.cookies.get("pegasus_session")
    r = s.post("/app/api/logout", csrf=False)
    assert_error(r, 403, "csrf_failed")
    assert s.get("/app/api/session").status_code == 200
    r = s.post("/app/api/logout")
    assert r.status_code in (200, 204), r.text
    r = requests.get(system.url + "/app/api/session", cookies={"pegasus_session": cookie}, timeout=HTTP_TIMEOUT)
    assert_error(r, 401, "not_signed_in")
    r = requests.get(system.url + "/app/api/tokens", cookies={"pegasus_session": cookie}, timeout=HTTP_TIMEOUT)
    assert_error(r, 401, "not_signed_in")


def test_app_routes_need_session(system):
    for m, p in [("GET", "/app/api/tokens"), ("POST", "/app/api/tokens"), ("DELETE", "/app/api/tokens/tok_x"),
                 ("POST", "/app/api/workspace")]:
        r = requests.request(m, system.url + p, json={}, timeout=HTTP_TIMEOUT)
        assert_error(r, 401, "not_signed_in")


def test_csrf_required_on_state_changes(system):
    u = system.user("pro")
    s = system.login(u)
    body = {"name": "csrf", "preset": "read_only", "expires_in_days": 30}
    for hdr in (None, "", "wrong-" + s.csrf, s.csrf + "x"):
        h = {} if hdr is None else {"X-CSRF-Token": hdr}
        r = s.post("/app/api/tokens", json=body, csrf=False, headers=h)
        assert_error(r, 403, "csrf_failed")
    assert s.tokens() == [], "a refused create must create nothing"
    j = s.create_token(preset="read_only", full=True)
    r = s.delete("/app/api/tokens/" + j["token"]["id"], csrf=False)
    assert_error(r, 403, "csrf_failed")
    assert system.api(j["secret"], "GET", "/v1/token").status_code == 200, "not revoked"
    r = s.post("/app/api/workspace", json={"workspace_id": s.ws("personal")["id"]}, csrf=False)
    assert_error(r, 403, "csrf_failed")
    # another session's CSRF token is not this session's
    s2 = system.login(u)
    r = s.post("/app/api/tokens", json=body, csrf=False, headers={"X-CSRF-Token": s2.csrf})
    assert_error(r, 403, "csrf_failed")


def test_lockout(system):
    u = system.user("pro")
    other = system.user("pro")
    for i in range(5):
        r = login_raw(system, u.email, "bad-password-%d" % i)
        assert_error(r, 401, "invalid_credentials")
    r = login_raw(system, u.email, u.password)
    assert_error(r, 429, "login_locked")
    ra = r.headers.get("Retry-After")
    assert ra and ra.isdigit() and 0 < int(ra) <= 900, ra
    # same email, other case: still locked
    assert_error(login_raw(system, u.email.upper(), u.password), 429, "login_locked")
    # other emails are not affected
    assert login_raw(system, other.email, other.password).status_code == 200


def test_lockout_unknown_email_behaves_the_same(system):
    email = "ghost-%s@example.test" % uniq()
    for i in range(5):
        assert_error(login_raw(system, email, "x-%d" % i), 401, "invalid_credentials")
    assert_error(login_raw(system, email, "x"), 429, "login_locked")


def test_four_failures_do_not_lock(system):
    u = system.user("pro")
    for i in range(4):
        assert_error(login_raw(system, u.email, "bad-%d" % i), 401, "invalid_credentials")
    assert login_raw(system, u.email, u.password).status_code == 200


def test_workspace_switch(system):
    owner = system.user("pro")
    u = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    other_team = system.team(owner, plan="pro", seats=3)
    system.member(team, u, role="admin")
    s = system.login(u)
    tid = s.ws(team)["id"]
    r = s.post("/app/api/workspace", json={"workspace_id": tid})
    assert r.status_code in (200, 204), r.text
    assert s.session()["active_workspace_id"] == tid
    # not a member: 404, and the active workspace does not change
    o = system.login(owner)
    oid = o.ws(other_team)["id"]
    r = s.post("/app/api/workspace", json={"workspace_id": oid})
    assert_error(r, 404, "not_found")
    r = s.post("/app/api/workspace", json={"workspace_id": "ws_doesnotexist"})
    assert_error(r, 404, "not_found")
    assert s.session()["active_workspace_id"] == tid
    # kept per session: a second session starts in Personal
    s2 = system.login(u)
    assert s2.info["active_workspace_id"] == s2.ws("personal")["id"]
    assert s.session()["active_workspace_id"] == tid
    # a token created now is bound to the team
    tok = s.create_token(preset="read_only")
    j = system.api(tok, "GET", "/v1/token").json()
    assert j["workspace"]["id"] == tid and j["workspace"]["type"] == "team"


def test_session_cookie_is_not_a_bearer_token(system):
    u = system.user("pro")
    s = system.login(u)
    cookie = s.s.cookies.get("pegasus_session")
    system.secret(cookie)
    r = requests.get(system.url + "/v1/me", cookies={"pegasus_session": cookie}, timeout=HTTP_TIMEOUT)
    assert_error(r, 401, "missing_token")


def _login_from(system, source_ip, email, password):
    """A sign-in sent from source_ip (a loopback address of its own: another client)."""
    conn = http.client.HTTPConnection("127.0.0.1", system.port, timeout=10, source_address=(source_ip, 0))
    try:
        conn.request("POST", "/app/api/login", body=json.dumps({"email": email, "password": password}),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        return r.status, dict(r.getheaders()), json.loads(body) if body else None
    finally:
        conn.close()


def test_sign_ins_are_throttled_per_client_address(request):
    """A spray of wrong passwords across many emails from one address (issue 10, deliverable 4):
    after [auth] login_max_failures_per_address failures that address gets 429 login_throttled
    with Retry-After — even for a right password, and before any password is hashed — while
    another address signs in as usual and no email was locked."""
    with running_system({"PEGASUS_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS": "6"}, request.node.name) as system:
        u = system.user("pro")
        for i in range(6):
            status, _, body = _login_from(system, "127.0.0.2", "spray-%d-%s@example.test" % (i, uniq()), "guess")
            assert status == 401 and body["error"]["code"] == "invalid_credentials", (status, body)
        status, headers, body = _login_from(system, "127.0.0.2", u.email, u.password)
        assert status == 429 and body["error"]["code"] == "login_throttled", (status, body)
        ra = headers.get("Retry-After")
        assert ra and ra.isdigit() and 800 < int(ra) <= 900, ra
        assert "Try again in 15 minutes." in body["error"]["message"], body
        assert body["error"]["request_id"]
        # another client address is not affected, and the email is not locked
        status, _, body = _login_from(system, "127.0.0.3", u.email, u.password)
        assert status == 200, (status, body)
        # the throttled address's attempts were not hashed: auth counted no more failures
        n = system.redis("GET", "pgs:lfa:127.0.0.2")
        assert n.strip() == "6", n


def test_email_lock_says_when_to_try_again(system):
    u = system.user("pro")
    for i in range(5):
        assert_error(login_raw(system, u.email, "bad-%d" % i), 401, "invalid_credentials")
    r = login_raw(system, u.email, u.password)
    e = assert_error(r, 429, "login_locked")
    assert "Try again in 15 minutes." in e["message"], e
