"""CORS and trusted proxies (SPEC §4, last paragraph): CORS headers only for
the origins the config lists; X-Forwarded-For only from trusted proxies."""

import pytest

ORIGIN = "https://app.example.test"
PEGASUS_ENV = {
    "PEGASUS_EDGE_CORS_ORIGINS": ORIGIN + " https://other.example.test",
    # The tests' requests come from 127.0.0.1: make it the trusted proxy.
    "PEGASUS_EDGE_TRUSTED_PROXIES": "127.0.0.1",
}


def test_preflight_for_a_listed_origin(system):
    r = system.request("OPTIONS", "/v1/me", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization"})
    assert r.status_code == 204, (r.status_code, r.text)
    assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN
    assert "GET" in r.headers.get("Access-Control-Allow-Methods", "")
    assert "Authorization" in r.headers.get("Access-Control-Allow-Headers", "")
    assert "Origin" in r.headers.get("Vary", "")


def test_listed_origin_gets_the_headers_on_answers(system, pro):
    _, s = pro
    tok = s.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1/me", headers={"Origin": ORIGIN})
    assert r.status_code == 200, r.text
    assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN
    exposed = r.headers.get("Access-Control-Expose-Headers", "")
    assert "X-RateLimit-Remaining" in exposed and "X-Request-Id" in exposed
    # Errors carry them too, so a browser client can read the error.
    r = system.api("pgs_" + "0" * 38, "GET", "/v1/me", headers={"Origin": ORIGIN})
    assert r.status_code == 401
    assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN


@pytest.mark.parametrize("origin", ["https://evil.example.test", "https://app.example.test.evil",
                                    "null", "HTTPS://APP.EXAMPLE.TEST"])
def test_other_origins_get_nothing(system, pro, origin):
    _, s = pro
    tok = s.create_token(preset="read_only")
    r = system.api(tok, "GET", "/v1/me", headers={"Origin": origin})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    r = system.request("OPTIONS", "/v1/me", headers={"Origin": origin,
                                                     "Access-Control-Request-Method": "GET"})
    assert r.status_code == 405
    assert "Access-Control-Allow-Origin" not in r.headers


def test_forwarded_for_from_a_trusted_proxy_is_the_client_ip(system, pro):
    _, s = pro
    tok = s.create_token(preset="read_only")
    # The right-most untrusted address is the client; trusted hops are skipped.
    r = system.api(tok, "GET", "/v1/me",
                   headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 127.0.0.1"})
    assert r.status_code == 200

    def seen():
        listed = s.get("/app/api/tokens").json()["data"]
        mine = [t for t in listed if t["prefix"] == tok[:12]]
        return mine and mine[0].get("last_used_ip")

    from pgs import poll
    ip = poll(seen, timeout=15, desc="last_used_ip recorded")
    assert ip == "203.0.113.9", ip
