/*
 * bots_docs — see bots_docs.h.
 */
#include "bots_docs.h"
#include "bots_chunk.h"
#include "bots_extract.h"
#include "bots_index.h"
#include "bots_req.h"
#include "bots_state.h"
#include "bots_store.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_page.h"
#include "pgs_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TITLE_MAX 256
#define S_QUERY_MAX 1000 /* bytes of a search query */
#define S_SEARCH_DEFAULT 10
#define S_SEARCH_MAX 50
#define S_RETRIEVE_DEFAULT 5
#define S_RETRIEVE_MAX 20
/* Documents at least this large are parsed and chunked on a thread. */
#define S_EXTRACT_ON_THREAD_BYTES (64 * 1024)

static const char S_SQL_LIST[] =
    "SELECT " BOTS_STORE_DOC_COLS " FROM documents d JOIN bots b ON b.seq = d.bot_seq "
    "WHERE d.bot_seq = ?1 AND (d.created_at, d.id) < (?2, ?3) "
    "ORDER BY d.created_at DESC, d.id DESC LIMIT ?4";
static const char S_SQL_DOC[] =
    "SELECT " BOTS_STORE_DOC_COLS ", d.seq FROM documents d JOIN bots b ON b.seq = d.bot_seq "
    "WHERE d.id = ?1 AND d.bot_seq = ?2";
static const char S_SQL_BODY[] = "SELECT content, text FROM document_bodies WHERE doc_seq = ?1";
static const char S_SQL_INSERT[] =
    "INSERT INTO documents (id, bot_seq, title, content_type, bytes, chunks, first_passage, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char S_SQL_INSERT_BODY[] =
    "INSERT INTO document_bodies (doc_seq, content, text) VALUES (?1, ?2, ?3)";
static const char S_SQL_BOT_ADD[] =
    "UPDATE bots SET document_count = document_count + ?1, passage_count = passage_count + ?2, "
    "next_passage = next_passage + ?3 WHERE seq = ?4";
static const char S_SQL_DEL_BODY[] = "DELETE FROM document_bodies WHERE doc_seq = ?1";
static const char S_SQL_DEL_DOC[] = "DELETE FROM documents WHERE seq = ?1";
static const char S_SQL_TITLE[] = "SELECT title FROM documents WHERE id = ?1";

static const pgs_json_field_t S_CREATE_FIELDS[] = {
    {"title", PGS_JSON_STRING, 1},
    {"content", PGS_JSON_STRING, 1},
    {"content_type", PGS_JSON_STRING, 0},
    {NULL, 0, 0},
};

/* The path's bot of the caller's workspace (deleted counts as absent). 0,
 * or -1 with res filled. */
static int
s_bot(bots_t *b, const pgs_req_t *req, pgs_res_t *res, bots_bot_t *bot)
{
    int rc = bots_store_bot_find(b->db, pgs_req_ctx(req, "workspace_id"),
                                 bots_req_get(req, "path", "bot_id"), bot);
    if (rc < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return -1;
    }
    if (rc == 0 || bot->deleted) {
        bots_store_bot_clear(bot);
        bots_req_no_bot(req, res);
        return -1;
    }
    bots_store_bot_clear(bot); /* handlers here need only its numbers */
    return 0;
}

pgs_handled_t
bots_docs_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    pgs_page_t page;
    bots_bot_t bot;
    if (s_bot(b, req, res, &bot) < 0 || pgs_page_parse(req, res, &page) < 0)
        return PGS_DONE;
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_LIST);
    if (!st) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    sqlite3_bind_int64(st, 1, bot.seq);
    sqlite3_bind_int64(st, 2, page.has_after ? page.after_ts : INT64_MAX);
    pgs_db_bind_text(st, 3, page.has_after ? page.after_id : "");
    sqlite3_bind_int(st, 4, page.limit + 1);
    json_t *data = json_array();
    int n = 0, more = 0, rc;
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == page.limit) {
            more = 1;
            break;
        }
        json_array_append_new(data, bots_store_doc_object(st));
        pgs_page_cursor(sqlite3_column_int64(st, 6), pgs_db_col_text(st, 0), cursor, sizeof cursor);
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(data);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, pgs_page_list(data, more, cursor));
    return PGS_DONE;
}

