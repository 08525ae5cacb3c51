/*
 * Unit tests of services/usage: the query's parameters (dates, ranges,
 * groupings), counting events exactly once in usage.db, the day rows with
 * their zeros, months of monthly reports, and a report's CSV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_test.h"
#include "pgs_time.h"
#include "usage/usage_query.h"
#include "usage/usage_reports.h"
#include "usage/usage_store.h"

#include <string.h>

static void
test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *start, *end, *group; /* NULL: absent */
        const char *param;               /* the 400's param, or NULL: accepted */
        const char *want_start, *want_end;
    } cases[] = {
        {"2026-11-01", "2026-11-30", "day", NULL, "2026-11-01", "2026-11-30"},
        {"2026-11-01", "2026-11-01", "route", NULL, "2026-11-01", "2026-11-01"},
        {NULL, "2026-03-10", NULL, NULL, "2026-02-09", "2026-03-10"}, /* 30 days ending on end */
        {"2024-02-29", "2024-03-01", "bot", NULL, "2024-02-29", "2024-03-01"},
        {"2025-01-01", "2025-12-31", NULL, NULL, "2025-01-01", "2025-12-31"}, /* 365 days */
        {"2024-01-01", "2024-12-31", NULL, NULL, "2024-01-01", "2024-12-31"}, /* 366 days */
        {"2024-01-01", "2025-01-01", NULL, "start", NULL, NULL},              /* 367 days */
        {"2026-02-30", "2026-03-01", NULL, "start", NULL, NULL},
        {"2025-02-29", "2025-03-01", NULL, "start", NULL, NULL},
        {"2026-11-01", "2026-11-31", NULL, "end", NULL, NULL},
        {"2026-1-05", "2026-11-30", NULL, "start", NULL, NULL},
        {"yesterday", "2026-11-30", NULL, "start", NULL, NULL},
        {"2026-11-01", "2026/11/30", NULL, "end", NULL, NULL},
        {"2026-11-01 ", "2026-11-30", NULL, "start", NULL, NULL},
        {"2026-11-30", "2026-11-01", NULL, "start", NULL, NULL}, /* start after end */
        {"2026-11-01", "2026-11-30", "week", "group_by", NULL, NULL},
        {"2026-11-01", "2026-11-30", "", "group_by", NULL, NULL},
        {"1969-12-31", "2026-11-30", NULL, "start", NULL, NULL},
    };
    pgs_req_t req = {.request_id = "req_test"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *src = json_object();
        if (cases[i].start)
            json_object_set_new(src, "start", json_string(cases[i].start));
        if (cases[i].end)
            json_object_set_new(src, "end", json_string(cases[i].end));
        if (cases[i].group)
            json_object_set_new(src, "group_by", json_string(cases[i].group));
        pgs_res_t res = {0};
        usage_range_t q;
        int rc = usage_query_parse(&req, &res, src, 1, &q);
        char what[96];
        snprintf(what, sizeof what, "parse(%s, %s, %s)", cases[i].start ? cases[i].start : "-",
                 cases[i].end ? cases[i].end : "-", cases[i].group ? cases[i].group : "-");
        if (!cases[i].param) {
            PGS_EXPECT_INT(what, rc, 0);
            PGS_EXPECT_STR(what, q.start, cases[i].want_start);
            PGS_EXPECT_STR(what, q.end, cases[i].want_end);
        } else {
            PGS_EXPECT_INT(what, rc, -1);
            PGS_EXPECT_INT(what, res.status, 400);
            json_t *body = json_loadb(res.body, res.body_len, 0, NULL);
            json_t *err = json_object_get(body, "error");
            PGS_EXPECT_STR(what, json_string_value(json_object_get(err, "code")),
                           "invalid_request");
            PGS_EXPECT_STR(what, json_string_value(json_object_get(err, "param")), cases[i].param);
            json_decref(body);
        }
        pgs_res_clear(&res);
        json_decref(src);
    }

    /* Numbers where strings belong are refused, not read as dates. */
    json_t *src = json_pack("{s:i}", "start", 20261101);
    pgs_res_t res = {0};
    usage_range_t q;
    PGS_EXPECT_INT("parse(start as a number)", usage_query_parse(&req, &res, src, 1, &q), -1);
    PGS_EXPECT_INT("parse(start as a number) status", res.status, 400);
    pgs_res_clear(&res);
    json_decref(src);
}

