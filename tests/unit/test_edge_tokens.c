/*
 * Unit tests of services/edge/edge_tokens: the token-state cache, its
 * invalidation strings (tok:<hash> ws:<id> user:<id> all), negative
 * entries, late answers after an invalidation, cancel, the "touch" throttle
 * and the rebuilt marker.
 *
 * The cache is only ever filled from Redis answers, so the tests run the
 * real edge_redis on an edge_loop against a tiny fake Redis served on the
 * same loop (a unix socket in a private directory): it answers the lookup
 * EVAL from a fixed table (always with the pgs:rebuilt marker set, so the
 * auth fallback through the broker, which is NULL here, is never taken),
 * EXISTS with 1 and SUBSCRIBE with its confirmation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_loop.h"
#include "edge/edge_redis.h"
#include "edge/edge_tokens.h"
#include "pgs_log.h"
#include "pgs_test.h"
#include "pgs_time.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

/* ---- the fake Redis ---- */

typedef struct {
    const char *hash; /* the lookup key */
    const char *id, *user, *ws, *scopes, *exp, *revoked;
    const char *type, *plan, *ro, *role, *seat; /* NULL: nil (no such hash field) */
} s_tok_t;

static char s_h[6][PGS_TOKEN_HASH_HEX_LEN + 1]; /* h1..h5 (index 1..5) */

static s_tok_t s_table[4];

static void
s_init_table(void)
{
    for (int i = 1; i <= 5; i++) {
        memset(s_h[i], '0' + i, PGS_TOKEN_HASH_HEX_LEN);
        s_h[i][PGS_TOKEN_HASH_HEX_LEN] = '\0';
    }
    s_table[0] = (s_tok_t){s_h[1], "tok_1", "usr_1", "ws_1", "profile:read chat:send",
                           "4102444800", "0", "team", "pro", "0", "admin", "1"};
    s_table[1] = (s_tok_t){s_h[2], "tok_2", "usr_1", "ws_2", "", "1700000000", "1",
                           "personal", "free", "1", "owner", "0"};
    s_table[2] = (s_tok_t){s_h[3], "tok_3", "usr_2", "ws_1", "bogus bots:read", "4102444800",
                           "0", "team", "team", "0", NULL, NULL};
    s_table[3] = (s_tok_t){s_h[4], "tok_4", "usr_3", "ws_3", "usage:read", "4102444800", "0",
                           NULL, NULL, NULL, NULL, NULL};
    /* h5 is unknown to Redis: a negative entry. */
}

typedef struct {
    int fd;
    char buf[65536];
    size_t len;
} s_conn_t;

typedef struct {
    edge_loop_t *loop;
    int lfd;
    s_conn_t *conns[8];
    int nconns;
    int evals; /* EVAL commands answered */
    char dir[64];
    char path[100];
} s_fake_t;

static void
s_send(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

static void
s_bulk(char *out, size_t cap, size_t *used, const char *s)
{
    int n = s ? snprintf(out + *used, cap - *used, "$%zu\r\n%s\r\n", strlen(s), s)
              : snprintf(out + *used, cap - *used, "$-1\r\n");
    *used += (size_t)n;
}

/* Answers one command of argc arguments. */
static void
s_answer(s_fake_t *f, int fd, int argc, char **argv, size_t *lens)
{
    char out[4096];
    size_t used = 0;
    if (argc >= 1 && lens[0] == 4 && strncasecmp(argv[0], "EVAL", 4) == 0 && argc == 4) {
        f->evals++;
        const s_tok_t *t = NULL;
        for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++)
            if (strlen(s_table[i].hash) == lens[3] && memcmp(s_table[i].hash, argv[3], lens[3]) == 0)
                t = &s_table[i];
        if (!t) {
            s_send(fd, "*2\r\n:0\r\n:1\r\n", 12);
            return;
        }
        used += (size_t)snprintf(out, sizeof out, "*13\r\n:1\r\n:1\r\n");
        const char *fields[] = {t->id,   t->user, t->ws, t->scopes, t->exp,  t->revoked,
                                t->type, t->plan, t->ro, t->role,   t->seat};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            s_bulk(out, sizeof out, &used, fields[i]);
        s_send(fd, out, used);
        return;
    }
    if (argc >= 1 && lens[0] == 9 && strncasecmp(argv[0], "SUBSCRIBE", 9) == 0) {
        static const char conf[] = "*3\r\n$9\r\nsubscribe\r\n$9\r\npgs:inval\r\n:1\r\n";
        s_send(fd, conf, sizeof conf - 1);
        return;
    }
    if (argc >= 1 && lens[0] == 6 && strncasecmp(argv[0], "EXISTS", 6) == 0) {
        s_send(fd, ":1\r\n", 4);
        return;
    }
    s_send(fd, "+OK\r\n", 5);
}

