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

/* The five sums every aggregate row carries, and how an upsert adds to
 * them. */
#define S_SUM_COLS "requests, messages, input_tokens, output_tokens, errors"
#define S_SUMS "SUM(requests), SUM(messages), SUM(input_tokens), SUM(output_tokens), SUM(errors)"
#define S_ADD_SUMS                                                                                 \
    " DO UPDATE SET requests = requests + excluded.requests,"                                      \
    " messages = messages + excluded.messages,"                                                    \
    " input_tokens = input_tokens + excluded.input_tokens,"                                        \
    " output_tokens = output_tokens + excluded.output_tokens, errors = errors + excluded.errors"

/* The rollups (usage_store.h): a row per (ws, grouping, user or '' for the
 * whole workspace, day or month, key of the group). */
#define S_SUMS_TABLE(table, period_col)                                                            \
    "CREATE TABLE " table "("                                                                      \
    "  ws TEXT NOT NULL,"                                                                          \
    "  group_by TEXT NOT NULL,"                                                                    \
    "  user_id TEXT NOT NULL,"                                                                     \
    "  " period_col " TEXT NOT NULL,"                                                              \
    "  group_key TEXT NOT NULL,"                                                                   \
    "  requests INTEGER NOT NULL DEFAULT 0,"                                                       \
    "  messages INTEGER NOT NULL DEFAULT 0,"                                                       \
    "  input_tokens INTEGER NOT NULL DEFAULT 0,"                                                   \
    "  output_tokens INTEGER NOT NULL DEFAULT 0,"                                                  \
    "  errors INTEGER NOT NULL DEFAULT 0,"                                                         \
    "  PRIMARY KEY (ws, group_by, user_id, " period_col ", group_key)) WITHOUT ROWID;"
#define S_INTO_SUMS(table, period_col)                                                             \
    "INSERT INTO " table "(ws, group_by, user_id, " period_col ", group_key, " S_SUM_COLS ")"

/* The migration of the rollups: the tables, filled from usage_daily, each
 * from the smallest table that has it — a user's day rows from usage_daily
 * (by token and by day in the order of its key, without a sort), the whole
 * workspace's from its users' rows, the months from the days: 8 s for
 * 255,000 rows of usage_daily, a third of the time of summing usage_daily
 * for every rollup. */
#define S_INTO_DAY_SUMS S_INTO_SUMS("usage_day_sums", "day")
#define S_INTO_MONTH_SUMS S_INTO_SUMS("usage_month_sums", "month")
static const char S_SQL_SUMS_MIGRATION[] =
    S_SUMS_TABLE("usage_day_sums", "day") S_SUMS_TABLE("usage_month_sums", "month") S_INTO_DAY_SUMS
    " SELECT ws, 'token', user_id, day, token_id, " S_SUMS
    " FROM usage_daily GROUP BY ws, day, user_id, token_id;" S_INTO_DAY_SUMS
    " SELECT ws, 'day', user_id, day, '', " S_SUMS
    " FROM usage_daily GROUP BY ws, day, user_id;" S_INTO_DAY_SUMS
    " SELECT ws, 'bot', user_id, day, bot_id, " S_SUMS
    " FROM usage_daily GROUP BY ws, day, user_id, bot_id;" S_INTO_DAY_SUMS
    " SELECT ws, 'route', user_id, day, route, " S_SUMS
    " FROM usage_daily GROUP BY ws, day, user_id, route;" S_INTO_DAY_SUMS
    " SELECT ws, 'user', user_id, day, user_id, " S_SUM_COLS
    " FROM usage_day_sums WHERE group_by = 'day';" S_INTO_DAY_SUMS
    " SELECT ws, group_by, '', day, group_key, " S_SUMS
    " FROM usage_day_sums GROUP BY ws, group_by, day, group_key;" S_INTO_MONTH_SUMS
    " SELECT ws, group_by, user_id, substr(day, 1, 7), group_key, " S_SUMS
    " FROM usage_day_sums WHERE group_by <> 'day' GROUP BY 1, 2, 3, 4, 5;";

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
    S_SQL_SUMS_MIGRATION,
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
    "INSERT INTO usage_daily(ws, day, user_id, token_id, bot_id, route, " S_SUM_COLS ")"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT (ws, day, user_id, token_id, bot_id, route)" S_ADD_SUMS;
