"""Plans, seats, roles, team state and membership (SPEC §1, §2 rules 5, 8,
10; §6). Every change, in the app or with pegasusctl, must be visible on the
very next API request: these tests never poll for it."""

import pytest

from pgs import READ_ONLY_MSG, UPGRADE_MSG, assert_error

RO_BODY = {"name": "ro", "preset": "read_only", "expires_in_days": 30}


def create(s, body=None):
    r = s.create_token_raw(body or RO_BODY)
    if r.status_code == 201:
        s.sys.secret(r.json().get("secret"))
    return r


def test_free_plan_cannot_create(system):
    u = system.user("free")
    s = system.login(u)
    p = s.ws("personal")
    assert p["plan"] == "free"
    assert_error(create(s), 403, "upgrade_required", UPGRADE_MSG)
    assert s.tokens() == []


def test_pro_and_ultra_can_create(system):
    for plan in ("pro", "ultra"):
        s = system.login(system.user(plan))
        assert s.ws("personal")["plan"] == plan
        tok = s.create_token(preset="read_only")
        assert system.api(tok, "GET", "/v1/me").status_code == 200


def test_downgrade_and_upgrade_take_effect_at_once(system):
    u = system.user("pro")
    s = system.login(u)
    tok = s.create_token(preset="read_only")
    assert system.api(tok, "GET", "/v1/me").status_code == 200
    system.ctl("plan", "set", "--email", u.email, "--plan", "free")
    assert_error(system.api(tok, "GET", "/v1/me"), 403, "upgrade_required", UPGRADE_MSG)
    assert_error(create(s), 403, "upgrade_required", UPGRADE_MSG)
    system.ctl("plan", "set", "--email", u.email, "--plan", "ultra")
    r = system.api(tok, "GET", "/v1/subscription")
    assert r.status_code == 200, r.text
    assert r.json()["plan"] == "ultra"
    system.ctl("plan", "set", "--workspace", s.ws("personal")["id"], "--plan", "pro")
    assert system.api(tok, "GET", "/v1/subscription").json()["plan"] == "pro"


def test_team_plan_downgrade(system):
    owner = system.user("pro")
    team = system.team(owner, plan="ultra", seats=2)
    s = system.login(owner, team)
    tok = s.create_token(preset="read_only")
    assert system.api(tok, "GET", "/v1/me").status_code == 200
    system.ctl("plan", "set", "--workspace", s.ws(team)["id"], "--plan", "free")
    assert_error(system.api(tok, "GET", "/v1/me"), 403, "upgrade_required", UPGRADE_MSG)
    assert_error(create(s), 403, "upgrade_required", UPGRADE_MSG)
    # the owner's Personal workspace is unaffected
    s.switch("personal")
    ptok = s.create_token(preset="read_only")
    assert system.api(ptok, "GET", "/v1/me").status_code == 200


def test_seats(system):
    owner = system.user("pro")
    a = system.user("pro")
    b = system.user("pro")
    team = system.team(owner, plan="pro", seats=2)  # owner + one
    system.member(team, a)  # default: member, with the free seat
    system.member(team, b)  # no seat left: added without one
    sa = system.login(a, team)
    sb = system.login(b, team)
    wa, wb = sa.ws(team), sb.ws(team)
    assert wa["role"] == "member" and wa["seat"] is True, wa
    assert wb["role"] == "member" and wb["seat"] is False, wb
    assert_error(create(sb), 403, "seat_required")
    # asking for a seat when none is free is refused
    rc, out, errout = system.ctl_raw("team", "member", "set", "--team", team, "--email", b.email, "--seat")
    assert rc != 0 and (out + errout).strip()
    c = system.user("pro")
    rc, _, _ = system.ctl_raw("team", "member", "add", "--team", team, "--email", c.email, "--seat")
    assert rc != 0
    # move the seat from a to b
    tok_a = sa.create_token(preset="read_only")
    system.member(team, a, action="set", seat=False)
    assert_error(system.api(tok_a, "GET", "/v1/me"), 403, "seat_required")
    system.member(team, b, action="set", seat=True)
    tok_b = sb.create_token(preset="read_only")
    assert system.api(tok_b, "GET", "/v1/me").status_code == 200
    assert_error(create(sa), 403, "seat_required")
    # seats in /v1/subscription
    r = system.api(tok_b, "GET", "/v1/subscription")
    j = r.json()
    assert r.status_code == 200, r.text
    assert j["seats"] == {"total": 2, "used": 2}, j
    # the owner always holds a seat
    rc, _, _ = system.ctl_raw("team", "member", "set", "--team", team, "--email", owner.email, "--no-seat")
    assert rc != 0
    # giving back the seat restores a's old token (it was never revoked)
    system.member(team, b, action="set", seat=False)
    system.member(team, a, action="set", seat=True)
    assert system.api(tok_a, "GET", "/v1/me").status_code == 200


