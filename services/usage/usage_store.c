/*
 * usage_store — see usage_store.h.
 */
#include "usage_store.h"
#include "pgs_idem.h"
#include "pgs_json.h"
#include "pgs_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const s_migrations[] = {
    "CREATE TABLE usage_daily("
    "  ws TEXT NOT NULL,"
    "  day TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  token_id TEXT NOT NULL,"
    "  bot_id TEXT NOT NULL,"
    "  route TEXT NOT NULL,"
    "  requests INTEGER NOT NULL DEFAULT 0,"
    "  messages INTEGER NOT NULL DEFAULT 0,"
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"
    "  errors INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (ws, day, user_id, token_id, bot_id, route)) WITHOUT ROWID;"
    "CREATE TABLE usage_seen("
    "  event_id TEXT PRIMARY KEY,"
    "  seen_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX usage_seen_at ON usage_seen(seen_at);"
    "CREATE TABLE usage_reports("
    "  id TEXT PRIMARY KEY,"
    "  ws TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL CHECK (scope IN ('workspace','user')),"
    "  kind TEXT NOT NULL CHECK (kind IN ('requested','monthly')),"
    "  start TEXT NOT NULL,"
    "  end TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending','ready','failed')),"
    "  rows TEXT,"
    "  totals TEXT,"
    "  error TEXT,"
    "  claimed_by TEXT,"
    "  claimed_at INTEGER,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX usage_reports_ws ON usage_reports(ws, created_at, id);"
    "CREATE INDEX usage_reports_pending ON usage_reports(status, created_at);"
    "CREATE UNIQUE INDEX usage_reports_monthly ON usage_reports(ws, start) "
    "  WHERE kind = 'monthly';",
    PGS_IDEM_MIGRATION,
    PGS_IDEM_MIGRATION_META,
    PGS_IDEM_MIGRATION_ROUTE,
};

pgs_db_t *
usage_store_open(const char *path)
{
    return pgs_db_open(path, s_migrations, (int)(sizeof s_migrations / sizeof *s_migrations), 1);
}

static void
s_day(int64_t ms, char out[USAGE_DAY_LEN])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, USAGE_DAY_LEN, "%Y-%m-%d", &tm);
}

static const char S_SQL_SEEN[] =
    "INSERT OR IGNORE INTO usage_seen(event_id, seen_at) VALUES (?1, ?2)";
static const char S_SQL_ADD[] =
    "INSERT INTO usage_daily(ws, day, user_id, token_id, bot_id, route, requests, messages,"
    " input_tokens, output_tokens, errors) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT (ws, day, user_id, token_id, bot_id, route) DO UPDATE SET"
    " requests = requests + excluded.requests, messages = messages + excluded.messages,"
    " input_tokens = input_tokens + excluded.input_tokens,"
    " output_tokens = output_tokens + excluded.output_tokens, errors = errors + excluded.errors";

/* The new events of a batch summed per row of usage_daily before they are
 * written: a batch is mostly a few tokens on a few routes, so this saves
 * most of the writes. */
#define S_AGG_MAX 64
typedef struct {
    const usage_event_t *e; /* the first event of the row (its names) */
    char day[USAGE_DAY_LEN];
    usage_counts_t c;
} s_agg_t;

static int
s_agg_same(const s_agg_t *a, const usage_event_t *e, const char *day)
{
    return strcmp(a->day, day) == 0 && strcmp(a->e->tok, e->tok) == 0 &&
           strcmp(a->e->route, e->route) == 0 && strcmp(a->e->bot, e->bot) == 0 &&
           strcmp(a->e->user, e->user) == 0 && strcmp(a->e->ws, e->ws) == 0;
}

static int
s_agg_write(pgs_db_t *db, sqlite3_stmt *add, const s_agg_t *a)
{
    pgs_db_bind_text(add, 1, a->e->ws);
    pgs_db_bind_text(add, 2, a->day);
    pgs_db_bind_text(add, 3, a->e->user);
    pgs_db_bind_text(add, 4, a->e->tok);
    pgs_db_bind_text(add, 5, a->e->bot);
    pgs_db_bind_text(add, 6, a->e->route);
    sqlite3_bind_int64(add, 7, a->c.requests);
    sqlite3_bind_int64(add, 8, a->c.messages);
    sqlite3_bind_int64(add, 9, a->c.input_tokens);
    sqlite3_bind_int64(add, 10, a->c.output_tokens);
    sqlite3_bind_int64(add, 11, a->c.errors);
    return pgs_db_step_done(db, add, "usage.db add");
}