#define S_SQL_ADD_SUMS(table, period_col)                                                          \
    S_INTO_SUMS(table, period_col)                                                                 \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"                                            \
    " ON CONFLICT (ws, group_by, user_id, " period_col ", group_key)" S_ADD_SUMS
static const char S_SQL_ADD_DAY[] = S_SQL_ADD_SUMS("usage_day_sums", "day");
static const char S_SQL_ADD_MONTH[] = S_SQL_ADD_SUMS("usage_month_sums", "month");

/* The rollup rows every event adds to, besides its row of usage_daily. */
typedef struct {
    int month;           /* usage_month_sums, else usage_day_sums */
    usage_group_t group; /* group_by */
    int own;             /* its user's row, else the whole workspace's */
} s_rollup_t;
static const s_rollup_t s_rollups[] = {
    {0, USAGE_BY_DAY, 0},   {0, USAGE_BY_DAY, 1},   {0, USAGE_BY_TOKEN, 0}, {0, USAGE_BY_TOKEN, 1},
    {0, USAGE_BY_BOT, 0},   {0, USAGE_BY_BOT, 1},   {0, USAGE_BY_USER, 0},  {0, USAGE_BY_USER, 1},
    {0, USAGE_BY_ROUTE, 0}, {0, USAGE_BY_ROUTE, 1}, {1, USAGE_BY_TOKEN, 0}, {1, USAGE_BY_TOKEN, 1},
    {1, USAGE_BY_BOT, 0},   {1, USAGE_BY_BOT, 1},   {1, USAGE_BY_USER, 0},  {1, USAGE_BY_USER, 1},
    {1, USAGE_BY_ROUTE, 0}, {1, USAGE_BY_ROUTE, 1},
};
#define S_NROLLUPS ((int)(sizeof s_rollups / sizeof s_rollups[0]))
#define S_DAILY (-1) /* a row's rollup: usage_daily itself */

/* The rollups' name of each grouping (group_by). */
static const char *const s_group_by[] = {
    [USAGE_BY_DAY] = "day",   [USAGE_BY_TOKEN] = "token", [USAGE_BY_BOT] = "bot",
    [USAGE_BY_USER] = "user", [USAGE_BY_ROUTE] = "route",
};

static const char *
s_group_key(const usage_event_t *e, usage_group_t group)
{
    switch (group) {
    case USAGE_BY_TOKEN:
        return e->tok;
    case USAGE_BY_BOT:
        return e->bot;
    case USAGE_BY_USER:
        return e->user;
    case USAGE_BY_ROUTE:
        return e->route;
    default:
        return ""; /* the day is the period */
    }
}

/* The new events of a batch summed per row of usage_daily and of the
 * rollups before they are written: a batch is mostly a few tokens on a few
 * routes, and each event adds to 19 rows, so this saves most of the writes.
 * A hash table (linear probing, at most half full) of the rows of up to
 * S_CHUNK events; a longer batch is written a chunk at a time. */
#define S_CHUNK 512
typedef struct {
    const usage_event_t *e; /* the first event of the row (its names) */
    int rollup;             /* index in s_rollups, or S_DAILY */
    char day[USAGE_DAY_LEN];
    usage_counts_t c;
} s_row_t;
typedef struct {
    s_row_t *rows;
    int nrows;
    int *slot; /* row index + 1, 0 free */
    uint32_t mask;
} s_sums_t;

/* Room for the rows of events events (at most S_CHUNK). 0 or -1. */
static int
s_sums_init(s_sums_t *t, int events)
{
    int max = (events < 1 ? 1 : events < S_CHUNK ? events : S_CHUNK) * (S_NROLLUPS + 1);
    uint32_t slots = 64;
    while (slots < 2u * (uint32_t)max)
        slots *= 2;
    *t = (s_sums_t){.rows = calloc((size_t)max, sizeof *t->rows),
                    .slot = calloc(slots, sizeof *t->slot),
                    .mask = slots - 1};
    return t->rows && t->slot ? 0 : -1;
}

static void
s_sums_free(s_sums_t *t)
{
    free(t->rows);
    free(t->slot);
}

