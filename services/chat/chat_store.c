/*
 * chat_store — see chat_store.h.
 */
#include "chat_store.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <string.h>

static const char *const s_migrations[] = {
    "CREATE TABLE conversations("
    "  id TEXT PRIMARY KEY,"
    "  workspace_id TEXT NOT NULL,"
    "  bot_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  token_id TEXT NOT NULL,"
    "  title TEXT,"
    "  message_count INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX conversations_ws ON conversations(workspace_id, created_at, id);"
    "CREATE INDEX conversations_user ON conversations(workspace_id, user_id, created_at, id);"
    "CREATE TABLE messages("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL CHECK (role IN ('user','assistant')),"
    "  content TEXT NOT NULL,"
    "  citations TEXT NOT NULL DEFAULT '[]',"
    "  model TEXT,"
    "  input_tokens INTEGER,"
    "  output_tokens INTEGER,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX messages_conv ON messages(conversation_id, seq);"
    "CREATE TABLE sends("
    "  workspace_id TEXT NOT NULL,"
    "  month TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (month, workspace_id)) WITHOUT ROWID;",
    PGS_IDEM_MIGRATION,
    PGS_IDEM_MIGRATION_META,
    PGS_IDEM_MIGRATION_ROUTE,
};

pgs_db_t *
chat_store_open(const char *path)
{
    pgs_db_t *db =
        pgs_db_open(path, s_migrations, (int)(sizeof s_migrations / sizeof *s_migrations), 1);
    /* synchronous=FULL: a message a client was told about survives an OS
     * crash or a power loss (the cost is in docs/internals.md). Every send rewrites the same few
     * pages (its conversation, the month's send count, the index tails). A checkpoint copies only
     * the last copy of each page, so checkpointing every 8,000 pages rather than SQLite's 1,000
     * copies far fewer pages and syncs the disk an eighth as often; a larger cache keeps the recent
     * messages' pages from being reread. */
    if (db && pgs_db_exec(db, "PRAGMA wal_autocheckpoint = 8000; PRAGMA cache_size = -16384") < 0)
        pgs_db_destroy(&db);
    return db;
}

int
chat_store_conv_insert(pgs_db_t *db, const chat_conv_t *c)
{
    static const char sql[] =
        "INSERT INTO conversations(id, workspace_id, bot_id, user_id, token_id, title,"
        " message_count, created_at, updated_at) VALUES (?,?,?,?,?,?,0,?,?)";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, c->id);
    pgs_db_bind_text(st, 2, c->workspace_id);
    pgs_db_bind_text(st, 3, c->bot_id);
    pgs_db_bind_text(st, 4, c->user_id);
    pgs_db_bind_text(st, 5, c->token_id);
    pgs_db_bind_text(st, 6, c->has_title ? c->title : NULL);
    sqlite3_bind_int64(st, 7, c->created_ms);
    sqlite3_bind_int64(st, 8, c->updated_ms);
    return pgs_db_step_done(db, st, "chat.db conversation insert");
}

#define S_CONV_COLS                                                                                \
    "id, workspace_id, bot_id, user_id, token_id, title, message_count, created_at, updated_at"

static void
s_conv_row(sqlite3_stmt *st, chat_conv_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", pgs_db_col_text(st, 0));
    snprintf(c->workspace_id, sizeof c->workspace_id, "%s", pgs_db_col_text(st, 1));
    snprintf(c->bot_id, sizeof c->bot_id, "%s", pgs_db_col_text(st, 2));
    snprintf(c->user_id, sizeof c->user_id, "%s", pgs_db_col_text(st, 3));
    snprintf(c->token_id, sizeof c->token_id, "%s", pgs_db_col_text(st, 4));
    c->has_title = sqlite3_column_type(st, 5) != SQLITE_NULL;
    snprintf(c->title, sizeof c->title, "%s", pgs_db_col_text(st, 5));
    c->message_count = sqlite3_column_int64(st, 6);
    c->created_ms = sqlite3_column_int64(st, 7);
    c->updated_ms = sqlite3_column_int64(st, 8);
}