/* ---- create ---- */

typedef struct {
    char *title;
    const char *content; /* borrowed: the body or the JSON string */
    size_t content_len;
    char content_type[64];
    json_t *json; /* owns content when the body was JSON */
} s_upload_t;

static void
s_upload_free(s_upload_t *u)
{
    free(u->title);
    json_decref(u->json);
    memset(u, 0, sizeof *u);
}

static int
s_allowed_type(const char *t)
{
    return !strcmp(t, "text/plain") || !strcmp(t, "text/markdown") || !strcmp(t, "text/html");
}

/* Reads the upload (JSON or raw). 0, or -1 with res filled. */
static int
s_upload(const pgs_req_t *req, pgs_res_t *res, s_upload_t *u)
{
    memset(u, 0, sizeof *u);
    char media[64];
    bots_req_media_type(req, media, sizeof media);
    pgs_json_err_t err = {0};
    if (!strcmp(media, "application/json")) {
        u->json = bots_req_body(req, res, S_CREATE_FIELDS);
        if (!u->json)
            return -1;
        json_t *ct = json_object_get(u->json, "content_type");
        const char *cts = json_is_string(ct) ? json_string_value(ct) : "text/plain";
        if (!s_allowed_type(cts)) {
            s_upload_free(u);
            pgs_res_error(res, req, 400, "invalid_request",
                          "'content_type' must be text/plain, text/markdown or text/html.",
                          "content_type");
            return -1;
        }
        snprintf(u->content_type, sizeof u->content_type, "%s", cts);
        json_t *c = json_object_get(u->json, "content");
        u->content = json_string_value(c);
        u->content_len = json_string_length(c);
        if (memchr(u->content, '\0', u->content_len)) {
            s_upload_free(u);
            pgs_res_error(res, req, 400, "invalid_request",
                          "'content' must be valid UTF-8 text without NUL characters.", "content");
            return -1;
        }
        if (bots_req_text(json_object_get(u->json, "title"), "title", 1, S_TITLE_MAX, 1, 0,
                          &u->title, &err) < 0) {
            s_upload_free(u);
            bots_req_fail(req, res, &err);
            return -1;
        }
    } else if (s_allowed_type(media)) {
        snprintf(u->content_type, sizeof u->content_type, "%s", media);
        u->content = req->body ? req->body : "";
        u->content_len = req->body ? req->body_len : 0;
        if (u->content_len && pgs_json_utf8_length(u->content, u->content_len) < 0) {
            pgs_res_error(res, req, 400, "invalid_request",
                          "The document must be valid UTF-8 text without NUL characters.", NULL);
            return -1;
        }
        const char *title = bots_req_get(req, "query", "title");
        json_t *tv = title ? json_string(title) : NULL;
        int rc = title && !tv ? pgs_json_fail(&err, "title", "'title' must be valid UTF-8 text.")
                              : bots_req_text(tv, "title", 1, S_TITLE_MAX, 1, 0, &u->title, &err);
        json_decref(tv);
        if (rc == 0 && !u->title)
            rc = pgs_json_fail(&err, "title", "A raw document body needs '?title='.");
        if (rc < 0) {
            s_upload_free(u);
            bots_req_fail(req, res, &err);
            return -1;
        }
    } else {
        pgs_res_error(res, req, 415, "unsupported_media_type",
                      "Send application/json, or a text/plain, text/markdown or text/html "
                      "body with ?title=.",
                      NULL);
        return -1;
    }
    if (u->content_len == 0) {
        s_upload_free(u);
        pgs_res_error(res, req, 400, "invalid_request", "'content' must not be empty.", "content");
        return -1;
    }
    return 0;
}

/* Stores the document, its body and its passages. In the open transaction.
 * 0 or -1. */