/* Parses every complete RESP command in c->buf. */
static void
s_parse(s_fake_t *f, s_conn_t *c)
{
    for (;;) {
        char *p = c->buf, *end = c->buf + c->len;
        if (p == end || *p != '*')
            return;
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return;
        int argc = atoi(p + 1);
        p = nl + 1;
        char *argv[16];
        size_t lens[16];
        int ok = argc > 0 && argc <= 16;
        for (int i = 0; ok && i < argc; i++) {
            nl = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
            if (!nl || *p != '$')
                return; /* incomplete */
            long n = atol(p + 1);
            p = nl + 1;
            if (end - p < n + 2)
                return;
            argv[i] = p;
            lens[i] = (size_t)n;
            p += n + 2;
        }
        if (!ok)
            fail_msg("fake redis: a command of %d arguments", argc);
        s_answer(f, c->fd, argc, argv, lens);
        size_t used = (size_t)(p - c->buf);
        memmove(c->buf, p, c->len - used);
        c->len -= used;
    }
}

static s_fake_t *s_fake;

static void
s_on_client(void *arg, uint32_t events)
{
    (void)events;
    s_conn_t *c = arg;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n <= 0) {
        edge_loop_unwatch(s_fake->loop, c->fd);
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->len += (size_t)n;
    s_parse(s_fake, c);
}

static void
s_on_listen(void *arg, uint32_t events)
{
    (void)events;
    s_fake_t *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return;
    if (f->nconns == 8) {
        close(fd);
        return;
    }
    s_conn_t *c = calloc(1, sizeof *c);
    c->fd = fd;
    f->conns[f->nconns++] = c;
    edge_loop_watch(f->loop, fd, EPOLLIN, s_on_client, c);
}

static s_fake_t *
s_fake_new(edge_loop_t *loop)
{
    s_fake_t *f = calloc(1, sizeof *f);
    f->loop = loop;
    if (!pgs_test_tmpdir(f->dir))
        fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(f->path, sizeof f->path, "%s/redis.sock", f->dir);
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->path);
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(f->lfd, 8) < 0)
        fail_msg("fake redis: bind %s: %s", f->path, strerror(errno));
    edge_loop_watch(loop, f->lfd, EPOLLIN, s_on_listen, f);
    s_fake = f;
    return f;
}

static void
s_fake_destroy(s_fake_t **fp)
{
    s_fake_t *f = *fp;
    for (int i = 0; i < f->nconns; i++) {
        if (f->conns[i]->fd >= 0) {
            edge_loop_unwatch(f->loop, f->conns[i]->fd);
            close(f->conns[i]->fd);
        }
        free(f->conns[i]);
    }
    edge_loop_unwatch(f->loop, f->lfd);
    close(f->lfd);
    pgs_test_rmtree(f->dir);
    free(f);
    *fp = NULL;
    s_fake = NULL;
}

/* ---- fixture ---- */

typedef struct {
    edge_loop_t *loop;
    s_fake_t *fake;
    edge_redis_t *redis;
    edge_tokens_t *tokens;
} s_env_t;

static void
s_on_reset(void *arg)
{
    (void)arg;
}

/* Runs the loop (and the Redis timers) for up to ms or until *flag, as
 * the edge's turn does: what was asked of Redis is written before it
 * sleeps. */
