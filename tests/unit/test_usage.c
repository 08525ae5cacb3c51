/*
 * Unit tests of services/usage: the query's parameters (dates, ranges,
 * groupings), counting events exactly once in usage.db, the day rows with
 * their zeros, months of monthly reports, a report's CSV, and the answers
 * of the rollups against sums of the events made here.
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

/* A new usage.db in a fresh directory dir (64 bytes); path (128 bytes) is
 * its file. */
static pgs_db_t *
s_open_fresh(char *dir, char *path)
{
    assert_non_null(pgs_test_tmpdir(dir));
    snprintf(path, 128, "%s/usage.db", dir);
    pgs_db_t *db = usage_store_open(path);
    assert_non_null(db);
    return db;
}

static void
test_exactly_once(void **state)
{
    (void)state;
    char dir[64], path[128];
    pgs_db_t *db = s_open_fresh(dir, path);

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

/* ---- the rollups against a brute-force sum ---- */

/* What the test counted: its own copy of every new event. */
enum { S_NUSERS = 3, S_NTOKS = 2, S_NBOTS = 4, S_NROUTES = 3, S_MAX_EVENTS = 3000 };
static const char *const s_users[S_NUSERS] = {"usr_1", "usr_2", "usr_3"};
static const char *const s_bots[S_NBOTS] = {"", "bot_a", "bot_b", "bot_c"};
static const char *const s_routes[S_NROUTES] = {
    "GET /v1/me", "GET /v1/bots", "POST /v1/conversations/{conversation_id}/messages"};

typedef struct {
    usage_event_t ev[S_MAX_EVENTS];
    char day[S_MAX_EVENTS][USAGE_DAY_LEN];
    int n;
} s_model_t;

typedef struct {
    char key[96];
    usage_counts_t c;
} s_row_t;

typedef struct {
    s_row_t rows[512];
    int n;
} s_rows_t;

static uint32_t
s_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return *state >> 8;
}

static void
s_day_of(long days, char out[USAGE_DAY_LEN])
{
    time_t t = (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, USAGE_DAY_LEN, "%Y-%m-%d", &tm);
}

static long
s_days_of(const char *day)
{
    struct tm tm = {0};
    strptime(day, "%Y-%m-%d", &tm);
    return (long)(timegm(&tm) / 86400);
}

/* An event of ws on one of the days [first, first + ndays) at any second of
 * it (midnight and the last second included). */
static void
s_random_event(uint32_t *r, int seq, const char *ws, long first, long ndays, usage_event_t *e,
               char day[USAGE_DAY_LEN])
{
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%d-0", seq);
    if (seq % 3 == 0) /* an edge's own event id, as after an outage */
        snprintf(e->key, sizeof e->key, "e:bench%d", seq);
    long d = first + (long)(s_rand(r) % (uint32_t)ndays);
    uint32_t sec = s_rand(r) % 5;
    sec = sec == 0 ? 0 : sec == 1 ? 86399 : s_rand(r) % 86400;
    e->ts_ms = ((int64_t)d * 86400 + sec) * 1000 + s_rand(r) % 1000;
    s_day_of(d, day);
    int u = (int)(s_rand(r) % S_NUSERS);
    snprintf(e->ws, sizeof e->ws, "%s", ws);
    snprintf(e->user, sizeof e->user, "%s", s_users[u]);
    snprintf(e->tok, sizeof e->tok, "tok_%d%c", u + 1, (char)('a' + s_rand(r) % S_NTOKS));
    snprintf(e->bot, sizeof e->bot, "%s", s_bots[s_rand(r) % S_NBOTS]);
    snprintf(e->route, sizeof e->route, "%s", s_routes[s_rand(r) % S_NROUTES]);
    e->requests = 1 + s_rand(r) % 6;
    e->errors = s_rand(r) % (uint32_t)(e->requests + 1);
    e->msgs = s_rand(r) % 3;
    e->in = e->msgs * (s_rand(r) % 50);
    e->out = e->msgs * (s_rand(r) % 80);
}

static void
s_model_add(s_model_t *m, const usage_event_t *ev, char (*days)[USAGE_DAY_LEN], int n)
{
    assert_true(m->n + n <= S_MAX_EVENTS);
    for (int i = 0; i < n; i++) {
        m->ev[m->n] = ev[i];
        memcpy(m->day[m->n], days[i], USAGE_DAY_LEN);
        m->n++;
    }
}

