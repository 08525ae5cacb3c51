/*
 * Unit tests of services/auth/auth_req: params access, the JSON
 * content-type check, strict bodies (415/400), ?limit, opaque cursors
 * (encode, decode, every malformed form), list envelopes, RFC 3339 times and
 * user-visible text checks. Requests are built by hand as the worker
 * skeleton would hand them over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/auth_req.h"
#include "pgs_page.h"
#include "pgs_test.h"

#include <sodium.h>

/* A request whose params are the given JSON text; body as given. */
static pgs_req_t
s_req(const char *params, const char *body)
{
    static pgs_ctx_t ctx = {.request_id = "req_test"};
    pgs_req_t r = {0};
    r.route = "test";
    r.ctx = &ctx;
    r.params = json_loads(params, 0, NULL);
    if (!r.params)
        fail_msg("test bug: params %s", params);
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.request_id = "req_test";
    return r;
}

static void
s_req_free(pgs_req_t *r)
{
    json_decref(r->params);
}

/* The error code and param of a reply ("" when absent). */
static void
s_error_of(const pgs_res_t *res, char *code, char *param)
{
    code[0] = param[0] = '\0';
    json_t *j = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *c = json_string_value(json_object_get(e, "code"));
    const char *p = json_string_value(json_object_get(e, "param"));
    snprintf(code, 64, "%s", c ? c : "");
    snprintf(param, 64, "%s", p ? p : "");
    json_decref(j);
}

static void
test_get(void **state)
{
    (void)state;
    pgs_req_t r = s_req("{\"path\":{\"token_id\":\"tok_1\"},\"query\":{\"limit\":\"5\",\"n\":5},"
                        "\"headers\":{\"content-type\":\"application/json\"},\"cookies\":{}}",
                        NULL);
    PGS_EXPECT_STR("path.token_id", auth_req_get(&r, "path", "token_id"), "tok_1");
    PGS_EXPECT_STR("query.limit", auth_req_get(&r, "query", "limit"), "5");
    PGS_EXPECT_NULL("query.n (not a string)", auth_req_get(&r, "query", "n"));
    PGS_EXPECT_NULL("query.missing", auth_req_get(&r, "query", "missing"));
    PGS_EXPECT_NULL("cookies.pegasus_session", auth_req_get(&r, "cookies", "pegasus_session"));
    PGS_EXPECT_NULL("unknown group", auth_req_get(&r, "nope", "limit"));
    s_req_free(&r);
    r = s_req("[]", NULL);
    PGS_EXPECT_NULL("params not an object", auth_req_get(&r, "query", "limit"));
    s_req_free(&r);
}

