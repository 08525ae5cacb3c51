/*
 * bots_api — see bots_api.h.
 */
#include "bots_api.h"
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

#define S_NAME_MAX 128
#define S_DESCRIPTION_MAX 1000
#define S_INSTRUCTIONS_MAX 32000

static const char S_SQL_LIST[] =
    "SELECT " BOTS_STORE_BOT_COLS " FROM bots "
    "WHERE workspace_id = ?1 AND deleted_at IS NULL AND (created_at, id) < (?2, ?3) "
    "ORDER BY created_at DESC, id DESC LIMIT ?4";
static const char S_SQL_COUNT[] =
    "SELECT count(*) FROM bots WHERE workspace_id = ?1 AND deleted_at IS NULL";
static const char S_SQL_INSERT[] =
    "INSERT INTO bots (id, workspace_id, name, description, model, instructions, created_at, "
    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)";
static const char S_SQL_UPDATE[] =
    "UPDATE bots SET name = coalesce(?1, name), description = coalesce(?2, description), "
    "model = coalesce(?3, model), instructions = coalesce(?4, instructions), updated_at = ?5 "
    "WHERE seq = ?6";
static const char S_SQL_TOMBSTONE[] =
    "UPDATE bots SET deleted_at = ?1, updated_at = ?1, document_count = 0, passage_count = 0 "
    "WHERE seq = ?2";
static const char S_SQL_DEL_BODIES[] =
    "DELETE FROM document_bodies WHERE doc_seq IN (SELECT seq FROM documents WHERE bot_seq = ?1)";
static const char S_SQL_DEL_DOCS[] = "DELETE FROM documents WHERE bot_seq = ?1";

static const pgs_json_field_t S_CREATE_FIELDS[] = {
    {"name", PGS_JSON_STRING, 1},
    {"description", PGS_JSON_STRING, 0},
    {"model", PGS_JSON_STRING, 1},
    {"instructions", PGS_JSON_STRING, 0},
    {NULL, 0, 0},
};
static const pgs_json_field_t S_UPDATE_FIELDS[] = {
    {"name", PGS_JSON_STRING, 0},
    {"description", PGS_JSON_STRING, 0},
    {"model", PGS_JSON_STRING, 0},
    {"instructions", PGS_JSON_STRING, 0},
    {NULL, 0, 0},
};

typedef struct {
    char *name, *description, *model, *instructions;
} s_fields_t;

static void
s_fields_free(s_fields_t *f)
{
    free(f->name);
    free(f->description);
    free(f->model);
    free(f->instructions);
    memset(f, 0, sizeof *f);
}

/* Validates the fields of a create or update body. 0, or -1 with res. */
static int
s_fields(bots_t *b, const pgs_req_t *req, pgs_res_t *res, json_t *body, s_fields_t *f)
{
    pgs_json_err_t err = {0};
    memset(f, 0, sizeof *f);
    if (bots_req_text(json_object_get(body, "name"), "name", 1, S_NAME_MAX, 1, 0, &f->name, &err) <
            0 ||
        bots_req_text(json_object_get(body, "description"), "description", 0, S_DESCRIPTION_MAX, 1,
                      1, &f->description, &err) < 0 ||
        bots_req_text(json_object_get(body, "model"), "model", 1, 64, 1, 0, &f->model, &err) < 0 ||
        bots_req_text(json_object_get(body, "instructions"), "instructions", 0, S_INSTRUCTIONS_MAX,
                      0, 1, &f->instructions, &err) < 0) {
        s_fields_free(f);
        bots_req_fail(req, res, &err);
        return -1;
    }
    if (f->model && !bots_state_model_allowed(b, pgs_req_ctx(req, "plan"), f->model)) {
        s_fields_free(f);
        pgs_res_error(res, req, 400, "invalid_request",
                      "'model' must be a model that this workspace's plan may use "
                      "(see GET /v1/models).",
                      "model");
        return -1;
    }
    return 0;
}

pgs_handled_t
bots_api_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    pgs_page_t page;
    if (pgs_page_parse(req, res, &page) < 0)
        return PGS_DONE;
    const char *ws = pgs_req_ctx(req, "workspace_id");
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_LIST);
    if (!ws || !st) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_db_bind_text(st, 1, ws);
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
        json_array_append_new(data, bots_store_bot_object(st));
        pgs_page_cursor(sqlite3_column_int64(st, 10), pgs_db_col_text(st, 1), cursor,
                        sizeof cursor);
        n++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_reset(st);
        json_decref(data);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    sqlite3_reset(st);
    pgs_res_json(res, 200, pgs_page_list(data, more, cursor));
    return PGS_DONE;
}

#define S_OPENAI_MODELS_MAX 1000 /* OpenAI's model list has no pages */

/* A bot as OpenAI describes a model. */
static json_t *
s_openai_model(sqlite3_stmt *st, const char *id)
{
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created",
                     (json_int_t)(sqlite3_column_int64(st, 10) / 1000), "owned_by", "pegasus");
}