/* The rows the store must answer, summed here from the model. */
static void
s_brute(const s_model_t *m, const char *ws, const char *user, const char *start, const char *end,
        usage_group_t group, s_rows_t *out)
{
    out->n = 0;
    for (int i = 0; i < m->n; i++) {
        const usage_event_t *e = &m->ev[i];
        if (strcmp(e->ws, ws) != 0 || (user && strcmp(e->user, user) != 0) ||
            strcmp(m->day[i], start) < 0 || strcmp(m->day[i], end) > 0)
            continue;
        const char *key = group == USAGE_BY_DAY     ? m->day[i]
                          : group == USAGE_BY_TOKEN ? e->tok
                          : group == USAGE_BY_BOT   ? e->bot
                          : group == USAGE_BY_USER  ? e->user
                                                    : e->route;
        int k = 0;
        while (k < out->n && strcmp(out->rows[k].key, key) != 0)
            k++;
        if (k == out->n) {
            assert_true(out->n < (int)(sizeof out->rows / sizeof out->rows[0]));
            out->rows[out->n++] = (s_row_t){.c = {0}};
            snprintf(out->rows[k].key, sizeof out->rows[k].key, "%s", key);
        }
        usage_counts_t *c = &out->rows[k].c;
        c->requests += e->requests;
        c->messages += e->msgs;
        c->input_tokens += e->in;
        c->output_tokens += e->out;
        c->errors += e->errors;
    }
    /* the store's order: days oldest first, else most requests, then key */
    for (int i = 1; i < out->n; i++) {
        for (int j = i; j > 0; j--) {
            const s_row_t *a = &out->rows[j - 1], *b = &out->rows[j];
            int after = group == USAGE_BY_DAY            ? strcmp(a->key, b->key) > 0
                        : a->c.requests != b->c.requests ? a->c.requests < b->c.requests
                                                         : strcmp(a->key, b->key) > 0;
            if (!after)
                break;
            s_row_t t = out->rows[j - 1];
            out->rows[j - 1] = out->rows[j];
            out->rows[j] = t;
        }
    }
}

static void
s_collect_row(const char *key, const usage_counts_t *c, void *arg)
{
    s_rows_t *out = arg;
    if (out->n == (int)(sizeof out->rows / sizeof out->rows[0]))
        fail_msg("more rows than a query of the model can have");
    s_row_t *r = &out->rows[out->n++];
    snprintf(r->key, sizeof r->key, "%s", key);
    r->c = *c;
}

static void
s_expect_same(const char *what, const s_rows_t *got, const s_rows_t *want)
{
    char w[256];
    snprintf(w, sizeof w, "%s: rows", what);
    PGS_EXPECT_INT(w, got->n, want->n);
    for (int i = 0; i < got->n; i++) {
        const usage_counts_t *g = &got->rows[i].c, *x = &want->rows[i].c;
        snprintf(w, sizeof w, "%s: row %d key", what, i);
        PGS_EXPECT_STR(w, got->rows[i].key, want->rows[i].key);
        snprintf(w, sizeof w, "%s: row %d (%s) requests", what, i, want->rows[i].key);
        PGS_EXPECT_INT(w, g->requests, x->requests);
        snprintf(w, sizeof w, "%s: row %d (%s) messages", what, i, want->rows[i].key);
        PGS_EXPECT_INT(w, g->messages, x->messages);
        snprintf(w, sizeof w, "%s: row %d (%s) input_tokens", what, i, want->rows[i].key);
        PGS_EXPECT_INT(w, g->input_tokens, x->input_tokens);
        snprintf(w, sizeof w, "%s: row %d (%s) output_tokens", what, i, want->rows[i].key);
        PGS_EXPECT_INT(w, g->output_tokens, x->output_tokens);
        snprintf(w, sizeof w, "%s: row %d (%s) errors", what, i, want->rows[i].key);
        PGS_EXPECT_INT(w, g->errors, x->errors);
    }
}

/* Every range below, every grouping, the whole workspace and each user (one
 * without usage too): the store's rows are the model's. Returns how many
 * queries had rows (so that a model that misses its days is noticed). */
static int
s_check_queries(pgs_db_t *db, const s_model_t *m)
{
    static const struct {
        const char *start, *end;
    } ranges[] = {
        {"2025-11-01", "2025-11-30"}, /* a whole month */
        {"2025-12-01", "2026-01-31"}, /* whole months across a year */
        {"2025-10-15", "2026-02-14"}, /* partial months at both ends, across a year */
        {"2025-11-10", "2025-11-20"}, /* inside one month */
        {"2025-12-31", "2026-01-01"}, /* two partial months, across a year */
        {"2025-11-01", "2025-12-15"}, /* a whole month, then part of one */
        {"2025-10-20", "2025-11-30"}, /* part of a month, then a whole one */
        {"2025-11-30", "2025-12-01"}, /* the last and the first day of two months */
        {"2026-02-01", "2026-02-28"}, /* a whole February */
        {"2026-02-28", "2026-03-01"}, {"2024-02-01", "2024-02-29"}, /* a whole leap-year February */
        {"2024-02-28", "2024-03-02"}, {"2025-11-17", "2025-11-17"}, /* one day */
        {"2025-12-01", "2025-12-01"},                               /* a month's first day */
        {"2025-12-31", "2025-12-31"},                               /* a month's last day */
        {"2025-09-01", "2026-04-30"},                               /* every day of the events */
        {"2025-04-10", "2026-04-10"}, /* 366 days, as the longest query */
        {"2024-01-15", "2025-01-14"}, /* 366 days across a leap day */
        {"2027-01-01", "2027-01-31"}, /* nothing */
        {"2025-01-01", "2025-09-24"}, /* nothing, before the events */
    };
    static const usage_group_t groups[] = {USAGE_BY_DAY, USAGE_BY_TOKEN, USAGE_BY_BOT,
                                           USAGE_BY_USER, USAGE_BY_ROUTE};
    static const char *const names[] = {"day", "token", "bot", "user", "route"};
    const char *users[] = {NULL, "usr_1", "usr_2", "usr_3", "usr_9"};
    static s_rows_t got, want;
    int with_rows = 0;
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
            for (size_t u = 0; u < sizeof users / sizeof users[0]; u++) {
                char what[160];
                snprintf(what, sizeof what, "query(%s..%s, %s, %s)", ranges[r].start, ranges[r].end,
                         names[g], users[u] ? users[u] : "everyone");
                s_brute(m, "ws_A", users[u], ranges[r].start, ranges[r].end, groups[g], &want);
                got.n = 0;
                if (usage_store_query(db, "ws_A", users[u], ranges[r].start, ranges[r].end,
                                      groups[g], s_collect_row, &got) < 0)
                    fail_msg("%s failed", what);
                s_expect_same(what, &got, &want);
                with_rows += want.n > 0;
            }
        }
    }
    return with_rows;
}