static int
s_store(bots_t *b, const bots_bot_t *bot, const char *id, const s_upload_t *u, const char *text,
        size_t text_len, const bots_chunk_t *chunks, long nchunks, int64_t now)
{
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_INSERT);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, bot->seq);
    pgs_db_bind_text(st, 3, u->title);
    pgs_db_bind_text(st, 4, u->content_type);
    sqlite3_bind_int64(st, 5, (int64_t)u->content_len);
    sqlite3_bind_int64(st, 6, nchunks);
    sqlite3_bind_int64(st, 7, bot->next_passage);
    sqlite3_bind_int64(st, 8, now);
    if (pgs_db_step_done(b->db, st, "bots.db document") < 0)
        return -1;
    int64_t doc_seq = sqlite3_last_insert_rowid(pgs_db_handle(b->db));
    st = pgs_db_stmt(b->db, S_SQL_INSERT_BODY);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, doc_seq);
    sqlite3_bind_text64(st, 2, u->content, (sqlite3_uint64)u->content_len, SQLITE_STATIC,
                        SQLITE_UTF8);
    sqlite3_bind_text64(st, 3, text, (sqlite3_uint64)text_len, SQLITE_STATIC, SQLITE_UTF8);
    if (pgs_db_step_done(b->db, st, "bots.db document") < 0)
        return -1;
    for (long i = 0; i < nchunks; i++)
        if (bots_index_add(b->ix, BOTS_INDEX_LO(bot->seq) + bot->next_passage + i, id,
                           text + chunks[i].off, chunks[i].len) < 0)
            return -1;
    st = pgs_db_stmt(b->db, S_SQL_BOT_ADD);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, 1);
    sqlite3_bind_int64(st, 2, nchunks);
    sqlite3_bind_int64(st, 3, nchunks);
    sqlite3_bind_int64(st, 4, bot->seq);
    return pgs_db_step_done(b->db, st, "bots.db document");
}

/* A document create: the upload, and its text and passages once made. */
typedef struct {
    bots_t *b;
    s_upload_t u;
    char *text;
    size_t text_len;
    bots_chunk_t *chunks;
    long nchunks; /* -1: out of memory */
} s_create_t;

/* The text and the passages of the upload: pure CPU work (HTML and
 * Markdown parsing, chunking), on one of the worker's threads for a large
 * document. */
static void
s_extract(void *arg)
{
    s_create_t *c = arg;
    c->text = bots_extract_text(c->u.content_type, c->u.content, c->u.content_len, &c->text_len);
    c->nchunks = c->text ? bots_chunk_split(c->text, c->text_len, BOTS_CHUNK_TARGET,
                                            BOTS_CHUNK_OVERLAP, &c->chunks)
                         : -1;
}

static void
s_create_free(s_create_t *c)
{
    free(c->chunks);
    free(c->text);
    s_upload_free(&c->u);
    free(c);
}

/* Stores the extracted document (on the loop: the database is its). */
static pgs_handled_t
s_create_store(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    s_create_t *c = arg;
    bots_t *b = c->b;
    const char *plan = pgs_req_ctx(req, "plan");
    pgs_idem_t idem;
    bots_bot_t bot;
    if (c->nchunks < 0) {
        pgs_res_error(res, req, 500, "internal_error", "Out of memory.", NULL);
        goto done;
    }
    if (pgs_idem_init(&idem, req, res) < 0 || pgs_idem_begin(b->db, &idem, req, res) != 0)
        goto done;
    if (s_bot(b, req, res, &bot) < 0) {
        pgs_idem_abort(b->db);
        goto done;
    }
    long long max_docs = bots_state_plan_limit(b, plan, PGS_KEY_PLAN_MAX_DOCUMENTS_PER_BOT);
    if (bot.document_count >= max_docs) {
        pgs_idem_abort(b->db);
        char msg[200];
        snprintf(msg, sizeof msg,
                 "This bot has reached its plan's max_documents_per_bot limit (%lld documents).",
                 max_docs);
        pgs_res_error(res, req, 409, "conflict", msg, NULL);
        goto done;
    }
    if (bot.next_passage + c->nchunks > 0xffffffffLL) {
        pgs_idem_abort(b->db);
        pgs_res_error(res, req, 409, "conflict", "This bot's index is full.", NULL);
        goto done;
    }
    char id[PGS_ID_MAX];
    pgs_id_new("doc", id);
    int64_t now = pgs_time_now_ms();
    if (s_store(b, &bot, id, &c->u, c->text, c->text_len, c->chunks, c->nchunks, now) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        goto done;
    }
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "object", json_string("document"));
    json_object_set_new(o, "bot_id", json_string(bot.id));
    json_object_set_new(o, "title", json_string(c->u.title));
    json_object_set_new(o, "content_type", json_string(c->u.content_type));
    json_object_set_new(o, "bytes", json_integer((json_int_t)c->u.content_len));
    json_object_set_new(o, "chunks", json_integer(c->nchunks));
    json_object_set_new(o, "created_at", bots_store_time(now));
    pgs_res_json(res, 201, o);
    if (pgs_idem_commit(b->db, &idem, req, res) == 0)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "document created id=%s bot=%s bytes=%zu chunks=%ld",
                id, bot.id, c->u.content_len, c->nchunks);
