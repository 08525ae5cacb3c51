/*
 * chat_api — see chat_api.h.
 */
#include "chat_api.h"
#include "chat_req.h"
#include "chat_state.h"
#include "chat_store.h"
#include "pgs_idem.h"
#include "pgs_page.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TITLE_MAX_CP 200

static int
s_space(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* A title: a string, trimmed, 1..200 code points, no control characters. */
static int
s_title(json_t *v, char *out, size_t outlen, pgs_json_err_t *err)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (pgs_json_utf8_length(s, len) < 0)
        return pgs_json_fail(err, "title", "'title' must be valid UTF-8 text.");
    while (len && s_space((unsigned char)*s))
        s++, len--;
    while (len && s_space((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return pgs_json_fail(err, "title", "'title' must not be empty.");
    if (pgs_json_utf8_length(s, len) > S_TITLE_MAX_CP || len >= outlen)
        return pgs_json_fail(err, "title", "'title' must be at most %d characters.",
                             S_TITLE_MAX_CP);
    memcpy(out, s, len);
    out[len] = '\0';
    if (pgs_json_has_control(out))
        return pgs_json_fail(err, "title", "'title' must not contain control characters.");
    if (pgs_json_has_invisible(out, len))
        return pgs_json_fail(err, "title", "'title' " PGS_JSON_INVISIBLE_MESSAGE ".");
    return 0;
}

/* A conversation create waiting for bots.get. */
typedef struct {
    chat_t *c;
    chat_conv_t conv;
} s_create_t;

/* The bot exists (or not): store the conversation. */
static void
s_create_store(chat_t *c, const pgs_req_t *req, pgs_res_t *res, chat_conv_t *conv, int status)
{
    if (status == 404 || status == 410) {
        pgs_res_error(res, req, 404, "not_found", "No such bot.", "bot_id");
        return;
    }
    if (status != 200) {
        chat_req_unavailable(req, res);
        return;
    }
    pgs_idem_t idem;
    if (pgs_idem_init(&idem, req, res) < 0 || pgs_idem_begin(c->db, &idem, req, res) != 0)
        return;
    pgs_id_new("conv", conv->id);
    snprintf(conv->workspace_id, sizeof conv->workspace_id, "%s", pgs_req_ctx(req, "workspace_id"));
    snprintf(conv->user_id, sizeof conv->user_id, "%s", pgs_req_ctx(req, "user_id"));
    snprintf(conv->token_id, sizeof conv->token_id, "%s", pgs_req_ctx(req, "token_id"));
    conv->created_ms = conv->updated_ms = pgs_time_now_ms();
    if (chat_store_conv_insert(c->db, conv) < 0) {
        chat_req_fail_db(c->db, req, res);
        return;
    }
    pgs_res_json(res, 201, chat_store_conv_json(conv));
    pgs_res_usage_bot(res, conv->bot_id);
    pgs_idem_commit(c->db, &idem, req, res);
}

static pgs_handled_t
s_create_bot(void *arg, const pgs_req_t *req, pgs_res_t *res, pgs_res_t *reply)
{
    s_create_t *cr = arg;
    s_create_store(cr->c, req, res, &cr->conv, reply->status);
    free(cr);
    return PGS_DONE;
}

pgs_handled_t
chat_api_conv_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    static const pgs_json_field_t fields[] = {
        {"bot_id", PGS_JSON_STRING, 1}, {"title", PGS_JSON_STRING, 0}, {NULL, 0, 0}};
    json_t *body = chat_req_body(req, res, fields);
    if (!body)
        return PGS_DONE;
    chat_conv_t conv = {0};
    json_t *title = json_object_get(body, "title");
    pgs_json_err_t err = {0};
    if (json_is_string(title)) {
        if (s_title(title, conv.title, sizeof conv.title, &err) < 0) {
            pgs_res_error(res, req, 400, err.code, err.message, err.param);
            json_decref(body);
            return PGS_DONE;
        }
        conv.has_title = 1;
    }
    const char *bot_id = json_string_value(json_object_get(body, "bot_id"));
    const char *ws = pgs_req_ctx(req, "workspace_id");
    const char *user = pgs_req_ctx(req, "user_id");
    const char *token = pgs_req_ctx(req, "token_id");
    if (!ws || !user || !token) {
        pgs_res_error(res, req, 400, "invalid_request", "Malformed internal request.", NULL);
        json_decref(body);
        return PGS_DONE;
    }
    if (!pgs_id_valid(bot_id, "bot")) {
        pgs_res_error(res, req, 404, "not_found", "No such bot.", "bot_id");
        json_decref(body);
        return PGS_DONE;
    }
    snprintf(conv.bot_id, sizeof conv.bot_id, "%s", bot_id);
    json_decref(body);

    s_create_t *cr = calloc(1, sizeof *cr);
    json_t *params = json_pack("{s:s,s:s}", "workspace_id", ws, "bot_id", conv.bot_id);
    if (cr) {
        cr->c = c;
        cr->conv = conv;
    }
    if (!cr || !params ||
        pgs_call_request(req->call, "bots", "bots.get", req->ctx, params, NULL, 0,
                         (int)c->bots_timeout_ms, s_create_bot, cr) < 0) {
        free(cr);
        json_decref(params);
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return PGS_DONE;
    }
    json_decref(params);
    return PGS_LATER;
}

pgs_handled_t
chat_api_conv_show(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_conv_t conv;
    if (chat_req_conversation(arg, req, res, &conv)) {
        pgs_res_json(res, 200, chat_store_conv_json(&conv));
        pgs_res_usage_bot(res, conv.bot_id);
    }
    return PGS_DONE;
}

pgs_handled_t
chat_api_conv_delete(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    chat_conv_t conv;
    if (!chat_req_conversation(c, req, res, &conv))
        return PGS_DONE;
    if (pgs_db_begin(c->db) < 0 || chat_store_conv_delete(c->db, conv.id) < 0 ||
        pgs_db_commit(c->db) < 0) {
        chat_req_fail_db(c->db, req, res);
        return PGS_DONE;
    }
    pgs_res_empty(res, 204);
    pgs_res_usage_bot(res, conv.bot_id);
    return PGS_DONE;
}

pgs_handled_t
chat_api_conv_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    pgs_page_t page;
    if (pgs_page_parse(req, res, &page) < 0)
        return PGS_DONE;
    const char *ws = pgs_req_ctx(req, "workspace_id");
    const char *user = pgs_req_ctx(req, "user_id");
    if (!ws || !user) {
        pgs_res_error(res, req, 400, "invalid_request", "Malformed internal request.", NULL);
        return PGS_DONE;
    }
    const char *bot = chat_req_get(req, "query", "bot_id");
    json_t *data = json_array();
    int64_t last_ms = 0;
    char last_id[PGS_ID_MAX] = "";
    int n = chat_store_conv_list(c->db, ws, chat_req_sees_all(req) ? NULL : user, bot,
                                 page.after_ts, page.has_after ? page.after_id : NULL,
                                 page.limit + 1, data, &last_ms, last_id);
    if (n < 0) {
        json_decref(data);
        chat_req_fail_db(c->db, req, res);
        return PGS_DONE;
    }
    int more = n > page.limit;
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    if (more) {
        json_array_remove(data, (size_t)page.limit);
        json_t *lastobj = json_array_get(data, (size_t)page.limit - 1);
        const char *id = json_string_value(json_object_get(lastobj, "id"));
        /* the cursor needs the stored millisecond time, not the RFC 3339 one */
        chat_conv_t lc;
        if (id && chat_store_conv_get(c->db, ws, id, &lc) == 1)
            pgs_page_cursor(lc.created_ms, lc.id, cursor, sizeof cursor);
    }
    pgs_res_json(res, 200, pgs_page_list(data, more, cursor));
    return PGS_DONE;
}

pgs_handled_t
chat_api_msg_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    pgs_page_t page;
    chat_conv_t conv;
    if (pgs_page_parse(req, res, &page) < 0 || !chat_req_conversation(c, req, res, &conv))
        return PGS_DONE;
    /* A message cursor holds the message's seq where lists of other
     * objects hold a time. */
    json_t *data = json_array();
    int64_t last_seq = 0, prev_seq = 0;
    int n = chat_store_msg_list(c->db, conv.id, page.has_after ? page.after_ts : 0, page.limit + 1,
                                data, &last_seq);
    if (n < 0) {
        json_decref(data);
        chat_req_fail_db(c->db, req, res);
        return PGS_DONE;
    }
    int more = n > page.limit;
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    if (more) {
        json_array_remove(data, (size_t)page.limit);
        const char *id =
            json_string_value(json_object_get(json_array_get(data, (size_t)page.limit - 1), "id"));
        if (id && chat_store_msg_seq(c->db, conv.id, id, &prev_seq) == 1)
            pgs_page_cursor(prev_seq, id, cursor, sizeof cursor);
    }
    (void)last_seq;
    pgs_res_json(res, 200, pgs_page_list(data, more, cursor));
    pgs_res_usage_bot(res, conv.bot_id);
    return PGS_DONE;
}