def test_team_seats_count(system):
    owner = system.user("pro")
    a, b = system.user("pro"), system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, a)
    system.member(team, b)  # owner, a, b: 3 seated
    rc, out, errout = system.ctl_raw("team", "seats", "--team", team, "--seats", "2")
    assert rc != 0 and (out + errout).strip(), "lowering seats below the seated members is refused"
    sb = system.login(b, team)
    tok = sb.create_token(preset="read_only")
    assert system.api(tok, "GET", "/v1/subscription").json()["seats"] == {"total": 3, "used": 3}
    system.member(team, b, action="set", seat=False)
    system.ctl("team", "seats", "--team", team, "--seats", "2")
    assert_error(system.api(tok, "GET", "/v1/me"), 403, "seat_required")
    system.ctl("team", "seats", "--team", team, "--seats", "4")
    system.member(team, b, action="set", seat=True)
    assert system.api(tok, "GET", "/v1/subscription").json()["seats"] == {"total": 4, "used": 3}


def test_roles_and_write_scopes(system):
    owner = system.user("pro")
    v = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, v, role="viewer")
    sv = system.login(v, team)
    assert sv.ws(team)["role"] == "viewer"
    for w in ("bots:write", "conversations:write", "chat:send"):
        r = create(sv, {"name": "w", "scopes": ["profile:read", w], "expires_in_days": 30})
        assert_error(r, 403, "role_forbidden")
    for p in ("chat", "bot_management"):
        assert_error(create(sv, {"name": "w", "preset": p, "expires_in_days": 30}), 403, "role_forbidden")
    tok = sv.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1/me")
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    # promoted to member: the next request sees the new role
    system.member(team, v, action="set", role="member")
    assert system.api(tok, "GET", "/v1/me").json()["role"] == "member"
    sv.create_token(preset="chat")
    system.member(team, v, action="set", role="admin")
    assert system.api(tok, "GET", "/v1/me").json()["role"] == "admin"
    rc, _, _ = system.ctl_raw("team", "member", "set", "--team", team, "--email", v.email, "--role", "superuser")
    assert rc != 0


@pytest.mark.parametrize("flag", ["pending", "quota"])
def test_read_only_team(system, flag):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, m, role="member")
    sm = system.login(m, team)
    j = sm.create_token(scopes=["profile:read", "subscription:read", "bots:write"], full=True)
    tok = j["secret"]
    spare = sm.create_token(preset="read_only", full=True)
    kw = {"pending": True} if flag == "pending" else {"quota_disabled": True}
    system.team_state(team, **kw)
    assert_error(create(sm), 403, "team_read_only", READ_ONLY_MSG)
    assert sm.ws(team)["read_only"] is True
    r = system.api(tok, "GET", "/v1/subscription")
    assert r.status_code == 200, r.text
    sub = r.json()
    assert sub["read_only"] is True and sub["api_access"] is True
    if flag == "pending":
        assert sub["status"] == "pending_cancellation"
    else:
        assert sub["quota"]["disabled"] is True
    # revoking works in a read-only team
    assert sm.revoke(spare["token"]["id"]).status_code == 204
    assert_error(system.api(spare["secret"], "GET", "/v1/me"), 401, "token_revoked")
    # and back
    kw = {k: False for k in kw}
    system.team_state(team, **kw)
    sub = system.api(tok, "GET", "/v1/subscription").json()
    assert sub["read_only"] is False and sub["status"] == "active" and sub["quota"]["disabled"] is False
    assert sm.ws(team)["read_only"] is False
    assert create(sm).status_code == 201


def test_read_only_both_flags(system):
    owner = system.user("pro")
    team = system.team(owner, plan="ultra", seats=2)
    so = system.login(owner, team)
    tok = so.create_token(preset="read_only")
    system.team_state(team, pending=True, quota_disabled=True)
    assert_error(create(so), 403, "team_read_only", READ_ONLY_MSG)
    system.team_state(team, pending=False)
    assert_error(create(so), 403, "team_read_only", READ_ONLY_MSG)  # quota still disabled
    system.team_state(team, quota_disabled=False)
    assert create(so).status_code == 201
    assert system.api(tok, "GET", "/v1/me").status_code == 200