pgs_handled_t
bots_api_openai_models(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    const char *ws = pgs_req_ctx(req, "workspace_id");
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_LIST);
    if (!ws || !st) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_db_bind_text(st, 1, ws);
    sqlite3_bind_int64(st, 2, INT64_MAX);
    pgs_db_bind_text(st, 3, "");
    sqlite3_bind_int(st, 4, S_OPENAI_MODELS_MAX);
    json_t *data = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(data, s_openai_model(st, pgs_db_col_text(st, 1)));
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        json_decref(data);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
    return PGS_DONE;
}

pgs_handled_t
bots_api_openai_model(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    static const char sql[] = "SELECT " BOTS_STORE_BOT_COLS " FROM bots WHERE workspace_id = ?1 "
                              "AND id = ?2 AND deleted_at IS NULL";
    sqlite3_stmt *st = pgs_db_stmt(b->db, sql);
    const char *ws = pgs_req_ctx(req, "workspace_id");
    const char *id = bots_req_get(req, "path", "bot_id");
    if (!st || !ws) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_db_bind_text(st, 1, ws);
    pgs_db_bind_text(st, 2, id ? id : "");
    int rc = pgs_db_step_row(b->db, st, "bots.db openai model");
    if (rc < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    if (rc == 0) {
        pgs_res_error(res, req, 404, "model_not_found",
                      "No such model: a model here is the id of one of the workspace's bots "
                      "(see GET /openai/v1/models).",
                      "model");
        return PGS_DONE;
    }
    json_t *o = s_openai_model(st, pgs_db_col_text(st, 1));
    sqlite3_reset(st);
    pgs_res_json(res, 200, o);
    return PGS_DONE;
}

pgs_handled_t
bots_api_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    const char *ws = pgs_req_ctx(req, "workspace_id");
    if (!ws) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return PGS_DONE;
    }
    json_t *body = bots_req_body(req, res, S_CREATE_FIELDS);
    if (!body)
        return PGS_DONE;
    s_fields_t f;
    int rc = s_fields(b, req, res, body, &f);
    json_decref(body);
    if (rc < 0)
        return PGS_DONE;
    pgs_idem_t idem;
    if (pgs_idem_init(&idem, req, res) < 0 || pgs_idem_begin(b->db, &idem, req, res) != 0) {
        s_fields_free(&f);
        return PGS_DONE;
    }
    long long max = bots_state_plan_limit(b, pgs_req_ctx(req, "plan"), PGS_KEY_PLAN_MAX_BOTS);
    sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_COUNT);
    long long count = -1;
    if (st) {
        pgs_db_bind_text(st, 1, ws);
        if (sqlite3_step(st) == SQLITE_ROW)
            count = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    if (count < 0) {
        s_fields_free(&f);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    if (count >= max) {
        pgs_idem_abort(b->db);
        s_fields_free(&f);
        char msg[200];
        snprintf(msg, sizeof msg,
                 "This workspace has reached its plan's max_bots limit (%lld bots).", max);
        pgs_res_error(res, req, 409, "conflict", msg, NULL);
        return PGS_DONE;
    }
    char id[PGS_ID_MAX];
    pgs_id_new("bot", id);
    int64_t now = pgs_time_now_ms();
    st = pgs_db_stmt(b->db, S_SQL_INSERT);
    rc = SQLITE_ERROR;
    if (st) {
        pgs_db_bind_text(st, 1, id);
        pgs_db_bind_text(st, 2, ws);
        pgs_db_bind_text(st, 3, f.name);
        pgs_db_bind_text(st, 4, f.description ? f.description : "");
        pgs_db_bind_text(st, 5, f.model);
        pgs_db_bind_text(st, 6, f.instructions ? f.instructions : "");
        sqlite3_bind_int64(st, 7, now);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
    }
    s_fields_free(&f);
    bots_bot_t bot;
    if (rc != SQLITE_DONE || bots_store_bot_find(b->db, ws, id, &bot) != 1) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 201, bot.obj);
    bot.obj = NULL;
    pgs_res_usage_bot(res, id);
    if (pgs_idem_commit(b->db, &idem, req, res) == 0)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "bot created id=%s workspace=%s", id, ws);
    return PGS_DONE;
}

/* Loads the path's bot of the caller's workspace; deleted counts as absent.
 * 0, or -1 with res filled (404 or 5xx). */
static int
s_load(bots_t *b, const pgs_req_t *req, pgs_res_t *res, bots_bot_t *bot)
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
    return 0;
}

pgs_handled_t
bots_api_show(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    bots_bot_t bot;
    if (s_load(b, req, res, &bot) < 0)
        return PGS_DONE;
    pgs_res_json(res, 200, bot.obj);
    bot.obj = NULL;
    return PGS_DONE;
}

