/*
 * Unit tests of common/pgs_idem: new, replay, mismatch, in progress and
 * expiry of keys, on a database in a private directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_idem.h"
#include "pgs_test.h"

#include <sodium.h>
#include <time.h>

typedef struct {
    char dir[64];
    pgs_db_t *db;
} s_fx_t;

static int
s_setup(void **state)
{
    static s_fx_t fx;
    if (sodium_init() < 0 || !pgs_test_tmpdir(fx.dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", fx.dir);
    const char *const migrations[] = {PGS_IDEM_MIGRATION, PGS_IDEM_MIGRATION_META,
                                      PGS_IDEM_MIGRATION_ROUTE};
    fx.db = pgs_db_open(path, migrations, 3, 0);
    *state = &fx;
    return fx.db ? 0 : -1;
}

static int
s_teardown(void **state)
{
    s_fx_t *fx = *state;
    pgs_db_destroy(&fx->db);
    pgs_test_rmtree(fx->dir);
    return 0;
}

/* A request with a key and a body, by a token of user usr_A in ws_A on
 * route (NULL: bots.create). */
static void
s_req_by(pgs_req_t *req, pgs_ctx_t **ctx, json_t **params, const char *key, const char *body,
         const char *token, const char *user, const char *route)
{
    *ctx = calloc(1, sizeof **ctx);
    assert_non_null(*ctx);
    pgs_ctx_set(*ctx, "token_id", token);
    pgs_ctx_set(*ctx, "workspace_id", "ws_A");
    pgs_ctx_set(*ctx, "user_id", user);
    *params = json_pack("{s:s,s:{},s:{},s:{s:s,s:s}}", "method", "POST", "path", "query", "headers",
                        "idempotency-key", key, "content-type", "application/json");
    memset(req, 0, sizeof *req);
    req->route = route ? route : "bots.create";
    req->ctx = *ctx;
    req->params = *params;
    req->body = body;
    req->body_len = strlen(body);
    req->request_id = "r1";
}

static void
s_req(pgs_req_t *req, pgs_ctx_t **ctx, json_t **params, const char *key, const char *body)
{
    s_req_by(req, ctx, params, key, body, "tok_A", "usr_A", NULL);
}

static void
test_flow(void **state)
{
    s_fx_t *fx = *state;
    pgs_req_t req;
    pgs_ctx_t *ctx;
    json_t *params;
    pgs_res_t res = {0};
    pgs_idem_t a, b;
    s_req(&req, &ctx, &params, "k1", "{\"name\":\"x\"}");
    PGS_EXPECT_INT("init", pgs_idem_init(&a, &req, &res), 0);
    PGS_EXPECT_INT("active", a.active, 1);
    PGS_EXPECT_INT("begin new", pgs_idem_begin(fx->db, &a, &req, &res), 0);
    pgs_res_json(&res, 201, json_pack("{s:s}", "id", "bot_1"));
    pgs_res_usage_bot(&res, "bot_1");
    res.meta.messages = 1;
    PGS_EXPECT_INT("commit", pgs_idem_commit(fx->db, &a, &req, &res), 0);
    pgs_res_clear(&res);

    PGS_EXPECT_INT("begin replay", pgs_idem_begin(fx->db, &a, &req, &res), 1);
    PGS_EXPECT_INT("replay status", res.status, 201);
    PGS_EXPECT_STR("replay header",
                   json_string_value(json_object_get(res.headers, "Idempotent-Replayed")), "true");
    PGS_EXPECT_INT("replay body", res.body_len, strlen("{\"id\":\"bot_1\"}"));
    /* The replay keeps the bot (its usage event names it), counts nothing. */
    PGS_EXPECT_STR("replay meta bot", res.meta.bot, "bot_1");
    PGS_EXPECT_INT("replay meta replayed", res.meta.replayed, 1);
    PGS_EXPECT_INT("replay meta messages", res.meta.messages, 0);
    pgs_res_clear(&res);
    free(ctx);
    json_decref(params);

    s_req(&req, &ctx, &params, "k1", "{\"name\":\"y\"}");
    pgs_idem_init(&b, &req, &res);
    PGS_EXPECT_INT("begin mismatch", pgs_idem_begin(fx->db, &b, &req, &res), 1);
    PGS_EXPECT_INT("mismatch status", res.status, 409);
    pgs_res_clear(&res);

    /* in progress, then expired */
    pgs_db_begin(fx->db);
    PGS_EXPECT_INT("save pending", pgs_idem_save(fx->db, &b, 1000, NULL), 0);
    pgs_db_commit(fx->db);
    PGS_EXPECT_INT("pending", pgs_idem_lookup(fx->db, &b, 1001, NULL), PGS_IDEM_PENDING);
    PGS_EXPECT_INT("expired", pgs_idem_lookup(fx->db, &b, 1000 + PGS_IDEM_TTL_S, NULL),
                   PGS_IDEM_NEW);
    PGS_EXPECT_INT("purge", pgs_idem_purge(fx->db, 1000 + PGS_IDEM_TTL_S, 10), 1);
    free(ctx);
    json_decref(params);
}

static void
test_headers(void **state)
{
    (void)state;
    pgs_req_t req;
    pgs_ctx_t *ctx;
    json_t *params;
    pgs_res_t res = {0};
    pgs_idem_t a;
    static const char *const bad[] = {"", "tab\there", "\xc3\xa9", NULL};
    for (int i = 0; bad[i]; i++) {
        s_req(&req, &ctx, &params, bad[i], "{}");
        PGS_EXPECT_INT(bad[i], pgs_idem_init(&a, &req, &res), -1);
        PGS_EXPECT_INT("status", res.status, 400);
        pgs_res_clear(&res);
        free(ctx);
        json_decref(params);
    }
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    s_req(&req, &ctx, &params, longkey, "{}");
    PGS_EXPECT_INT("long key", pgs_idem_init(&a, &req, &res), -1);
    pgs_res_clear(&res);
    json_object_del(json_object_get(params, "headers"), "idempotency-key");
    PGS_EXPECT_INT("no key", pgs_idem_init(&a, &req, &res), 0);
    PGS_EXPECT_INT("inactive", a.active, 0);
    free(ctx);
    json_decref(params);
}