int
usage_store_apply(pgs_db_t *db, const usage_event_t *ev, int n, int64_t now_ms)
{
    sqlite3_stmt *seen = pgs_db_stmt(db, S_SQL_SEEN);
    sqlite3_stmt *add = pgs_db_stmt(db, S_SQL_ADD);
    if (!seen || !add || pgs_db_begin(db) < 0)
        return -1;
    s_agg_t agg[S_AGG_MAX];
    int nagg = 0, fresh = 0;
    for (int i = 0; i < n; i++) {
        const usage_event_t *e = &ev[i];
        pgs_db_bind_text(seen, 1, e->key[0] ? e->key : e->id);
        sqlite3_bind_int64(seen, 2, now_ms);
        if (pgs_db_step_done(db, seen, "usage.db seen") < 0)
            goto fail;
        if (sqlite3_changes(pgs_db_handle(db)) == 0)
            continue; /* counted before */
        fresh++;
        char day[USAGE_DAY_LEN];
        s_day(e->ts_ms, day);
        int k = 0;
        while (k < nagg && !s_agg_same(&agg[k], e, day))
            k++;
        if (k == nagg) {
            if (nagg == S_AGG_MAX) {
                for (k = 0; k < nagg; k++)
                    if (s_agg_write(db, add, &agg[k]) < 0)
                        goto fail;
                nagg = k = 0;
            }
            agg[k] = (s_agg_t){.e = e};
            memcpy(agg[k].day, day, sizeof day);
            nagg++;
        }
        usage_counts_t *c = &agg[k].c;
        c->requests += e->requests;
        c->messages += e->msgs;
        c->input_tokens += e->in;
        c->output_tokens += e->out;
        c->errors += e->errors;
    }
    for (int k = 0; k < nagg; k++)
        if (s_agg_write(db, add, &agg[k]) < 0)
            goto fail;
    if (pgs_db_commit(db) < 0)
        goto fail;
    return fresh;
fail:
    pgs_db_rollback(db);
    return -1;
}

void
usage_store_prune_seen(pgs_db_t *db, int64_t before_ms, int max)
{
    static const char sql[] = "DELETE FROM usage_seen WHERE event_id IN (SELECT event_id FROM"
                              " usage_seen WHERE seen_at < ?1 ORDER BY seen_at LIMIT ?2)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, max);
    pgs_db_step_done(db, st, "usage.db prune seen");
}

/* One statement per grouping (the statement cache is keyed by the text's
 * address); the column names come from this table, never from input. */
#define S_SUMS                                                                                     \
    " SUM(requests), SUM(messages), SUM(input_tokens), SUM(output_tokens), SUM(errors)"            \
    " FROM usage_daily WHERE ws = ?1 AND day >= ?2 AND day <= ?3"                                  \
    " AND (?4 IS NULL OR user_id = ?4) GROUP BY 1"
static const char *const s_group_sql[] = {
    [USAGE_BY_DAY] = "SELECT day," S_SUMS " ORDER BY 1",
    [USAGE_BY_TOKEN] = "SELECT token_id," S_SUMS " ORDER BY 2 DESC, 1",
    [USAGE_BY_BOT] = "SELECT bot_id," S_SUMS " ORDER BY 2 DESC, 1",
    [USAGE_BY_USER] = "SELECT user_id," S_SUMS " ORDER BY 2 DESC, 1",
    [USAGE_BY_ROUTE] = "SELECT route," S_SUMS " ORDER BY 2 DESC, 1",
};

int
usage_store_query(pgs_db_t *db, const char *ws, const char *user, const char *start,
                  const char *end, usage_group_t group,
                  void (*fn)(const char *key, const usage_counts_t *c, void *arg), void *arg)
{
    sqlite3_stmt *st = pgs_db_stmt(db, s_group_sql[group]);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, start);
    pgs_db_bind_text(st, 3, end);
    if (user)
        pgs_db_bind_text(st, 4, user);
    else
        sqlite3_bind_null(st, 4);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        usage_counts_t c = {sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
                            sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
                            sqlite3_column_int64(st, 5)};
        fn(pgs_db_col_text(st, 0), &c, arg);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_warn("usage.db query: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return 0;
}

/* ---- reports ---- */

#define S_REPORT_COLS                                                                              \
    "id, ws, user_id, scope, kind, start, end, status, rows, totals, error, created_at"

void
usage_report_clear(usage_report_t *r)
{
    json_decref(r->rows);
    json_decref(r->totals);
    r->rows = r->totals = NULL;
}

static json_t *
s_json_col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? json_loads(s, 0, NULL) : NULL;
}

