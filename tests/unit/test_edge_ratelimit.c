/*
 * Unit tests of services/edge/edge_ratelimit without Redis: the local
 * fixed-window decision (take, peek, remaining, reset), "no limit", and the
 * per-token stream slots. edge_ratelimit_tick sends to Redis and is not
 * called here (the limiter is built with a NULL Redis handle, which take,
 * peek and the stream calls never touch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_ratelimit.h"
#include "pgs_id.h"
#include "pgs_test.h"
#include "pgs_time.h"

#include <time.h>

/* Waits until at least `margin` seconds remain in the current minute, so a
 * sequence of calls stays inside one window. */
static void
s_avoid_minute_edge(int margin)
{
    for (;;) {
        int64_t s = pgs_time_now_ms() / 1000;
        if (60 - s % 60 > margin)
            return;
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int
s_setup(void **state)
{
    edge_ratelimit_t *rl = edge_ratelimit_new(NULL, 0, NULL);
    if (!rl)
        return -1;
    *state = rl;
    s_avoid_minute_edge(3);
    return 0;
}

static int
s_teardown(void **state)
{
    edge_ratelimit_t *rl = *state;
    edge_ratelimit_destroy(&rl);
    return rl == NULL ? 0 : -1;
}

static void
s_expect_reset(const char *what, int64_t reset)
{
    int64_t now = pgs_time_now_ms() / 1000;
    if (reset % 60 != 0)
        fail_msg("%s: reset %lld is not a minute boundary", what, (long long)reset);
    if (reset <= now || reset > now + 60)
        fail_msg("%s: got reset %lld, want the next minute boundary after %lld", what,
                 (long long)reset, (long long)now);
    PGS_EXPECT_INT(what, reset, (now / 60 + 1) * 60);
}

static void
test_take_counts_down(void **state)
{
    edge_ratelimit_t *rl = *state;
    static const struct {
        long limit;
        int calls;
    } cases[] = {{1, 3}, {2, 4}, {3, 6}, {10, 12}, {60, 61}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tok[PGS_ID_MAX];
        snprintf(tok, sizeof tok, "tok_countdown%zu", i);
        for (int k = 0; k < cases[i].calls; k++) {
            long remaining = -7;
            int64_t reset = 0;
            char what[96];
            int want_ok = k < cases[i].limit;
            long want_rem = want_ok ? cases[i].limit - k - 1 : 0;
            snprintf(what, sizeof what, "limit %ld, request %d: allowed", cases[i].limit, k + 1);
            PGS_EXPECT_INT(what, edge_ratelimit_take(rl, tok, cases[i].limit, &remaining, &reset),
                           want_ok);
            snprintf(what, sizeof what, "limit %ld, request %d: remaining", cases[i].limit, k + 1);
            PGS_EXPECT_INT(what, remaining, want_rem);
            snprintf(what, sizeof what, "limit %ld, request %d: reset", cases[i].limit, k + 1);
            s_expect_reset(what, reset);
        }
    }
}

static void
test_peek_does_not_count(void **state)
{
    edge_ratelimit_t *rl = *state;
    long rem = -1;
    int64_t reset = 0;
    /* A fresh token: peek shows the whole limit, any number of times. */
    for (int i = 0; i < 5; i++) {
        edge_ratelimit_peek(rl, "tok_peek", 3, &rem, &reset);
        PGS_EXPECT_INT("peek on a fresh token: remaining", rem, 3);
        s_expect_reset("peek on a fresh token: reset", reset);
    }
    PGS_EXPECT_INT("take after peeks", edge_ratelimit_take(rl, "tok_peek", 3, &rem, &reset), 1);
    PGS_EXPECT_INT("take after peeks: remaining", rem, 2);
    edge_ratelimit_peek(rl, "tok_peek", 3, &rem, &reset);
    PGS_EXPECT_INT("peek after one take: remaining", rem, 2);
    PGS_EXPECT_INT("second take", edge_ratelimit_take(rl, "tok_peek", 3, &rem, &reset), 1);
    PGS_EXPECT_INT("third take", edge_ratelimit_take(rl, "tok_peek", 3, &rem, &reset), 1);
    PGS_EXPECT_INT("third take: remaining", rem, 0);
    edge_ratelimit_peek(rl, "tok_peek", 3, &rem, &reset);
    PGS_EXPECT_INT("peek when used up: remaining", rem, 0);
    PGS_EXPECT_INT("fourth take", edge_ratelimit_take(rl, "tok_peek", 3, &rem, &reset), 0);
    edge_ratelimit_peek(rl, "tok_peek", 3, &rem, &reset);
    PGS_EXPECT_INT("peek after a refusal: remaining", rem, 0);
    /* Peeking with a larger limit shows what is left of it: refusals are
     * not counted as used. */
    edge_ratelimit_peek(rl, "tok_peek", 5, &rem, &reset);
    PGS_EXPECT_INT("peek with limit 5 after 3 admitted: remaining", rem, 2);
}

static void
test_no_limit(void **state)
{
    edge_ratelimit_t *rl = *state;
    static const long limits[] = {0, -1, -1000};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        for (int k = 0; k < 1000; k++) {
            long rem = -7;
            int64_t reset = 0;
            char what[96];
            snprintf(what, sizeof what, "limit %ld, request %d", limits[i], k + 1);
            PGS_EXPECT_INT(what, edge_ratelimit_take(rl, "tok_unlimited", limits[i], &rem, &reset),
                           1);
            PGS_EXPECT_INT(what, rem, 0);
            if (k == 0)
                s_expect_reset(what, reset);
        }
        long rem = -7;
        int64_t reset = 0;
        edge_ratelimit_peek(rl, "tok_unlimited", limits[i], &rem, &reset);
        PGS_EXPECT_INT("peek without a limit: remaining", rem, 0);
    }
    /* Requests without a limit are not counted: a limit set afterwards
     * starts from zero. */
    long rem = -7;
    int64_t reset = 0;
    PGS_EXPECT_INT("take limit 2 after unlimited requests",
                   edge_ratelimit_take(rl, "tok_unlimited", 2, &rem, &reset), 1);
    PGS_EXPECT_INT("take limit 2 after unlimited requests: remaining", rem, 1);
}

static void
test_tokens_independent(void **state)
{
    edge_ratelimit_t *rl = *state;
    long rem;
    int64_t reset;
    PGS_EXPECT_INT("a: 1st", edge_ratelimit_take(rl, "tok_a", 1, &rem, &reset), 1);
    PGS_EXPECT_INT("a: 2nd", edge_ratelimit_take(rl, "tok_a", 1, &rem, &reset), 0);
    PGS_EXPECT_INT("b: 1st", edge_ratelimit_take(rl, "tok_b", 1, &rem, &reset), 1);
    PGS_EXPECT_INT("b: remaining", rem, 0);
    PGS_EXPECT_INT("ab (prefix sharing): 1st", edge_ratelimit_take(rl, "tok_ab", 1, &rem, &reset),
                   1);
    PGS_EXPECT_INT("empty id: 1st", edge_ratelimit_take(rl, "", 1, &rem, &reset), 1);
    PGS_EXPECT_INT("empty id: 2nd", edge_ratelimit_take(rl, "", 1, &rem, &reset), 0);
    /* The longest id that fits PGS_ID_MAX is counted like any other. */
    char longest[PGS_ID_MAX];
    memset(longest, 'x', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    PGS_EXPECT_INT("31-char id: 1st", edge_ratelimit_take(rl, longest, 2, &rem, &reset), 1);
    PGS_EXPECT_INT("31-char id: 2nd", edge_ratelimit_take(rl, longest, 2, &rem, &reset), 1);
    PGS_EXPECT_INT("31-char id: 3rd", edge_ratelimit_take(rl, longest, 2, &rem, &reset), 0);
    /* Many tokens at once. */
    for (int i = 0; i < 500; i++) {
        char tok[PGS_ID_MAX];
        snprintf(tok, sizeof tok, "tok_many_%d", i);
        char what[64];
        snprintf(what, sizeof what, "%s: 1st", tok);
        PGS_EXPECT_INT(what, edge_ratelimit_take(rl, tok, 1, &rem, &reset), 1);
    }
    for (int i = 0; i < 500; i++) {
        char tok[PGS_ID_MAX];
        snprintf(tok, sizeof tok, "tok_many_%d", i);
        char what[64];
        snprintf(what, sizeof what, "%s: 2nd", tok);
        PGS_EXPECT_INT(what, edge_ratelimit_take(rl, tok, 1, &rem, &reset), 0);
    }
}

static void
test_limit_changes(void **state)
{
    edge_ratelimit_t *rl = *state;
    long rem;
    int64_t reset;
    /* A plan change within the window applies to what was already used. */
    PGS_EXPECT_INT("limit 5: 1st", edge_ratelimit_take(rl, "tok_plan", 5, &rem, &reset), 1);
    PGS_EXPECT_INT("limit 5: 2nd", edge_ratelimit_take(rl, "tok_plan", 5, &rem, &reset), 1);
    PGS_EXPECT_INT("limit 5: remaining", rem, 3);
    PGS_EXPECT_INT("limit 2 after 2 used", edge_ratelimit_take(rl, "tok_plan", 2, &rem, &reset), 0);
    PGS_EXPECT_INT("limit 2 after 2 used: remaining", rem, 0);
    PGS_EXPECT_INT("limit 10 after 2 used", edge_ratelimit_take(rl, "tok_plan", 10, &rem, &reset),
                   1);
    PGS_EXPECT_INT("limit 10 after 3 used: remaining", rem, 7);
}

static void
test_stream_slots(void **state)
{
    edge_ratelimit_t *rl = *state;
    static const int maxes[] = {1, 2, 4, 10};
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        char tok[PGS_ID_MAX];
        snprintf(tok, sizeof tok, "tok_stream%zu", i);
        char what[96];
        for (int k = 0; k < maxes[i]; k++) {
            snprintf(what, sizeof what, "max %d: acquire %d", maxes[i], k + 1);
            PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 1);
        }
        snprintf(what, sizeof what, "max %d: acquire past max", maxes[i]);
        PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 0);
        PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 0);
        edge_ratelimit_stream_release(rl, tok);
        snprintf(what, sizeof what, "max %d: acquire after a release", maxes[i]);
        PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 1);
        PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 0);
        /* Releasing more than was acquired does not make extra room. */
        for (int k = 0; k < maxes[i] + 5; k++)
            edge_ratelimit_stream_release(rl, tok);
        for (int k = 0; k < maxes[i]; k++) {
            snprintf(what, sizeof what, "max %d: acquire %d after over-release", maxes[i], k + 1);
            PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 1);
        }
        snprintf(what, sizeof what, "max %d: acquire past max after over-release", maxes[i]);
        PGS_EXPECT_INT(what, edge_ratelimit_stream_acquire(rl, tok, maxes[i]), 0);
    }
    /* max 0 (below the config minimum of 1) admits nothing. */
    PGS_EXPECT_INT("max 0", edge_ratelimit_stream_acquire(rl, "tok_stream_zero", 0), 0);
    /* Releasing for a token never seen is a no-op. */
    edge_ratelimit_stream_release(rl, "tok_never_seen");
    PGS_EXPECT_INT("acquire after a release of an unknown token",
                   edge_ratelimit_stream_acquire(rl, "tok_never_seen", 1), 1);
    /* Streams and requests of one token do not share a count. */
    long rem;
    int64_t reset;
    PGS_EXPECT_INT("streaming token: request 1", edge_ratelimit_take(rl, "tok_stream0", 1, &rem,
                                                                     &reset),
                   1);
    PGS_EXPECT_INT("streaming token: request 1 remaining", rem, 0);
    PGS_EXPECT_INT("request-limited token: stream",
                   edge_ratelimit_stream_acquire(rl, "tok_a_stream", 1), 1);
    PGS_EXPECT_INT("request-limited token: take",
                   edge_ratelimit_take(rl, "tok_a_stream", 1, &rem, &reset), 1);
    PGS_EXPECT_INT("request-limited token: take again",
                   edge_ratelimit_take(rl, "tok_a_stream", 1, &rem, &reset), 0);
    PGS_EXPECT_INT("request-limited token: stream still full",
                   edge_ratelimit_stream_acquire(rl, "tok_a_stream", 1), 0);
}

static void
test_destroy(void **state)
{
    (void)state;
    edge_ratelimit_destroy(NULL);
    edge_ratelimit_t *none = NULL;
    edge_ratelimit_destroy(&none);
    PGS_EXPECT_NULL("destroy(&NULL)", none);
    edge_ratelimit_t *rl = edge_ratelimit_new(NULL, 0, NULL);
    if (!rl)
        fail_msg("edge_ratelimit_new(NULL, 0, NULL): got NULL, want a limiter");
    long rem;
    int64_t reset;
    edge_ratelimit_take(rl, "tok_x", 3, &rem, &reset);
    edge_ratelimit_stream_acquire(rl, "tok_y", 3);
    edge_ratelimit_destroy(&rl);
    PGS_EXPECT_NULL("destroy sets the pointer to NULL", rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_take_counts_down, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peek_does_not_count, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_no_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_tokens_independent, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_limit_changes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stream_slots, s_setup, s_teardown),
        cmocka_unit_test(test_destroy),
    };
    return cmocka_run_group_tests_name("edge_ratelimit", tests, NULL, NULL);
}