static void
test_rollups(void **state)
{
    (void)state;
    char dir[64], path[128];
    pgs_db_t *db = s_open_fresh(dir, path);

    /* Events from 2025-09-25 to 2026-04-05, a few in February 2024, and
     * another workspace's on the same days; applied in batches of different
     * sizes, some delivered twice. */
    static s_model_t m;
    enum { BIG = 1100 }; /* more events than are summed in memory at once */
    static usage_event_t batch[BIG];
    static char days[BIG][USAGE_DAY_LEN];
    uint32_t r = 20261128;
    long first = s_days_of("2025-09-25"), leap = s_days_of("2024-02-20");
    int seq = 0, sizes[] = {1, 7, 64, 23, 50};
    m.n = 0;
    for (int b = 0; m.n < S_MAX_EVENTS - 64 - 40; b++) { /* room for 40 more */
        int n = b == 0 ? BIG : sizes[b % 5];
        for (int i = 0; i < n; i++) {
            int other = s_rand(&r) % 8 == 0;
            int in_leap = s_rand(&r) % 20 == 0;
            s_random_event(&r, ++seq, other ? "ws_B" : "ws_A", in_leap ? leap : first,
                           in_leap ? 14 : 193, &batch[i], days[i]);
        }
        char what[64];
        snprintf(what, sizeof what, "apply(batch %d of %d events)", b, n);
        PGS_EXPECT_INT(what, usage_store_apply(db, batch, n, 1000 + b), n);
        s_model_add(&m, batch, days, n);
        if (b % 7 == 3) { /* redelivered: counted once */
            snprintf(what, sizeof what, "apply(batch %d again)", b);
            PGS_EXPECT_INT(what, usage_store_apply(db, batch, n, 2000 + b), 0);
        }
    }
    int with_rows = s_check_queries(db, &m);
    /* most of the 20 ranges × 5 groupings × 5 users have rows */
    if (with_rows < 300)
        fail_msg("only %d queries had rows: the model misses its days", with_rows);

    /* A database of before the rollups: the migration fills them from
     * usage_daily (the rollups' migration is the last one). */
    sqlite3 *h = pgs_db_handle(db);
    assert_int_equal(sqlite3_exec(h, "DROP TABLE usage_day_sums; DROP TABLE usage_month_sums;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", version - 1);
    assert_int_equal(sqlite3_exec(h, pragma, NULL, NULL, NULL), SQLITE_OK);
    pgs_db_destroy(&db);
    db = usage_store_open(path);
    assert_non_null(db);
    PGS_EXPECT_INT("queries with rows after the migration", s_check_queries(db, &m), with_rows);

    /* and new events after it add to what it filled */
    for (int i = 0; i < 40; i++)
        s_random_event(&r, ++seq, "ws_A", first, 193, &batch[i], days[i]);
    PGS_EXPECT_INT("apply(40 events after the migration)", usage_store_apply(db, batch, 40, 9000),
                   40);
    s_model_add(&m, batch, days, 40);
    PGS_EXPECT_INT("apply(no events)", usage_store_apply(db, batch, 0, 9000), 0);
    s_check_queries(db, &m);

    /* An empty user is nobody, not the whole workspace. */
    static s_rows_t none;
    none.n = 0;
    assert_int_equal(usage_store_query(db, "ws_A", "", "2025-09-01", "2026-04-30", USAGE_BY_TOKEN,
                                       s_collect_row, &none),
                     0);
    PGS_EXPECT_INT("rows of the user \"\"", none.n, 0);

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
        cmocka_unit_test(test_rollups),
    };
    return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