static uint32_t
s_hash(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u; /* FNV-1a */
    return (h ^ 0x1f) * 16777619u;                 /* a separator: "ab","c" is not "a","bc" */
}

static uint32_t
s_row_hash(int rollup, const usage_event_t *e, const char *day)
{
    uint32_t h = 2166136261u ^ (uint32_t)(rollup + 1);
    h = s_hash(h, e->ws, sizeof e->ws);
    if (rollup == S_DAILY) {
        h = s_hash(h, day, USAGE_DAY_LEN);
        h = s_hash(h, e->user, sizeof e->user);
        h = s_hash(h, e->tok, sizeof e->tok);
        h = s_hash(h, e->bot, sizeof e->bot);
        return s_hash(h, e->route, sizeof e->route);
    }
    const s_rollup_t *r = &s_rollups[rollup];
    h = s_hash(h, day, r->month ? 7 : USAGE_DAY_LEN);
    if (r->own)
        h = s_hash(h, e->user, sizeof e->user);
    return s_hash(h, s_group_key(e, r->group), 96);
}

static int
s_row_is(const s_row_t *a, int rollup, const usage_event_t *e, const char *day)
{
    if (a->rollup != rollup || strcmp(a->e->ws, e->ws) != 0)
        return 0;
    if (rollup == S_DAILY)
        return strcmp(a->day, day) == 0 && strcmp(a->e->user, e->user) == 0 &&
               strcmp(a->e->tok, e->tok) == 0 && strcmp(a->e->bot, e->bot) == 0 &&
               strcmp(a->e->route, e->route) == 0;
    const s_rollup_t *r = &s_rollups[rollup];
    return strncmp(a->day, day, r->month ? 7 : USAGE_DAY_LEN) == 0 &&
           (!r->own || strcmp(a->e->user, e->user) == 0) &&
           strcmp(s_group_key(a->e, r->group), s_group_key(e, r->group)) == 0;
}

static void
s_sums_add(s_sums_t *t, int rollup, const usage_event_t *e, const char *day)
{
    uint32_t i = s_row_hash(rollup, e, day) & t->mask;
    while (t->slot[i] && !s_row_is(&t->rows[t->slot[i] - 1], rollup, e, day))
        i = (i + 1) & t->mask;
    if (!t->slot[i]) {
        s_row_t *r = &t->rows[t->nrows];
        *r = (s_row_t){.e = e, .rollup = rollup};
        memcpy(r->day, day, USAGE_DAY_LEN);
        t->slot[i] = ++t->nrows;
    }
    usage_counts_t *c = &t->rows[t->slot[i] - 1].c;
    c->requests += e->requests;
    c->messages += e->msgs;
    c->input_tokens += e->in;
    c->output_tokens += e->out;
    c->errors += e->errors;
}

static void
s_bind_counts(sqlite3_stmt *st, int first, const usage_counts_t *c)
{
    sqlite3_bind_int64(st, first, c->requests);
    sqlite3_bind_int64(st, first + 1, c->messages);
    sqlite3_bind_int64(st, first + 2, c->input_tokens);
    sqlite3_bind_int64(st, first + 3, c->output_tokens);
    sqlite3_bind_int64(st, first + 4, c->errors);
}

static int
s_row_write(pgs_db_t *db, const s_row_t *a)
{
    const usage_event_t *e = a->e;
    if (a->rollup == S_DAILY) {
        sqlite3_stmt *st = pgs_db_stmt(db, S_SQL_ADD);
        if (!st)
            return -1;
        pgs_db_bind_text(st, 1, e->ws);
        pgs_db_bind_text(st, 2, a->day);
        pgs_db_bind_text(st, 3, e->user);
        pgs_db_bind_text(st, 4, e->tok);
        pgs_db_bind_text(st, 5, e->bot);
        pgs_db_bind_text(st, 6, e->route);
        s_bind_counts(st, 7, &a->c);
        return pgs_db_step_done(db, st, "usage.db add");
    }
    const s_rollup_t *r = &s_rollups[a->rollup];
    sqlite3_stmt *st = pgs_db_stmt(db, r->month ? S_SQL_ADD_MONTH : S_SQL_ADD_DAY);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, e->ws);
    pgs_db_bind_text(st, 2, s_group_by[r->group]);
    pgs_db_bind_text(st, 3, r->own ? e->user : "");
    sqlite3_bind_text(st, 4, a->day, r->month ? 7 : USAGE_DAY_LEN - 1, SQLITE_TRANSIENT);
    pgs_db_bind_text(st, 5, s_group_key(e, r->group));
    s_bind_counts(st, 6, &a->c);
    return pgs_db_step_done(db, st, "usage.db add sums");
}

