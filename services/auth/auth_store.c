/*
 * auth_store — see auth_store.h.
 */
#include "auth_store.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const s_migrations[] = {
    "CREATE TABLE users("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    "  name TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE workspaces("
    "  id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL CHECK (type IN ('personal','team')),"
    "  name TEXT NOT NULL,"
    "  plan TEXT NOT NULL,"
    "  seats INTEGER NOT NULL DEFAULT 1,"
    "  status TEXT NOT NULL DEFAULT 'active'"
    "    CHECK (status IN ('active','pending_cancellation')),"
    "  quota_disabled INTEGER NOT NULL DEFAULT 0,"
    "  owner_user_id TEXT NOT NULL REFERENCES users(id),"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX workspaces_owner ON workspaces(owner_user_id, type);"
    "CREATE INDEX workspaces_name ON workspaces(name COLLATE NOCASE);"
    "CREATE TABLE memberships("
    "  workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
    "  user_id TEXT NOT NULL REFERENCES users(id),"
    "  role TEXT NOT NULL CHECK (role IN ('owner','admin','member','viewer')),"
    "  seat INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (workspace_id, user_id));"
    "CREATE INDEX memberships_user ON memberships(user_id);"
    "CREATE TABLE tokens("
    "  id TEXT PRIMARY KEY,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  user_id TEXT NOT NULL REFERENCES users(id),"
    "  workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
    "  scopes TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  last_used_at INTEGER,"
    "  last_used_ip TEXT);"
    "CREATE INDEX tokens_ws ON tokens(workspace_id, created_at, id);"
    "CREATE INDEX tokens_user ON tokens(user_id, workspace_id);"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta(key, value) VALUES ('change_seq', 0);",
};

pgs_db_t *
auth_store_open(const char *path)
{
    return pgs_db_open(path, s_migrations, (int)(sizeof s_migrations / sizeof s_migrations[0]), 1);
}

static const char s_b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

void
auth_store_id_new(const char *prefix, char out[PGS_ID_MAX])
{
    static int64_t last_ms;
    pgs_id_new(prefix, out);
    int64_t ms = pgs_time_now_ms();
    if (ms <= last_ms)
        ms = last_ms + 1;
    last_ms = ms;
    char *p = out + strlen(prefix) + 1;
    /* 62^8 ms is about 6,900 years: fixed width keeps string order. */
    for (int i = 7; i >= 0; i--) {
        p[i] = s_b62[ms % 62];
        ms /= 62;
    }
}

static void
s_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

#define S_COPY(dst, st, i) s_copy((dst), sizeof(dst), pgs_db_col_text((st), (i)))

int
auth_store_bump(pgs_db_t *db)
{
    static const char sql[] = "UPDATE meta SET value = value + 1 WHERE key = 'change_seq'";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    return st ? pgs_db_step_done(db, st, "auth.db") : -1;
}

int
auth_store_seq(pgs_db_t *db, int64_t *out)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = 'change_seq'";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    int rc = pgs_db_step_row(db, st, "auth.db");
    if (rc <= 0)
        return -1;
    *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int
auth_store_role_valid(const char *s)
{
    return s && (!strcmp(s, "owner") || !strcmp(s, "admin") || !strcmp(s, "member") ||
                 !strcmp(s, "viewer"));
}

int
auth_store_role_manages(const char *role)
{
    return role && (!strcmp(role, "owner") || !strcmp(role, "admin"));
}

int
auth_store_ws_read_only(const auth_ws_t *ws)
{
    return !strcmp(ws->type, "team") &&
           (!strcmp(ws->status, "pending_cancellation") || ws->quota_disabled);
}

/* ---- users ---- */

#define S_USER_COLS                                                                                \
    "u.id, u.email, u.name, u.password_hash, u.created_at,"                                        \
    " (SELECT w.id FROM workspaces w WHERE w.owner_user_id = u.id AND w.type = 'personal'"         \
    "  ORDER BY w.created_at LIMIT 1)"

static void
s_user_row(sqlite3_stmt *st, auth_user_t *u)
{
    memset(u, 0, sizeof *u);
    S_COPY(u->id, st, 0);
    S_COPY(u->email, st, 1);
    S_COPY(u->name, st, 2);
    S_COPY(u->password_hash, st, 3);
    u->created_at = sqlite3_column_int64(st, 4);
    S_COPY(u->personal_ws, st, 5);
}

static int
s_user_one(pgs_db_t *db, const char *sql, const char *key, auth_user_t *out)
{
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, key);
    int rc = pgs_db_step_row(db, st, "auth.db");
    if (rc == 1) {
        s_user_row(st, out);
        sqlite3_reset(st);
    }
    return rc;
}