static void
test_is_json(void **state)
{
    (void)state;
    static const struct {
        const char *ct; /* NULL: no header */
        int want;
    } cases[] = {
        {"application/json", 1},
        {"Application/JSON", 1},
        {"application/json; charset=utf-8", 1},
        {"application/json;charset=UTF-8", 1},
        {"  application/json  ", 1},
        {"\tapplication/json\t;x", 1},
        {"application/json-patch+json", 0},
        {"application/jsonx", 0},
        {"application/jso", 0},
        {"text/json", 0},
        {"application/x-www-form-urlencoded", 0},
        {"", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char params[256];
        if (cases[i].ct) {
            json_t *h = json_pack("{s:{s:s}}", "headers", "content-type", cases[i].ct);
            char *t = json_dumps(h, JSON_COMPACT);
            snprintf(params, sizeof params, "%s", t);
            free(t);
            json_decref(h);
        } else {
            snprintf(params, sizeof params, "{\"headers\":{}}");
        }
        pgs_req_t r = s_req(params, NULL);
        char what[96];
        snprintf(what, sizeof what, "is_json(%s)", cases[i].ct ? cases[i].ct : "no header");
        PGS_EXPECT_INT(what, auth_req_is_json(&r), cases[i].want);
        s_req_free(&r);
    }
}

static void
test_body(void **state)
{
    (void)state;
    static const pgs_json_field_t fields[] = {
        {"name", PGS_JSON_STRING, 1},
        {"days", PGS_JSON_INTEGER, 0},
        {NULL, 0, 0},
    };
    static const struct {
        const char *ct;
        const char *body;
        int need_ct;
        int status; /* 0: accepted */
        const char *code, *param;
    } cases[] = {
        {"application/json", "{\"name\":\"x\"}", 1, 0, "", ""},
        {"application/json", "{\"name\":\"x\",\"days\":30}", 1, 0, "", ""},
        {"text/plain", "{\"name\":\"x\"}", 1, 415, "unsupported_media_type", ""},
        {"text/plain", "{\"name\":\"x\"}", 0, 0, "", ""},
        {"application/json", "", 1, 400, "invalid_json", ""},
        {"application/json", "[]", 1, 400, "invalid_json", ""},
        {"application/json", "{\"name\":", 1, 400, "invalid_json", ""},
        {"application/json", "{}", 1, 400, "invalid_request", "name"},
        {"application/json", "{\"name\":1}", 1, 400, "invalid_request", "name"},
        {"application/json", "{\"name\":\"x\",\"days\":\"30\"}", 1, 400, "invalid_request", "days"},
        {"application/json", "{\"name\":\"x\",\"bogus\":1}", 1, 400, "invalid_request", "bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *h = json_pack("{s:{s:s}}", "headers", "content-type", cases[i].ct);
        char *params = json_dumps(h, JSON_COMPACT);
        json_decref(h);
        pgs_req_t r = s_req(params, cases[i].body);
        free(params);
        pgs_res_t res = {0};
        json_t *obj = auth_req_body(&r, &res, fields, cases[i].need_ct);
        char what[160];
        snprintf(what, sizeof what, "body(%s, %s)", cases[i].ct, cases[i].body);
        if (cases[i].status == 0) {
            if (!json_is_object(obj))
                fail_msg("%s: got NULL, want an object", what);
            PGS_EXPECT_INT(what, res.status, 0);
        } else {
            PGS_EXPECT_NULL(what, obj);
            PGS_EXPECT_INT(what, res.status, cases[i].status);
            char code[64], param[64];
            s_error_of(&res, code, param);
            PGS_EXPECT_STR(what, code, cases[i].code);
            PGS_EXPECT_STR(what, param, cases[i].param);
        }
        json_decref(obj);
        pgs_res_clear(&res);
        s_req_free(&r);
    }
}

static void
test_limit(void **state)
{
    (void)state;
    static const struct {
        const char *value; /* NULL: absent */
        int rc, want;
    } cases[] = {
        {NULL, 0, 20}, {"1", 0, 1},   {"20", 0, 20},  {"100", 0, 100}, {"007", 0, 7},
        {"0", -1, 0},  {"101", -1, 0}, {"1000", -1, 0}, {"", -1, 0},    {"-1", -1, 0},
        {"+5", -1, 0}, {" 5", -1, 0}, {"5 ", -1, 0},  {"5x", -1, 0},   {"1e2", -1, 0},
        {"0x10", -1, 0}, {"99999999999999999999", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char params[128];
        if (cases[i].value)
            snprintf(params, sizeof params, "{\"query\":{\"limit\":\"%s\"}}", cases[i].value);
        else
            snprintf(params, sizeof params, "{\"query\":{}}");
        pgs_req_t r = s_req(params, NULL);
        pgs_res_t res = {0};
        pgs_page_t pg;
        char what[96];
        snprintf(what, sizeof what, "limit(%s)", cases[i].value ? cases[i].value : "absent");
        PGS_EXPECT_INT(what, pgs_page_parse(&r, &res, &pg), cases[i].rc);
        if (cases[i].rc == 0) {
            PGS_EXPECT_INT(what, pg.limit, cases[i].want);
        } else {
            PGS_EXPECT_INT(what, res.status, 400);
            char code[64], param[64];
            s_error_of(&res, code, param);
            PGS_EXPECT_STR(what, code, "invalid_request");
            PGS_EXPECT_STR(what, param, "limit");
        }
        pgs_res_clear(&res);
        s_req_free(&r);
    }
}

/* Runs the list paging of auth routes (pgs_page) on ?after=value: 1 for a
 * valid cursor, -1 with a 400. */
static int
s_cursor(const char *value, int *has, int64_t *created, char id[PGS_PAGE_ID_MAX], int *status)
{
    json_t *p = json_pack("{s:{s:s}}", "query", "after", value);
    char *params = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    pgs_req_t r = s_req(params, NULL);
    free(params);
    pgs_res_t res = {0};
    pgs_page_t pg;
    int rc = pgs_page_parse(&r, &res, &pg);
    *has = rc == 0 && pg.has_after;
    if (*has) {
        *created = pg.after_ts;
        snprintf(id, PGS_PAGE_ID_MAX, "%s", pg.after_id);
        rc = 1;
    }
    *status = res.status;
    if (rc < 0) {
        char code[64], param[64];
        s_error_of(&res, code, param);
        PGS_EXPECT_STR("cursor error code", code, "invalid_request");
        PGS_EXPECT_STR("cursor error param", param, "after");
    }
    pgs_res_clear(&res);
    s_req_free(&r);
    return rc;
}

/* base64url (no padding) of raw. */
static void
s_b64(const char *raw, size_t len, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, (const unsigned char *)raw, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void
test_cursor_round_trip(void **state)
{
    (void)state;
    static const struct {
        int64_t created;
        const char *id;
    } cases[] = {
        {0, "tok_1"},
        {1700000000, "tok_0123456789abcdefghij"},
        {1, "a"},
        {999999999999999999LL, "x.y_z-1"},
        {1700000000, "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char enc[256];
        pgs_page_cursor(cases[i].created, cases[i].id, enc, sizeof enc);
        char what[160];
        snprintf(what, sizeof what, "cursor(%lld, %s)", (long long)cases[i].created, cases[i].id);
        if (!enc[0])
            fail_msg("%s: got an empty cursor", what);
        for (const char *c = enc; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                  *c == '-' || *c == '_'))
                fail_msg("%s: got \"%s\", not base64url", what, enc);
        int has = -1, status = 0;
        int64_t created = -1;
        char id[PGS_PAGE_ID_MAX] = "";
        PGS_EXPECT_INT(what, s_cursor(enc, &has, &created, id, &status), 1);
        PGS_EXPECT_INT(what, has, 1);
        PGS_EXPECT_INT(what, created, cases[i].created);
        PGS_EXPECT_STR(what, id, cases[i].id);
    }
    /* Too small an output buffer gives an empty string, never a cut cursor. */
    char small[8];
    memset(small, '#', sizeof small);
    pgs_page_cursor(1700000000, "tok_1", small, sizeof small);
    PGS_EXPECT_STR("encode into 8 bytes", small, "");
    char enc[256];
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    pgs_page_cursor(1, long_id, enc, sizeof enc);
    PGS_EXPECT_STR("encode an id too long for a cursor", enc, "");
    /* Absent ?after. */
    pgs_req_t r = s_req("{\"query\":{}}", NULL);
    pgs_res_t res = {0};
    int has = -1;
    int64_t created = -1;
    pgs_page_t pg;
    PGS_EXPECT_INT("no after", pgs_page_parse(&r, &res, &pg), 0);
    PGS_EXPECT_INT("no after: has", pg.has_after, 0);
    (void)has;
    (void)created;
    s_req_free(&r);
}

static void
test_cursor_malformed(void **state)
{
    (void)state;
    /* Raw texts, base64url-encoded by the test. */
    static const char *const raws[] = {
        "",
        "p1",
        "p1:",
        "p1::tok_1",
        "p1:123",
        "p1:123:",
        "p2:123:tok_1",
        "P1:123:tok_1",
        "p1:-5:tok_1",
        "p1:+5:tok_1",
        "p1: 5:tok_1",
        "p1:12a:tok_1",
        "p1:12345678901234567890:tok_1", /* 20 digits */
        "p1:5:tok 1",
        "p1:5:tok/1",
        "p1:5:tok:1",
        "p1:5:t\xc3\xa9",
        "p1:5:" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 80 */
        "xx:5:tok_1",
    };
    for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++) {
        char enc[256];
        s_b64(raws[i], strlen(raws[i]), enc, sizeof enc);
        int has = -1, status = 0;
        int64_t created = -1;
        char id[PGS_PAGE_ID_MAX];
        char what[200];
        snprintf(what, sizeof what, "cursor of raw \"%s\"", raws[i]);
        PGS_EXPECT_INT(what, s_cursor(enc, &has, &created, id, &status), -1);
        PGS_EXPECT_INT(what, status, 400);
        PGS_EXPECT_INT(what, has, 0);
    }
    /* Not base64url at all. */
    static const char *const texts[] = {
        "",        "!!!!",     "YzE6NTp0b2tfMQ==", /* padded */
        "YzE6NTp0b2tfMQ+/", "a", "YzE6NTp0b2tfM", /* a length of 4n+1 */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 160 */
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int has = -1, status = 0;
        int64_t created = -1;
        char id[PGS_PAGE_ID_MAX];
        char what[260];
        snprintf(what, sizeof what, "cursor \"%s\"", texts[i]);
        PGS_EXPECT_INT(what, s_cursor(texts[i], &has, &created, id, &status), -1);
        PGS_EXPECT_INT(what, status, 400);
    }
    /* Refused too: 19 digits (past INT64_MAX is possible), a NUL inside. */
    char enc[256];
    static const char big[] = "p1:9999999999999999999:tok_1";
    s_b64(big, sizeof big - 1, enc, sizeof enc);
    int has = -1, status = 0;
    int64_t created = -1;
    char id[PGS_PAGE_ID_MAX];
    PGS_EXPECT_INT("19 digits", s_cursor(enc, &has, &created, id, &status), -1);
    static const char nul[] = "p1:5:tok_1\0junk";
    s_b64(nul, sizeof nul - 1, enc, sizeof enc);
    PGS_EXPECT_INT("NUL inside the id", s_cursor(enc, &has, &created, id, &status), -1);
}

static void
test_list_and_time(void **state)
{
    (void)state;
    static const struct {
        int has_more;
        const char *next;
        const char *want;
    } cases[] = {
        {0, NULL, "{\"object\":\"list\",\"data\":[],\"has_more\":false,\"next_cursor\":null}"},
        {0, "abc", "{\"object\":\"list\",\"data\":[],\"has_more\":false,\"next_cursor\":null}"},
        {1, "abc", "{\"object\":\"list\",\"data\":[],\"has_more\":true,\"next_cursor\":\"abc\"}"},
        {1, NULL, "{\"object\":\"list\",\"data\":[],\"has_more\":true,\"next_cursor\":null}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *l = pgs_page_list(NULL, cases[i].has_more, cases[i].next);
        char *t = json_dumps(l, JSON_COMPACT | JSON_PRESERVE_ORDER);
        char what[64];
        snprintf(what, sizeof what, "list case %zu", i);
        PGS_EXPECT_STR(what, t, cases[i].want);
        free(t);
        json_decref(l);
    }
    json_t *data = json_pack("[i,i]", 1, 2);
    json_t *l = pgs_page_list(data, 0, NULL);
    PGS_EXPECT_INT("list data stolen", json_array_size(json_object_get(l, "data")), 2);
    json_decref(l);

    static const struct {
        int64_t t;
        const char *want; /* NULL: JSON null */
    } times[] = {
        {0, NULL},
        {-1, NULL},
        {1, "1970-01-01T00:00:01Z"},
        {1700000000, "2023-11-14T22:13:20Z"},
        {4102444800LL, "2100-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        json_t *v = auth_req_time(times[i].t);
        char what[64];
        snprintf(what, sizeof what, "time(%lld)", (long long)times[i].t);
        if (times[i].want)
            PGS_EXPECT_STR(what, json_string_value(v), times[i].want);
        else if (!json_is_null(v))
            fail_msg("%s: got a value, want null", what);
        json_decref(v);
    }
    int64_t now = auth_req_now();
    if (now < 1700000000)
        fail_msg("auth_req_now: got %lld", (long long)now);
}

static void
test_text(void **state)
{
    (void)state;
    static const struct {
        const char *json; /* the value, as JSON */
        long max_cp;
        size_t outlen;
        int rc;
        const char *want;     /* the trimmed text for rc 0 */
        const char *msg_part; /* for rc -1 */
    } cases[] = {
        {"\"CI token\"", 10, 64, 0, "CI token", NULL},
        {"\"  padded \\t\\n\"", 10, 64, 0, "padded", NULL},
        {"\"caf\\u00e9\"", 4, 64, 0, "caf\xc3\xa9", NULL}, /* 4 code points, 5 bytes */
        {"\"caf\\u00e9\"", 3, 64, -1, NULL, "at most 3 characters"},
        {"\"abcdefghij\"", 10, 64, 0, "abcdefghij", NULL},
        {"\"abcdefghijk\"", 10, 64, -1, NULL, "at most 10 characters"},
        {"\"abcdef\"", 10, 6, -1, NULL, "at most"}, /* does not fit the buffer */
        {"\"abcde\"", 10, 6, 0, "abcde", NULL},
        {"\"\"", 10, 64, -1, NULL, "must not be empty"},
        {"\"   \"", 10, 64, -1, NULL, "must not be empty"},
        {"\"a\\u0000b\"", 10, 64, -1, NULL, "valid UTF-8 text"},
        {"\"a\\u0007b\"", 10, 64, -1, NULL, "control characters"},
        {"\"a\\nb\"", 10, 64, -1, NULL, "control characters"},
        {"\"\\u007f\"", 10, 64, -1, NULL, "control characters"},
        {"12", 10, 64, -1, NULL, "must be a string"},
        {"null", 10, 64, -1, NULL, "must be a string"},
        {"[\"x\"]", 10, 64, -1, NULL, "must be a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (!v)
            fail_msg("test bug: %s", cases[i].json);
        char out[64];
        memset(out, '#', sizeof out);
        pgs_json_err_t err = {0};
        char what[128];
        snprintf(what, sizeof what, "text(%s, max %ld, out %zu)", cases[i].json, cases[i].max_cp,
                 cases[i].outlen);
        PGS_EXPECT_INT(what, auth_req_text(v, "name", cases[i].max_cp, out, cases[i].outlen, &err),
                       cases[i].rc);
        if (cases[i].rc == 0) {
            PGS_EXPECT_STR(what, out, cases[i].want);
        } else {
            PGS_EXPECT_STR(what, err.param, "name");
            if (!strstr(err.message, cases[i].msg_part))
                fail_msg("%s: got message \"%s\", want it to contain \"%s\"", what, err.message,
                         cases[i].msg_part);
        }
        json_decref(v);
    }
    /* An invalid UTF-8 string can only come from a jansson built by hand. */
    json_t *v = json_stringn_nocheck("\xff\xfe", 2);
    pgs_json_err_t err = {0};
    char out[16];
    PGS_EXPECT_INT("text(invalid UTF-8)", auth_req_text(v, "name", 10, out, sizeof out, &err), -1);
    if (!strstr(err.message, "valid UTF-8"))
        fail_msg("text(invalid UTF-8): got \"%s\"", err.message);
    json_decref(v);
}

static void
test_replies(void **state)
{
    (void)state;
    pgs_req_t r = s_req("{}", NULL);
    pgs_res_t res = {0};
    auth_req_unauthorized(&r, &res, "invalid_token", "The token is invalid.");
    PGS_EXPECT_INT("unauthorized status", res.status, 401);
    PGS_EXPECT_STR("WWW-Authenticate",
                   json_string_value(json_object_get(res.headers, "WWW-Authenticate")),
                   "Bearer realm=\"pegasus\", error=\"invalid_token\"");
    char code[64], param[64];
    s_error_of(&res, code, param);
    PGS_EXPECT_STR("unauthorized code", code, "invalid_token");
    pgs_res_clear(&res);
    auth_req_unavailable(&r, &res);
    PGS_EXPECT_INT("unavailable status", res.status, 503);
    PGS_EXPECT_STR("Retry-After", json_string_value(json_object_get(res.headers, "Retry-After")),
                   "1");
    s_error_of(&res, code, param);
    PGS_EXPECT_STR("unavailable code", code, "service_unavailable");
    pgs_res_clear(&res);
    pgs_json_err_t err = {.code = NULL, .message = "bad", .param = ""};
    auth_req_fail_json(&r, &res, &err);
    s_error_of(&res, code, param);
    PGS_EXPECT_INT("fail_json status", res.status, 400);
    PGS_EXPECT_STR("fail_json default code", code, "invalid_request");
    PGS_EXPECT_STR("fail_json no param", param, "");
    pgs_res_clear(&res);
    s_req_free(&r);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_is_json),
        cmocka_unit_test(test_body),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_cursor_malformed),
        cmocka_unit_test(test_list_and_time),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_replies),
    };
    return cmocka_run_group_tests_name("auth_req", tests, NULL, NULL);
}