/* Writes t's rows and empties it. 0 or -1. */
static int
s_sums_write(pgs_db_t *db, s_sums_t *t)
{
    for (int i = 0; i < t->nrows; i++)
        if (s_row_write(db, &t->rows[i]) < 0)
            return -1;
    t->nrows = 0;
    memset(t->slot, 0, (t->mask + 1) * sizeof *t->slot);
    return 0;
}

int
usage_store_apply(pgs_db_t *db, const usage_event_t *ev, int n, int64_t now_ms)
{
    sqlite3_stmt *seen = pgs_db_stmt(db, S_SQL_SEEN);
    s_sums_t t;
    if (s_sums_init(&t, n) < 0 || !seen || pgs_db_begin(db) < 0) {
        s_sums_free(&t);
        return -1;
    }
    int fresh = 0, chunk = 0;
    for (int i = 0; i < n; i++) {
        const usage_event_t *e = &ev[i];
        pgs_db_bind_text(seen, 1, e->key[0] ? e->key : e->id);
        sqlite3_bind_int64(seen, 2, now_ms);
        if (pgs_db_step_done(db, seen, "usage.db seen") < 0)
            goto fail;
        if (sqlite3_changes(pgs_db_handle(db)) == 0)
            continue; /* counted before */
        fresh++;
        if (chunk == S_CHUNK) {
            if (s_sums_write(db, &t) < 0)
                goto fail;
            chunk = 0;
        }
        chunk++;
        char day[USAGE_DAY_LEN];
        s_day(e->ts_ms, day);
        s_sums_add(&t, S_DAILY, e, day);
        for (int r = 0; r < S_NROLLUPS; r++)
            s_sums_add(&t, r, e, day);
    }
    if (s_sums_write(db, &t) < 0 || pgs_db_commit(db) < 0)
        goto fail;
    s_sums_free(&t);
    return fresh;
fail:
    pgs_db_rollback(db);
    s_sums_free(&t);
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

/* A range of days as the rollups answer it: the whole months inside it
 * from usage_month_sums, the days of the months it covers in part (at most
 * two pieces, head and tail) from usage_day_sums. A piece that is not
 * there has NULL bounds (no row compares with NULL). */
typedef struct {
    char month_lo[8], month_hi[8];
    char head_lo[USAGE_DAY_LEN], head_hi[USAGE_DAY_LEN];
    char tail_lo[USAGE_DAY_LEN], tail_hi[USAGE_DAY_LEN];
} s_pieces_t;

static int
s_month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* The year, month and day of "YYYY-MM-DD" naming a real day. 0 or -1. (The
 * days of a query are checked before: usage_query_parse.) */
static int
s_parse_ymd(const char *s, int *y, int *m, int *d)
{
    return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d", y, m, d) == 3 && *y >= 0 && *m >= 1 &&
                   *m <= 12 && *d >= 1 && *d <= s_month_days(*y, *m)
               ? 0
               : -1;
}

/* "YYYY-MM" of a month counted from year 0 (0 <= n < 120000). */
static void
s_format_month(unsigned n, char out[8])
{
    snprintf(out, 8, "%04u-%02u", n / 12 % 10000, n % 12 + 1);
}

/* Splits [start, end] (start <= end, both real days) into p. 0 or -1. */
static int
s_pieces(const char *start, const char *end, s_pieces_t *p)
{
    int ys, ms, ds, ye, me, de;
    if (s_parse_ymd(start, &ys, &ms, &ds) < 0 || s_parse_ymd(end, &ye, &me, &de) < 0)
        return -1;
    memset(p, 0, sizeof *p);
    int whole_first = ds == 1, whole_last = de == s_month_days(ye, me);
    if (ys == ye && ms == me && !(whole_first && whole_last)) {
        /* inside one month: its days */
        snprintf(p->head_lo, sizeof p->head_lo, "%s", start);
        snprintf(p->head_hi, sizeof p->head_hi, "%s", end);
        return 0;
    }
    if (!whole_first) { /* from start to the end of its month */
        snprintf(p->head_lo, sizeof p->head_lo, "%s", start);
        snprintf(p->head_hi, sizeof p->head_hi, "%.8s%02u", start,
                 (unsigned)s_month_days(ys, ms) % 100);
    }
    if (!whole_last) { /* from the first of end's month to end */
        snprintf(p->tail_lo, sizeof p->tail_lo, "%.8s01", end);
        snprintf(p->tail_hi, sizeof p->tail_hi, "%s", end);
    }
    /* Months counted from year 0, so that a range across years is one. */
    int first = ys * 12 + ms - 1 + !whole_first, last = ye * 12 + me - 1 - !whole_last;
    if (first <= last) {
        s_format_month((unsigned)first, p->month_lo);
        s_format_month((unsigned)last, p->month_hi);
    }
    return 0;
}

static void
s_bind_piece(sqlite3_stmt *st, int idx, const char *s)
{
    pgs_db_bind_text(st, idx, s[0] ? s : NULL);
}

/* Day rows are one per day already; the other groupings sum their pieces.
 * Each piece is one range of a primary key (EXPLAIN QUERY PLAN: SEARCH
 * … USING PRIMARY KEY (ws=? AND group_by=? AND user_id=? AND day>? AND
 * day<?)), so a query reads the rows of its groups, not usage_daily's. */
#define S_PIECE " SELECT group_key, " S_SUM_COLS
#define S_PIECE_OF " WHERE ws = ?1 AND group_by = ?2 AND user_id = ?3"
static const char S_SQL_QUERY_DAYS[] =
    "SELECT day, " S_SUM_COLS " FROM usage_day_sums WHERE ws = ?1 AND group_by = 'day'"
    " AND user_id = ?2 AND day >= ?3 AND day <= ?4 ORDER BY 1";
static const char S_SQL_QUERY_GROUPS[] =
    "SELECT group_key, " S_SUMS " FROM (" S_PIECE " FROM usage_month_sums" S_PIECE_OF
    " AND month >= ?4 AND month <= ?5 UNION ALL" S_PIECE " FROM usage_day_sums" S_PIECE_OF
    " AND day >= ?6 AND day <= ?7 UNION ALL" S_PIECE " FROM usage_day_sums" S_PIECE_OF
    " AND day >= ?8 AND day <= ?9"
    ") GROUP BY 1 ORDER BY 2 DESC, 1";

int
usage_store_query(pgs_db_t *db, const char *ws, const char *user, const char *start,
                  const char *end, usage_group_t group,
                  void (*fn)(const char *key, const usage_counts_t *c, void *arg), void *arg)
{
    /* '' is the whole workspace's rows: an empty user sees nothing, as no
     * event without a user is counted. */
    if ((user && !user[0]) || strcmp(start, end) > 0)
        return 0;
    s_pieces_t p;
    if (s_pieces(start, end, &p) < 0) {
        pgs_warn("usage.db query: not a range of days");
        return -1;
    }
    sqlite3_stmt *st =
        pgs_db_stmt(db, group == USAGE_BY_DAY ? S_SQL_QUERY_DAYS : S_SQL_QUERY_GROUPS);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    if (group == USAGE_BY_DAY) {
        pgs_db_bind_text(st, 2, user ? user : "");
        pgs_db_bind_text(st, 3, start);
        pgs_db_bind_text(st, 4, end);
    } else {
        pgs_db_bind_text(st, 2, s_group_by[group]);
        pgs_db_bind_text(st, 3, user ? user : "");
        s_bind_piece(st, 4, p.month_lo);
        s_bind_piece(st, 5, p.month_hi);
        s_bind_piece(st, 6, p.head_lo);
        s_bind_piece(st, 7, p.head_hi);
        s_bind_piece(st, 8, p.tail_lo);
        s_bind_piece(st, 9, p.tail_hi);
    }
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
    static const char sql[] = "DELETE FROM usage_reports WHERE id IN (SELECT id FROM usage_reports"
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