static void
test_month(void **state)
{
    (void)state;
    static const struct {
        const char *month, *start, *end; /* start NULL: refused */
    } cases[] = {
        {"2026-11", "2026-11-01", "2026-11-30"},
        {"2026-02", "2026-02-01", "2026-02-28"},
        {"2024-02", "2024-02-01", "2024-02-29"},
        {"2026-12", "2026-12-01", "2026-12-31"},
        {"2026-13", NULL, NULL},
        {"2026-00", NULL, NULL},
        {"2026-1", NULL, NULL},
        {"26-01", NULL, NULL},
        {"2026-01x", NULL, NULL},
        {"2026/01", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char start[USAGE_DAY_LEN] = "", end[USAGE_DAY_LEN] = "";
        int rc = usage_reports_month(cases[i].month, start, end);
        char what[64];
        snprintf(what, sizeof what, "month(%s)", cases[i].month);
        PGS_EXPECT_INT(what, rc, cases[i].start ? 0 : -1);
        if (cases[i].start) {
            PGS_EXPECT_STR(what, start, cases[i].start);
            PGS_EXPECT_STR(what, end, cases[i].end);
        }
    }
}

static usage_event_t
s_event(const char *id, const char *day_noon_utc, const char *tok, const char *bot, int err,
        long long msgs)
{
    usage_event_t e = {0};
    snprintf(e.id, sizeof e.id, "%s", id);
    struct tm tm = {0};
    strptime(day_noon_utc, "%Y-%m-%d", &tm);
    tm.tm_hour = 12;
    e.ts_ms = (int64_t)timegm(&tm) * 1000;
    snprintf(e.ws, sizeof e.ws, "ws_A");
    snprintf(e.user, sizeof e.user, "usr_1");
    snprintf(e.tok, sizeof e.tok, "%s", tok);
    snprintf(e.bot, sizeof e.bot, "%s", bot);
    snprintf(e.route, sizeof e.route, "GET /v1/me");
    e.requests = 1;
    e.errors = err;
    e.msgs = msgs;
    e.in = msgs * 10;
    e.out = msgs * 20;
    return e;
}

static void
s_sum(const char *key, const usage_counts_t *c, void *arg)
{
    (void)key;
    usage_counts_t *t = arg;
    t->requests += c->requests;
    t->messages += c->messages;
    t->input_tokens += c->input_tokens;
    t->output_tokens += c->output_tokens;
    t->errors += c->errors;
}

static usage_counts_t
s_totals(pgs_db_t *db, const char *ws, const char *user)
{
    usage_counts_t t = {0};
    if (usage_store_query(db, ws, user, "2026-01-01", "2026-12-31", USAGE_BY_DAY, s_sum, &t) < 0)
        fail_msg("usage_store_query failed");
    return t;
}

static void
test_exactly_once(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(pgs_test_tmpdir(dir));
    snprintf(path, sizeof path, "%s/usage.db", dir);
    pgs_db_t *db = usage_store_open(path);
    assert_non_null(db);

    usage_event_t batch1[] = {
        s_event("1-0", "2026-11-02", "tok_a", "", 0, 0),
        s_event("1-1", "2026-11-02", "tok_a", "bot_x", 0, 1),
        s_event("1-2", "2026-11-04", "tok_b", "", 1, 0),
    };
    PGS_EXPECT_INT("apply(3 new events)", usage_store_apply(db, batch1, 3, 1000), 3);
    /* Redelivered after a crash before XACK: nothing is counted twice. */
    PGS_EXPECT_INT("apply(the same 3 again)", usage_store_apply(db, batch1, 3, 2000), 0);
    usage_event_t batch2[] = {
        s_event("1-2", "2026-11-04", "tok_b", "", 1, 0), /* seen */
        s_event("2-0", "2026-11-04", "tok_a", "bot_x", 0, 1),
    };
    PGS_EXPECT_INT("apply(1 seen, 1 new)", usage_store_apply(db, batch2, 2, 3000), 1);

    usage_counts_t t = s_totals(db, "ws_A", NULL);
    PGS_EXPECT_INT("requests", t.requests, 4);
    PGS_EXPECT_INT("errors", t.errors, 1);
    PGS_EXPECT_INT("messages", t.messages, 2);
    PGS_EXPECT_INT("input tokens", t.input_tokens, 20);
    PGS_EXPECT_INT("output tokens", t.output_tokens, 40);
    PGS_EXPECT_INT("another workspace's requests", s_totals(db, "ws_B", NULL).requests, 0);
    PGS_EXPECT_INT("another user's requests", s_totals(db, "ws_A", "usr_2").requests, 0);
    PGS_EXPECT_INT("the user's own requests", s_totals(db, "ws_A", "usr_1").requests, 4);

    /* Day rows: every day of the range, zeros included, oldest first. */
    usage_t u = {.db = db};
    json_t *rows = NULL, *totals = NULL;
    PGS_EXPECT_INT(
        "days", usage_query_days(&u, "ws_A", NULL, "2026-11-01", "2026-11-05", &rows, &totals), 0);
    PGS_EXPECT_INT("day rows", (long long)json_array_size(rows), 5);
    static const long long want[] = {0, 2, 0, 2, 0};
    for (size_t i = 0; i < 5; i++) {
        json_t *row = json_array_get(rows, i);
        char day[USAGE_DAY_LEN];
        snprintf(day, sizeof day, "2026-11-0%zu", i + 1);
        PGS_EXPECT_STR("day row key", json_string_value(json_object_get(row, "key")), day);
        PGS_EXPECT_STR("day row label", json_string_value(json_object_get(row, "label")), day);
        PGS_EXPECT_INT(day, json_integer_value(json_object_get(row, "requests")), want[i]);
    }
    PGS_EXPECT_INT("totals", json_integer_value(json_object_get(totals, "requests")), 4);

    /* The CSV of a report with those rows. */
    usage_report_t r = {.rows = rows, .totals = totals};
    size_t len = 0;
    char *csv = usage_reports_csv(&r, &len);
    assert_non_null(csv);
    PGS_EXPECT_STR("csv", csv,
                   "date,requests,messages,input_tokens,output_tokens,errors\r\n"
                   "2026-11-01,0,0,0,0,0\r\n"
                   "2026-11-02,2,1,10,20,0\r\n"
                   "2026-11-03,0,0,0,0,0\r\n"
                   "2026-11-04,2,1,10,20,1\r\n"
                   "2026-11-05,0,0,0,0,0\r\n");
    PGS_EXPECT_INT("csv length", (long long)len, (long long)strlen(csv));
    free(csv);
    usage_report_clear(&r);

    /* A batch of more distinct rows than are summed in memory at once. */
    enum { MANY = 150 };
    usage_event_t many[MANY];
    for (int i = 0; i < MANY; i++) {
        char id[16], tok[16];
        snprintf(id, sizeof id, "3-%d", i);
        snprintf(tok, sizeof tok, "tok_m%d", i % 100);
        many[i] = s_event(id, "2026-11-03", tok, "", 0, 1);
    }
    PGS_EXPECT_INT("apply(150 events on 100 rows)", usage_store_apply(db, many, MANY, 3500), MANY);
    t = s_totals(db, "ws_A", NULL);
    PGS_EXPECT_INT("requests after the big batch", t.requests, 4 + MANY);
    PGS_EXPECT_INT("messages after the big batch", t.messages, 2 + MANY);
    usage_counts_t one = {0};
    if (usage_store_query(db, "ws_A", NULL, "2026-11-03", "2026-11-03", USAGE_BY_DAY, s_sum, &one) <
        0)
        fail_msg("query of 2026-11-03 failed");
    PGS_EXPECT_INT("requests on 2026-11-03", one.requests, MANY);
    PGS_EXPECT_INT("input tokens on 2026-11-03", one.input_tokens, 10 * MANY);

    /* Old ids are forgotten by the housekeeping, recent ones kept. */
    usage_store_prune_seen(db, 2500, 100);
    PGS_EXPECT_INT("apply(an id pruned: counted again)", usage_store_apply(db, batch1, 1, 4000), 1);
    PGS_EXPECT_INT("apply(an id kept)", usage_store_apply(db, batch2 + 1, 1, 4000), 0);

    pgs_db_destroy(&db);
    assert_int_equal(pgs_test_rmtree(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_month),
        cmocka_unit_test(test_exactly_once),
    };
    return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