int
auth_store_user_by_email(pgs_db_t *db, const char *email, auth_user_t *out)
{
    static const char sql[] = "SELECT " S_USER_COLS " FROM users u WHERE u.email = ?1";
    return s_user_one(db, sql, email, out);
}

int
auth_store_user_by_id(pgs_db_t *db, const char *id, auth_user_t *out)
{
    static const char sql[] = "SELECT " S_USER_COLS " FROM users u WHERE u.id = ?1";
    return s_user_one(db, sql, id, out);
}

int
auth_store_user_insert(pgs_db_t *db, const auth_user_t *u)
{
    static const char sql[] =
        "INSERT INTO users(id, email, name, password_hash, created_at) VALUES (?1,?2,?3,?4,?5)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, u->id);
    pgs_db_bind_text(st, 2, u->email);
    pgs_db_bind_text(st, 3, u->name);
    pgs_db_bind_text(st, 4, u->password_hash);
    sqlite3_bind_int64(st, 5, u->created_at);
    return pgs_db_step_done(db, st, "auth.db");
}

int
auth_store_user_each(pgs_db_t *db, void (*fn)(const auth_user_t *, void *), void *arg)
{
    static const char sql[] =
        "SELECT " S_USER_COLS " FROM users u ORDER BY u.created_at DESC, u.id DESC";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    int rc;
    auth_user_t u;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_user_row(st, &u);
        fn(&u, arg);
    }
    sqlite3_reset(st);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- workspaces ---- */

#define S_WS_COLS                                                                                  \
    "w.id, w.type, w.name, w.plan, w.seats, w.status, w.quota_disabled, w.owner_user_id,"          \
    " w.created_at"

static void
s_ws_row(sqlite3_stmt *st, int base, auth_ws_t *w)
{
    memset(w, 0, sizeof *w);
    S_COPY(w->id, st, base + 0);
    S_COPY(w->type, st, base + 1);
    S_COPY(w->name, st, base + 2);
    S_COPY(w->plan, st, base + 3);
    w->seats = sqlite3_column_int64(st, base + 4);
    S_COPY(w->status, st, base + 5);
    w->quota_disabled = sqlite3_column_int(st, base + 6) != 0;
    S_COPY(w->owner, st, base + 7);
    w->created_at = sqlite3_column_int64(st, base + 8);
}

int
auth_store_ws_get(pgs_db_t *db, const char *id, auth_ws_t *out)
{
    static const char sql[] = "SELECT " S_WS_COLS " FROM workspaces w WHERE w.id = ?1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    int rc = pgs_db_step_row(db, st, "auth.db");
    if (rc == 1) {
        s_ws_row(st, 0, out);
        sqlite3_reset(st);
    }
    return rc;
}

int
auth_store_ws_insert(pgs_db_t *db, const auth_ws_t *w)
{
    static const char sql[] =
        "INSERT INTO workspaces(id, type, name, plan, seats, status, quota_disabled,"
        " owner_user_id, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, w->id);
    pgs_db_bind_text(st, 2, w->type);
    pgs_db_bind_text(st, 3, w->name);
    pgs_db_bind_text(st, 4, w->plan);
    sqlite3_bind_int64(st, 5, w->seats);
    pgs_db_bind_text(st, 6, w->status);
    sqlite3_bind_int(st, 7, w->quota_disabled);
    pgs_db_bind_text(st, 8, w->owner);
    sqlite3_bind_int64(st, 9, w->created_at);
    return pgs_db_step_done(db, st, "auth.db");
}

int
auth_store_ws_update(pgs_db_t *db, const auth_ws_t *w)
{
    static const char sql[] = "UPDATE workspaces SET plan = ?2, seats = ?3, status = ?4,"
                              " quota_disabled = ?5 WHERE id = ?1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, w->id);
    pgs_db_bind_text(st, 2, w->plan);
    sqlite3_bind_int64(st, 3, w->seats);
    pgs_db_bind_text(st, 4, w->status);
    sqlite3_bind_int(st, 5, w->quota_disabled);
    return pgs_db_step_done(db, st, "auth.db");
}

int
auth_store_ws_set_owner(pgs_db_t *db, const char *ws, const char *user)
{
    static const char sql[] = "UPDATE workspaces SET owner_user_id = ?2 WHERE id = ?1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, user);
    return pgs_db_step_done(db, st, "auth.db");
}

int
auth_store_team_by_name(pgs_db_t *db, const char *name, void (*fn)(const auth_ws_t *, void *),
                        void *arg)
{
    static const char sql[] = "SELECT " S_WS_COLS " FROM workspaces w WHERE w.type = 'team'"
                              " AND w.name = ?1 COLLATE NOCASE ORDER BY w.created_at, w.id";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, name);
    int rc, n = 0;
    auth_ws_t w;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_ws_row(st, 0, &w);
        fn(&w, arg);
        n++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? n : -1;
}