def test_removal_revokes_team_tokens(system):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, m, role="admin")
    sm = system.login(m, team)
    t1 = sm.create_token(preset="read_only", full=True)
    t2 = sm.create_token(preset="chat", full=True)
    so = system.login(owner, team)
    to = so.create_token(preset="read_only")
    sp = system.login(m)
    personal = sp.create_token(preset="read_only")
    assert system.api(t1["secret"], "GET", "/v1/me").status_code == 200
    system.member(team, m, action="remove")
    assert_error(system.api(t1["secret"], "GET", "/v1/me"), 401, "token_revoked")
    assert_error(system.api(t2["secret"], "GET", "/v1/token"), 401, "token_revoked")
    assert system.api(to, "GET", "/v1/me").status_code == 200
    assert system.api(personal, "GET", "/v1/me").status_code == 200
    rows = {t["id"]: t for t in so.tokens()}
    assert rows[t1["token"]["id"]]["revoked_at"] and rows[t2["token"]["id"]]["revoked_at"]
    # the removed member no longer sees the team
    assert team not in [w.get("name") for w in system.login(m).workspaces()]
    # re-adding does not bring the tokens back
    system.member(team, m, role="admin")
    assert_error(system.api(t1["secret"], "GET", "/v1/me"), 401, "token_revoked")


def test_removed_member_session_loses_team(system):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, m)
    sm = system.login(m, team)
    system.member(team, m, action="remove")
    r = sm.create_token_raw(RO_BODY)
    assert r.status_code in (403, 404), "a removed member must not create a team token: %r" % r.text


def test_ctl_team_by_id_and_ambiguous_name(system):
    o1, o2 = system.user("pro"), system.user("pro")
    name = "Same-Name"
    system.team(o1, plan="pro", seats=2, name=name)
    system.team(o2, plan="pro", seats=2, name=name)
    m = system.user("pro")
    rc, out, errout = system.ctl_raw("team", "member", "add", "--team", name, "--email", m.email)
    assert rc != 0
    ids = [w["id"] for w in (system.login(o1).workspaces() + system.login(o2).workspaces()) if w.get("name") == name]
    assert len(ids) == 2
    for i in ids:
        assert i in out + errout, "an ambiguous name is an error listing the ids"
    system.ctl("team", "member", "add", "--team", ids[0], "--email", m.email)
    assert name in [w.get("name") for w in system.login(m).workspaces()]


def test_member_add_twice_and_unknown(system):
    owner = system.user("pro")
    m = system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, m)
    rc, _, _ = system.ctl_raw("team", "member", "add", "--team", team, "--email", m.email)
    assert rc != 0
    rc, _, _ = system.ctl_raw("team", "member", "remove", "--team", team, "--email", "nobody@example.test")
    assert rc != 0
    rc, _, _ = system.ctl_raw("team", "member", "remove", "--team", team, "--email", owner.email)
    assert rc != 0, "the owner cannot be removed"


def test_app_change_takes_effect_at_once(system):
    """Revocation in the app, then the very next request (rule 5)."""
    u = system.user("pro")
    s = system.login(u)
    toks = [s.create_token(preset="read_only", full=True) for _ in range(5)]
    for t in toks:
        assert system.api(t["secret"], "GET", "/v1/me").status_code == 200
    for t in toks:
        assert s.revoke(t["token"]["id"]).status_code == 204
        assert_error(system.api(t["secret"], "GET", "/v1/me"), 401, "token_revoked")


def test_every_auth_process_sees_each_change_on_the_next_request(system):
    """Each auth process (2 here) answers /v1/me and /v1/subscription from
    its own in-memory view of users, workspaces and memberships: after
    reads have filled both views, every change — role, plan, seats, made
    through whichever process — shows on each of the next 8 requests,
    spread over both processes."""
    owner, a = system.user("pro"), system.user("pro")
    team = system.team(owner, plan="pro", seats=3)
    system.member(team, a)
    sa = system.login(a, team)
    ws_id = sa.ws(team)["id"]
    tok = sa.create_token(preset="read_only")
    assert len(system.running("auth")) >= 2

    def reads(n=8):
        out = []
        for _ in range(n):
            me = system.api(tok, "GET", "/v1/me")
            sub = system.api(tok, "GET", "/v1/subscription")
            assert me.status_code == 200 and sub.status_code == 200, (me.text, sub.text)
            out.append((me.json()["role"], sub.json()["plan"], sub.json()["seats"]["total"]))
        return out

    assert set(reads()) == {("member", "pro", 3)}
    for role, plan, seats in [("admin", "ultra", 4), ("viewer", "pro", 5), ("member", "ultra", 3)]:
        system.member(team, a, action="set", role=role)
        system.ctl("plan", "set", "--workspace", ws_id, "--plan", plan)
        system.ctl("team", "seats", "--team", team, "--seats", str(seats))
        assert set(reads()) == {(role, plan, seats)}, "a read after the change showed the old state"