static void
s_report_row(sqlite3_stmt *st, usage_report_t *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", pgs_db_col_text(st, 0));
    snprintf(r->ws, sizeof r->ws, "%s", pgs_db_col_text(st, 1));
    snprintf(r->user, sizeof r->user, "%s", pgs_db_col_text(st, 2));
    snprintf(r->scope, sizeof r->scope, "%s", pgs_db_col_text(st, 3));
    snprintf(r->kind, sizeof r->kind, "%s", pgs_db_col_text(st, 4));
    snprintf(r->start, sizeof r->start, "%s", pgs_db_col_text(st, 5));
    snprintf(r->end, sizeof r->end, "%s", pgs_db_col_text(st, 6));
    snprintf(r->status, sizeof r->status, "%s", pgs_db_col_text(st, 7));
    r->rows = s_json_col(st, 8);
    r->totals = s_json_col(st, 9);
    snprintf(r->error, sizeof r->error, "%s", pgs_db_col_text(st, 10));
    r->created_ms = sqlite3_column_int64(st, 11);
}

/* Steps st for at most one report. 1, 0 or -1. */
static int
s_report_one(pgs_db_t *db, sqlite3_stmt *st, usage_report_t *out)
{
    int found = pgs_db_step_row(db, st, "usage.db report");
    if (found == 1) {
        s_report_row(st, out);
        sqlite3_reset(st);
    }
    return found;
}

int
usage_store_report_insert(pgs_db_t *db, const usage_report_t *r)
{
    static const char sql[] =
        "INSERT INTO usage_reports(id, ws, user_id, scope, kind, start, end, status, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, r->id);
    pgs_db_bind_text(st, 2, r->ws);
    pgs_db_bind_text(st, 3, r->user);
    pgs_db_bind_text(st, 4, r->scope);
    pgs_db_bind_text(st, 5, r->kind);
    pgs_db_bind_text(st, 6, r->start);
    pgs_db_bind_text(st, 7, r->end);
    sqlite3_bind_int64(st, 8, r->created_ms);
    return pgs_db_step_done(db, st, "usage.db report insert");
}

int
usage_store_report_same(pgs_db_t *db, const usage_report_t *like, usage_report_t *out)
{
    static const char sql[] =
        "SELECT " S_REPORT_COLS " FROM usage_reports WHERE ws = ?1 AND user_id = ?2"
        " AND scope = ?3 AND kind = 'requested' AND start = ?4 AND end = ?5"
        " AND (status = 'pending' OR (status = 'ready'"
        "      AND end < date(created_at / 1000, 'unixepoch')))"
        " ORDER BY created_at DESC LIMIT 1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, like->ws);
    pgs_db_bind_text(st, 2, like->user);
    pgs_db_bind_text(st, 3, like->scope);
    pgs_db_bind_text(st, 4, like->start);
    pgs_db_bind_text(st, 5, like->end);
    return s_report_one(db, st, out);
}

long long
usage_store_report_count_since(pgs_db_t *db, const char *ws, int64_t since_ms)
{
    static const char sql[] = "SELECT count(*) FROM usage_reports WHERE ws = ?1"
                              " AND kind = 'requested' AND created_at >= ?2";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    sqlite3_bind_int64(st, 2, since_ms);
    long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    return n;
}

int
usage_store_report_expire(pgs_db_t *db, int64_t before_ms, int max_rows)
{
    static const char sql[] =
        "DELETE FROM usage_reports WHERE id IN (SELECT id FROM usage_reports"
        " WHERE kind = 'requested' AND created_at < ?1 LIMIT ?2)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, max_rows);
    if (pgs_db_step_done(db, st, "usage.db report expiry") < 0)
        return -1;
    return sqlite3_changes(pgs_db_handle(db));
}

int
usage_store_report_get(pgs_db_t *db, const char *ws, const char *id, usage_report_t *out)
{
    static const char sql[] =
        "SELECT " S_REPORT_COLS " FROM usage_reports WHERE id = ?1 AND ws = ?2";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    pgs_db_bind_text(st, 2, ws);
    return s_report_one(db, st, out);
}

int
usage_store_report_monthly(pgs_db_t *db, const char *ws, const char *start, usage_report_t *out)
{
    static const char sql[] = "SELECT " S_REPORT_COLS " FROM usage_reports"
                              " WHERE ws = ?1 AND start = ?2 AND kind = 'monthly'";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, start);
    return s_report_one(db, st, out);
}