static void
s_run(s_env_t *e, int ms, const int *flag)
{
    int64_t until = pgs_time_mono_ms() + ms;
    while (pgs_time_mono_ms() < until && !(flag && *flag)) {
        edge_redis_flush(e->redis);
        edge_loop_run_once(e->loop, 10);
        edge_redis_tick(e->redis);
    }
}

static s_env_t *
s_env_new(int ttl_ms, int negative_ttl_ms)
{
    s_env_t *e = calloc(1, sizeof *e);
    e->loop = edge_loop_new();
    e->fake = s_fake_new(e->loop);
    edge_redis_hooks_t hooks = {.on_reset = s_on_reset};
    e->redis = edge_redis_new(e->loop, e->fake->path, 2000, &hooks);
    e->tokens = edge_tokens_new(e->redis, NULL, ttl_ms, negative_ttl_ms);
    if (!e->loop || !e->redis || !e->tokens)
        fail_msg("fixture: got NULL");
    int64_t until = pgs_time_mono_ms() + 3000;
    while (!edge_redis_up(e->redis) && pgs_time_mono_ms() < until)
        s_run(e, 10, NULL);
    if (!edge_redis_up(e->redis))
        fail_msg("fake redis: the connection did not come up");
    return e;
}

static void
s_env_destroy(s_env_t **ep)
{
    s_env_t *e = *ep;
    /* Redis first: its callbacks end every pending lookup (edge_tokens.c). */
    edge_redis_destroy(&e->redis);
    edge_tokens_destroy(&e->tokens);
    s_fake_destroy(&e->fake);
    edge_loop_destroy(&e->loop);
    free(e);
    *ep = NULL;
}

typedef struct {
    int called;
    edge_tokens_result_t result;
    edge_token_state_t st;
} s_done_t;

static void
s_done(void *arg, edge_tokens_result_t result, const edge_token_state_t *st)
{
    s_done_t *d = arg;
    d->called++;
    d->result = result;
    if (result == EDGE_TOKENS_FOUND)
        d->st = *st;
}

/* Looks hash up; *cached is 1 when the answer came from the cache. Waits
 * for a pending answer. */
static edge_tokens_result_t
s_lookup(s_env_t *e, const char *hash, edge_token_state_t *st, int *cached)
{
    s_done_t d = {0};
    uint64_t handle = 99;
    memset(st, 0, sizeof *st);
    edge_tokens_result_t r = edge_tokens_lookup(e->tokens, hash, st, s_done, &d, &handle);
    if (r != EDGE_TOKENS_PENDING) {
        *cached = 1;
        PGS_EXPECT_INT("handle of an immediate answer", handle, 0);
        return r;
    }
    *cached = 0;
    if (handle == 0)
        fail_msg("lookup: got PENDING with handle 0");
    s_run(e, 2000, &d.called);
    PGS_EXPECT_INT("done calls for a pending lookup", d.called, 1);
    if (d.result == EDGE_TOKENS_FOUND)
        *st = d.st;
    return d.result;
}

static int
s_setup(void **state)
{
    s_init_table();
    *state = s_env_new(60000, 60000);
    return 0;
}

static int
s_teardown(void **state)
{
    s_env_t *e = *state;
    s_env_destroy(&e);
    return 0;
}

/* ---- tests ---- */

