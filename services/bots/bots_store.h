/*
 * bots_store — bots.db: its schema (migrations) and the lookups that more
 * than one handler needs. Times are stored as Unix milliseconds (lists sort
 * by them; fewer ties than seconds) and shown as RFC 3339 seconds.
 *
 * Tables: bots (a deleted bot stays as a tombstone row, deleted_at set, so
 * that chat can tell "deleted" from "never existed"; seq is never reused, so
 * a deleted bot's index range is never searched again), documents (metadata)
 * and document_bodies (content as uploaded and extracted text), passages
 * (FTS5, see bots_index.h), idempotency_keys (pgs_idem.h).
 */
#ifndef BOTS_STORE_H
#define BOTS_STORE_H

#include "pgs_db.h"
#include "pgs_id.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    int64_t seq;
    char id[PGS_ID_MAX];
    char workspace_id[PGS_ID_MAX];
    int deleted;
    int64_t document_count;
    int64_t passage_count;
    int64_t next_passage; /* the next passage number in the bot's rowid range */
    json_t *obj;          /* owned: the API object (id, object, name, …) */
} bots_bot_t;

/* Opens and migrates bots.db. Returns an owned handle or NULL (logged). */
pgs_db_t *bots_store_open(const char *path);

/* The bot id of workspace ws (deleted or not) into *out. 1 found, 0 absent
 * (also for an id that is not a bot id, or a bot of another workspace), -1
 * error. Release with bots_store_bot_clear. */
int bots_store_bot_find(pgs_db_t *db, const char *ws, const char *id, bots_bot_t *out);

/* Frees what *bot owns. */
void bots_store_bot_clear(bots_bot_t *bot);

/* The SELECT column list of a bot, and its API object from a row of it. */
#define BOTS_STORE_BOT_COLS                                                                        \
    "seq, id, workspace_id, name, description, model, instructions, document_count, "             \
    "passage_count, next_passage, created_at, updated_at, deleted_at"
json_t *bots_store_bot_object(sqlite3_stmt *st);

/* The SELECT column list of a document's metadata (documents d joined with
 * bots b), and its API object from a row of it. */
#define BOTS_STORE_DOC_COLS                                                                        \
    "d.id, b.id, d.title, d.content_type, d.bytes, d.chunks, d.created_at, d.first_passage"
json_t *bots_store_doc_object(sqlite3_stmt *st);

/* An RFC 3339 string of Unix milliseconds. */
json_t *bots_store_time(int64_t ms);

#endif