int
usage_store_report_list(pgs_db_t *db, const char *ws, const char *user, int has_after,
                        int64_t after_ms, const char *after_id, int limit,
                        void (*fn)(const usage_report_t *r, void *arg), void *arg)
{
    static const char sql[] = "SELECT " S_REPORT_COLS " FROM usage_reports WHERE ws = ?1"
                              " AND (?2 IS NULL OR user_id = ?2)"
                              " AND (?3 = 0 OR created_at < ?4 OR (created_at = ?4 AND id < ?5))"
                              " ORDER BY created_at DESC, id DESC LIMIT ?6";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    if (user)
        pgs_db_bind_text(st, 2, user);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, has_after);
    sqlite3_bind_int64(st, 4, after_ms);
    pgs_db_bind_text(st, 5, after_id ? after_id : "");
    sqlite3_bind_int(st, 6, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        usage_report_t r;
        s_report_row(st, &r);
        fn(&r, arg);
        usage_report_clear(&r);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_warn("usage.db report list: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return 0;
}

int
usage_store_report_claim(pgs_db_t *db, const char *claimer, int64_t now_ms, int64_t stale_ms,
                         usage_report_t *out)
{
    static const char sql[] =
        "UPDATE usage_reports SET claimed_by = ?1, claimed_at = ?2 WHERE id = ("
        " SELECT id FROM usage_reports WHERE status = 'pending'"
        " AND (claimed_by IS NULL OR claimed_at < ?3) ORDER BY created_at, id LIMIT 1)"
        " RETURNING " S_REPORT_COLS;
    /* Every tick of every process asks: a read first, so that the write
     * lock is taken only when there is something to claim. */
    static const char any[] = "SELECT 1 FROM usage_reports WHERE status = 'pending'"
                              " AND (claimed_by IS NULL OR claimed_at < ?1) LIMIT 1";
    sqlite3_stmt *st = pgs_db_stmt(db, any);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now_ms - stale_ms);
    int pending = pgs_db_step_row(db, st, "usage.db pending reports");
    if (pending == 1)
        sqlite3_reset(st);
    if (pending <= 0)
        return pending;
    st = pgs_db_stmt(db, sql);
    if (!st || pgs_db_begin(db) < 0)
        return -1;
    pgs_db_bind_text(st, 1, claimer);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, now_ms - stale_ms);
    int rc = s_report_one(db, st, out);
    if (rc < 0 || pgs_db_commit(db) < 0) {
        pgs_db_rollback(db);
        if (rc == 1)
            usage_report_clear(out);
        return -1;
    }
    return rc;
}

int
usage_store_report_finish(pgs_db_t *db, const char *id, const char *status, json_t *rows,
                          json_t *totals, const char *error)
{
    static const char sql[] = "UPDATE usage_reports SET status = ?2, rows = ?3, totals = ?4,"
                              " error = ?5, claimed_by = NULL WHERE id = ?1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    char *r = rows ? pgs_json_dump(rows) : NULL;
    char *t = totals ? pgs_json_dump(totals) : NULL;
    pgs_db_bind_text(st, 1, id);
    pgs_db_bind_text(st, 2, status);
    if (r)
        pgs_db_bind_text(st, 3, r);
    else
        sqlite3_bind_null(st, 3);
    if (t)
        pgs_db_bind_text(st, 4, t);
    else
        sqlite3_bind_null(st, 4);
    if (error)
        pgs_db_bind_text(st, 5, error);
    else
        sqlite3_bind_null(st, 5);
    int rc = pgs_db_step_done(db, st, "usage.db report finish");
    free(r);
    free(t);
    return rc;
}

int
usage_store_report_monthly_due(pgs_db_t *db, const char *start, const char *end, int64_t now_ms)
{
    /* The ids need the random part of pgs_id_new: SQLite only finds the
     * workspaces, the inserts are made one by one. */
    static const char sql[] =
        "SELECT DISTINCT ws FROM usage_daily WHERE day >= ?1 AND day <= ?2 AND ws NOT IN"
        " (SELECT ws FROM usage_reports WHERE kind = 'monthly' AND start = ?1) LIMIT 100";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st || pgs_db_begin(db) < 0)
        return -1;
    pgs_db_bind_text(st, 1, start);
    pgs_db_bind_text(st, 2, end);
    char ws[100][PGS_ID_MAX];
    int n = 0;
    while (n < 100 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(ws[n++], PGS_ID_MAX, "%.31s", pgs_db_col_text(st, 0));
    sqlite3_reset(st);
    for (int i = 0; i < n; i++) {
        usage_report_t r = {.created_ms = now_ms};
        pgs_id_new("rep", r.id);
        memcpy(r.ws, ws[i], sizeof r.ws);
        snprintf(r.scope, sizeof r.scope, "workspace");
        snprintf(r.kind, sizeof r.kind, "monthly");
        snprintf(r.start, sizeof r.start, "%s", start);
        snprintf(r.end, sizeof r.end, "%s", end);
        if (usage_store_report_insert(db, &r) < 0) {
            pgs_db_rollback(db);
            return -1;
        }
    }
    if (pgs_db_commit(db) < 0) {
        pgs_db_rollback(db);
        return -1;
    }
    return n;
}
