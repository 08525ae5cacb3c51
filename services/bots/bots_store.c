/*
 * bots_store — see bots_store.h.
 */
#include "bots_store.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <string.h>

static const char S_M1[] =
    "CREATE TABLE bots ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  workspace_id TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL,"
    "  instructions TEXT NOT NULL DEFAULT '',"
    "  document_count INTEGER NOT NULL DEFAULT 0,"
    "  passage_count INTEGER NOT NULL DEFAULT 0,"
    "  next_passage INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  deleted_at INTEGER"
    ");"
    "CREATE INDEX bots_list ON bots (workspace_id, created_at, id) WHERE deleted_at IS NULL;"
    "CREATE TABLE documents ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  bot_seq INTEGER NOT NULL REFERENCES bots (seq),"
    "  title TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  chunks INTEGER NOT NULL,"
    "  first_passage INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX documents_list ON documents (bot_seq, created_at, id);"
    "CREATE TABLE document_bodies ("
    "  doc_seq INTEGER PRIMARY KEY REFERENCES documents (seq) ON DELETE CASCADE,"
    "  content BLOB NOT NULL,"
    "  text BLOB NOT NULL"
    ");"
    "CREATE VIRTUAL TABLE passages USING fts5 ("
    "  text, doc_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2'"
    ");";

static const char *const S_MIGRATIONS[] = {S_M1, PGS_IDEM_MIGRATION, PGS_IDEM_MIGRATION_META,
                                           PGS_IDEM_MIGRATION_ROUTE};

pgs_db_t *
bots_store_open(const char *path)
{
    /* synchronous=FULL: a document a client was told about (201) survives
     * an OS crash or a power loss. */
    return pgs_db_open(path, S_MIGRATIONS, (int)(sizeof S_MIGRATIONS / sizeof S_MIGRATIONS[0]),
                       1);
}

json_t *
bots_store_time(int64_t ms)
{
    char buf[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(ms / 1000, buf);
    return json_string(buf);
}

json_t *
bots_store_bot_object(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(pgs_db_col_text(st, 1)));
    json_object_set_new(o, "object", json_string("bot"));
    json_object_set_new(o, "name", json_string(pgs_db_col_text(st, 3)));
    json_object_set_new(o, "description", json_string(pgs_db_col_text(st, 4)));
    json_object_set_new(o, "model", json_string(pgs_db_col_text(st, 5)));
    json_object_set_new(o, "instructions", json_string(pgs_db_col_text(st, 6)));
    json_object_set_new(o, "document_count", json_integer(sqlite3_column_int64(st, 7)));
    json_object_set_new(o, "created_at", bots_store_time(sqlite3_column_int64(st, 10)));
    json_object_set_new(o, "updated_at", bots_store_time(sqlite3_column_int64(st, 11)));
    return o;
}

json_t *
bots_store_doc_object(sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(pgs_db_col_text(st, 0)));
    json_object_set_new(o, "object", json_string("document"));
    json_object_set_new(o, "bot_id", json_string(pgs_db_col_text(st, 1)));
    json_object_set_new(o, "title", json_string(pgs_db_col_text(st, 2)));
    json_object_set_new(o, "content_type", json_string(pgs_db_col_text(st, 3)));
    json_object_set_new(o, "bytes", json_integer(sqlite3_column_int64(st, 4)));
    json_object_set_new(o, "chunks", json_integer(sqlite3_column_int64(st, 5)));
    json_object_set_new(o, "created_at", bots_store_time(sqlite3_column_int64(st, 6)));
    return o;
}

static const char S_SQL_BOT[] =
    "SELECT " BOTS_STORE_BOT_COLS " FROM bots WHERE id = ?1 AND workspace_id = ?2";

int
bots_store_bot_find(pgs_db_t *db, const char *ws, const char *id, bots_bot_t *out)
{
    memset(out, 0, sizeof *out);
    if (!ws || !id || !pgs_id_valid(id, "bot"))
        return 0;
    sqlite3_stmt *st = pgs_db_stmt(db, S_SQL_BOT);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    pgs_db_bind_text(st, 2, ws);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        pgs_error("bot lookup: %s", sqlite3_errmsg(pgs_db_handle(db)));
        sqlite3_reset(st);
        return -1;
    }
    out->seq = sqlite3_column_int64(st, 0);
    snprintf(out->id, sizeof out->id, "%s", pgs_db_col_text(st, 1));
    snprintf(out->workspace_id, sizeof out->workspace_id, "%s", pgs_db_col_text(st, 2));
    out->document_count = sqlite3_column_int64(st, 7);
    out->passage_count = sqlite3_column_int64(st, 8);
    out->next_passage = sqlite3_column_int64(st, 9);
    out->deleted = sqlite3_column_type(st, 12) != SQLITE_NULL;
    out->obj = bots_store_bot_object(st);
    sqlite3_reset(st);
    return 1;
}

void
bots_store_bot_clear(bots_bot_t *bot)
{
    json_decref(bot->obj);
    bot->obj = NULL;
}