int
chat_store_conv_get(pgs_db_t *db, const char *ws, const char *id, chat_conv_t *out)
{
    static const char sql[] =
        "SELECT " S_CONV_COLS " FROM conversations WHERE id = ? AND workspace_id = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    pgs_db_bind_text(st, 2, ws);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s_conv_row(st, out);
        sqlite3_reset(st);
        return 1;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    pgs_warn("chat.db conversation get: %s", sqlite3_errmsg(pgs_db_handle(db)));
    return -1;
}

int
chat_store_conv_delete(pgs_db_t *db, const char *id)
{
    /* Explicit, not only ON DELETE CASCADE: the promise must not depend on
     * the foreign_keys pragma. */
    static const char del_msgs[] = "DELETE FROM messages WHERE conversation_id = ?";
    static const char del_conv[] = "DELETE FROM conversations WHERE id = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, del_msgs);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    if (pgs_db_step_done(db, st, "chat.db messages delete") < 0)
        return -1;
    st = pgs_db_stmt(db, del_conv);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    return pgs_db_step_done(db, st, "chat.db conversation delete");
}

static json_t *
s_time(int64_t ms)
{
    char buf[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(ms / 1000, buf);
    return json_string(buf);
}

json_t *
chat_store_conv_json(const chat_conv_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "object", json_string("conversation"));
    json_object_set_new(o, "bot_id", json_string(c->bot_id));
    json_object_set_new(o, "title", c->has_title ? json_string(c->title) : json_null());
    json_object_set_new(o, "message_count", json_integer(c->message_count));
    json_object_set_new(o, "user_id", json_string(c->user_id));
    json_object_set_new(o, "token_id", json_string(c->token_id));
    json_object_set_new(o, "created_at", s_time(c->created_ms));
    json_object_set_new(o, "updated_at", s_time(c->updated_ms));
    return o;
}

int
chat_store_conv_list(pgs_db_t *db, const char *ws, const char *user, const char *bot,
                     int64_t after_ms, const char *after_id, int limit, json_t *arr,
                     int64_t *last_ms, char last_id[PGS_ID_MAX])
{
    /* One statement for every filter combination: a NULL parameter turns
     * its condition off. The row-value comparison walks the index. */
    static const char sql[] = "SELECT " S_CONV_COLS " FROM conversations"
                              " WHERE workspace_id = ?1"
                              "   AND (?2 IS NULL OR user_id = ?2)"
                              "   AND (?3 IS NULL OR bot_id = ?3)"
                              "   AND (?5 IS NULL OR (created_at, id) < (?4, ?5))"
                              " ORDER BY created_at DESC, id DESC LIMIT ?6";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, user);
    pgs_db_bind_text(st, 3, bot);
    sqlite3_bind_int64(st, 4, after_ms);
    pgs_db_bind_text(st, 5, after_id);
    sqlite3_bind_int(st, 6, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        chat_conv_t c;
        s_conv_row(st, &c);
        json_array_append_new(arr, chat_store_conv_json(&c));
        *last_ms = c.created_ms;
        snprintf(last_id, PGS_ID_MAX, "%s", c.id);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_warn("chat.db conversation list: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return n;
}

int
chat_store_msg_insert(pgs_db_t *db, const chat_msg_t *m)
{
    static const char ins[] =
        "INSERT INTO messages(id, conversation_id, role, content, citations, model,"
        " input_tokens, output_tokens, created_at) VALUES (?,?,?,?,?,?,?,?,?)";
    static const char bump[] = "UPDATE conversations SET message_count = message_count + 1,"
                               " updated_at = max(updated_at, ?) WHERE id = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, ins);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, m->id);
    pgs_db_bind_text(st, 2, m->conversation_id);
    pgs_db_bind_text(st, 3, m->role);
    pgs_db_bind_text(st, 4, m->content);
    pgs_db_bind_text(st, 5, m->citations_json ? m->citations_json : "[]");
    pgs_db_bind_text(st, 6, m->model);
    if (m->has_usage) {
        sqlite3_bind_int64(st, 7, m->input_tokens);
        sqlite3_bind_int64(st, 8, m->output_tokens);
    }
    sqlite3_bind_int64(st, 9, m->created_ms);
    if (pgs_db_step_done(db, st, "chat.db message insert") < 0)
        return -1;
    st = pgs_db_stmt(db, bump);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, m->created_ms);
    pgs_db_bind_text(st, 2, m->conversation_id);
    if (pgs_db_step_done(db, st, "chat.db conversation bump") < 0)
        return -1;
    if (sqlite3_changes(pgs_db_handle(db)) != 1) {
        pgs_warn("chat.db message insert: the conversation is gone");
        return -1;
    }
    return 0;
}

