/*
 * Unit tests of common/pgs_json: strict object parsing, field checks, UTF-8
 * length, control characters and the error body.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_json.h"
#include "pgs_test.h"

/* A byte string with an explicit length (bodies may hold NUL). */
typedef struct {
    const char *name;
    const char *data;
    int len; /* -1: strlen */
} s_body_t;

static size_t
s_len(const s_body_t *b)
{
    return b->len < 0 ? strlen(b->data) : (size_t)b->len;
}

static void
test_parse_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t nkeys;
    } cases[] = {
        {"{}", 0},
        {"  {}\n", 0},
        {"{\"a\":1}", 1},
        {"{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"b\":[1,2,{}],\"c\":{\"d\":null}}", 3},
        {"{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 1},
        {"{\"name\":\"x\",\"limit\":30,\"stream\":true}", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pgs_json_err_t err = {0};
        json_t *v = pgs_json_parse_object(cases[i].body, strlen(cases[i].body), &err);
        if (!v)
            fail_msg("parse_object(%s): got NULL (%s), want an object", cases[i].body, err.message);
        char what[160];
        snprintf(what, sizeof what, "parse_object(%s) keys", cases[i].body);
        PGS_EXPECT_INT(what, json_object_size(v), cases[i].nkeys);
        json_decref(v);
    }
    /* Only len bytes are read. */
    pgs_json_err_t err = {0};
    json_t *v = pgs_json_parse_object("{\"a\":1}GARBAGE", 7, &err);
    if (!v)
        fail_msg("parse_object(first 7 bytes): got NULL (%s), want an object", err.message);
    json_decref(v);
}

static void
test_parse_rejects(void **state)
{
    (void)state;
    static const s_body_t cases[] = {
        {"empty body", "", 0},
        {"whitespace only", "   ", -1},
        {"truncated object", "{", -1},
        {"missing value", "{\"a\":}", -1},
        {"trailing comma", "{\"a\":1,}", -1},
        {"single quotes", "{'a':1}", -1},
        {"unquoted key", "{a:1}", -1},
        {"trailing garbage", "{} x", -1},
        {"two objects", "{}{}", -1},
        {"top-level array", "[]", -1},
        {"top-level array of object", "[{}]", -1},
        {"top-level string", "\"s\"", -1},
        {"top-level number", "1", -1},
        {"top-level null", "null", -1},
        {"top-level true", "true", -1},
        {"duplicate keys", "{\"a\":1,\"a\":2}", -1},
        {"duplicate keys, other values", "{\"a\":1,\"b\":2,\"a\":\"x\"}", -1},
        {"NaN", "{\"a\":NaN}", -1},
        {"escaped NUL", "{\"a\":\"\\u0000\"}", -1},
        {"lone surrogate escape", "{\"a\":\"\\ud800\"}", -1},
        {"raw NUL byte", "{\"a\":\"x\0\"}", 10},
        {"NUL after object", "{}\0", 3},
        {"overlong '/' (C0 AF)", "{\"a\":\"\xc0\xaf\"}", -1},
        {"overlong C1 BF", "{\"a\":\"\xc1\xbf\"}", -1},
        {"overlong 3-byte", "{\"a\":\"\xe0\x80\xaf\"}", -1},
        {"overlong 4-byte", "{\"a\":\"\xf0\x80\x80\xaf\"}", -1},
        {"surrogate D800", "{\"a\":\"\xed\xa0\x80\"}", -1},
        {"surrogate DFFF", "{\"a\":\"\xed\xbf\xbf\"}", -1},
        {"above U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}", -1},
        {"F8 lead byte", "{\"a\":\"\xf8\x88\x80\x80\x80\"}", -1},
        {"FF byte", "{\"a\":\"\xff\"}", -1},
        {"lone continuation", "{\"a\":\"\x80\"}", -1},
        {"truncated 2-byte", "{\"a\":\"\xc3\"}", -1},
        {"truncated 3-byte", "{\"a\":\"\xe2\x82\"}", -1},
        {"truncated 4-byte", "{\"a\":\"\xf0\x9f\x98\"}", -1},
        {"truncated at end of body", "{\"a\":1}\xe2\x82", -1},
        {"invalid UTF-8 in key", "{\"\xc3\x28\":1}", -1},
        {"Latin-1 body", "{\"a\":\"caf\xe9\"}", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pgs_json_err_t err;
        memset(&err, 0x55, sizeof err);
        err.code = "unset";
        json_t *v = pgs_json_parse_object(cases[i].data, s_len(&cases[i]), &err);
        char what[96];
        snprintf(what, sizeof what, "parse_object(%s)", cases[i].name);
        if (v) {
            json_decref(v);
            fail_msg("%s: got an object, want NULL", what);
        }
        PGS_EXPECT_STR(what, err.code, "invalid_json");
        PGS_EXPECT_STR(what, err.param, "");
        if (memchr(err.message, '\0', sizeof err.message) == NULL || err.message[0] == '\0')
            fail_msg("%s: got no message, want one", what);
    }
    /* Messages. */
    pgs_json_err_t err;
    PGS_EXPECT_NULL("parse_object(empty)", pgs_json_parse_object("", 0, &err));
    PGS_EXPECT_STR("empty body message", err.message, "The request body must be a JSON object.");
    PGS_EXPECT_NULL("parse_object([])", pgs_json_parse_object("[]", 2, &err));
    PGS_EXPECT_STR("array body message", err.message, "The request body must be a JSON object.");
    PGS_EXPECT_NULL("parse_object(bad UTF-8)", pgs_json_parse_object("{\"a\":\"\xff\"}", 8, &err));
    PGS_EXPECT_STR("bad UTF-8 message", err.message, "The request body is not valid UTF-8.");
    PGS_EXPECT_NULL("parse_object(dup)", pgs_json_parse_object("{\"a\":1,\"a\":2}", 13, &err));
    if (strncmp(err.message, "Invalid JSON at line 1 column ", 30) != 0)
        fail_msg("duplicate key message: got \"%s\", want \"Invalid JSON at line 1 column …\"",
                 err.message);
}

static const pgs_json_field_t s_fields[] = {
    {"name", PGS_JSON_STRING, 1},
    {"limit", PGS_JSON_INTEGER, 0},
    {"stream", PGS_JSON_BOOLEAN, 0},
    {"tags", PGS_JSON_ARRAY, 0},
    {"meta", PGS_JSON_OBJECT, 0},
    {"n", PGS_JSON_INTEGER, 1},
    {NULL, 0, 0},
};

static void
test_check_fields(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int rc;
        const char *param;
        const char *message;
    } cases[] = {
        {"{\"name\":\"x\",\"n\":1}", 0, "", NULL},
        {"{\"name\":\"\",\"n\":-5,\"limit\":30,\"stream\":false,\"tags\":[1],\"meta\":{\"k\":1}}",
         0, "", NULL},
        {"{\"name\":\"x\",\"n\":1,\"limit\":null,\"stream\":null,\"tags\":null,\"meta\":null}", 0,
         "", NULL},
        {"{\"name\":\"x\",\"n\":1,\"bogus\":1}", -1, "bogus", "Unknown field 'bogus'."},
        {"{\"Name\":\"x\",\"n\":1}", -1, "Name", "Unknown field 'Name'."},
        {"{\"name\":\"x\",\"n\":1,\"limit\":\"30\"}", -1, "limit", "'limit' must be an integer."},
        {"{\"name\":\"x\",\"n\":1,\"limit\":30.0}", -1, "limit", "'limit' must be an integer."},
        {"{\"name\":\"x\",\"n\":1,\"limit\":true}", -1, "limit", "'limit' must be an integer."},
        {"{\"name\":\"x\",\"n\":1,\"stream\":1}", -1, "stream", "'stream' must be a boolean."},
        {"{\"name\":\"x\",\"n\":1,\"stream\":\"true\"}", -1, "stream",
         "'stream' must be a boolean."},
        {"{\"name\":5,\"n\":1}", -1, "name", "'name' must be a string."},
        {"{\"name\":[\"x\"],\"n\":1}", -1, "name", "'name' must be a string."},
        {"{\"name\":\"x\",\"n\":1,\"tags\":{}}", -1, "tags", "'tags' must be an array."},
        {"{\"name\":\"x\",\"n\":1,\"meta\":[]}", -1, "meta", "'meta' must be an object."},
        {"{\"n\":1}", -1, "name", "'name' is required."},
        {"{\"name\":\"x\"}", -1, "n", "'n' is required."},
        {"{}", -1, "name", "'name' is required."},
        {"{\"name\":null,\"n\":1}", -1, "name", "'name' must be a string."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pgs_json_err_t err = {.code = "unset", .param = "unset"};
        json_t *v = pgs_json_parse_object(cases[i].body, strlen(cases[i].body), &err);
        if (!v)
            fail_msg("parse_object(%s): got NULL (%s)", cases[i].body, err.message);
        char what[160];
        snprintf(what, sizeof what, "check_fields(%s)", cases[i].body);
        int rc = pgs_json_check_fields(v, s_fields, &err);
        json_decref(v);
        PGS_EXPECT_INT(what, rc, cases[i].rc);
        if (cases[i].rc == 0)
            continue;
        PGS_EXPECT_STR(what, err.code, "invalid_request");
        PGS_EXPECT_STR(what, err.param, cases[i].param);
        PGS_EXPECT_STR(what, err.message, cases[i].message);
    }

    /* A very long unknown key: param and message are cut, not overflowed. */
    char body[400];
    char key[300];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    snprintf(body, sizeof body, "{\"%s\":1}", key);
    pgs_json_err_t err;
    json_t *v = pgs_json_parse_object(body, strlen(body), &err);
    assert_non_null(v);
    PGS_EXPECT_INT("check_fields(300-byte unknown key)", pgs_json_check_fields(v, s_fields, &err),
                   -1);
    PGS_EXPECT_STR("param of a 300-byte key: an excerpt", err.param,
                   "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...");
    json_decref(v);

    /* pgs_json_fail. */
    PGS_EXPECT_INT("pgs_json_fail rc", pgs_json_fail(&err, "days", "'%s' must be %d.", "days", 30),
                   -1);
    PGS_EXPECT_STR("pgs_json_fail code", err.code, "invalid_request");
    PGS_EXPECT_STR("pgs_json_fail param", err.param, "days");
    PGS_EXPECT_STR("pgs_json_fail message", err.message, "'days' must be 30.");
    pgs_json_fail(&err, NULL, "x");
    PGS_EXPECT_STR("pgs_json_fail(NULL param) param", err.param, "");
}

static void
test_utf8_length(void **state)
{
    (void)state;
    static const struct {
        s_body_t s;
        long want;
    } cases[] = {
        {{"empty", "", 0}, 0},
        {{"ASCII", "abc", -1}, 3},
        {{"2-byte e-acute", "\xc3\xa9", -1}, 1},
        {{"3-byte euro", "\xe2\x82\xac", -1}, 1},
        {{"4-byte emoji", "\xf0\x9f\x98\x80", -1}, 1},
        {{"mixed", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", -1}, 5},
        {{"U+0080", "\xc2\x80", -1}, 1},
        {{"U+07FF", "\xdf\xbf", -1}, 1},
        {{"U+0800", "\xe0\xa0\x80", -1}, 1},
        {{"U+D7FF", "\xed\x9f\xbf", -1}, 1},
        {{"U+E000", "\xee\x80\x80", -1}, 1},
        {{"U+FFFF", "\xef\xbf\xbf", -1}, 1},
        {{"U+10000", "\xf0\x90\x80\x80", -1}, 1},
        {{"U+10FFFF", "\xf4\x8f\xbf\xbf", -1}, 1},
        {{"DEL", "\x7f", -1}, 1},
        {{"NUL", "\0", 1}, -1},
        {{"NUL inside", "a\0b", 3}, -1},
        {{"overlong NUL C0 80", "\xc0\x80", -1}, -1},
        {{"overlong C1 BF", "\xc1\xbf", -1}, -1},
        {{"overlong E0 9F BF", "\xe0\x9f\xbf", -1}, -1},
        {{"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", -1}, -1},
        {{"surrogate D800", "\xed\xa0\x80", -1}, -1},
        {{"surrogate DBFF DC00 pair as CESU", "\xed\xaf\xbf\xed\xb0\x80", -1}, -1},
        {{"U+110000", "\xf4\x90\x80\x80", -1}, -1},
        {{"F5 lead", "\xf5\x80\x80\x80", -1}, -1},
        {{"F8 lead", "\xf8\x88\x80\x80\x80", -1}, -1},
        {{"FE", "\xfe", -1}, -1},
        {{"lone continuation", "\x80", -1}, -1},
        {{"continuation after ASCII", "a\xbf", -1}, -1},
        {{"truncated 2-byte", "\xc3", -1}, -1},
        {{"truncated 3-byte", "\xe2\x82", -1}, -1},
        {{"truncated 4-byte", "\xf0\x9f\x98", -1}, -1},
        {{"bad continuation", "\xe2\x28\xa1", -1}, -1},
        {{"2-byte cut by length", "a\xc3\xa9", 2}, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "utf8_length(%s)", cases[i].s.name);
        PGS_EXPECT_INT(what, pgs_json_utf8_length(cases[i].s.data, s_len(&cases[i].s)),
                       cases[i].want);
    }
    /* Only len bytes are read: the heap copy is exactly that long. */
    const char *four = "\xf0\x9f\x98\x80";
    for (size_t cut = 1; cut < 4; cut++) {
        char *p = malloc(cut);
        assert_non_null(p);
        memcpy(p, four, cut);
        char what[64];
        snprintf(what, sizeof what, "utf8_length(4-byte sequence cut to %zu)", cut);
        PGS_EXPECT_INT(what, pgs_json_utf8_length(p, cut), -1);
        free(p);
    }
}

static void
test_has_control(void **state)
{
    (void)state;
    static const struct {
        const char *name, *s;
        int want;
    } cases[] = {
        {"empty", "", 0},
        {"plain", "My token 1", 0},
        {"e-acute", "caf\xc3\xa9", 0},
        {"NBSP U+00A0",
         "a\xc2\xa0"
         "b",
         0},
        {"U+00BF", "\xc2\xbf", 0},
        {"emoji", "\xf0\x9f\x98\x80", 0},
        {"tab", "a\tb", 1},
        {"newline", "a\n", 1},
        {"CR", "\r", 1},
        {"U+0001", "\x01", 1},
        {"U+001F", "x\x1f", 1},
        {"DEL", "x\x7f", 1},
        {"C1 U+0080", "\xc2\x80", 1},
        {"C1 U+0085 (NEL)",
         "a\xc2\x85"
         "b",
         1},
        {"C1 U+009F", "\xc2\x9f", 1},
        {"space", " ", 0},
        {"tilde", "~", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "has_control(%s)", cases[i].name);
        PGS_EXPECT_INT(what, pgs_json_has_control(cases[i].s), cases[i].want);
    }
}

/* Names refuse what hides or reorders text, and keep what scripts need. */
static void
test_has_invisible(void **state)
{
    (void)state;
    static const struct {
        const char *name, *s;
        int want;
    } cases[] = {
        {"plain", "Deploy key", 0},
        {"e-acute", "caf\xc3\xa9", 0},
        {"Arabic", "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", 0},
        {"emoji with ZWJ U+200D", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x92\xbb", 0},
        {"ZWNJ U+200C", "a\xe2\x80\x8c" "b", 0},
        {"U+2010 hyphen", "a\xe2\x80\x90" "b", 0},
        {"U+202F", "\xe2\x80\xaf", 0},
        {"RLO U+202E", "ci\xe2\x80\xaetxt.exe", 1},
        {"LRE U+202A", "\xe2\x80\xaa", 1},
        {"ZWSP U+200B", "ad\xe2\x80\x8bmin", 1},
        {"LRM U+200E", "\xe2\x80\x8e", 1},
        {"RLM U+200F", "x\xe2\x80\x8f", 1},
        {"ALM U+061C", "\xd8\x9c", 1},
        {"LRI U+2066", "\xe2\x81\xa6", 1},
        {"PDI U+2069", "\xe2\x81\xa9", 1},
        {"U+206A is not a bidi control", "\xe2\x81\xaa", 0},
        {"word joiner U+2060", "\xe2\x81\xa0", 1},
        {"BOM U+FEFF", "\xef\xbb\xbfname", 1},
        {"line separator U+2028", "a\xe2\x80\xa8", 1},
        {"paragraph separator U+2029", "\xe2\x80\xa9", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[80];
        snprintf(what, sizeof what, "has_invisible(%s)", cases[i].name);
        PGS_EXPECT_INT(what, pgs_json_has_invisible(cases[i].s, strlen(cases[i].s)),
                       cases[i].want);
    }
}

/* What an error message may quote of a client's text. */
static void
test_excerpt(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"scope:read", "scope:read"},
        {"", ""},
        {"tab\there\n", "tab?here?"},
        {"ci\xe2\x80\xaetxt", "ci?txt"},
        {"caf\xc3\xa9", "caf?"},
        {"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
        {"0123456789abcdef0123456789abcdefX", "0123456789abcdef0123456789abcdef..."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PGS_JSON_EXCERPT_MAX];
        PGS_EXPECT_STR(cases[i].in, pgs_json_excerpt(cases[i].in, out), cases[i].want);
    }
}

/* Parses text back and compares the error object's members. */
static void
s_expect_error_body(const char *what, char *text, const char *code, const char *message,
                    const char *request_id, const char *param, size_t nmembers)
{
    if (!text)
        fail_msg("%s: got NULL, want a body", what);
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        fail_msg("%s: got invalid JSON \"%s\" (%s)", what, text, je.text);
    char w[160];
    snprintf(w, sizeof w, "%s: members of the root", what);
    PGS_EXPECT_INT(w, json_object_size(root), 1);
    json_t *e = json_object_get(root, "error");
    if (!json_is_object(e))
        fail_msg("%s: got no \"error\" object in %s", what, text);
    snprintf(w, sizeof w, "%s: members of error", what);
    PGS_EXPECT_INT(w, json_object_size(e), nmembers);
    snprintf(w, sizeof w, "%s: error.code", what);
    PGS_EXPECT_STR(w, json_string_value(json_object_get(e, "code")), code);
    snprintf(w, sizeof w, "%s: error.message", what);
    PGS_EXPECT_STR(w, json_string_value(json_object_get(e, "message")), message);
    snprintf(w, sizeof w, "%s: error.request_id", what);
    PGS_EXPECT_STR(w, json_string_value(json_object_get(e, "request_id")), request_id);
    snprintf(w, sizeof w, "%s: error.param", what);
    if (param)
        PGS_EXPECT_STR(w, json_string_value(json_object_get(e, "param")), param);
    else if (json_object_get(e, "param"))
        fail_msg("%s: got a param, want none", w);
    json_decref(root);
}

static void
test_error_body(void **state)
{
    (void)state;
    char *b = pgs_json_error_body("invalid_request", "'limit' must be an integer.", "req_1",
                                  "limit", NULL);
    s_expect_error_body("error_body with param", b, "invalid_request",
                        "'limit' must be an integer.", "req_1", "limit", 4);
    PGS_EXPECT_STR("error_body text", b,
                   "{\"error\":{\"code\":\"invalid_request\",\"message\":\"'limit' must be an "
                   "integer.\",\"request_id\":\"req_1\",\"param\":\"limit\"}}");
    free(b);

    b = pgs_json_error_body("not_found", "Not found.", "req_2", NULL, NULL);
    s_expect_error_body("error_body without param", b, "not_found", "Not found.", "req_2", NULL, 3);
    PGS_EXPECT_STR("error_body text", b,
                   "{\"error\":{\"code\":\"not_found\",\"message\":\"Not found.\",\"request_id\":"
                   "\"req_2\"}}");
    free(b);

    b = pgs_json_error_body("not_found", "Not found.", "req_3", "", NULL);
    s_expect_error_body("error_body with empty param", b, "not_found", "Not found.", "req_3", NULL,
                        3);
    free(b);

    b = pgs_json_error_body("x", NULL, NULL, NULL, NULL);
    s_expect_error_body("error_body with NULL message and request id", b, "x", "", "", NULL, 3);
    free(b);

    json_t *extra = json_pack("{s:s}", "required_scope", "chat:send");
    b = pgs_json_error_body("insufficient_scope", "Needs chat:send.", "req_4", NULL, extra);
    s_expect_error_body("error_body with extra", b, "insufficient_scope", "Needs chat:send.",
                        "req_4", NULL, 4);
    json_t *root = json_loads(b, 0, NULL);
    PGS_EXPECT_STR(
        "error.required_scope",
        json_string_value(json_object_get(json_object_get(root, "error"), "required_scope")),
        "chat:send");
    json_decref(root);
    json_decref(extra);
    free(b);

    /* Quotes, backslashes, control and non-ASCII characters are escaped. */
    b = pgs_json_error_body("c", "a \"quoted\" \\ line\nand caf\xc3\xa9", "r", "p", NULL);
    s_expect_error_body("error_body escaping", b, "c", "a \"quoted\" \\ line\nand caf\xc3\xa9", "r",
                        "p", 4);
    free(b);

    json_t *o = json_pack("{s:i,s:[]}", "a", 1, "b");
    char *d = pgs_json_dump(o);
    PGS_EXPECT_STR("pgs_json_dump", d, "{\"a\":1,\"b\":[]}");
    free(d);
    json_decref(o);
}

/* Regression (found by fuzz_json): error texts that quote the client's body
 * or cut a field name used to hold invalid UTF-8, and the error body then
 * silently lost its "message" (or "param"). */
static void
s_expect_complete_body(const char *what, const pgs_json_err_t *err)
{
    char w[160];
    snprintf(w, sizeof w, "%s: message is valid UTF-8", what);
    if (pgs_json_utf8_length(err->message, strlen(err->message)) < 0)
        fail_msg("%s: got invalid UTF-8, want valid", w);
    snprintf(w, sizeof w, "%s: param is valid UTF-8", what);
    if (pgs_json_utf8_length(err->param, strlen(err->param)) < 0)
        fail_msg("%s: got invalid UTF-8, want valid", w);
    char *b = pgs_json_error_body(err->code, err->message, "req_9", err->param, NULL);
    s_expect_error_body(what, b, err->code, err->message, "req_9",
                        err->param[0] ? err->param : NULL, err->param[0] ? 4 : 3);
    free(b);
}

static void
test_error_text_utf8(void **state)
{
    (void)state;
    pgs_json_err_t err;
    /* jansson quotes the bad token, which ends inside a 4-byte character. */
    static const char bad_escape[] = "{\"nam\":\"\\u00e9\\ud83d\\u\xf0\x9f\x98\x80\",\"x\":1}";
    PGS_EXPECT_NULL("parse_object(invalid escape before an emoji)",
                    pgs_json_parse_object(bad_escape, strlen(bad_escape), &err));
    PGS_EXPECT_STR("invalid escape message", err.message,
                   "Invalid JSON at line 1 column 23: invalid escape near '\"\\u00e9\\ud83d\\u?'");
    s_expect_complete_body("invalid escape before an emoji", &err);

    /* Other quoted tokens that end inside a character. */
    static const char *const cut[] = {
        "{\"a\":\"\\u\xc3\xa9\"}",
        "{\"a\":\"\\u12\xe2\x82\xac\"}",
        "{\"\\u\xf0\x9f\x98\x80\":1}",
        "{\"a\":\"\xc3\xa9\xc3\xa9\xc3\xa9\\u0\xc3\xa9\"}",
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "bad escape case %zu", i);
        PGS_EXPECT_NULL(what, pgs_json_parse_object(cut[i], strlen(cut[i]), &err));
        if (!strstr(err.message, "near '"))
            fail_msg("%s: got \"%s\", want a message quoting the token", what, err.message);
        s_expect_complete_body(what, &err);
    }

    /* Unknown field names are quoted as a bounded ASCII excerpt (param and
     * message alike), never cut inside a character. */
    static const int ks[] = {30, 62, 63};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        char key[80], json[128], want[120], want_msg[200];
        memset(key, 'k', (size_t)ks[i]);
        key[ks[i]] = '\0';
        if (ks[i] + 1 <= 32)
            snprintf(want, sizeof want, "%s?", key);
        else
            snprintf(want, sizeof want, "%.32s...", key);
        snprintf(want_msg, sizeof want_msg, "Unknown field '%s'.", want);
        strcat(key, "\xc3\xa9");
        snprintf(json, sizeof json, "{\"%s\":1}", key);
        json_t *v = pgs_json_parse_object(json, strlen(json), &err);
        assert_non_null(v);
        char what[64];
        snprintf(what, sizeof what, "unknown %d-byte key", ks[i] + 2);
        PGS_EXPECT_INT(what, pgs_json_check_fields(v, s_fields, &err), -1);
        json_decref(v);
        PGS_EXPECT_STR(what, err.param, want);
        PGS_EXPECT_STR(what, err.message, want_msg);
        s_expect_complete_body(what, &err);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),   cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_check_fields),    cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_has_control),     cmocka_unit_test(test_has_invisible),
        cmocka_unit_test(test_excerpt),     cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_error_text_utf8),
    };
    return cmocka_run_group_tests_name("pgs_json", tests, NULL, NULL);
}
