/*
 * usage_store — usage.db: the daily aggregates and their rollups, the ids
 * of the events already counted, and the usage reports (docs/internals.md,
 * "Usage analytics").
 *
 * usage_daily holds one row per (workspace, UTC day, user, token, bot,
 * route) with the sums of its events: the truth, which queries do not read.
 * They read the rollups, the same sums by grouping: usage_day_sums a row
 * per (workspace, group_by, user_id, day, group_key) and usage_month_sums
 * the same per month ("YYYY-MM"), where group_by is a grouping ("day",
 * "token", "bot", "user", "route"; "day" in usage_day_sums only), group_key
 * the group's key (token id, bot id or "" for no bot, user id, route; ""
 * for "day") and user_id the user whose rows they are, or "" for the whole
 * workspace's. An event is counted by usage_store_apply only if its stream
 * id is new to usage_seen, in the same transaction as all the sums it adds
 * to: a redelivered event is never counted twice, and the rollups always
 * say what usage_daily says.
 */
#ifndef USAGE_STORE_H
#define USAGE_STORE_H

#include "pgs_db.h"
#include "pgs_id.h"

#include <jansson.h>
#include <stdint.h>

#define USAGE_DAY_LEN 11 /* "2026-11-28" + NUL */

/* One entry of the pgs:usage stream: the sums of `requests` requests of
 * one token, route and bot on one day. */
typedef struct {
    char id[48];  /* the stream entry id */
    char key[48]; /* what it is counted once by: the edge's event id, else id */
    int64_t ts_ms;
    char ws[PGS_ID_MAX], user[PGS_ID_MAX], tok[PGS_ID_MAX], bot[PGS_ID_MAX];
    char route[96];
    long long requests, errors, msgs, in, out;
} usage_event_t;

typedef struct {
    long long requests, messages, input_tokens, output_tokens, errors;
} usage_counts_t;

/* How a query groups its rows. */
typedef enum {
    USAGE_BY_DAY = 0,
    USAGE_BY_TOKEN,
    USAGE_BY_BOT,
    USAGE_BY_USER,
    USAGE_BY_ROUTE,
} usage_group_t;

pgs_db_t *usage_store_open(const char *path);

/* Counts the events that are new, in one transaction: each adds to its row
 * of usage_daily and to 18 rows of the rollups (its day's and month's, its
 * user's and the workspace's, of each grouping). Events have a ws, user,
 * token and route (usage_consume skips the others). Returns how many were
 * new, or -1 (nothing was written). */
int usage_store_apply(pgs_db_t *db, const usage_event_t *ev, int n, int64_t now_ms);

/* Forgets up to max ids counted before before_ms. */
void usage_store_prune_seen(pgs_db_t *db, int64_t before_ms, int max);

/* Calls fn for each group of ws's usage between the days start and end
 * ("YYYY-MM-DD", inclusive), of one user only when user is not NULL (an
 * empty user has none); most requests first, then key (days: oldest first,
 * the days without requests left out). key is "" for requests without a
 * bot. Reads the rollups: the whole months of the range by month, the
 * days of the months it covers in part by day. 0 or -1. */
int usage_store_query(pgs_db_t *db, const char *ws, const char *user, const char *start,
                      const char *end, usage_group_t group,
                      void (*fn)(const char *key, const usage_counts_t *c, void *arg), void *arg);

/* ---- reports ---- */

typedef struct {
    char id[PGS_ID_MAX];
    char ws[PGS_ID_MAX];
    char user[PGS_ID_MAX]; /* who asked ("" for a monthly report) */
    char scope[16];        /* workspace | user */
    char kind[16];         /* requested | monthly */
    char start[USAGE_DAY_LEN], end[USAGE_DAY_LEN];
    char status[16]; /* pending | ready | failed */
    int64_t created_ms;
    json_t *rows, *totals; /* owned; NULL until ready */
    char error[160];
} usage_report_t;

void usage_report_clear(usage_report_t *r);

/* Inserts r (status pending). Inside the caller's transaction. 0 or -1. */
int usage_store_report_insert(pgs_db_t *db, const usage_report_t *r);

/* The newest requested report of ws by user with this scope and range that
 * is pending, or ready with a range that had ended (UTC) when it was made —
 * a ready report of a range still open then is a snapshot, not the same
 * report: 1 (out filled), 0 (none) or -1. */
int usage_store_report_same(pgs_db_t *db, const usage_report_t *like, usage_report_t *out);

/* Requested reports of ws created at or after since_ms, or -1. */
long long usage_store_report_count_since(pgs_db_t *db, const char *ws, int64_t since_ms);

/* Deletes requested reports created before before_ms (at most max_rows).
 * Returns how many, or -1. Monthly reports are kept. */
int usage_store_report_expire(pgs_db_t *db, int64_t before_ms, int max_rows);

/* The report id of ws, 1 (out filled), 0 (none) or -1. */
int usage_store_report_get(pgs_db_t *db, const char *ws, const char *id, usage_report_t *out);

/* The monthly report of ws starting on start, as usage_store_report_get. */
int usage_store_report_monthly(pgs_db_t *db, const char *ws, const char *start,
                               usage_report_t *out);

/* Lists ws's reports newest first (of one requester when user is not NULL),
 * after the cursor (created_ms, id) when has_after, at most limit. */
int usage_store_report_list(pgs_db_t *db, const char *ws, const char *user, int has_after,
                            int64_t after_ms, const char *after_id, int limit,
                            void (*fn)(const usage_report_t *r, void *arg), void *arg);

/* Claims the oldest pending report nobody works on (or whose worker went
 * quiet for stale_ms) for claimer. 1 (out filled), 0 (none), -1. */
int usage_store_report_claim(pgs_db_t *db, const char *claimer, int64_t now_ms, int64_t stale_ms,
                             usage_report_t *out);

/* Stores the outcome of a claimed report: rows and totals (borrowed) for
 * ready, error for failed. 0 or -1. */
int usage_store_report_finish(pgs_db_t *db, const char *id, const char *status, json_t *rows,
                              json_t *totals, const char *error);

/* Creates the pending monthly reports of the month [start, end] for every
 * workspace with usage in it and no monthly report yet. Returns how many. */
int usage_store_report_monthly_due(pgs_db_t *db, const char *start, const char *end,
                                   int64_t now_ms);

#endif