json_t *
chat_store_msg_json(const chat_msg_t *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->id));
    json_object_set_new(o, "object", json_string("message"));
    json_object_set_new(o, "conversation_id", json_string(m->conversation_id));
    json_object_set_new(o, "role", json_string(m->role));
    json_object_set_new(o, "content", json_string(m->content));
    json_t *cites = m->citations_json ? json_loads(m->citations_json, 0, NULL) : NULL;
    json_object_set_new(o, "citations", json_is_array(cites) ? cites : json_array());
    if (cites && !json_is_array(cites))
        json_decref(cites);
    json_object_set_new(o, "model", m->model ? json_string(m->model) : json_null());
    json_object_set_new(o, "usage",
                        m->has_usage
                            ? json_pack("{s:I,s:I}", "input_tokens", (json_int_t)m->input_tokens,
                                        "output_tokens", (json_int_t)m->output_tokens)
                            : json_null());
    json_object_set_new(o, "created_at", s_time(m->created_ms));
    return o;
}

int
chat_store_msg_list(pgs_db_t *db, const char *conv, int64_t after_seq, int limit, json_t *arr,
                    int64_t *last_seq)
{
    static const char sql[] =
        "SELECT seq, id, role, content, citations, model, input_tokens, output_tokens,"
        " created_at FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, conv);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int(st, 3, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        chat_msg_t m = {0};
        *last_seq = sqlite3_column_int64(st, 0);
        snprintf(m.id, sizeof m.id, "%s", pgs_db_col_text(st, 1));
        m.conversation_id = conv;
        m.role = pgs_db_col_text(st, 2);
        m.content = pgs_db_col_text(st, 3);
        m.citations_json = pgs_db_col_text(st, 4);
        m.model = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL : pgs_db_col_text(st, 5);
        m.has_usage = sqlite3_column_type(st, 6) != SQLITE_NULL;
        m.input_tokens = sqlite3_column_int64(st, 6);
        m.output_tokens = sqlite3_column_int64(st, 7);
        m.created_ms = sqlite3_column_int64(st, 8);
        json_array_append_new(arr, chat_store_msg_json(&m));
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_warn("chat.db message list: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return n;
}

int
chat_store_msg_seq(pgs_db_t *db, const char *conv, const char *id, int64_t *seq)
{
    static const char sql[] = "SELECT seq FROM messages WHERE conversation_id = ? AND id = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, conv);
    pgs_db_bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

json_t *
chat_store_recent(pgs_db_t *db, const char *conv, int n)
{
    static const char sql[] = "SELECT role, content FROM (SELECT seq, role, content FROM messages"
                              " WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return NULL;
    pgs_db_bind_text(st, 1, conv);
    sqlite3_bind_int(st, 2, n);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:s}", "role", pgs_db_col_text(st, 0), "content",
                                             pgs_db_col_text(st, 1)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

int
chat_store_count_send(pgs_db_t *db, const char *ws, const char *month)
{
    static const char sql[] = "INSERT INTO sends(workspace_id, month, count) VALUES (?, ?, 1)"
                              " ON CONFLICT(month, workspace_id) DO UPDATE SET count = count + 1";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, month);
    return pgs_db_step_done(db, st, "chat.db send count");
}

long long
chat_store_sends_count(pgs_db_t *db, const char *ws, const char *month)
{
    static const char sql[] = "SELECT count FROM sends WHERE month = ? AND workspace_id = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, month);
    pgs_db_bind_text(st, 2, ws);
    int rc = pgs_db_step_row(db, st, "chat.db sends");
    long long n = rc == 1 ? sqlite3_column_int64(st, 0) : rc == 0 ? 0 : -1;
    if (rc == 1)
        sqlite3_reset(st);
    return n;
}

int
chat_store_sends_each(pgs_db_t *db, const char *month,
                      void (*fn)(const char *ws, long long count, void *arg), void *arg)
{
    static const char sql[] = "SELECT workspace_id, count FROM sends WHERE month = ?";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, month);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(pgs_db_col_text(st, 0), sqlite3_column_int64(st, 1), arg);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