/* A response stored before protocol v2 (the bot in an x-pgs-usage header)
 * replays after the upgrade with its bot in meta and no internal header. */
static void
test_upgrade(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_true(pgs_test_tmpdir(dir));
    snprintf(path, sizeof path, "%s/old.db", dir);
    const char *const v1[] = {PGS_IDEM_MIGRATION};
    pgs_db_t *db = pgs_db_open(path, v1, 1, 0);
    assert_non_null(db);
    pgs_req_t req;
    pgs_ctx_t *ctx;
    json_t *params;
    pgs_res_t res = {0};
    pgs_idem_t a;
    s_req(&req, &ctx, &params, "old", "{}");
    assert_int_equal(pgs_idem_init(&a, &req, &res), 0);
    sqlite3_stmt *st =
        pgs_db_stmt(db, "INSERT INTO idempotency_keys (token_id, key, hash, status, headers, body, "
                        "created_at) VALUES (?1, ?2, ?3, 200, ?4, '{}', strftime('%s','now'))");
    pgs_db_bind_text(st, 1, a.token_id);
    pgs_db_bind_text(st, 2, a.key);
    sqlite3_bind_blob(st, 3, a.hash, sizeof a.hash, SQLITE_STATIC);
    pgs_db_bind_text(st, 4,
                     "{\"Content-Type\":\"application/json\",\"x-pgs-usage\":\"bot=bot_old1 "
                     "msgs=1 in=5 out=7\"}");
    PGS_EXPECT_INT("old row", sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    pgs_db_destroy(&db);

    const char *const v3[] = {PGS_IDEM_MIGRATION, PGS_IDEM_MIGRATION_META,
                              PGS_IDEM_MIGRATION_ROUTE};
    db = pgs_db_open(path, v3, 3, 0);
    assert_non_null(db);
    PGS_EXPECT_INT("replay", pgs_idem_begin(db, &a, &req, &res), 1);
    PGS_EXPECT_STR("bot moved to meta", res.meta.bot, "bot_old1");
    assert_null(json_object_get(res.headers, "x-pgs-usage"));
    PGS_EXPECT_STR("other headers kept",
                   json_string_value(json_object_get(res.headers, "Content-Type")),
                   "application/json");
    pgs_res_clear(&res);
    free(ctx);
    json_decref(params);
    pgs_db_destroy(&db);
    pgs_test_rmtree(dir);
}

/* Keys are the caller's — its workspace and user, across its tokens and
 * every route — and JSON bodies compare as canonical JSON. */
static void
test_scope_and_canonical_json(void **state)
{
    s_fx_t *fx = *state;
    pgs_req_t req;
    pgs_ctx_t *ctx;
    json_t *params;
    pgs_res_t res = {0};
    pgs_idem_t a, b;
    s_req(&req, &ctx, &params, "k2", "{\"name\":\"x\",\"model\":\"m\"}");
    assert_int_equal(pgs_idem_init(&a, &req, &res), 0);
    PGS_EXPECT_STR("scope", a.token_id, "ws_A:usr_A");
    assert_int_equal(pgs_idem_begin(fx->db, &a, &req, &res), 0);
    pgs_res_json(&res, 201, json_pack("{s:s}", "id", "bot_2"));
    assert_int_equal(pgs_idem_commit(fx->db, &a, &req, &res), 0);
    pgs_res_clear(&res);
    free(ctx);
    json_decref(params);

    /* another token of the same user, the keys in another order, spaces */
    s_req_by(&req, &ctx, &params, "k2", "{ \"model\": \"m\", \"name\": \"x\" }", "tok_B", "usr_A",
             NULL);
    pgs_idem_init(&b, &req, &res);
    PGS_EXPECT_INT("canonical replay", pgs_idem_begin(fx->db, &b, &req, &res), 1);
    PGS_EXPECT_INT("replayed status", res.status, 201);
    pgs_res_clear(&res);
    free(ctx);
    json_decref(params);

    /* the same key on another route */
    s_req_by(&req, &ctx, &params, "k2", "{\"content\":\"hi\"}", "tok_A", "usr_A",
             "conversations.create");
    pgs_idem_init(&b, &req, &res);
    PGS_EXPECT_INT("other route", pgs_idem_lookup(fx->db, &b, time(NULL), NULL),
                   PGS_IDEM_OTHER_ROUTE);
    PGS_EXPECT_INT("other route begins", pgs_idem_begin(fx->db, &b, &req, &res), 1);
    PGS_EXPECT_INT("other route status", res.status, 409);
    assert_non_null(strstr(res.body, "another route"));
    pgs_res_clear(&res);
    free(ctx);
    json_decref(params);

    /* another user of the workspace has keys of its own */
    s_req_by(&req, &ctx, &params, "k2", "{\"name\":\"x\",\"model\":\"m\"}", "tok_C", "usr_B", NULL);
    pgs_idem_init(&b, &req, &res);
    PGS_EXPECT_INT("another user", pgs_idem_lookup(fx->db, &b, time(NULL), NULL), PGS_IDEM_NEW);
    free(ctx);
    json_decref(params);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_scope_and_canonical_json),
        cmocka_unit_test(test_upgrade),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