static void
test_state_from_redis(void **state)
{
    s_env_t *e = *state;
    edge_token_state_t st;
    int cached = -1;
    PGS_EXPECT_INT("h1 first lookup", s_lookup(e, s_h[1], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("h1 first lookup cached", cached, 0);
    PGS_EXPECT_STR("h1 token_id", st.token_id, "tok_1");
    PGS_EXPECT_STR("h1 user_id", st.user_id, "usr_1");
    PGS_EXPECT_STR("h1 workspace_id", st.workspace_id, "ws_1");
    PGS_EXPECT_INT("h1 scopes", st.scopes,
                   pgs_scope_bit("profile:read", 12) | pgs_scope_bit("chat:send", 9));
    PGS_EXPECT_INT("h1 expires_at", st.expires_at, 4102444800LL);
    PGS_EXPECT_INT("h1 revoked", st.revoked, 0);
    PGS_EXPECT_STR("h1 workspace_type", st.workspace_type, "team");
    PGS_EXPECT_STR("h1 plan", st.plan, "pro");
    PGS_EXPECT_INT("h1 read_only", st.read_only, 0);
    PGS_EXPECT_STR("h1 role", st.role, "admin");
    PGS_EXPECT_INT("h1 seat", st.seat, 1);

    PGS_EXPECT_INT("h1 second lookup", s_lookup(e, s_h[1], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("h1 second lookup cached", cached, 1);
    PGS_EXPECT_STR("h1 cached token_id", st.token_id, "tok_1");
    PGS_EXPECT_INT("EVALs after two lookups", e->fake->evals, 1);

    PGS_EXPECT_INT("h2", s_lookup(e, s_h[2], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("h2 scopes", st.scopes, 0);
    PGS_EXPECT_INT("h2 revoked", st.revoked, 1);
    PGS_EXPECT_INT("h2 read_only", st.read_only, 1);
    PGS_EXPECT_INT("h2 seat", st.seat, 0);

    /* An unknown scope makes the whole list invalid: no scope at all. */
    PGS_EXPECT_INT("h3", s_lookup(e, s_h[3], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("h3 scopes (one unknown)", st.scopes, 0);
    PGS_EXPECT_STR("h3 role (no membership)", st.role, "");
    PGS_EXPECT_INT("h3 seat (no membership)", st.seat, 0);

    PGS_EXPECT_INT("h4", s_lookup(e, s_h[4], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_STR("h4 workspace_type (no workspace)", st.workspace_type, "");
    PGS_EXPECT_STR("h4 plan (no workspace)", st.plan, "");

    PGS_EXPECT_INT("h5 (unknown)", s_lookup(e, s_h[5], &st, &cached), EDGE_TOKENS_UNKNOWN);
    PGS_EXPECT_INT("h5 first lookup cached", cached, 0);
    PGS_EXPECT_INT("h5 again", s_lookup(e, s_h[5], &st, &cached), EDGE_TOKENS_UNKNOWN);
    PGS_EXPECT_INT("h5 again cached (negative entry)", cached, 1);
    PGS_EXPECT_INT("EVALs", e->fake->evals, 5);
}

/* Fills the cache with h1..h5. */
static void
s_fill(s_env_t *e)
{
    edge_tokens_clear(e->tokens);
    for (int i = 1; i <= 5; i++) {
        edge_token_state_t st;
        int cached;
        edge_tokens_result_t r = s_lookup(e, s_h[i], &st, &cached);
        PGS_EXPECT_INT("fill", r, i == 5 ? EDGE_TOKENS_UNKNOWN : EDGE_TOKENS_FOUND);
    }
}

static void
test_invalidate(void **state)
{
    s_env_t *e = *state;
    char tok1[80], tok2[100], tok5[80], tok_long[90], ws_long[260];
    snprintf(tok1, sizeof tok1, "tok:%s", s_h[1]);
    snprintf(tok2, sizeof tok2, "  user:usr_2   tok:%s  ", s_h[2]);
    snprintf(tok5, sizeof tok5, "tok:%s", s_h[5]);
    snprintf(tok_long, sizeof tok_long, "tok:%s1", s_h[1]); /* 65 characters */
    memcpy(ws_long, "ws:", 3);
    memset(ws_long + 3, 'w', 250);
    ws_long[253] = '\0';
    char tok1_ws3[100];
    snprintf(tok1_ws3, sizeof tok1_ws3, "tok:%s ws:ws_3", s_h[1]);
    /* h1 tok_1 usr_1 ws_1; h2 tok_2 usr_1 ws_2; h3 tok_3 usr_2 ws_1;
     * h4 tok_4 usr_3 ws_3; h5 negative. keep: which stay cached. */
    const struct {
        const char *message;
        const char *keep; /* digits of the hashes still cached */
    } cases[] = {
        {"", "12345"},
        {"   ", "12345"},
        {tok1, "2345"},
        {tok5, "1234"},
        {"ws:ws_1", "245"},
        {"ws:ws_3", "1235"},
        {"user:usr_1", "345"},
        {"user:usr_3", "1235"},
        {"all", ""},
        {"  all  ", ""},
        {tok1_ws3, "235"},
        {tok2, "145"},
        {"user:usr_1 bogus all", ""},
        {"ws:ws_1 user:usr_3", "25"},
        {"ws:", "12345"},
        {"tok:", "12345"},
        {"user:", "12345"},
        {":ws_1", "12345"},
        {"ws_1", "12345"},
        {"WS:ws_1", "12345"},
        {"ws:WS_1", "12345"},
        {"ws:ws_", "12345"},
        {"ws:ws_1x", "12345"},
        {"wss:ws_1", "12345"},
        {"ws:ws_1:extra", "12345"},
        {"ws:ws_1\tuser:usr_3", "12345"}, /* only spaces separate */
        {"alls", "12345"},
        {"all:x", "12345"},
        {"ALL", "12345"},
        {"tok:tok_1", "12345"}, /* tok: takes a hash, not a token id */
        {"user:tok_1", "12345"},
        {tok_long, "12345"},
        {ws_long, "12345"},
        {"ws:usr_1", "12345"},
        {"user:ws_1", "12345"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_fill(e);
        edge_tokens_invalidate(e->tokens, cases[i].message);
        char got[8] = "";
        size_t n = 0;
        for (int k = 1; k <= 5; k++) {
            edge_token_state_t st;
            int cached = -1;
            s_lookup(e, s_h[k], &st, &cached);
            if (cached)
                got[n++] = (char)('0' + k);
        }
        got[n] = '\0';
        char what[400];
        snprintf(what, sizeof what, "cached after invalidate(\"%.300s\")", cases[i].message);
        PGS_EXPECT_STR(what, got, cases[i].keep);
    }
}

static void
test_late_answer_not_cached(void **state)
{
    s_env_t *e = *state;
    static const char *const messages[] = {"ws:unrelated", "all", "", "bogus"};
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        edge_tokens_clear(e->tokens);
        s_done_t d = {0};
        edge_token_state_t st;
        uint64_t handle = 0;
        PGS_EXPECT_INT("lookup", edge_tokens_lookup(e->tokens, s_h[1], &st, s_done, &d, &handle),
                       EDGE_TOKENS_PENDING);
        /* The answer is on its way when the invalidation comes. */
        edge_tokens_invalidate(e->tokens, messages[i]);
        s_run(e, 2000, &d.called);
        char what[96];
        snprintf(what, sizeof what, "late answer after \"%s\": done calls", messages[i]);
        PGS_EXPECT_INT(what, d.called, 1);
        snprintf(what, sizeof what, "late answer after \"%s\": result", messages[i]);
        PGS_EXPECT_INT(what, d.result, EDGE_TOKENS_FOUND);
        PGS_EXPECT_STR(what, d.st.token_id, "tok_1");
        int cached = -1;
        s_lookup(e, s_h[1], &st, &cached);
        snprintf(what, sizeof what, "late answer after \"%s\": cached", messages[i]);
        PGS_EXPECT_INT(what, cached, 0);
    }
    /* The same for a clear. */
    edge_tokens_clear(e->tokens);
    s_done_t d = {0};
    edge_token_state_t st;
    uint64_t handle = 0;
    edge_tokens_lookup(e->tokens, s_h[2], &st, s_done, &d, &handle);
    edge_tokens_clear(e->tokens);
    s_run(e, 2000, &d.called);
    int cached = -1;
    s_lookup(e, s_h[2], &st, &cached);
    PGS_EXPECT_INT("late answer after a clear: cached", cached, 0);
}

static void
test_cancel(void **state)
{
    s_env_t *e = *state;
    s_done_t d1 = {0}, d2 = {0};
    edge_token_state_t st1, st2;
    uint64_t h1 = 0, h2 = 0;
    PGS_EXPECT_INT("lookup 1", edge_tokens_lookup(e->tokens, s_h[1], &st1, s_done, &d1, &h1),
                   EDGE_TOKENS_PENDING);
    PGS_EXPECT_INT("lookup 2", edge_tokens_lookup(e->tokens, s_h[1], &st2, s_done, &d2, &h2),
                   EDGE_TOKENS_PENDING);
    if (h1 == h2)
        fail_msg("two pending lookups: got the same handle %llu", (unsigned long long)h1);
    edge_tokens_cancel(e->tokens, h1);
    edge_tokens_cancel(e->tokens, 0);         /* no such handle */
    edge_tokens_cancel(e->tokens, h2 + 1000); /* no such handle */
    s_run(e, 2000, &d2.called);
    s_run(e, 50, NULL);
    PGS_EXPECT_INT("cancelled lookup: done calls", d1.called, 0);
    PGS_EXPECT_INT("other lookup: done calls", d2.called, 1);
    /* The answer of a cancelled lookup is still cached. */
    int cached = -1;
    edge_token_state_t st;
    s_lookup(e, s_h[1], &st, &cached);
    PGS_EXPECT_INT("cached after a cancelled lookup", cached, 1);
    /* Cancelling after the answer is harmless. */
    edge_tokens_cancel(e->tokens, h2);
}

static void
test_ttl(void **state)
{
    (void)state;
    s_env_t *e = s_env_new(50, 80);
    edge_token_state_t st;
    int cached = -1;
    s_lookup(e, s_h[1], &st, &cached);
    s_lookup(e, s_h[5], &st, &cached);
    s_lookup(e, s_h[1], &st, &cached);
    PGS_EXPECT_INT("h1 within its ttl: cached", cached, 1);
    s_run(e, 60, NULL);
    PGS_EXPECT_INT("h1 after its ttl", s_lookup(e, s_h[1], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("h1 after its ttl: cached", cached, 0);
    s_run(e, 30, NULL);
    PGS_EXPECT_INT("h5 after the negative ttl", s_lookup(e, s_h[5], &st, &cached),
                   EDGE_TOKENS_UNKNOWN);
    PGS_EXPECT_INT("h5 after the negative ttl: cached", cached, 0);
    s_env_destroy(&e);

    /* ttl 0: nothing is served from the cache. */
    e = s_env_new(0, 0);
    s_lookup(e, s_h[1], &st, &cached);
    PGS_EXPECT_INT("ttl 0: h1 again", s_lookup(e, s_h[1], &st, &cached), EDGE_TOKENS_FOUND);
    PGS_EXPECT_INT("ttl 0: h1 again cached", cached, 0);
    s_env_destroy(&e);
}

static void
test_marker_and_touch(void **state)
{
    s_env_t *e = *state;
    PGS_EXPECT_INT("rebuilt before any check", edge_tokens_redis_rebuilt(e->tokens), 0);
    int64_t until = pgs_time_mono_ms() + 2000;
    while (!edge_tokens_redis_rebuilt(e->tokens) && pgs_time_mono_ms() < until) {
        edge_tokens_tick(e->tokens);
        s_run(e, 20, NULL);
    }
    PGS_EXPECT_INT("rebuilt after a tick", edge_tokens_redis_rebuilt(e->tokens), 1);

    PGS_EXPECT_INT("touch h1 first", edge_tokens_should_touch(e->tokens, s_h[1], 60000), 1);
    PGS_EXPECT_INT("touch h1 again", edge_tokens_should_touch(e->tokens, s_h[1], 60000), 0);
    PGS_EXPECT_INT("touch h2 first", edge_tokens_should_touch(e->tokens, s_h[2], 60000), 1);
    PGS_EXPECT_INT("touch h1, interval 0", edge_tokens_should_touch(e->tokens, s_h[1], 0), 1);
    PGS_EXPECT_INT("touch h3, interval 30", edge_tokens_should_touch(e->tokens, s_h[3], 30), 1);
    PGS_EXPECT_INT("touch h3 again within 30 ms", edge_tokens_should_touch(e->tokens, s_h[3], 30000),
                   0);
    s_run(e, 40, NULL);
    PGS_EXPECT_INT("touch h3 after 30 ms", edge_tokens_should_touch(e->tokens, s_h[3], 30), 1);
    /* Touches are not cache entries: a clear keeps them. */
    edge_tokens_clear(e->tokens);
    edge_tokens_invalidate(e->tokens, "all");
    PGS_EXPECT_INT("touch h2 after a clear", edge_tokens_should_touch(e->tokens, s_h[2], 60000), 0);
}

static void
test_without_redis(void **state)
{
    (void)state;
    /* Redis not reachable (no socket): lookups are UNAVAILABLE at once, the
     * marker is unknown, invalidations and touches still work. */
    edge_loop_t *loop = edge_loop_new();
    edge_redis_hooks_t hooks = {.on_reset = s_on_reset};
    char dir[64], path[128];
    if (!pgs_test_tmpdir(dir))
        fail_msg("mkdtemp failed");
    snprintf(path, sizeof path, "%s/nobody.sock", dir);
    edge_redis_t *redis = edge_redis_new(loop, path, 1000, &hooks);
    edge_tokens_t *t = edge_tokens_new(redis, NULL, 2000, 5000);
    edge_loop_run_once(loop, 10);
    edge_token_state_t st;
    s_done_t d = {0};
    uint64_t handle = 7;
    PGS_EXPECT_INT("lookup without redis",
                   edge_tokens_lookup(t, s_h[1], &st, s_done, &d, &handle),
                   EDGE_TOKENS_UNAVAILABLE);
    PGS_EXPECT_INT("lookup without redis: handle", handle, 0);
    PGS_EXPECT_INT("lookup without redis: done calls", d.called, 0);
    PGS_EXPECT_INT("rebuilt without redis", edge_tokens_redis_rebuilt(t), 0);
    edge_tokens_tick(t);
    PGS_EXPECT_INT("rebuilt without redis after a tick", edge_tokens_redis_rebuilt(t), 0);
    static const char *const messages[] = {"", "all", "tok:x", "ws:a user:b", ":", "::::", " : ",
                                           "tok:" "0123456789012345678901234567890123456789"
                                           "0123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        edge_tokens_invalidate(t, messages[i]);
    edge_tokens_clear(t);
    PGS_EXPECT_INT("touch without redis", edge_tokens_should_touch(t, s_h[1], 1000), 1);
    PGS_EXPECT_INT("touch without redis again", edge_tokens_should_touch(t, s_h[1], 1000), 0);
    edge_redis_destroy(&redis);
    edge_tokens_destroy(&t);
    PGS_EXPECT_NULL("destroy sets NULL", t);
    edge_tokens_destroy(&t);
    edge_tokens_destroy(NULL);
    edge_loop_destroy(&loop);
    pgs_test_rmtree(dir);
}

static void
test_redis_gone_ends_pending(void **state)
{
    (void)state;
    s_init_table();
    s_env_t *e = s_env_new(60000, 60000);
    s_done_t d = {0};
    edge_token_state_t st;
    uint64_t handle = 0;
    PGS_EXPECT_INT("lookup", edge_tokens_lookup(e->tokens, s_h[1], &st, s_done, &d, &handle),
                   EDGE_TOKENS_PENDING);
    /* Redis goes away before answering: the lookup ends UNAVAILABLE. */
    edge_redis_destroy(&e->redis);
    PGS_EXPECT_INT("pending lookup when redis is destroyed: done calls", d.called, 1);
    PGS_EXPECT_INT("pending lookup when redis is destroyed: result", d.result,
                   EDGE_TOKENS_UNAVAILABLE);
    s_env_destroy(&e);
}

int
main(void)
{
    pgs_log_set_level("error"); /* connection up/down lines are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_from_redis, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_invalidate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_late_answer_not_cached, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cancel, s_setup, s_teardown),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test_setup_teardown(test_marker_and_touch, s_setup, s_teardown),
        cmocka_unit_test(test_without_redis),
        cmocka_unit_test(test_redis_gone_ends_pending),
    };
    return cmocka_run_group_tests_name("edge_tokens", tests, NULL, NULL);
}