pgs_handled_t
bots_api_update(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    json_t *body = bots_req_body(req, res, S_UPDATE_FIELDS);
    if (!body)
        return PGS_DONE;
    s_fields_t f;
    int rc = s_fields(b, req, res, body, &f);
    json_decref(body);
    if (rc < 0)
        return PGS_DONE;
    if (pgs_db_begin(b->db) < 0) {
        s_fields_free(&f);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    bots_bot_t bot;
    if (s_load(b, req, res, &bot) < 0) {
        pgs_db_rollback(b->db);
        s_fields_free(&f);
        return PGS_DONE;
    }
    int changed = f.name || f.description || f.model || f.instructions;
    if (changed) {
        bots_store_bot_clear(&bot);
        sqlite3_stmt *st = pgs_db_stmt(b->db, S_SQL_UPDATE);
        rc = SQLITE_ERROR;
        if (st) {
            pgs_db_bind_text(st, 1, f.name);
            pgs_db_bind_text(st, 2, f.description);
            pgs_db_bind_text(st, 3, f.model);
            pgs_db_bind_text(st, 4, f.instructions);
            sqlite3_bind_int64(st, 5, pgs_time_now_ms());
            sqlite3_bind_int64(st, 6, bot.seq);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
        }
        if (rc != SQLITE_DONE || s_load(b, req, res, &bot) < 0) {
            s_fields_free(&f);
            if (rc != SQLITE_DONE)
                pgs_idem_fail_db(b->db, req, res);
            pgs_db_rollback(b->db);
            return PGS_DONE;
        }
    }
    s_fields_free(&f);
    if (pgs_db_commit(b->db) < 0) {
        bots_store_bot_clear(&bot);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, bot.obj);
    bot.obj = NULL;
    return PGS_DONE;
}

static int
s_exec_seq(pgs_db_t *db, const char *sql, int64_t a, int64_t seq)
{
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    if (!st)
        return -1;
    if (sql == S_SQL_TOMBSTONE) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, seq);
    } else {
        sqlite3_bind_int64(st, 1, seq);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

pgs_handled_t
bots_api_delete(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    if (pgs_db_begin(b->db) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    bots_bot_t bot;
    if (s_load(b, req, res, &bot) < 0) {
        pgs_db_rollback(b->db);
        return PGS_DONE;
    }
    bots_store_bot_clear(&bot);
    if (bots_index_delete(b->ix, BOTS_INDEX_LO(bot.seq), BOTS_INDEX_HI(bot.seq)) < 0 ||
        s_exec_seq(b->db, S_SQL_DEL_BODIES, 0, bot.seq) < 0 ||
        s_exec_seq(b->db, S_SQL_DEL_DOCS, 0, bot.seq) < 0 ||
        s_exec_seq(b->db, S_SQL_TOMBSTONE, pgs_time_now_ms(), bot.seq) < 0 ||
        pgs_db_commit(b->db) < 0) {
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    PGS_LOG(PGS_LOG_INFO, req->request_id, "bot deleted id=%s", bot.id);
    pgs_res_empty(res, 204);
    return PGS_DONE;
}

pgs_handled_t
bots_api_get(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    json_t *tmp1 = NULL, *tmp2 = NULL;
    const char *ws = json_string_value(bots_req_arg(req, "workspace_id", &tmp1));
    const char *id = json_string_value(bots_req_arg(req, "bot_id", &tmp2));
    bots_bot_t bot;
    int rc = bots_store_bot_find(b->db, ws, id, &bot);
    json_decref(tmp1);
    json_decref(tmp2);
    if (rc < 0) {
        pgs_idem_fail_db(b->db, req, res);
    } else if (rc == 0) {
        bots_req_no_bot(req, res);
    } else if (bot.deleted) {
        bots_store_bot_clear(&bot);
        pgs_res_error(res, req, 410, "bot_deleted", "The bot was deleted.", NULL);
    } else {
        pgs_res_json(res, 200, bot.obj);
        bot.obj = NULL;
    }
    return bots_state_answer(b, req, res);
}

pgs_handled_t
bots_api_labels(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    bots_t *b = arg;
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    const char *ws = json_string_value(json_object_get(body, "workspace_id"));
    json_t *names = json_object();
    size_t i;
    json_t *v;
    int failed = 0;
    json_array_foreach(json_object_get(body, "bots"), i, v)
    {
        bots_bot_t bot;
        const char *id = json_string_value(v);
        int rc = ws && id ? bots_store_bot_find(b->db, ws, id, &bot) : 0;
        failed |= rc < 0;
        if (rc == 1) {
            json_object_set(names, id, json_object_get(bot.obj, "name"));
            bots_store_bot_clear(&bot);
        }
    }
    json_decref(body);
    if (failed) {
        json_decref(names);
        pgs_idem_fail_db(b->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 200, json_pack("{s:o}", "bots", names));
    return PGS_DONE;
}
