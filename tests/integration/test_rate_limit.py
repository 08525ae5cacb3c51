"""Row 10 of the check table and the X-RateLimit-* headers (SPEC §2): fixed
one-minute windows per token, only requests that reach check 10 count."""

import time

import pytest

from pgs import assert_error, poll

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True

LIMIT = 5
PEGASUS_ENV = {"PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE": str(LIMIT)}


def fresh_window():
    """Waits (≤ 12 s) when the current minute is about to end, so that a
    short sequence of requests stays within one fixed window."""
    left = 60 - (time.time() % 60)
    if left < 12:
        time.sleep(left + 0.5)


def hdrs(r):
    return (int(r.headers["X-RateLimit-Limit"]), int(r.headers["X-RateLimit-Remaining"]),
            int(r.headers["X-RateLimit-Reset"]))


def test_limit_and_headers(system, pro):
    _, s = pro
    tok = s.create_token(preset="read_only")
    fresh_window()
    rems = []
    for i in range(LIMIT):
        r = system.api(tok, "GET", "/v1/me")
        assert r.status_code == 200, (i, r.text)
        lim, rem, reset = hdrs(r)
        assert lim == LIMIT
        rems.append(rem)
    assert rems == list(range(LIMIT - 1, -1, -1)), rems
    now = time.time()
    assert now <= reset + 1 and reset <= now + 61, (reset, now)
    r = system.api(tok, "GET", "/v1/me")
    e = assert_error(r, 429, "rate_limited")
    ra = r.headers.get("Retry-After")
    assert ra and ra.isdigit() and 0 <= int(ra) <= 60, ra
    lim, rem, reset2 = hdrs(r)
    assert (lim, rem) == (LIMIT, 0) and reset2 == reset
    # every route of this token shares the counter
    assert_error(system.api(tok, "GET", "/v1/token"), 429, "rate_limited")
    # another token of the same user has its own counter
    other = s.create_token(preset="read_only")
    assert system.api(other, "GET", "/v1/me").status_code == 200


def test_requests_failing_earlier_checks_do_not_count(system, pro):
    _, s = pro
    tok = s.create_token(scopes=["models:read"])  # no profile:read
    fresh_window()
    for _ in range(LIMIT + 3):
        r = system.api(tok, "GET", "/v1/me")
        e = assert_error(r, 403, "insufficient_scope")
        lim, rem, _ = hdrs(r)
        assert (lim, rem) == (LIMIT, LIMIT), "a request stopped at check 7 does not count"
    for i in range(LIMIT):
        assert system.api(tok, "GET", "/v1/models").status_code == 200, i
    # rate limited now, but a missing scope is reported first (row 7 before 10)
    assert_error(system.api(tok, "GET", "/v1/models"), 429, "rate_limited")
    assert_error(system.api(tok, "GET", "/v1/me"), 403, "insufficient_scope")


def test_upgrade_required_before_rate_limited(system):
    u = system.user("pro")
    s = system.login(u)
    tok = s.create_token(preset="read_only")
    fresh_window()
    for _ in range(LIMIT):
        assert system.api(tok, "GET", "/v1/me").status_code == 200
    assert_error(system.api(tok, "GET", "/v1/me"), 429, "rate_limited")
    system.ctl("plan", "set", "--email", u.email, "--plan", "free")
    assert_error(system.api(tok, "GET", "/v1/me"), 403, "upgrade_required", "Upgrade to use the API")


def test_revoked_before_rate_limited(system, pro):
    _, s = pro
    j = s.create_token(preset="read_only", full=True)
    fresh_window()
    for _ in range(LIMIT + 1):
        system.api(j["secret"], "GET", "/v1/me")
    assert s.revoke(j["token"]["id"]).status_code == 204
    r = system.api(j["secret"], "GET", "/v1/me")
    assert_error(r, 401, "token_revoked")
    assert "X-RateLimit-Limit" not in r.headers


def test_ultra_has_its_own_limit(system):
    s = system.login(system.user("ultra"))
    tok = s.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1/me")
    assert r.status_code == 200
    assert int(r.headers["X-RateLimit-Limit"]) == 3000


def test_plan_change_changes_limit(system):
    u = system.user("pro")
    s = system.login(u)
    tok = s.create_token(preset="read_only")
    assert int(system.api(tok, "GET", "/v1/me").headers["X-RateLimit-Limit"]) == LIMIT
    system.ctl("plan", "set", "--email", u.email, "--plan", "ultra")
    assert int(system.api(tok, "GET", "/v1/me").headers["X-RateLimit-Limit"]) == 3000


def test_window_resets(system, pro):
    """Last: waits for the next fixed window (at most about a minute)."""
    _, s = pro
    tok = s.create_token(preset="read_only")
    fresh_window()
    for _ in range(LIMIT):
        assert system.api(tok, "GET", "/v1/me").status_code == 200
    r = system.api(tok, "GET", "/v1/me")
    assert_error(r, 429, "rate_limited")
    reset = int(r.headers["X-RateLimit-Reset"])
    wait = reset - time.time()
    assert wait <= 61
    time.sleep(max(0, wait) + 1)
    r = poll(lambda: (lambda r: r if r.status_code == 200 else None)(system.api(tok, "GET", "/v1/me")),
             timeout=15, interval=1, desc="served in the next window")
    lim, rem, reset2 = hdrs(r)
    assert rem == LIMIT - 1 and reset2 > reset
