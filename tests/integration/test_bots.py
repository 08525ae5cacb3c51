"""Bots, documents and search (SPEC §3, issue 3): every route, scope, plan
limit and content type, BOLA, pagination, Idempotency-Key, hostile search
queries and text extraction. Small plan limits keep the limit tests fast."""

import json
import uuid

import pytest

from pgs import assert_error, err, uniq

# every response checked against the served OpenAPI description (conftest)
OPENAPI_VALIDATE = True

PEGASUS_ENV = {
    "PEGASUS_PLAN_PRO_MAX_BOTS": "3",
    "PEGASUS_PLAN_PRO_MAX_DOCUMENTS_PER_BOT": "3",
    "PEGASUS_PLAN_PRO_MAX_DOCUMENT_BYTES": "20000",
    "PEGASUS_PLAN_PRO_REQUESTS_PER_MINUTE": "100000",
    "PEGASUS_PLAN_ULTRA_REQUESTS_PER_MINUTE": "100000",
}


def token(system, plan="pro", preset="bot_management", scopes=None):
    u = system.user(plan)
    s = system.login(u)
    return s.create_token(preset=None if scopes else preset, scopes=scopes)


@pytest.fixture
def tok(system):
    return token(system)


def new_bot(system, tok, **kw):
    body = {"name": kw.pop("name", uniq("bot-")), "model": kw.pop("model", "pegasus-lite")}
    body.update(kw)
    r = system.api(tok, "POST", "/v1/bots", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def add_doc(system, tok, bot_id, content, title="doc", content_type=None, raw=False, headers=None):
    h = dict(headers or {})
    if raw:
        h["Content-Type"] = content_type or "text/plain"
        return system.api(tok, "POST", "/v1/bots/%s/documents" % bot_id, params={"title": title},
                          data=content.encode() if isinstance(content, str) else content, headers=h)
    body = {"title": title, "content": content}
    if content_type:
        body["content_type"] = content_type
    return system.api(tok, "POST", "/v1/bots/%s/documents" % bot_id, json=body, headers=h)


def search(system, tok, bot_id, q, **params):
    params["q"] = q
    return system.api(tok, "GET", "/v1/bots/%s/search" % bot_id, params=params)


def without_rid(resp):
    e = dict(err(resp))
    e.pop("request_id", None)
    return resp.status_code, e


# ---------------------------------------------------------------- bots


def test_bot_crud(system, tok):
    b = new_bot(system, tok, name="  Support  ", description="Answers questions", instructions="Be brief.\nAlways cite.")
    assert b["id"].startswith("bot_") and b["object"] == "bot"
    assert b["name"] == "Support" and b["description"] == "Answers questions"
    assert b["instructions"] == "Be brief.\nAlways cite." and b["model"] == "pegasus-lite"
    assert b["document_count"] == 0 and b["created_at"].endswith("Z") and b["updated_at"] == b["created_at"]
    r = system.api(tok, "GET", "/v1/bots/" + b["id"])
    assert r.status_code == 200 and r.json() == b
    r = system.api(tok, "PATCH", "/v1/bots/" + b["id"], json={"name": "Renamed", "instructions": "New"})
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["name"] == "Renamed" and u["instructions"] == "New" and u["description"] == "Answers questions"
    r = system.api(tok, "PATCH", "/v1/bots/" + b["id"], json={})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    ids = [x["id"] for x in system.api(tok, "GET", "/v1/bots").json()["data"]]
    assert b["id"] in ids
    r = system.api(tok, "DELETE", "/v1/bots/" + b["id"])
    assert r.status_code == 204 and r.content == b""
    assert_error(system.api(tok, "GET", "/v1/bots/" + b["id"]), 404, "not_found")
    assert_error(system.api(tok, "DELETE", "/v1/bots/" + b["id"]), 404, "not_found")
    assert_error(system.api(tok, "PATCH", "/v1/bots/" + b["id"], json={"name": "x"}), 404, "not_found")
    ids = [x["id"] for x in system.api(tok, "GET", "/v1/bots").json()["data"]]
    assert b["id"] not in ids


@pytest.mark.parametrize("body,param", [
    ({"model": "pegasus-lite"}, "name"),
    ({"name": "x"}, "model"),
    ({"name": "", "model": "pegasus-lite"}, "name"),
    ({"name": "   ", "model": "pegasus-lite"}, "name"),
    ({"name": "x" * 129, "model": "pegasus-lite"}, "name"),
    ({"name": "a\u0007b", "model": "pegasus-lite"}, "name"),
    ({"name": 5, "model": "pegasus-lite"}, "name"),
    ({"name": "x", "model": "pegasus-lite", "description": "d" * 1001}, "description"),
    ({"name": "x", "model": "pegasus-lite", "instructions": "i" * 32001}, "instructions"),
    ({"name": "x", "model": "pegasus-lite", "instructions": ["no"]}, "instructions"),
    ({"name": "x", "model": "pegasus-lite", "color": "red"}, "color"),
    ({"name": "x", "model": "pegasus-max"}, "model"),
    ({"name": "x", "model": "gpt-none"}, "model"),
    ({"name": "x", "model": 1}, "model"),
])
def test_bot_create_invalid(system, tok, body, param):
    e = assert_error(system.api(tok, "POST", "/v1/bots", json=body), 400, "invalid_request")
    assert e.get("param") == param, e


def test_bot_limits_of_text_fields_accepted(system):
    t = token(system, "ultra")
    b = new_bot(system, t, name="é" * 128, description="d" * 1000, instructions="i" * 32000, model="pegasus-max")
    assert len(b["name"]) == 128 and len(b["instructions"]) == 32000 and b["model"] == "pegasus-max"


def test_bot_invalid_json(system, tok):
    h = {"Content-Type": "application/json"}
    for body in (b"{", b"[]", b"", b'{"name":"a","name":"b","model":"pegasus-lite"}', b"\xff\xfe"):
        r = system.api(tok, "POST", "/v1/bots", data=body, headers=h)
        assert r.status_code == 400 and err(r)["code"] in ("invalid_json", "invalid_request"), (body, r.text)
    r = system.api(tok, "POST", "/v1/bots", data=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "unsupported_media_type")


def test_bot_update_invalid(system, tok):
    b = new_bot(system, tok)
    for body, param in (({"model": "pegasus-max"}, "model"), ({"name": ""}, "name"), ({"bogus": 1}, "bogus"),
                        ({"description": 3}, "description")):
        e = assert_error(system.api(tok, "PATCH", "/v1/bots/" + b["id"], json=body), 400, "invalid_request")
        assert e.get("param") == param
    r = system.api(tok, "PATCH", "/v1/bots/" + b["id"], json={"description": ""})
    assert r.status_code == 200 and r.json()["description"] == ""


def test_max_bots(system):
    t = token(system)
    for _ in range(3):
        new_bot(system, t)
    e = assert_error(system.api(t, "POST", "/v1/bots", json={"name": "x", "model": "pegasus-lite"}), 409, "conflict")
    assert "max_bots" in e["message"], e
    bots = system.api(t, "GET", "/v1/bots").json()["data"]
    assert system.api(t, "DELETE", "/v1/bots/" + bots[0]["id"]).status_code == 204
    new_bot(system, t)


# ---------------------------------------------------------------- scopes


def test_scopes(system):
    u = system.user("pro")
    s = system.login(u)
    writer = s.create_token(preset="bot_management")
    reader = s.create_token(preset="read_only")
    other = s.create_token(scopes=["profile:read", "conversations:read"])
    b = new_bot(system, writer)
    assert add_doc(system, writer, b["id"], "scoped text").status_code == 201
    doc = system.api(writer, "GET", "/v1/bots/%s/documents" % b["id"]).json()["data"][0]
    reads = [("GET", "/v1/bots"), ("GET", "/v1/bots/" + b["id"]), ("GET", "/v1/bots/%s/documents" % b["id"]),
             ("GET", "/v1/bots/%s/documents/%s" % (b["id"], doc["id"])), ("GET", "/v1/bots/%s/search?q=x" % b["id"])]
    writes = [("POST", "/v1/bots"), ("PATCH", "/v1/bots/" + b["id"]), ("DELETE", "/v1/bots/" + b["id"]),
              ("POST", "/v1/bots/%s/documents" % b["id"]), ("DELETE", "/v1/bots/%s/documents/%s" % (b["id"], doc["id"]))]
    for m, p in reads:
        assert system.api(reader, m, p).status_code == 200, (m, p)
        e = assert_error(system.api(other, m, p), 403, "insufficient_scope")
        assert e["required_scope"] == "bots:read"
    for m, p in writes:
        e = assert_error(system.api(reader, m, p, json={"name": "x"}), 403, "insufficient_scope")
        assert e["required_scope"] == "bots:write"


def test_read_only_team_reads_but_cannot_write(system):
    owner = system.user("pro")
    team = system.team(owner, plan="pro")
    s = system.login(owner, team)
    t = s.create_token(preset="bot_management")
    b = new_bot(system, t)
    system.team_state(team, pending=True)
    assert system.api(t, "GET", "/v1/bots/" + b["id"]).status_code == 200
    assert_error(system.api(t, "POST", "/v1/bots", json={"name": "x", "model": "pegasus-lite"}), 403, "team_read_only")
    assert_error(add_doc(system, t, b["id"], "x"), 403, "team_read_only")


# ---------------------------------------------------------------- documents


def test_document_json_and_show(system, tok):
    b = new_bot(system, tok)
    r = add_doc(system, tok, b["id"], "Line one.\n\nLine two.", title=" Notes ")
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["id"].startswith("doc_") and d["object"] == "document" and d["bot_id"] == b["id"]
    assert d["title"] == "Notes" and d["content_type"] == "text/plain" and d["bytes"] == 20 and d["chunks"] == 1
    assert "content" not in d and "text" not in d
    r = system.api(tok, "GET", "/v1/bots/%s/documents/%s" % (b["id"], d["id"]))
    assert r.status_code == 200 and r.json() == d
    r = system.api(tok, "GET", "/v1/bots/%s/documents/%s?include=content" % (b["id"], d["id"]))
    full = r.json()
    assert full["content"] == "Line one.\n\nLine two." and full["text"] == "Line one.\n\nLine two."
    assert_error(system.api(tok, "GET", "/v1/bots/%s/documents/%s?include=secrets" % (b["id"], d["id"])), 400,
                 "invalid_request")
    assert system.api(tok, "GET", "/v1/bots/" + b["id"]).json()["document_count"] == 1
    r = system.api(tok, "DELETE", "/v1/bots/%s/documents/%s" % (b["id"], d["id"]))
    assert r.status_code == 204
    assert_error(system.api(tok, "GET", "/v1/bots/%s/documents/%s" % (b["id"], d["id"])), 404, "not_found")
    assert_error(system.api(tok, "DELETE", "/v1/bots/%s/documents/%s" % (b["id"], d["id"])), 404, "not_found")
    assert system.api(tok, "GET", "/v1/bots/" + b["id"]).json()["document_count"] == 0
    assert search(system, tok, b["id"], "line").json()["data"] == []


@pytest.mark.parametrize("ctype", ["text/plain", "text/markdown", "text/html", "text/plain; charset=utf-8",
                                   "text/markdown; charset=US-ASCII"])
def test_document_raw_types(system, tok, ctype):
    b = new_bot(system, tok)
    r = add_doc(system, tok, b["id"], "raw body words", title="Raw", content_type=ctype, raw=True)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == ctype.split(";")[0].lower() and r.json()["title"] == "Raw"
    assert search(system, tok, b["id"], "words").json()["data"][0]["document_id"] == r.json()["id"]


def test_document_bad_content(system, tok):
    b = new_bot(system, tok)
    p = "/v1/bots/%s/documents" % b["id"]
    for ctype in ("application/xml", "text/csv", "image/png", "text/plain; charset=latin-1"):
        assert_error(system.api(tok, "POST", p, params={"title": "t"}, data=b"x", headers={"Content-Type": ctype}),
                     415, "unsupported_media_type")
    e = assert_error(system.api(tok, "POST", p, data=b"x", headers={"Content-Type": "text/plain"}), 400, "invalid_request")
    assert e.get("param") == "title"
    r = system.api(tok, "POST", p, params={"title": "t"}, data=b"bad \xff\xfe utf8", headers={"Content-Type": "text/plain"})
    assert_error(r, 400, "invalid_request")
    r = system.api(tok, "POST", p, params={"title": "t"}, data=b"nul \x00 byte", headers={"Content-Type": "text/plain"})
    assert_error(r, 400, "invalid_request")
    for body, param in (({"title": "t", "content": "x", "content_type": "application/pdf"}, "content_type"),
                        ({"title": "t"}, "content"), ({"content": "x"}, "title"), ({"title": "", "content": "x"}, "title"),
                        ({"title": "t", "content": ""}, "content"), ({"title": "t", "content": 5}, "content"),
                        ({"title": "t", "content": "x", "extra": 1}, "extra")):
        e = assert_error(system.api(tok, "POST", p, json=body), 400, "invalid_request")
        assert e.get("param") == param, (body, e)
    assert_error(system.api(tok, "POST", p, data=b"{oops", headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert system.api(tok, "GET", "/v1/bots/" + b["id"]).json()["document_count"] == 0


def test_document_limits(system):
    t = token(system)
    b = new_bot(system, t)
    e = assert_error(add_doc(system, t, b["id"], "x" * 20001, raw=True), 413, "payload_too_large")
    assert "max_document_bytes" in e["message"]
    e = assert_error(add_doc(system, t, b["id"], "é" * 10001), 413, "payload_too_large")
    assert "max_document_bytes" in e["message"]
    assert add_doc(system, t, b["id"], "x" * 20000, raw=True).status_code == 201
    for i in range(2):
        assert add_doc(system, t, b["id"], "doc %d" % i).status_code == 201
    e = assert_error(add_doc(system, t, b["id"], "one too many"), 409, "conflict")
    assert "max_documents_per_bot" in e["message"]


def test_document_list_pagination(system):
    t = token(system, "ultra")
    b = new_bot(system, t)
    made = [add_doc(system, t, b["id"], "text %d" % i, title="d%d" % i).json()["id"] for i in range(5)]
    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if after:
            params["after"] = after
        j = system.api(t, "GET", "/v1/bots/%s/documents" % b["id"], params=params).json()
        assert j["object"] == "list" and len(j["data"]) <= 2
        seen += [d["id"] for d in j["data"]]
        pages += 1
        if not j["has_more"]:
            assert j["next_cursor"] is None
            break
        after = j["next_cursor"]
    assert pages == 3 and seen == list(reversed(made))


def test_extraction_html(system, tok):
    b = new_bot(system, tok)
    html = ("<!doctype html><html><head><title>T</title><style>.x{color:red}</style>"
            "<script>var secretword = 1;</script></head><body><h1>Caf&eacute; &amp; Bar</h1>"
            "<p>Opening   hours: <b>nine</b>&nbsp;to five.</p><noscript>noscriptword</noscript>"
            "<ul><li>espresso</li><li>latte</li></ul><!-- commentword --><p>Price &lt;5&gt; &#8364;</p></body></html>")
    d = add_doc(system, tok, b["id"], html, content_type="text/html").json()
    full = system.api(tok, "GET", "/v1/bots/%s/documents/%s?include=content" % (b["id"], d["id"])).json()
    text = full["text"]
    assert full["content"] == html
    for gone in ("secretword", "color", "noscriptword", "commentword", "<", "&amp;"):
        assert gone not in text.replace("<5>", ""), (gone, text)
    assert "Café & Bar" in text and "Opening hours: nine\u00a0to five." in text and "<5> €" in text
    assert "espresso\nlatte" in text
    assert search(system, tok, b["id"], "secretword").json()["data"] == []
    assert search(system, tok, b["id"], "cafe").json()["data"][0]["document_id"] == d["id"]


def test_extraction_markdown(system, tok):
    b = new_bot(system, tok)
    md = ("# Title *here*\n\nSome **bold** and _italic_ text with a [link label](http://example.com/hiddenurl) "
          "and `inline code`.\n\n- item one\n- item two\n\n```\ncode block line\n```\n\n<div>html block</div>\n")
    d = add_doc(system, tok, b["id"], md, content_type="text/markdown").json()
    text = system.api(tok, "GET", "/v1/bots/%s/documents/%s?include=content" % (b["id"], d["id"])).json()["text"]
    for gone in ("#", "**", "_italic_", "](", "hiddenurl", "```", "<div>", "`"):
        assert gone not in text, (gone, text)
    for kept in ("Title here", "Some bold and italic text with a link label and inline code.", "item one", "item two",
                 "code block line", "html block"):
        assert kept in text, (kept, text)
    assert search(system, tok, b["id"], "hiddenurl").json()["data"] == []


def test_long_document_chunks(system):
    t = token(system, "ultra")
    b = new_bot(system, t)
    paras = ["Paragraph %d talks about topic%d in some detail. " % (i, i) * 6 for i in range(20)]
    d = add_doc(system, t, b["id"], "\n\n".join(paras)).json()
    assert d["chunks"] >= 10, d
    hits = search(system, t, b["id"], "topic17").json()["data"]
    assert hits and "topic17" in hits[0]["snippet"]


# ---------------------------------------------------------------- search


def test_search_ranking_and_fallback(system, tok):
    b = new_bot(system, tok)
    d1 = add_doc(system, tok, b["id"], "Zebras and giraffes live on the savanna. Zebras zebras zebras.", title="Zebra").json()
    d2 = add_doc(system, tok, b["id"], "Giraffes are tall. A zebra was seen once.", title="Giraffe").json()
    d3 = add_doc(system, tok, b["id"], "Penguins live in Antarctica.", title="Penguin").json()
    j = search(system, tok, b["id"], "zebras").json()
    assert [h["document_id"] for h in j["data"]] == [d1["id"]]
    h = j["data"][0]
    assert h["title"] == "Zebra" and h["score"] > 0 and "Zebras" in h["snippet"] and h["object"] == "search_hit"
    # all terms first: only d1 has both giraffes and savanna
    j = search(system, tok, b["id"], "giraffes savanna").json()
    assert [h["document_id"] for h in j["data"]] == [d1["id"]]
    # no passage has both: any term
    ids = {h["document_id"] for h in search(system, tok, b["id"], "savanna penguins").json()["data"]}
    assert ids == {d1["id"], d3["id"]}
    # stopwords are dropped, diacritics folded, case ignored
    assert [h["document_id"] for h in search(system, tok, b["id"], "the ANTÁRCTICA").json()["data"]] == [d3["id"]]
    # limit
    assert len(search(system, tok, b["id"], "giraffes zebra penguins", limit=1).json()["data"]) == 1
    assert d2["id"]


@pytest.mark.parametrize("q", ['"', '""', '"unbalanced', "zebra AND", "AND OR NOT", "NEAR(zebra giraffe, 2)",
                               "zebra*", "*", "-zebra", "zebra -giraffe", "(zebra", "zebra)", "((()))", "text:zebra",
                               "{text}: zebra", "^zebra", "zebra + giraffe", "col:", "'; DROP TABLE bots; --",
                               "\u00e9l\u00e8ve \u4e2d\u6587 \U0001F600", "\u0000", "NOT", "zebra NOT giraffe",
                               "a" * 1000, " ".join(["w%d" % i for i in range(200)])])
def test_search_hostile_queries(system, tok, q):
    b = getattr(test_search_hostile_queries, "bot", None)
    if b is None or b[0] != tok:
        bot = new_bot(system, tok)
        add_doc(system, tok, bot["id"], "Zebra giraffe élève 中文 text near and or not.")
        test_search_hostile_queries.bot = b = (tok, bot["id"])
    r = search(system, tok, b[1], q)
    if "\u0000" in q:
        assert r.status_code == 400, r.text
        return
    assert r.status_code == 200, (q, r.status_code, r.text[:300])
    j = r.json()
    assert j["object"] == "list" and isinstance(j["data"], list)


def test_search_params(system, tok):
    b = new_bot(system, tok)
    for params in ({}, {"q": ""}, {"q": "x" * 1001}):
        e = assert_error(system.api(tok, "GET", "/v1/bots/%s/search" % b["id"], params=params), 400, "invalid_request")
        assert e["param"] == "q"
    for lim in ("0", "51", "-1", "abc", "1.5"):
        e = assert_error(search(system, tok, b["id"], "x", limit=lim), 400, "invalid_request")
        assert e["param"] == "limit"
    assert search(system, tok, b["id"], "nothing").json()["data"] == []


def test_search_scoped_to_bot(system, tok):
    b1, b2 = new_bot(system, tok), new_bot(system, tok)
    add_doc(system, tok, b1["id"], "unicorn meadow")
    d2 = add_doc(system, tok, b2["id"], "unicorn castle").json()
    assert [h["document_id"] for h in search(system, tok, b2["id"], "unicorn").json()["data"]] == [d2["id"]]


def test_delete_bot_removes_documents(system):
    t = token(system, "ultra")
    b = new_bot(system, t)
    d = add_doc(system, t, b["id"], "dragon fruit").json()
    assert system.api(t, "DELETE", "/v1/bots/" + b["id"]).status_code == 204
    for m, p in (("GET", "/v1/bots/%s/documents" % b["id"]), ("GET", "/v1/bots/%s/documents/%s" % (b["id"], d["id"])),
                 ("GET", "/v1/bots/%s/search?q=dragon" % b["id"])):
        assert_error(system.api(t, m, p), 404, "not_found")
    assert_error(add_doc(system, t, b["id"], "more"), 404, "not_found")


# ---------------------------------------------------------------- BOLA


def test_bola(system):
    ta, tb = token(system), token(system)
    a_bot = new_bot(system, ta)
    a_doc = add_doc(system, ta, a_bot["id"], "private words of workspace A").json()
    b_bot = new_bot(system, tb)
    ghost_bot = "bot_" + "Z" * 20
    ghost_doc = "doc_" + "Z" * 20
    cases = [
        ("GET", "/v1/bots/{bot}", None),
        ("PATCH", "/v1/bots/{bot}", {"name": "pwned"}),
        ("DELETE", "/v1/bots/{bot}", None),
        ("GET", "/v1/bots/{bot}/documents", None),
        ("POST", "/v1/bots/{bot}/documents", {"title": "t", "content": "c"}),
        ("GET", "/v1/bots/{bot}/documents/{doc}", None),
        ("GET", "/v1/bots/{bot}/documents/{doc}?include=content", None),
        ("DELETE", "/v1/bots/{bot}/documents/{doc}", None),
        ("GET", "/v1/bots/{bot}/search?q=private", None),
    ]
    for m, p, body in cases:
        r1 = system.api(tb, m, p.format(bot=a_bot["id"], doc=a_doc["id"]), json=body)
        r2 = system.api(tb, m, p.format(bot=ghost_bot, doc=ghost_doc), json=body)
        assert r1.status_code == 404, (m, p, r1.text)
        assert without_rid(r1) == without_rid(r2), (m, p)
        assert a_bot["id"] not in r1.text and a_doc["id"] not in r1.text
    # A's document through B's own bot
    for m in ("GET", "DELETE"):
        r = system.api(tb, m, "/v1/bots/%s/documents/%s" % (b_bot["id"], a_doc["id"]))
        assert_error(r, 404, "not_found")
    assert a_bot["id"] not in [x["id"] for x in system.api(tb, "GET", "/v1/bots").json()["data"]]
    # nothing of A changed
    got = system.api(ta, "GET", "/v1/bots/" + a_bot["id"]).json()
    assert got["name"] == a_bot["name"] and got["document_count"] == 1
    assert search(system, ta, a_bot["id"], "private").json()["data"][0]["document_id"] == a_doc["id"]
    assert search(system, tb, b_bot["id"], "private").json()["data"] == []


def test_malformed_ids_are_404(system, tok):
    for bid in ("x", "bot_", "bot_!!", "doc_" + "a" * 20, "bot_" + "a" * 100):
        assert_error(system.api(tok, "GET", "/v1/bots/" + bid), 404, "not_found")
    b = new_bot(system, tok)
    for did in ("x", "bot_" + "a" * 20, "doc_%2F"):
        assert_error(system.api(tok, "GET", "/v1/bots/%s/documents/%s" % (b["id"], did)), 404, "not_found")


def test_internal_routes_not_http(system, tok):
    for p in ("/v1/bots.get", "/v1/bots/get", "/v1/bots.retrieve", "/v1/bots/x/retrieve"):
        assert system.api(tok, "GET", p).status_code == 404


# ---------------------------------------------------------------- lists


def test_bot_list_pagination(system):
    t = token(system, "ultra")
    made = [new_bot(system, t, name="b%d" % i)["id"] for i in range(5)]
    j = system.api(t, "GET", "/v1/bots").json()
    assert j["object"] == "list" and j["has_more"] is False and j["next_cursor"] is None
    assert [b["id"] for b in j["data"]] == list(reversed(made))
    seen, after = [], None
    for page in range(3):
        params = {"limit": 2}
        if after:
            params["after"] = after
        j = system.api(t, "GET", "/v1/bots", params=params).json()
        seen += [b["id"] for b in j["data"]]
        after = j["next_cursor"]
        assert j["has_more"] is (page < 2)
    assert seen == list(reversed(made)) and after is None
    # a cursor stays valid when the item it names is deleted
    j = system.api(t, "GET", "/v1/bots", params={"limit": 2}).json()
    assert system.api(t, "DELETE", "/v1/bots/" + j["data"][1]["id"]).status_code == 204
    j2 = system.api(t, "GET", "/v1/bots", params={"limit": 2, "after": j["next_cursor"]}).json()
    assert [b["id"] for b in j2["data"]] == list(reversed(made))[2:4]


@pytest.mark.parametrize("params,param", [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"),
                                          ({"limit": "x"}, "limit"), ({"limit": "1e2"}, "limit"),
                                          ({"limit": "99999999999999999999"}, "limit"),
                                          ({"after": "garbage!"}, "after"), ({"after": "cDI6MTp4"}, "after"),
                                          ({"after": "A" * 500}, "after")])
def test_list_params_invalid(system, tok, params, param):
    for p in ("/v1/bots",):
        e = assert_error(system.api(tok, "GET", p, params=params), 400, "invalid_request")
        assert e["param"] == param
    b = new_bot(system, tok)
    e = assert_error(system.api(tok, "GET", "/v1/bots/%s/documents" % b["id"], params=params), 400, "invalid_request")
    assert e["param"] == param
    system.api(tok, "DELETE", "/v1/bots/" + b["id"])


def test_list_limit_bounds(system, tok):
    assert system.api(tok, "GET", "/v1/bots", params={"limit": 1}).status_code == 200
    assert system.api(tok, "GET", "/v1/bots", params={"limit": 100}).status_code == 200
    e = assert_error(system.api(tok, "GET", "/v1/bots", params={"limit": 100, "unknown": "x"}),
                     400, "invalid_request")
    assert e["param"] == "unknown"


# ---------------------------------------------------------------- idempotency


def test_idempotent_bot_create(system):
    u = system.user("ultra")
    s = system.login(u)
    t1, t2 = s.create_token(preset="bot_management"), s.create_token(preset="bot_management")
    key = str(uuid.uuid4())
    body = {"name": "idem", "model": "pegasus-lite"}
    r1 = system.api(t1, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": key})
    assert r1.status_code == 201 and "Idempotent-Replayed" not in r1.headers
    r2 = system.api(t1, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": key})
    assert r2.status_code == 201 and r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.json() == r1.json()
    assert len(system.api(t1, "GET", "/v1/bots").json()["data"]) == 1
    # same key, another body
    r3 = system.api(t1, "POST", "/v1/bots", json={"name": "other", "model": "pegasus-lite"}, headers={"Idempotency-Key": key})
    assert_error(r3, 409, "idempotency_key_reused")
    # same key, another route: said so
    r = add_doc(system, t1, r1.json()["id"], "x", headers={"Idempotency-Key": key})
    e = assert_error(r, 409, "idempotency_key_reused")
    assert "another route" in e["message"], e
    # keys belong to the user in its workspace, across its tokens (issue 11) ...
    r4 = system.api(t2, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": key})
    assert r4.status_code == 201 and r4.json() == r1.json() and r4.headers.get("Idempotent-Replayed") == "true"
    # ... the same JSON with its keys in another order is the same request ...
    r5 = system.api(t1, "POST", "/v1/bots", data=b'{ "model": "pegasus-lite", "name": "idem" }',
                    headers={"Idempotency-Key": key, "Content-Type": "application/json"})
    assert r5.status_code == 201 and r5.headers.get("Idempotent-Replayed") == "true"
    # ... and another user has keys of its own
    t3 = system.login(system.user("ultra")).create_token(preset="bot_management")
    r6 = system.api(t3, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": key})
    assert r6.status_code == 201 and r6.json()["id"] != r1.json()["id"] and "Idempotent-Replayed" not in r6.headers
    # a refused request stores nothing: the same key works once the body is valid
    key2 = str(uuid.uuid4())
    r = system.api(t1, "POST", "/v1/bots", json={"name": "x"}, headers={"Idempotency-Key": key2})
    assert_error(r, 400, "invalid_request")
    r = system.api(t1, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": key2})
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    for bad in ("", "x" * 256, "é"):
        r = system.api(t1, "POST", "/v1/bots", json=body, headers={"Idempotency-Key": bad.encode()})
        if bad == "":
            assert r.status_code in (201, 400)
        else:
            assert_error(r, 400, "invalid_request")


def test_idempotent_document_create(system):
    t = token(system, "ultra")
    b = new_bot(system, t)
    key = uniq("k-")
    r1 = add_doc(system, t, b["id"], "idempotent text", raw=True, title="one", headers={"Idempotency-Key": key})
    r2 = add_doc(system, t, b["id"], "idempotent text", raw=True, title="one", headers={"Idempotency-Key": key})
    assert r1.status_code == r2.status_code == 201 and r2.json() == r1.json()
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert system.api(t, "GET", "/v1/bots/" + b["id"]).json()["document_count"] == 1
    r3 = add_doc(system, t, b["id"], "idempotent text", raw=True, title="two", headers={"Idempotency-Key": key})
    assert_error(r3, 409, "idempotency_key_reused")
    assert len(search(system, t, b["id"], "idempotent").json()["data"]) == 1


def test_openapi_has_bot_routes(system):
    doc = system.get("/v1/openapi.json").json()
    for p in ("/v1/bots", "/v1/bots/{bot_id}", "/v1/bots/{bot_id}/documents",
              "/v1/bots/{bot_id}/documents/{doc_id}", "/v1/bots/{bot_id}/search"):
        assert p in doc["paths"], p
    for s in ("Bot", "BotList", "Document", "DocumentList", "SearchHit", "SearchResults"):
        assert s in doc["components"]["schemas"], s
