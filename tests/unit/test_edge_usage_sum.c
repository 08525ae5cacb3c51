/*
 * Unit tests of services/edge/edge_usage_sum: requests of one key summed
 * into one row (tokens, bots, routes and UTC days keep theirs apart, the
 * route compared by its table address), rows drained in the order they were
 * made and the table empty after, a full table refusing only new keys, and
 * many keys through a small table over several drains (probing past
 * collisions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_usage_sum.h"
#include "pgs_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_get[] = "GET", s_post[] = "POST";
static const char s_me[] = "/v1/me", s_send[] = "/v1/conversations/{conversation_id}/messages";

#define S_DAY_MS (86400LL * 1000)
#define S_NOON (20000LL * S_DAY_MS + 12 * 3600 * 1000)

static edge_usage_row_t
s_one(const char *tok, const char *bot, const char *method, const char *pattern, int64_t ms,
      long long err, long long msgs)
{
    edge_usage_row_t r = {.method = method,
                          .pattern = pattern,
                          .first_ms = ms,
                          .requests = 1,
                          .errors = err,
                          .msgs = msgs,
                          .in = msgs * 10,
                          .out = msgs * 20};
    snprintf(r.ws, sizeof r.ws, "ws_A");
    snprintf(r.user, sizeof r.user, "usr_%s", tok);
    snprintf(r.tok, sizeof r.tok, "tok_%s", tok);
    snprintf(r.bot, sizeof r.bot, "%s", bot);
    return r;
}

typedef struct {
    edge_usage_row_t rows[64];
    size_t n;
} s_seen_t;

static void
s_collect(const edge_usage_row_t *row, void *arg)
{
    s_seen_t *s = arg;
    if (s->n < 64)
        s->rows[s->n] = *row;
    s->n++;
}

static void
test_sums_per_key(void **state)
{
    (void)state;
    edge_usage_sum_t *s = edge_usage_sum_new(16);
    assert_non_null(s);
    edge_usage_row_t a = s_one("a", "", s_get, s_me, S_NOON, 0, 0);
    for (int i = 0; i < 5; i++)
        PGS_EXPECT_INT("add to the same key", edge_usage_sum_add(s, &a), 0);
    edge_usage_row_t a_err = s_one("a", "", s_get, s_me, S_NOON + 50, 1, 0);
    edge_usage_sum_add(s, &a_err);
    PGS_EXPECT_INT("one key, one row", edge_usage_sum_len(s), 1);

    edge_usage_row_t b = s_one("b", "", s_get, s_me, S_NOON, 0, 0);             /* token */
    edge_usage_row_t a_bot = s_one("a", "bot_1", s_post, s_send, S_NOON, 0, 1); /* bot, route */
    edge_usage_row_t a_bot2 = s_one("a", "bot_2", s_post, s_send, S_NOON, 0, 1);
    edge_usage_row_t a_next = s_one("a", "", s_get, s_me, S_NOON + S_DAY_MS / 2, 0, 0); /* day */
    edge_usage_row_t a_post = s_one("a", "", s_post, s_me, S_NOON, 0, 0);               /* method */
    edge_usage_row_t rows[] = {b, a_bot, a_bot, a_bot2, a_next, a_post};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        edge_usage_sum_add(s, &rows[i]);
    PGS_EXPECT_INT("rows of distinct keys", edge_usage_sum_len(s), 6);

    s_seen_t seen = {0};
    edge_usage_sum_drain(s, s_collect, &seen);
    PGS_EXPECT_INT("rows drained", seen.n, 6);
    PGS_EXPECT_INT("rows left after a drain", edge_usage_sum_len(s), 0);
    const edge_usage_row_t *r = &seen.rows[0];
    PGS_EXPECT_STR("first row's token", r->tok, "tok_a");
    PGS_EXPECT_STR("first row keeps its user", r->user, "usr_a");
    PGS_EXPECT_INT("requests of the first row", r->requests, 6);
    PGS_EXPECT_INT("errors of the first row", r->errors, 1);
    PGS_EXPECT_INT("first_ms is its first request's", r->first_ms, S_NOON);
    PGS_EXPECT_INT("day of the first row", r->day, S_NOON / S_DAY_MS);
    PGS_EXPECT_STR("second row: the other token", seen.rows[1].tok, "tok_b");
    r = &seen.rows[2];
    PGS_EXPECT_STR("third row's bot", r->bot, "bot_1");
    PGS_EXPECT_INT("requests of bot_1's sends", r->requests, 2);
    PGS_EXPECT_INT("messages of bot_1's sends", r->msgs, 2);
    PGS_EXPECT_INT("input tokens summed", r->in, 20);
    PGS_EXPECT_INT("output tokens summed", r->out, 40);
    PGS_EXPECT_STR("fourth row's bot", seen.rows[3].bot, "bot_2");
    PGS_EXPECT_INT("the next day's row", seen.rows[4].day, S_NOON / S_DAY_MS + 1);
    assert_ptr_equal(seen.rows[5].method, s_post);

    /* Empty again: a drain calls nothing. */
    seen.n = 0;
    edge_usage_sum_drain(s, s_collect, &seen);
    PGS_EXPECT_INT("a drain of nothing", seen.n, 0);
    edge_usage_sum_destroy(&s);
    PGS_EXPECT_NULL("*s after destroy", s);
}

