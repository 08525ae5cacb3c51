/*
 * Unit tests of services/edge/edge_routes: every route of docs/internals.md
 * and of the edge's table matches its method and path with the right
 * attributes and path parameters; unknown paths are 404, known paths with
 * another method 405 with the exact Allow list; edge_routes_is_api_path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_routes.h"
#include "pgs_test.h"

#define KB 1024

/* One expected row: a concrete request for the route and what the table
 * must say about it. params: "name=value" pairs separated by spaces, in
 * pattern order. */
static const struct {
    const char *method;
    const char *path;
    const char *route;
    const char *service; /* NULL: local */
    const char *scope;
    int write;
    edge_auth_t auth;
    edge_body_t body;
    edge_local_t local;
    int deadline_ms;
    size_t max_body;
    int counts_message;
    const char *params;
} s_rows[] = {
    {"GET", "/healthz", "healthz", NULL, NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE,
     EDGE_LOCAL_HEALTHZ, 0, 0, 0, ""},
    {"GET", "/readyz", "readyz", NULL, NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE, EDGE_LOCAL_READYZ,
     0, 0, 0, ""},
    {"GET", "/v1/openapi.json", "openapi", NULL, NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE,
     EDGE_LOCAL_OPENAPI, 0, 0, 0, ""},
    {"GET", "/v1/token", "token.get", "auth", NULL, 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0,
     ""},
    {"DELETE", "/v1/token", "token.revoke_self", "auth", NULL, 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE,
     0, 0, 0, 0, ""},
    {"GET", "/v1/me", "me.get", "auth", "profile:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0,
     0, ""},
    {"GET", "/v1/subscription", "subscription.get", "auth", "subscription:read", 0,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, ""},
    {"GET", "/v1/models", "models.list", "auth", "models:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE,
     0, 0, 0, 0, ""},
    {"GET", "/v1/bots", "bots.list", "bots", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0,
     0, 0, ""},
    {"POST", "/v1/bots", "bots.create", "bots", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0,
     0, 64 * KB, 0, ""},
    {"GET", "/v1/bots/bot_123", "bots.show", "bots", "bots:read", 0, EDGE_AUTH_TOKEN,
     EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=bot_123"},
    {"PATCH", "/v1/bots/bot_123", "bots.update", "bots", "bots:write", 1, EDGE_AUTH_TOKEN,
     EDGE_BODY_JSON, 0, 0, 64 * KB, 0, "bot_id=bot_123"},
    {"DELETE", "/v1/bots/bot_123", "bots.delete", "bots", "bots:write", 1, EDGE_AUTH_TOKEN,
     EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=bot_123"},
    {"GET", "/v1/bots/b/documents", "documents.list", "bots", "bots:read", 0, EDGE_AUTH_TOKEN,
     EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=b"},
    {"POST", "/v1/bots/b1/documents", "documents.create", "bots", "bots:write", 1, EDGE_AUTH_TOKEN,
     EDGE_BODY_JSON_OR_TEXT, 0, 30000, 64 * KB * KB, 0, "bot_id=b1"},
    {"GET", "/v1/bots/b1/documents/doc_9", "documents.show", "bots", "bots:read", 0,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=b1 doc_id=doc_9"},
    {"DELETE", "/v1/bots/b1/documents/doc_9", "documents.delete", "bots", "bots:write", 1,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=b1 doc_id=doc_9"},
    {"GET", "/v1/bots/b1/search", "bots.search", "bots", "bots:read", 0, EDGE_AUTH_TOKEN,
     EDGE_BODY_NONE, 0, 0, 0, 0, "bot_id=b1"},
    {"GET", "/v1/conversations", "conversations.list", "chat", "conversations:read", 0,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, ""},
    {"POST", "/v1/conversations", "conversations.create", "chat", "conversations:write", 1,
     EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 0, 64 * KB, 0, ""},
    {"GET", "/v1/conversations/cv_1", "conversations.show", "chat", "conversations:read", 0,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "conversation_id=cv_1"},
    {"DELETE", "/v1/conversations/cv_1", "conversations.delete", "chat", "conversations:write", 1,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "conversation_id=cv_1"},
    {"GET", "/v1/conversations/cv_1/messages", "messages.list", "chat", "conversations:read", 0,
     EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "conversation_id=cv_1"},
    {"POST", "/v1/conversations/cv_1/messages", "messages.create", "chat", "chat:send", 1,
     EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 120000, 256 * KB, 1, "conversation_id=cv_1"},
    {"POST", "/app/api/login", "app.login", "auth", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0,
     0, 16 * KB, 0, ""},
    {"POST", "/app/api/logout", "app.logout", "auth", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0,
     0, 16 * KB, 0, ""},
    {"GET", "/app/api/session", "app.session", "auth", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE,
     0, 0, 0, 0, ""},
    {"POST", "/app/api/workspace", "app.workspace", "auth", NULL, 0, EDGE_AUTH_SESSION,
     EDGE_BODY_RAW, 0, 0, 16 * KB, 0, ""},
    {"GET", "/app/api/scopes", "app.scopes", "auth", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0,
     0, 0, 0, ""},
    {"GET", "/app/api/tokens", "app.tokens.list", "auth", NULL, 0, EDGE_AUTH_SESSION,
     EDGE_BODY_NONE, 0, 0, 0, 0, ""},
    {"POST", "/app/api/tokens", "app.tokens.create", "auth", NULL, 0, EDGE_AUTH_SESSION,
     EDGE_BODY_RAW, 0, 0, 16 * KB, 0, ""},
    {"DELETE", "/app/api/tokens/tok_abc", "app.tokens.revoke", "auth", NULL, 0, EDGE_AUTH_SESSION,
     EDGE_BODY_NONE, 0, 0, 0, 0, "token_id=tok_abc"},
};
#define N_ROWS (sizeof s_rows / sizeof s_rows[0])

/* Formats params as "name=value name=value". */
static void
s_format_params(const edge_route_param_t *p, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < len; i++) {
        int w = snprintf(buf + used, len - used, "%s%.*s=%.*s", i ? " " : "", (int)p[i].name_len,
                         p[i].name, (int)p[i].value_len, p[i].value);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static edge_route_result_t
s_match(const char *method, const char *path, const edge_route_t **route, char *params_text,
        size_t params_len, char *allow, size_t allow_len)
{
    edge_route_param_t params[EDGE_ROUTES_MAX_PARAMS];
    int n = -1;
    *route = NULL;
    edge_route_result_t m = edge_routes_match(method, path, route, params, &n, allow, allow_len);
    if (m == EDGE_ROUTE_FOUND) {
        if (n < 0 || n > EDGE_ROUTES_MAX_PARAMS)
            fail_msg("%s %s: got %d params, want 0..%d", method, path, n, EDGE_ROUTES_MAX_PARAMS);
        for (int i = 0; i < n; i++) {
            /* Values are borrowed from the path itself. */
            if (params[i].value < path || params[i].value + params[i].value_len > path + strlen(path))
                fail_msg("%s %s: param %d value does not point into the path", method, path, i);
            if (params[i].value_len == 0)
                fail_msg("%s %s: param %d is empty", method, path, i);
        }
        s_format_params(params, n, params_text, params_len);
    }
    return m;
}

static void
test_every_route(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ROWS; i++) {
        const edge_route_t *r = NULL;
        char params[256], allow[64], what[160];
        snprintf(what, sizeof what, "%s %s", s_rows[i].method, s_rows[i].path);
        edge_route_result_t m =
            s_match(s_rows[i].method, s_rows[i].path, &r, params, sizeof params, allow, sizeof allow);
        PGS_EXPECT_INT(what, m, EDGE_ROUTE_FOUND);
        if (!r)
            fail_msg("%s: got no route, want %s", what, s_rows[i].route);
        char f[200];
        snprintf(f, sizeof f, "%s: route", what);
        PGS_EXPECT_STR(f, r->route, s_rows[i].route);
        snprintf(f, sizeof f, "%s: method", what);
        PGS_EXPECT_STR(f, r->method, s_rows[i].method);
        snprintf(f, sizeof f, "%s: service", what);
        if (s_rows[i].service)
            PGS_EXPECT_STR(f, r->service, s_rows[i].service);
        else
            PGS_EXPECT_NULL(f, r->service);
        snprintf(f, sizeof f, "%s: scope", what);
        if (s_rows[i].scope)
            PGS_EXPECT_STR(f, r->scope, s_rows[i].scope);
        else
            PGS_EXPECT_NULL(f, r->scope);
        snprintf(f, sizeof f, "%s: write", what);
        PGS_EXPECT_INT(f, r->write, s_rows[i].write);
        snprintf(f, sizeof f, "%s: auth", what);
        PGS_EXPECT_INT(f, r->auth, s_rows[i].auth);
        snprintf(f, sizeof f, "%s: body", what);
        PGS_EXPECT_INT(f, r->body, s_rows[i].body);
        snprintf(f, sizeof f, "%s: local", what);
        PGS_EXPECT_INT(f, r->local, s_rows[i].local);
        snprintf(f, sizeof f, "%s: deadline_ms", what);
        PGS_EXPECT_INT(f, r->deadline_ms, s_rows[i].deadline_ms);
        snprintf(f, sizeof f, "%s: max_body", what);
        PGS_EXPECT_INT(f, r->max_body, s_rows[i].max_body);
        snprintf(f, sizeof f, "%s: counts_message", what);
        PGS_EXPECT_INT(f, r->counts_message, s_rows[i].counts_message);
        snprintf(f, sizeof f, "%s: params", what);
        PGS_EXPECT_STR(f, params, s_rows[i].params);
        /* A write scope is exactly a write route (checks 8 and 9). */
        if (r->write && !r->scope)
            fail_msg("%s: a write route without a scope", what);
        /* Every /v1 worker route needs a token; every /app/api route a session. */
        if (r->service && strncmp(s_rows[i].path, "/v1/", 4) == 0)
            PGS_EXPECT_INT(f, r->auth, EDGE_AUTH_TOKEN);
        if (strncmp(s_rows[i].path, "/app/api/", 9) == 0)
            PGS_EXPECT_INT(f, r->auth, EDGE_AUTH_SESSION);
    }
}

static void
test_params(void **state)
{
    (void)state;
    /* Parameters are one raw (still percent-encoded) non-empty segment. */
    static const struct {
        const char *method, *path, *route, *params;
    } cases[] = {
        {"GET", "/v1/bots/a", "bots.show", "bot_id=a"},
        {"GET", "/v1/bots/a%2Fb", "bots.show", "bot_id=a%2Fb"},
        {"GET", "/v1/bots/%20", "bots.show", "bot_id=%20"},
        {"GET", "/v1/bots/..", "bots.show", "bot_id=.."},
        {"GET", "/v1/bots/x.y-z_1~", "bots.show", "bot_id=x.y-z_1~"},
        {"GET", "/v1/bots/documents", "bots.show", "bot_id=documents"},
        {"GET", "/v1/bots/search/search", "bots.search", "bot_id=search"},
        {"GET", "/v1/bots/documents/documents", "documents.list", "bot_id=documents"},
        {"DELETE", "/v1/bots/B/documents/D", "documents.delete", "bot_id=B doc_id=D"},
        {"GET", "/v1/conversations/c%00x/messages", "messages.list", "conversation_id=c%00x"},
        {"DELETE", "/app/api/tokens/tok_%E2%82%AC", "app.tokens.revoke", "token_id=tok_%E2%82%AC"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const edge_route_t *r = NULL;
        char params[256], allow[64], what[160];
        snprintf(what, sizeof what, "%s %s", cases[i].method, cases[i].path);
        PGS_EXPECT_INT(what, s_match(cases[i].method, cases[i].path, &r, params, sizeof params,
                                     allow, sizeof allow),
                       EDGE_ROUTE_FOUND);
        PGS_EXPECT_STR(what, r ? r->route : NULL, cases[i].route);
        PGS_EXPECT_STR(what, params, cases[i].params);
    }
}

static void
test_not_found(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "",
        "/",
        "/v1",
        "/v1/",
        "/v1/bots/",            /* trailing slash */
        "/v1/me/",              /* trailing slash */
        "/v1/token/",           /* trailing slash */
        "/v1/bots/b1/",         /* trailing slash after a parameter */
        "/v1/bot",              /* prefix only */
        "/v1/bots/b1/doc",      /* prefix of a segment */
        "/v1/m",                /* prefix only */
        "/v1/mee",              /* extra character */
        "/v1/bots/b1/documents/d1/extra", /* extra segment */
        "/v1/bots/b1/search/x", /* extra segment */
        "/v1/conversations/c1/messages/m1",
        "/v1/bots//documents",  /* empty segment */
        "/v1/bots//documents/d1",
        "/v1/bots/b1/documents/", /* empty last parameter */
        "/v1/conversations//messages",
        "//v1/me",
        "/v1//me",
        "/V1/me",               /* case matters */
        "/v1/ME",
        "/v1/me?x=1",           /* the query is not part of the path */
        "/v1/me#x",
        "/healthz/",
        "/healthzz",
        "/readyz/x",
        "/v1/openapi.json/",
        "/v1/openapi",
        "/app/api",
        "/app/api/",
        "/app/api/tokens/",
        "/app/api/tokens//",
        "/app/api/tokens/t1/x",
        "/app/api/login/",
        "/index.html",
        "/v1/unknown",
    };
    static const char *const methods[] = {"GET", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            const edge_route_t *r = NULL;
            char params[256], allow[64], what[160];
            memset(allow, 'x', sizeof allow);
            snprintf(what, sizeof what, "%s \"%s\"", methods[k], paths[i]);
            PGS_EXPECT_INT(what, s_match(methods[k], paths[i], &r, params, sizeof params, allow,
                                         sizeof allow),
                           EDGE_ROUTE_NOT_FOUND);
            PGS_EXPECT_NULL(what, r);
            PGS_EXPECT_STR(what, allow, "");
        }
    }
}

static void
test_bad_method(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"POST", "/v1/token", "GET, DELETE"},
        {"PATCH", "/v1/token", "GET, DELETE"},
        {"POST", "/healthz", "GET"},
        {"HEAD", "/healthz", "GET"},
        {"DELETE", "/readyz", "GET"},
        {"PUT", "/v1/openapi.json", "GET"},
        {"POST", "/v1/me", "GET"},
        {"get", "/v1/me", "GET"}, /* methods are case-sensitive */
        {"POST", "/v1/subscription", "GET"},
        {"DELETE", "/v1/models", "GET"},
        {"PUT", "/v1/bots", "GET, POST"},
        {"DELETE", "/v1/bots", "GET, POST"},
        {"PUT", "/v1/bots/b1", "GET, PATCH, DELETE"},
        {"POST", "/v1/bots/b1", "GET, PATCH, DELETE"},
        {"OPTIONS", "/v1/bots/b1", "GET, PATCH, DELETE"},
        {"DELETE", "/v1/bots/b1/documents", "GET, POST"},
        {"POST", "/v1/bots/b1/documents/d1", "GET, DELETE"},
        {"POST", "/v1/bots/b1/search", "GET"},
        {"DELETE", "/v1/conversations", "GET, POST"},
        {"PATCH", "/v1/conversations/c1", "GET, DELETE"},
        {"DELETE", "/v1/conversations/c1/messages", "GET, POST"},
        {"GET", "/app/api/login", "POST"},
        {"GET", "/app/api/logout", "POST"},
        {"POST", "/app/api/session", "GET"},
        {"GET", "/app/api/workspace", "POST"},
        {"POST", "/app/api/scopes", "GET"},
        {"DELETE", "/app/api/tokens", "GET, POST"},
        {"GET", "/app/api/tokens/t1", "DELETE"},
        {"", "/v1/me", "GET"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const edge_route_t *r = NULL;
        char params[256], allow[64], what[160];
        snprintf(what, sizeof what, "%s %s", cases[i].method, cases[i].path);
        PGS_EXPECT_INT(what, s_match(cases[i].method, cases[i].path, &r, params, sizeof params,
                                     allow, sizeof allow),
                       EDGE_ROUTE_BAD_METHOD);
        PGS_EXPECT_NULL(what, r);
        snprintf(what, sizeof what, "Allow for %s %s", cases[i].method, cases[i].path);
        PGS_EXPECT_STR(what, allow, cases[i].allow);
    }
}

static void
test_allow_buffer(void **state)
{
    (void)state;
    /* The list is NUL-terminated inside the buffer whatever its size, and
     * whole when it fits exactly. */
    static const size_t sizes[] = {1, 2, 4, 5, 10, 18, 19, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const edge_route_t *r = NULL;
        edge_route_param_t params[EDGE_ROUTES_MAX_PARAMS];
        int n = 0;
        char allow[80];
        memset(allow, '#', sizeof allow);
        char what[64];
        snprintf(what, sizeof what, "Allow into %zu bytes", sizes[i]);
        PGS_EXPECT_INT(what, edge_routes_match("PUT", "/v1/bots/b1", &r, params, &n, allow, sizes[i]),
                       EDGE_ROUTE_BAD_METHOD);
        if (!memchr(allow, '\0', sizes[i]))
            fail_msg("%s: got no NUL inside the buffer", what);
        PGS_EXPECT_INT("byte after the buffer untouched", allow[sizes[i]], '#');
        if (sizes[i] >= 19)
            PGS_EXPECT_STR(what, allow, "GET, PATCH, DELETE");
        if (sizes[i] >= 4 && sizes[i] < 11 && strncmp(allow, "GET", 3) != 0)
            fail_msg("%s: got \"%s\", want it to start with GET", what, allow);
    }
    /* No buffer at all. */
    const edge_route_t *r = NULL;
    edge_route_param_t params[EDGE_ROUTES_MAX_PARAMS];
    int n = 0;
    char one = '#';
    PGS_EXPECT_INT("Allow into 0 bytes", edge_routes_match("PUT", "/v1/bots", &r, params, &n, &one, 0),
                   EDGE_ROUTE_BAD_METHOD);
    PGS_EXPECT_INT("0-byte buffer untouched", one, '#');
}

static void
test_is_api_path(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int want;
    } cases[] = {
        {"/v1", 1},
        {"/v1/", 1},
        {"/v1/me", 1},
        {"/v1/unknown/deep/path", 1},
        {"/v1/openapi.json", 1},
        {"/app/api", 1},
        {"/app/api/", 1},
        {"/app/api/login", 1},
        {"/healthz", 1},
        {"/readyz", 1},
        {"/v1x", 0},
        {"/v10", 0},
        {"/v1.json", 0},
        {"/V1/me", 0},
        {"/app", 0},
        {"/app/", 0},
        {"/app/apix", 0},
        {"/app/index.html", 0},
        {"/healthz/", 0},
        {"/healthzz", 0},
        {"/readyz/x", 0},
        {"/", 0},
        {"", 0},
        {"/index.html", 0},
        {"/assets/v1/app.js", 0},
        {"v1/me", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "edge_routes_is_api_path(\"%s\")", cases[i].path);
        PGS_EXPECT_INT(what, edge_routes_is_api_path(cases[i].path), cases[i].want);
    }
    /* Every route is an API path. */
    for (size_t i = 0; i < N_ROWS; i++) {
        char what[96];
        snprintf(what, sizeof what, "edge_routes_is_api_path(\"%s\")", s_rows[i].path);
        PGS_EXPECT_INT(what, edge_routes_is_api_path(s_rows[i].path), 1);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route),  cmocka_unit_test(test_params),
        cmocka_unit_test(test_not_found),    cmocka_unit_test(test_bad_method),
        cmocka_unit_test(test_allow_buffer), cmocka_unit_test(test_is_api_path),
    };
    return cmocka_run_group_tests_name("edge_routes", tests, NULL, NULL);
}