done:
    s_create_free(c);
    return PGS_DONE;
}

pgs_handled_t
bots_docs_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    const char *plan = pgs_req_ctx(req, "plan");
    long long max_bytes = bots_state_plan_limit(b, plan, PGS_KEY_PLAN_MAX_DOCUMENT_BYTES);
    char msg[200];
    snprintf(msg, sizeof msg,
             "The document is larger than this plan's max_document_bytes (%lld bytes).", max_bytes);
    /* the plan's limit applies to the raw body, and to the content of JSON */
    char media[64];
    bots_req_media_type(req, media, sizeof media);
    if (strcmp(media, "application/json") != 0 && (long long)req->body_len > max_bytes) {
        pgs_res_error(res, req, 413, "payload_too_large", msg, NULL);
        return PGS_DONE;
    }
    s_create_t *c = calloc(1, sizeof *c);
    if (!c) {
        pgs_res_error(res, req, 500, "internal_error", "Out of memory.", NULL);
        return PGS_DONE;
    }
    c->b = b;
    if (s_upload(req, res, &c->u) < 0) {
        free(c);
        return PGS_DONE;
    }
    if ((long long)c->u.content_len > max_bytes) {
        s_create_free(c);
        pgs_res_error(res, req, 413, "payload_too_large", msg, NULL);
        return PGS_DONE;
    }
    /* A small document costs less than the trip to a thread. */
    if (c->u.content_len >= S_EXTRACT_ON_THREAD_BYTES &&
        pgs_call_offload(req->call, s_extract, s_create_store, c) == 0)
        return PGS_LATER;
    s_extract(c);
    return s_create_store(c, req, res);
}

/* ---- show, delete ---- */

typedef struct {
    int64_t seq, first, chunks;
    json_t *obj;
} s_doc_t;

/* The path's document of bot. 0, or -1 with res filled. */
static int
s_doc(bots_t *b, const pgs_req_t *req, pgs_res_t *res, const bots_bot_t *bot, s_doc_t *d)
{
    memset(d, 0, sizeof *d);
    const char *id = bots_req_get(req, "path", "doc_id");
    if (!id || !pgs_id_valid(id, "doc")) {
        bots_req_no_doc(req, res);
        return -1;
    }
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_DOC);
    if (!st) {
        pgs_idem_fail_db(b->db, req, res);
        return -1;
    }
    pgs_db_bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, bot->seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        d->obj = bots_store_doc_object(st);
        d->chunks = sqlite3_column_int64(st, 5);
        d->first = sqlite3_column_int64(st, 7);
        d->seq = sqlite3_column_int64(st, 8);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        bots_req_no_doc(req, res);
        return -1;
    }
    if (rc != SQLITE_ROW) {
        pgs_idem_fail_db(b->db, req, res);
        return -1;
    }
    return 0;
}

/* 1 when ?include names content, 0 when absent, -1 when it names anything
 * else (comma-separated list). */
static int
s_include(const pgs_req_t *req)
{
    const char *inc = bots_req_get(req, "query", "include");
    if (!inc)
        return 0;
    int want = 0;
    const char *p = inc;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 7 && !strncmp(p, "content", 7))
            want = 1;
        else if (n != 0)
            return -1;
        p += n + (e ? 1 : 0);
    }
    return want;
}