static void
test_full_and_many(void **state)
{
    (void)state;
    edge_usage_sum_t *s = edge_usage_sum_new(3);
    assert_non_null(s);
    edge_usage_row_t k[4];
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        k[i] = s_one(names[i], "", s_get, s_me, S_NOON, 0, 0);
    for (int i = 0; i < 3; i++)
        PGS_EXPECT_INT("add while there is room", edge_usage_sum_add(s, &k[i]), 0);
    PGS_EXPECT_INT("a new key into a full table", edge_usage_sum_add(s, &k[3]), -1);
    PGS_EXPECT_INT("an existing key into a full table", edge_usage_sum_add(s, &k[1]), 0);
    s_seen_t seen = {0};
    edge_usage_sum_drain(s, s_collect, &seen);
    PGS_EXPECT_INT("rows of the full table", seen.n, 3);
    PGS_EXPECT_INT("b counted twice", seen.rows[1].requests, 2);
    PGS_EXPECT_INT("after a drain the new key fits", edge_usage_sum_add(s, &k[3]), 0);
    edge_usage_sum_destroy(&s);

    /* 40 keys × 25 requests each, interleaved, through 8-row tables. */
    s = edge_usage_sum_new(8);
    assert_non_null(s);
    long long total = 0, per_key[40] = {0};
    for (int round = 0; round < 25; round++) {
        for (int i = 0; i < 40; i++) {
            char name[8];
            snprintf(name, sizeof name, "%d", i);
            edge_usage_row_t one = s_one(name, "", s_get, s_me, S_NOON, 0, 0);
            if (edge_usage_sum_add(s, &one) < 0) {
                seen.n = 0;
                edge_usage_sum_drain(s, s_collect, &seen);
                for (size_t j = 0; j < seen.n && j < 64; j++) {
                    int idx = atoi(seen.rows[j].tok + 4);
                    per_key[idx] += seen.rows[j].requests;
                    total += seen.rows[j].requests;
                }
                PGS_EXPECT_INT("add after a drain", edge_usage_sum_add(s, &one), 0);
            }
        }
    }
    seen.n = 0;
    edge_usage_sum_drain(s, s_collect, &seen);
    for (size_t j = 0; j < seen.n; j++) {
        per_key[atoi(seen.rows[j].tok + 4)] += seen.rows[j].requests;
        total += seen.rows[j].requests;
    }
    PGS_EXPECT_INT("every request counted once", total, 1000);
    for (int i = 0; i < 40; i++)
        PGS_EXPECT_INT("requests of one key", per_key[i], 25);
    edge_usage_sum_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_per_key),
        cmocka_unit_test(test_full_and_many),
    };
    return cmocka_run_group_tests_name("edge_usage_sum", tests, NULL, NULL);
}
