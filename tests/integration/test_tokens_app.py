"""Token lifecycle in the app (SPEC §2 lifecycle rules, §4, §8 Tokens)."""

import calendar
import json
import time

import pytest

from pgs import (PRESETS, SCOPES, TOKEN_RE, assert_error, checksum_ok, poll, uniq)


def ts(s):
    return calendar.timegm(time.strptime(s.replace("Z", "").split(".")[0], "%Y-%m-%dT%H:%M:%S"))


def test_scopes_endpoint(system, pro):
    _, s = pro
    r = s.get("/app/api/scopes")
    assert r.status_code == 200, r.text
    j = r.json()
    got = {x["id"]: x["label"] for x in j["scopes"]}
    assert got == SCOPES
    assert [x["id"] for x in j["scopes"]] == list(SCOPES), "table order"
    presets = {p["id"]: (p["label"], set(p["scopes"])) for p in j["presets"]}
    assert presets == PRESETS


def test_create_with_preset(system, pro):
    _, s = pro
    for pid, (_, scopes) in PRESETS.items():
        j = s.create_token(preset=pid, full=True)
        assert set(j["token"]["scopes"]) == scopes, (pid, j["token"])


def test_create_shape_and_secret(system, pro):
    u, s = pro
    before = time.time()
    r = s.create_token_raw({"name": "  Production API client  ", "scopes": ["profile:read", "models:read"],
                            "expires_in_days": 90})
    assert r.status_code == 201, r.text
    j = r.json()
    system.secret(j["secret"])
    sec, t = j["secret"], j["token"]
    assert TOKEN_RE.match(sec) and checksum_ok(sec), "format and CRC32 checksum"
    assert t["id"].startswith("tok_")
    assert t["name"] == "Production API client", "names are trimmed"
    assert t["prefix"] == sec[:12]
    assert set(t["scopes"]) == {"profile:read", "models:read"}
    assert ts(t["expires_at"]) - ts(t["created_at"]) == 90 * 86400
    assert before - 5 <= ts(t["created_at"]) <= time.time() + 5
    assert t.get("revoked_at") is None
    # works at once
    r = system.api(sec, "GET", "/v1/me")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("days", [30, 60, 90, 180, 365])
def test_every_allowed_expiry(system, pro, days):
    _, s = pro
    j = s.create_token(preset="read_only", days=days, full=True)
    t = j["token"]
    assert ts(t["expires_at"]) - ts(t["created_at"]) == days * 86400


@pytest.mark.parametrize("body,param", [
    ({"name": "x", "preset": "read_only", "expires_in_days": 31}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": -30}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": 366}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": "30"}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": 30.5}, "expires_in_days"),
    ({"name": "x", "preset": "read_only", "expires_in_days": None}, "expires_in_days"),
    ({"name": "x", "preset": "read_only"}, "expires_in_days"),
    ({"name": "", "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "    ", "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "a" * 65, "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "bad\nname", "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "bad\u0007name", "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "tab\tname", "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": 5, "preset": "read_only", "expires_in_days": 30}, "name"),
    ({"preset": "read_only", "expires_in_days": 30}, "name"),
    ({"name": "x", "scopes": [], "expires_in_days": 30}, "scopes"),
    ({"name": "x", "scopes": ["profile:read", "admin:all"], "expires_in_days": 30}, "scopes"),
    ({"name": "x", "scopes": "profile:read", "expires_in_days": 30}, "scopes"),
    ({"name": "x", "scopes": [1], "expires_in_days": 30}, "scopes"),
    ({"name": "x", "preset": "everything", "expires_in_days": 30}, "preset"),
    ({"name": "x", "expires_in_days": 30}, None),
    ({"name": "x", "preset": "read_only", "scopes": ["profile:read"], "expires_in_days": 30}, None),
    ({"name": "x", "preset": "read_only", "expires_in_days": 30, "workspace_id": "ws_x"}, None),
])
def test_create_validation(system, pro, body, param):
    _, s = pro
    r = s.create_token_raw(body)
    e = assert_error(r, 400, "invalid_request")
    if param:
        assert e.get("param") == param, e
    assert e["message"], e