pgs_handled_t
bots_docs_show(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    bots_bot_t bot;
    s_doc_t d;
    if (s_bot(b, req, res, &bot) < 0 || s_doc(b, req, res, &bot, &d) < 0)
        return PGS_DONE;
    int inc = s_include(req);
    if (inc < 0) {
        json_decref(d.obj);
        pgs_res_error(res, req, 400, "invalid_request", "'include' may only be 'content'.",
                      "include");
        return PGS_DONE;
    }
    if (inc) {
        sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_BODY);
        int rc = SQLITE_ERROR;
        if (st) {
            sqlite3_bind_int64(st, 1, d.seq);
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                json_object_set_new(d.obj, "content",
                                    json_stringn((const char *)sqlite3_column_text(st, 0),
                                                 (size_t)sqlite3_column_bytes(st, 0)));
                json_object_set_new(d.obj, "text",
                                    json_stringn((const char *)sqlite3_column_text(st, 1),
                                                 (size_t)sqlite3_column_bytes(st, 1)));
            }
            sqlite3_reset(st);
        }
        if (rc != SQLITE_ROW) {
            json_decref(d.obj);
            pgs_idem_fail_db(b->db, req, res);
            return PGS_DONE;
        }
    }
    pgs_res_json(res, 200, d.obj);
    return PGS_DONE;
}

pgs_handled_t
bots_docs_delete(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    if (pgs_db_begin(b->db) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    bots_bot_t bot;
    s_doc_t d;
    if (s_bot(b, req, res, &bot) < 0 || s_doc(b, req, res, &bot, &d) < 0) {
        pgs_db_rollback(b->db);
        return PGS_DONE;
    }
    json_decref(d.obj);
    int ok =
        d.chunks == 0 || bots_index_delete(b->ix, BOTS_INDEX_LO(bot.seq) + d.first,
                                           BOTS_INDEX_LO(bot.seq) + d.first + d.chunks - 1) == 0;
    sqlite3_stmt *st;
    if (ok && (st = pgs_db_stmt(b->db, S_SQL_DEL_BODY))) {
        sqlite3_bind_int64(st, 1, d.seq);
        ok = pgs_db_step_done(b->db, st, "bots.db document") == 0;
    }
    if (ok && (st = pgs_db_stmt(b->db, S_SQL_DEL_DOC))) {
        sqlite3_bind_int64(st, 1, d.seq);
        ok = pgs_db_step_done(b->db, st, "bots.db document") == 0;
    }
    if (ok && (st = pgs_db_stmt(b->db, S_SQL_BOT_ADD))) {
        sqlite3_bind_int64(st, 1, -1);
        sqlite3_bind_int64(st, 2, -d.chunks);
        sqlite3_bind_int64(st, 3, 0);
        sqlite3_bind_int64(st, 4, bot.seq);
        ok = pgs_db_step_done(b->db, st, "bots.db document") == 0;
    }
    if (!ok || pgs_db_commit(b->db) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_empty(res, 204);
    return PGS_DONE;
}

/* ---- search ---- */

/* Runs the search and builds the hits (JSON array), or NULL with res. */
static json_t *
s_search(bots_t *b, const pgs_req_t *req, pgs_res_t *res, const bots_bot_t *bot, const char *q,
         int k, int want_text)
{
    bots_terms_t terms;
    if (bots_index_terms(b->ix, q, strlen(q), &terms) < 0) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return NULL;
    }
    bots_hit_t hits[S_SEARCH_MAX];
    int n = bots_index_search(b->ix, BOTS_INDEX_LO(bot->seq), BOTS_INDEX_HI(bot->seq),
                              bot->passage_count, bot->next_passage, &terms, k, want_text, hits);
    if (n < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return NULL;
    }
    json_t *data = json_array();
    for (int i = 0; i < n; i++) {
        json_t *h = json_object();
        if (!want_text)
            json_object_set_new(h, "object", json_string("search_hit"));
        json_object_set_new(h, "document_id", json_string(hits[i].doc_id));
        const char *title = "";
        sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_TITLE);
        if (st) {
            pgs_db_bind_text(st, 1, hits[i].doc_id);
            if (sqlite3_step(st) == SQLITE_ROW)
                title = pgs_db_col_text(st, 0);
        }
        json_object_set_new(h, "title", json_string(title));
        if (st)
            sqlite3_reset(st);
        if (want_text)
            json_object_set_new(h, "text", json_string(hits[i].text));
        json_object_set_new(h, "snippet", json_string(hits[i].snippet));
        json_object_set_new(h, "score", json_real(hits[i].score));
        json_array_append_new(data, h);
    }
    bots_index_hits_clear(hits, n);
    return data;
}

