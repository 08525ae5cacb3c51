"""Names refuse characters that hide or reorder text (issue 10, deliverable 7).

A member who names a token "ci‮txt.exe" or "deploy\u200bkey" can make it look like another in a
team admin's list. Every kind of name — tokens, bots, documents, conversations — refuses the
bidi controls, the zero-width space, the word joiner, the BOM and the line/paragraph separators
with a field-level 400, and keeps ZWJ/ZWNJ, which scripts and emoji need.
"""
import pytest

from pgs import assert_error, uniq

BAD = {
    "RLO U+202E": "ci\u202etxt.exe",
    "ZWSP U+200B": "deploy\u200bkey",
    "BOM U+FEFF": "\ufeffname",
    "ALM U+061C": "a\u061cb",
    "LRI U+2066": "\u2066x\u2069",
    "line separator U+2028": "a\u2028b",
    "word joiner U+2060": "a\u2060b",
}
GOOD = ["Entwickler \U0001F468\u200D\U0001F4BB", "ab\u200cc", "Café 東京"]
MESSAGE = "must not contain invisible or direction-changing characters"


@pytest.fixture
def setup(system):
    session = system.login(system.user("pro"))
    tok = session.create_token()
    r = system.api(tok, "POST", "/v1/bots", json={"name": uniq("bot-"), "model": "pegasus-lite"})
    assert r.status_code == 201, r.text
    return session, tok, r.json()["id"]


@pytest.mark.parametrize("what", sorted(BAD))
def test_names_refuse_invisible_and_bidi_characters(system, setup, what):
    session, tok, bot = setup
    name = BAD[what]
    r = session.create_token_raw({"name": name, "scopes": ["bots:read"], "expires_in_days": 30})
    e = assert_error(r, 400, "invalid_request")
    assert e.get("param") == "name" and MESSAGE in e["message"], e
    e = assert_error(system.api(tok, "POST", "/v1/bots", json={"name": name, "model": "pegasus-lite"}),
                     400, "invalid_request")
    assert e.get("param") == "name" and MESSAGE in e["message"], e
    e = assert_error(system.api(tok, "PATCH", "/v1/bots/" + bot, json={"name": name}), 400, "invalid_request")
    assert e.get("param") == "name", e
    e = assert_error(system.api(tok, "POST", "/v1/bots/%s/documents" % bot, json={"title": name, "content": "x"}),
                     400, "invalid_request")
    assert e.get("param") == "title" and MESSAGE in e["message"], e
    e = assert_error(system.api(tok, "POST", "/v1/conversations", json={"bot_id": bot, "title": name}),
                     400, "invalid_request")
    assert e.get("param") == "title" and MESSAGE in e["message"], e
    # nothing of it was stored
    names = [t["name"] for t in session.tokens()]
    assert name not in names
    bots = system.api(tok, "GET", "/v1/bots", params={"limit": 100}).json()["data"]
    assert name not in [b["name"] for b in bots]


@pytest.mark.parametrize("name", GOOD)
def test_names_keep_joiners_scripts_and_emoji(system, setup, name):
    session, tok, bot = setup
    r = session.create_token_raw({"name": name, "scopes": ["bots:read"], "expires_in_days": 30})
    assert r.status_code == 201, r.status_code
    system.secret(r.json()["secret"])
    assert r.json()["token"]["name"] == name
    r = system.api(tok, "POST", "/v1/bots", json={"name": name, "model": "pegasus-lite"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name
    r = system.api(tok, "POST", "/v1/conversations", json={"bot_id": bot, "title": name})
    assert r.status_code == 201, r.text
    assert r.json()["title"] == name


def test_error_messages_quote_only_a_bounded_ascii_excerpt(system, setup):
    """Issue 10, deliverable 6: a message never echoes raw input (an unknown scope or field)."""
    session, tok, bot = setup
    evil = "bots:read\u202e" + "x" * 500
    e = assert_error(session.create_token_raw({"name": "t", "scopes": [evil], "expires_in_days": 30}),
                     400, "invalid_request")
    assert e["message"] == "Unknown scope 'bots:read?" + "x" * 22 + "...'.", e
    e = assert_error(system.api(tok, "POST", "/v1/bots", json={"name": "b", "model": "pegasus-lite", evil: 1}),
                     400, "invalid_request")
    assert e["message"] == "Unknown field 'bots:read?" + "x" * 22 + "...'." and e["param"].isascii(), e