int
auth_store_ws_each(pgs_db_t *db, void (*fn)(const auth_ws_t *, void *), void *arg)
{
    static const char sql[] = "SELECT " S_WS_COLS " FROM workspaces w";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    int rc;
    auth_ws_t w;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_ws_row(st, 0, &w);
        fn(&w, arg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- memberships ---- */

#define S_MEM_COLS "m.workspace_id, m.user_id, m.role, m.seat, m.created_at"

static void
s_mem_row(sqlite3_stmt *st, int base, auth_mem_t *m)
{
    memset(m, 0, sizeof *m);
    S_COPY(m->ws, st, base + 0);
    S_COPY(m->user, st, base + 1);
    S_COPY(m->role, st, base + 2);
    m->seat = sqlite3_column_int(st, base + 3) != 0;
    m->created_at = sqlite3_column_int64(st, base + 4);
}

int
auth_store_mem_get(pgs_db_t *db, const char *ws, const char *user, auth_mem_t *out)
{
    static const char sql[] =
        "SELECT " S_MEM_COLS " FROM memberships m WHERE m.workspace_id = ?1 AND m.user_id = ?2";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, user);
    int rc = pgs_db_step_row(db, st, "auth.db");
    if (rc == 1) {
        s_mem_row(st, 0, out);
        sqlite3_reset(st);
    }
    return rc;
}

int
auth_store_mem_put(pgs_db_t *db, const auth_mem_t *m)
{
    static const char sql[] =
        "INSERT INTO memberships(workspace_id, user_id, role, seat, created_at)"
        " VALUES (?1,?2,?3,?4,?5) ON CONFLICT(workspace_id, user_id)"
        " DO UPDATE SET role = excluded.role, seat = excluded.seat";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, m->ws);
    pgs_db_bind_text(st, 2, m->user);
    pgs_db_bind_text(st, 3, m->role);
    sqlite3_bind_int(st, 4, m->seat ? 1 : 0);
    sqlite3_bind_int64(st, 5, m->created_at);
    return pgs_db_step_done(db, st, "auth.db");
}

int
auth_store_mem_delete(pgs_db_t *db, const char *ws, const char *user)
{
    static const char sql[] = "DELETE FROM memberships WHERE workspace_id = ?1 AND user_id = ?2";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, user);
    return pgs_db_step_done(db, st, "auth.db");
}