def test_create_invalid_json(system, pro):
    _, s = pro
    r = s.post("/app/api/tokens", data=b'{"name": "x", ', headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    r = s.post("/app/api/tokens", data=b'{"name": "\xff\xfe", "preset": "read_only", "expires_in_days": 30}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert s.tokens() == []


def test_name_lengths_count_code_points(system, pro):
    _, s = pro
    j = s.create_token(name="é" * 64, preset="read_only", full=True)
    assert j["token"]["name"] == "é" * 64
    j = s.create_token(name="🚀" * 64, preset="read_only", full=True)
    assert j["token"]["name"] == "🚀" * 64
    r = s.create_token_raw({"name": "é" * 65, "preset": "read_only", "expires_in_days": 30})
    assert_error(r, 400, "invalid_request")


def test_duplicate_names_and_scopes(system, pro):
    _, s = pro
    a = s.create_token(name="same", preset="read_only", full=True)
    b = s.create_token(name="same", scopes=["profile:read", "profile:read", "models:read"], full=True)
    assert a["token"]["id"] != b["token"]["id"]
    assert sorted(b["token"]["scopes"]) == ["models:read", "profile:read"]
    assert a["secret"] != b["secret"]


def test_show_once(system, pro):
    _, s = pro
    j = s.create_token(preset="read_only", full=True)
    sec, tid = j["secret"], j["token"]["id"]
    r = s.get("/app/api/tokens")
    assert sec not in r.text and sec[12:] not in r.text
    row = [t for t in r.json()["data"] if t["id"] == tid][0]
    assert "secret" not in row and row["prefix"] == sec[:12]
    r = system.api(sec, "GET", "/v1/token")
    assert r.status_code == 200 and sec not in r.text and sec[12:] not in r.text
    r = s.get("/app/api/session")
    assert sec not in r.text


def test_list_shape_and_order(system, pro):
    u, s = pro
    ids = [s.create_token(name="n%d" % i, preset="read_only", full=True)["token"]["id"] for i in range(3)]
    r = s.get("/app/api/tokens")
    j = r.json()
    assert j["object"] == "list" and "has_more" in j and "next_cursor" in j
    rows = j["data"]
    assert {t["id"] for t in rows} == set(ids)
    keys = [(ts(t["created_at"]), t["id"]) for t in rows]
    assert keys == sorted(keys, reverse=True), "newest first: created_at, then id, descending"
    for t in rows:
        assert set(t) >= {"id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at",
                          "last_used_ip", "revoked_at", "owner"}, t


def test_last_used(system, pro):
    _, s = pro
    j = s.create_token(preset="read_only", full=True)
    tid = j["token"]["id"]
    row = [t for t in s.tokens() if t["id"] == tid][0]
    assert row["last_used_at"] is None and row["last_used_ip"] is None
    assert system.api(j["secret"], "GET", "/v1/me").status_code == 200

    def used():
        row = [t for t in s.tokens() if t["id"] == tid][0]
        return row if row["last_used_at"] else None
    row = poll(used, timeout=15, desc="last_used_at set")
    assert row["last_used_ip"] == "127.0.0.1"


def test_revoke(system, pro):
    _, s = pro
    j = s.create_token(preset="read_only", full=True)
    sec, tid = j["secret"], j["token"]["id"]
    assert system.api(sec, "GET", "/v1/me").status_code == 200  # cached in the edge now
    r = s.revoke(tid)
    assert r.status_code == 204, r.text
    # immediately: the very next request, no polling
    assert_error(system.api(sec, "GET", "/v1/me"), 401, "token_revoked")
    assert_error(system.api(sec, "GET", "/v1/token"), 401, "token_revoked")
    # again: still 204
    assert s.revoke(tid).status_code == 204
    row = [t for t in s.tokens() if t["id"] == tid][0]
    assert row["revoked_at"], row
    # a new token still works (revocation is per token)
    sec2 = s.create_token(preset="read_only")
    assert system.api(sec2, "GET", "/v1/me").status_code == 200


def test_revoke_unknown_id(system, pro):
    _, s = pro
    assert_error(s.revoke("tok_doesnotexist"), 404, "not_found")


def test_token_limit_50(system):
    u = system.user("pro")
    s = system.login(u)
    ids = []
    for i in range(50):
        ids.append(s.create_token(name="bulk%d" % i, preset="read_only", full=True)["token"]["id"])
    r = s.create_token_raw({"name": "one-too-many", "preset": "read_only", "expires_in_days": 30})
    assert_error(r, 409, "token_limit_reached")
    # another user is not affected
    other = system.login(system.user("pro"))
    other.create_token(preset="read_only")
    # the limit is per workspace: the same user in a team still can create
    team = system.team(u, plan="pro", seats=2)
    s.switch(team)
    s.create_token(preset="read_only")
    s.switch("personal")
    # revoking one frees a place
    assert s.revoke(ids[0]).status_code == 204
    s.create_token(name="after-revoke", preset="read_only")
    assert_error(s.create_token_raw({"name": "again", "preset": "read_only", "expires_in_days": 30}),
                 409, "token_limit_reached")


def test_list_pagination_envelope(system):
    u = system.user("pro")
    s = system.login(u)
    for i in range(3):
        s.create_token(name="p%d" % i, preset="read_only")
    r = s.get("/app/api/tokens?limit=2")
    assert r.status_code == 200
    j = r.json()
    assert len(j["data"]) == 2 and j["has_more"] is True and isinstance(j["next_cursor"], str)
    r2 = s.get("/app/api/tokens?limit=2&after=" + j["next_cursor"])
    j2 = r2.json()
    assert len(j2["data"]) == 1 and j2["has_more"] is False and j2["next_cursor"] is None
    assert not ({t["id"] for t in j["data"]} & {t["id"] for t in j2["data"]})
    e = assert_error(s.get("/app/api/tokens?after=!!notacursor!!"), 400, "invalid_request")
    assert e.get("param") == "after"
    assert s.get("/app/api/tokens?limit=1000000").status_code == 400
    assert s.get("/app/api/tokens?unknown_param=1").status_code == 200


def test_team_visibility(system):
    owner = system.user("pro")
    admin = system.user("pro")
    m1 = system.user("pro")
    m2 = system.user("pro")
    viewer = system.user("pro")
    team = system.team(owner, plan="pro", seats=5)
    system.member(team, admin, role="admin")
    system.member(team, m1, role="member")
    system.member(team, m2, role="member")
    system.member(team, viewer, role="viewer")
    so, sa, s1, s2, sv = (system.login(x, team) for x in (owner, admin, m1, m2, viewer))
    t_o = so.create_token(preset="read_only", full=True)
    t_1 = s1.create_token(preset="chat", full=True)
    t_2 = s2.create_token(preset="read_only", full=True)
    t_v = sv.create_token(preset="read_only", full=True)
    all_ids = {t["token"]["id"] for t in (t_o, t_1, t_2, t_v)}
    # their Personal tokens never show in the team list
    personal = system.login(m1).create_token(preset="read_only", full=True)
    for s in (so, sa):
        ids = {t["id"] for t in s.tokens()}
        assert ids == all_ids, (ids, all_ids)
    assert {t["id"] for t in s1.tokens()} == {t_1["token"]["id"]}
    assert {t["id"] for t in sv.tokens()} == {t_v["token"]["id"]}
    assert personal["token"]["id"] not in {t["id"] for t in so.tokens()}
    owners = {t["id"]: t["owner"] for t in so.tokens()}
    o1 = json.dumps(owners[t_1["token"]["id"]])
    assert m1.email in o1 or s1.info["user"]["id"] in o1, owners
    # a member revoking another's token: 404, and it keeps working
    assert_error(s1.revoke(t_2["token"]["id"]), 404, "not_found")
    assert_error(sv.revoke(t_o["token"]["id"]), 404, "not_found")
    assert system.api(t_2["secret"], "GET", "/v1/me").status_code == 200
    # an admin revokes a member's token: effective at once
    assert sa.revoke(t_2["token"]["id"]).status_code == 204
    assert_error(system.api(t_2["secret"], "GET", "/v1/me"), 401, "token_revoked")
    # the owner revokes the admin-visible member token
    assert so.revoke(t_1["token"]["id"]).status_code == 204
    assert_error(system.api(t_1["secret"], "GET", "/v1/token"), 401, "token_revoked")
    # members revoke their own
    assert sv.revoke(t_v["token"]["id"]).status_code == 204
    # the team's tokens are not reachable from a Personal-workspace session
    sp = system.login(owner)
    assert_error(sp.revoke(t_o["token"]["id"]), 404, "not_found")
    assert system.api(t_o["secret"], "GET", "/v1/me").status_code == 200


def test_token_never_crosses_users(system):
    a = system.login(system.user("pro"))
    b = system.login(system.user("pro"))
    ta = a.create_token(preset="read_only", full=True)
    assert_error(b.revoke(ta["token"]["id"]), 404, "not_found")
    assert ta["token"]["id"] not in {t["id"] for t in b.tokens()}
    assert system.api(ta["secret"], "GET", "/v1/me").json()["email"] != b.info["user"]["email"]