/* bots.search, inside the caller's read transaction. */
static void
s_search_route(bots_t *b, const pgs_req_t *req, pgs_res_t *res)
{
    bots_bot_t bot;
    if (s_bot(b, req, res, &bot) < 0)
        return;
    const char *q = bots_req_get(req, "query", "q");
    size_t qlen = q ? strlen(q) : 0;
    if (!q || qlen == 0 || qlen > S_QUERY_MAX || pgs_json_utf8_length(q, qlen) < 0) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "'q' is required: 1 to 1000 bytes of UTF-8 text.", "q");
        return;
    }
    int k = S_SEARCH_DEFAULT;
    const char *lim = bots_req_get(req, "query", "limit");
    if (lim) {
        char *end = NULL;
        long v = strlen(lim) <= 3 && lim[0] >= '0' && lim[0] <= '9' ? strtol(lim, &end, 10) : 0;
        if (!end || *end || v < 1 || v > S_SEARCH_MAX) {
            pgs_res_error(res, req, 400, "invalid_request",
                          "'limit' must be an integer from 1 to 50.", "limit");
            return;
        }
        k = (int)v;
    }
    json_t *data = s_search(b, req, res, &bot, q, k, 0);
    if (data)
        bots_req_json(res, 200, pgs_page_list(data, 0, NULL));
}

pgs_handled_t
bots_docs_search(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    /* One snapshot, and the WAL read lock taken once for the dozen reads of
     * a search rather than once per statement. */
    if (pgs_db_read_begin(b->db) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    s_search_route(b, req, res);
    pgs_db_read_end(b->db);
    return PGS_DONE;
}

pgs_handled_t
bots_docs_retrieve(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    json_t *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
    const char *ws = json_string_value(bots_req_arg(req, "workspace_id", &t1));
    const char *id = json_string_value(bots_req_arg(req, "bot_id", &t2));
    const char *q = json_string_value(bots_req_arg(req, "query", &t3));
    json_t *kv = bots_req_arg(req, "k", &t4);
    long k = S_RETRIEVE_DEFAULT;
    if (json_is_integer(kv))
        k = (long)json_integer_value(kv);
    else if (json_is_string(kv))
        k = strtol(json_string_value(kv), NULL, 10);
    if (k < 1)
        k = S_RETRIEVE_DEFAULT;
    if (k > S_RETRIEVE_MAX)
        k = S_RETRIEVE_MAX;
    bots_bot_t bot;
    pgs_db_read_begin(b->db); /* as in search; the reads work without it too */
    int rc = bots_store_bot_find(b->db, ws, id, &bot);
    if (rc < 0) {
        pgs_idem_fail_db(b->db, req, res);
    } else if (rc == 0) {
        bots_req_no_bot(req, res);
    } else if (bot.deleted) {
        pgs_res_error(res, req, 410, "bot_deleted", "The bot was deleted.", NULL);
    } else if (!q || pgs_json_utf8_length(q, strlen(q)) < 0) {
        pgs_res_error(res, req, 400, "invalid_request", "'query' must be UTF-8 text.", "query");
    } else {
        /* chat may pass a whole message: its first 4000 bytes are plenty */
        size_t qlen = strlen(q);
        char *qq = strndup(q, qlen > 4 * S_QUERY_MAX ? 4 * S_QUERY_MAX : qlen);
        if (!qq) {
            pgs_res_error(res, req, 500, "internal_error", "Out of memory.", NULL);
        } else {
            json_t *data = s_search(b, req, res, &bot, qq, (int)k, 1);
            /* The bot comes along: chat needs both, in one round trip. */
            if (data)
                bots_req_json(res, 200,
                              json_pack("{s:o,s:O}", "passages", data, "bot",
                                        bot.obj ? bot.obj : json_null()));
            free(qq);
        }
    }
    pgs_db_read_end(b->db);
    bots_store_bot_clear(&bot);
    json_decref(t1);
    json_decref(t2);
    json_decref(t3);
    json_decref(t4);
    return bots_state_answer(b, req, res);
}