long long
auth_store_mem_seated(pgs_db_t *db, const char *ws)
{
    static const char sql[] =
        "SELECT count(*) FROM memberships WHERE workspace_id = ?1 AND seat = 1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    if (pgs_db_step_row(db, st, "auth.db") != 1)
        return -1;
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

int
auth_store_mem_of_user(pgs_db_t *db, const char *user,
                       void (*fn)(const auth_ws_t *, const auth_mem_t *, void *), void *arg)
{
    static const char sql[] = "SELECT " S_MEM_COLS ", " S_WS_COLS " FROM memberships m"
                              " JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ?1"
                              " ORDER BY (w.type = 'personal') DESC, w.created_at, w.id";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, user);
    int rc;
    auth_mem_t m;
    auth_ws_t w;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_mem_row(st, 0, &m);
        s_ws_row(st, 5, &w);
        fn(&w, &m, arg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
auth_store_mem_each(pgs_db_t *db, void (*fn)(const auth_mem_t *, void *), void *arg)
{
    static const char sql[] = "SELECT " S_MEM_COLS " FROM memberships m";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    int rc;
    auth_mem_t m;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_mem_row(st, 0, &m);
        fn(&m, arg);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- tokens ---- */

#define S_TOK_COLS                                                                                 \
    "t.id, t.hash, t.prefix, t.name, t.user_id, t.workspace_id, t.scopes, t.created_at,"           \
    " t.expires_at, t.revoked_at, t.last_used_at, t.last_used_ip, w.type, w.name, u.email, u.name"
#define S_TOK_FROM                                                                                 \
    " FROM tokens t JOIN workspaces w ON w.id = t.workspace_id JOIN users u ON u.id = t.user_id"

static void
s_tok_row(sqlite3_stmt *st, auth_tok_t *t)
{
    memset(t, 0, sizeof *t);
    S_COPY(t->id, st, 0);
    S_COPY(t->hash, st, 1);
    S_COPY(t->prefix, st, 2);
    S_COPY(t->name, st, 3);
    S_COPY(t->user, st, 4);
    S_COPY(t->ws, st, 5);
    S_COPY(t->scopes, st, 6);
    t->created_at = sqlite3_column_int64(st, 7);
    t->expires_at = sqlite3_column_int64(st, 8);
    t->revoked_at = sqlite3_column_int64(st, 9);
    t->last_used_at = sqlite3_column_int64(st, 10);
    S_COPY(t->last_used_ip, st, 11);
    S_COPY(t->ws_type, st, 12);
    S_COPY(t->ws_name, st, 13);
    S_COPY(t->owner_email, st, 14);
    S_COPY(t->owner_name, st, 15);
}

int
auth_store_tok_insert(pgs_db_t *db, const auth_tok_t *t)
{
    static const char sql[] =
        "INSERT INTO tokens(id, hash, prefix, name, user_id, workspace_id, scopes, created_at,"
        " expires_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, t->id);
    pgs_db_bind_text(st, 2, t->hash);
    pgs_db_bind_text(st, 3, t->prefix);
    pgs_db_bind_text(st, 4, t->name);
    pgs_db_bind_text(st, 5, t->user);
    pgs_db_bind_text(st, 6, t->ws);
    pgs_db_bind_text(st, 7, t->scopes);
    sqlite3_bind_int64(st, 8, t->created_at);
    sqlite3_bind_int64(st, 9, t->expires_at);
    return pgs_db_step_done(db, st, "auth.db");
}

static int
s_tok_one(pgs_db_t *db, const char *sql, const char *key, auth_tok_t *out)
{
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, key);
    int rc = pgs_db_step_row(db, st, "auth.db");
    if (rc == 1) {
        s_tok_row(st, out);
        sqlite3_reset(st);
    }
    return rc;
}

int
auth_store_tok_by_id(pgs_db_t *db, const char *id, auth_tok_t *out)
{
    static const char sql[] = "SELECT " S_TOK_COLS S_TOK_FROM " WHERE t.id = ?1";
    return s_tok_one(db, sql, id, out);
}

int
auth_store_tok_by_hash(pgs_db_t *db, const char *hash, auth_tok_t *out)
{
    static const char sql[] = "SELECT " S_TOK_COLS S_TOK_FROM " WHERE t.hash = ?1";
    return s_tok_one(db, sql, hash, out);
}

int
auth_store_tok_revoke(pgs_db_t *db, const char *id, int64_t now)
{
    static const char sql[] =
        "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    if (pgs_db_step_done(db, st, "auth.db") < 0)
        return -1;
    return sqlite3_changes(pgs_db_handle(db)) > 0;
}

long long
auth_store_tok_live(pgs_db_t *db, const char *user, const char *ws, int64_t now)
{
    static const char sql[] = "SELECT count(*) FROM tokens WHERE user_id = ?1 AND workspace_id = ?2"
                              " AND revoked_at IS NULL AND expires_at > ?3";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, user);
    pgs_db_bind_text(st, 2, ws);
    sqlite3_bind_int64(st, 3, now);
    if (pgs_db_step_row(db, st, "auth.db") != 1)
        return -1;
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

int
auth_store_tok_touch(pgs_db_t *db, const char *id, const char *ip, int64_t now, int64_t interval_s)
{
    static const char sql[] = "UPDATE tokens SET last_used_at = ?2, last_used_ip = ?3 WHERE id = ?1"
                              " AND (last_used_at IS NULL OR last_used_at <= ?4)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    pgs_db_bind_text(st, 3, ip);
    sqlite3_bind_int64(st, 4, now - interval_s);
    if (pgs_db_step_done(db, st, "auth.db") < 0)
        return -1;
    return sqlite3_changes(pgs_db_handle(db)) > 0;
}

int
auth_store_tok_list(pgs_db_t *db, const char *ws, const char *user, int64_t after_created,
                    const char *after_id, int limit, void (*fn)(const auth_tok_t *, void *),
                    void *arg)
{
    /* NULL parameters disable their filter, so one statement serves every
     * combination. */
    static const char sql[] =
        "SELECT " S_TOK_COLS S_TOK_FROM " WHERE (?1 IS NULL OR t.workspace_id = ?1)"
        " AND (?2 IS NULL OR t.user_id = ?2)"
        " AND (?4 IS NULL OR t.created_at < ?3 OR (t.created_at = ?3 AND t.id < ?4))"
        " ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, user);
    sqlite3_bind_int64(st, 3, after_created);
    pgs_db_bind_text(st, 4, after_id);
    sqlite3_bind_int(st, 5, limit > 0 ? limit : -1);
    int rc, n = 0;
    auth_tok_t t;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_tok_row(st, &t);
        fn(&t, arg);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_error("sqlite: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return n;
}

int
auth_store_tok_unrevoked_of(pgs_db_t *db, const char *user, const char *ws,
                            void (*fn)(const char *id, void *), void *arg)
{
    static const char sql[] = "SELECT id FROM tokens WHERE user_id = ?1 AND workspace_id = ?2"
                              " AND revoked_at IS NULL";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, user);
    pgs_db_bind_text(st, 2, ws);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(pgs_db_col_text(st, 0), arg);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
