/*
 * chat_send — see chat_send.h.
 *
 * Idempotency (pgs_idem): the key is looked up before any work and again
 * in the transaction that stores the answer, so a duplicate that raced us
 * replays the first answer instead of storing a second. Upstream sends save
 * the key as "in progress" when they start (with the question, when
 * streaming) and their final response — an answer or the provider's error —
 * when they end.
 */
#include "chat_send.h"
#include "chat_answer.h"
#include "chat_openai.h"
#include "chat_req.h"
#include "chat_store.h"
#include "chat_text.h"
#include "chat_upstream.h"
#include "pgs_idem.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CONTENT_MAX 32000
#define S_DELTA_BYTES 48
#define S_MAX_PASSAGES 64
#define S_EARLIER_TURNS 2
/* A send's stream: none, Pegasus events, or OpenAI chunks (then with the
 * usage chunk or not). */
enum { S_NO_STREAM = 0, S_STREAM, S_OPENAI_STREAM, S_OPENAI_STREAM_USAGE };

struct chat_job {
    chat_job_t *next, *prev;
    chat_t *c;
    pgs_call_t *d;
    chat_call_t *call;
    pgs_idem_t idem;
    int stream, began;
    int64_t last_chunk;
    char request_id[80];
    char ws[PGS_ID_MAX], conv[PGS_ID_MAX], bot[PGS_ID_MAX], model[80];
    char *question; /* stored with the answer when not streaming */
    char *citations;
    long long input_est;
    char *content;
    size_t len, cap;
    int oom;
    int openai;            /* an /openai/v1 completion: its shapes, nothing stored but the count */
    char cmpl[PGS_ID_MAX]; /* its id */
    int64_t created_s;
};

/* ---- event stream ---- */

static json_t *
s_sse_headers(int replayed)
{
    json_t *h =
        json_pack("{s:s,s:s}", "Content-Type", "text/event-stream", "Cache-Control", "no-store");
    if (replayed)
        json_object_set_new(h, "Idempotent-Replayed", json_string("true"));
    return h;
}

/* The start of a stream about bot: the edge knows the bot (for the usage
 * event) from the first byte; the counts come with the end. */
static void
s_stream_begin(pgs_call_t *d, const char *bot, int replayed)
{
    json_t *h = s_sse_headers(replayed);
    pgs_meta_t meta = {.replayed = replayed};
    pgs_meta_bot(&meta, bot);
    pgs_call_stream_begin(d, 200, h, &meta);
    json_decref(h);
}

static int
s_event_text(pgs_call_t *d, const char *name, const char *data)
{
    size_t n = strlen(name) + strlen(data) + 24;
    char *buf = malloc(n);
    if (!buf)
        return -1;
    int len = snprintf(buf, n, "event: %s\ndata: %s\n\n", name, data);
    int rc = pgs_call_stream_chunk(d, buf, (size_t)len);
    free(buf);
    return rc;
}

static int
s_event(pgs_call_t *d, const char *name, json_t *data)
{
    char *text = pgs_json_dump(data);
    int rc = text ? s_event_text(d, name, text) : -1;
    free(text);
    return rc;
}

static void
s_event_error(pgs_call_t *d, const char *request_id, const char *code, const char *message)
{
    char *body = pgs_json_error_body(code, message, request_id, NULL, NULL);
    if (body)
        s_event_text(d, "error", body);
    free(body);
}

/* An error reply's body as an error event (code and message kept). */
static void
s_event_error_res(pgs_call_t *d, const char *request_id, const pgs_res_t *res)
{
    json_t *o = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
    json_t *e = json_object_get(o, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    s_event_error(d, request_id, code ? code : "internal_error", msg ? msg : "Internal error.");
    json_decref(o);
}

/* Where the piece of s[0..len) that starts at i ends: about S_DELTA_BYTES
 * on, after a space, so that every piece is valid UTF-8. */
static size_t
s_piece_end(const char *s, size_t i, size_t len)
{
    size_t end = i + S_DELTA_BYTES < len ? i + S_DELTA_BYTES : len;
    while (end < len && s[end - 1] != ' ')
        end++;
    return end;
}

/* The answer's text as message.delta events, in pieces (s_piece_end). */
static void
s_deltas(pgs_call_t *d, const char *s, size_t len)
{
    for (size_t i = 0, end; i < len; i = end) {
        end = s_piece_end(s, i, len);
        json_t *o = json_object();
        json_object_set_new(o, "delta", json_stringn(s + i, end - i));
        s_event(d, "message.delta", o);
        json_decref(o);
    }
}

/* One OpenAI chunk (see chat_openai_chunk) sent. */
static void
s_chunk(pgs_call_t *d, const char *id, int64_t created, const char *bot, int role,
        const char *content, size_t len, const char *finish, json_t *usage)
{
    char *ev = chat_openai_chunk(id, created, bot, role, content, len, finish, usage);
    if (ev)
        pgs_call_stream_chunk(d, ev, strlen(ev));
    free(ev);
}

/* The end of an OpenAI stream: the finish, the usage when asked, [DONE]. */
static void
s_chunks_end(pgs_call_t *d, const char *id, int64_t created, const char *bot, int usage_chunk,
             long long in, long long out)
{
    s_chunk(d, id, created, bot, 0, NULL, 0, "stop", NULL);
    if (usage_chunk) {
        json_t *u = json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)in, "completion_tokens",
                              (json_int_t)out, "total_tokens", (json_int_t)(in + out));
        s_chunk(d, id, created, bot, 0, NULL, 0, NULL, u);
        json_decref(u);
    }
    pgs_call_stream_chunk(d, CHAT_OPENAI_DONE, sizeof CHAT_OPENAI_DONE - 1);
}

/* A finished completion as OpenAI's stream: the role, the content in
 * pieces cut after a space, the end. */
static void
s_stream_completion(pgs_call_t **callp, pgs_res_t *res, json_t *cmpl, int replayed, int usage_chunk)
{
    pgs_call_t *d = *callp;
    s_stream_begin(d, res->meta.bot, replayed);
    const char *id = json_string_value(json_object_get(cmpl, "id"));
    const char *bot = json_string_value(json_object_get(cmpl, "model"));
    int64_t created = json_integer_value(json_object_get(cmpl, "created"));
    json_t *msg = json_object_get(json_array_get(json_object_get(cmpl, "choices"), 0), "message");
    json_t *content = json_object_get(msg, "content");
    json_t *usage = json_object_get(cmpl, "usage");
    id = id ? id : "";
    bot = bot ? bot : "";
    s_chunk(d, id, created, bot, 1, "", 0, NULL, NULL);
    const char *t = json_string_value(content);
    size_t len = t ? json_string_length(content) : 0;
    for (size_t i = 0, end; i < len; i = end) {
        end = s_piece_end(t, i, len);
        s_chunk(d, id, created, bot, 0, t + i, end - i, NULL, NULL);
    }
    s_chunks_end(d, id, created, bot, usage_chunk,
                 json_integer_value(json_object_get(usage, "prompt_tokens")),
                 json_integer_value(json_object_get(usage, "completion_tokens")));
    pgs_call_stream_end(callp, 1, &res->meta);
}

/* Streams a finished message through *callp (then NULL): deltas, then
 * message.completed; res->meta has what the send counted. An OpenAI
 * completion goes as OpenAI's chunks. */
static void
s_stream_message(pgs_call_t **callp, pgs_res_t *res, json_t *msg, int replayed, int stream)
{
    const char *object = json_string_value(json_object_get(msg, "object"));
    if (object && strcmp(object, "chat.completion") == 0) {
        s_stream_completion(callp, res, msg, replayed, stream == S_OPENAI_STREAM_USAGE);
        return;
    }
    pgs_call_t *d = *callp;
    s_stream_begin(d, res->meta.bot, replayed);
    json_t *content = json_object_get(msg, "content");
    if (replayed) {
        json_t *o = json_pack("{s:O}", "delta", content);
        s_event(d, "message.delta", o);
        json_decref(o);
    } else {
        s_deltas(d, json_string_value(content), json_string_length(content));
    }
    s_event(d, "message.completed", msg);
    pgs_call_stream_end(callp, 1, &res->meta);
}

/* A stored response replayed: as it is (in res), or as a stream through
 * *callp when one is asked for and the stored response is a message. */
static void
s_replay(pgs_call_t **callp, pgs_res_t *res, int stream)
{
    if (!stream || res->status != 200)
        return;
    json_t *msg = json_loadb(res->body, res->body_len, 0, NULL);
    if (json_is_object(msg))
        s_stream_message(callp, res, msg, 1, stream);
    json_decref(msg);
}

/* ---- storage ---- */

typedef struct {
    const char *ws, *conv, *bot, *model;
    const char *question; /* NULL: already stored */
    const char *answer;
    const char *citations;
    long long in, out;
    const char *cmpl; /* an OpenAI completion's id: no conversation, only the count */
    int64_t created_s;
} s_answer_t;

/* Stores the answer (and the question) with the send's count and the
 * idempotency key's response. Returns 0 (res: 200 with the message, *msg
 * its object, owned), 1 (res: a replay or conflict; nothing stored) or -1
 * (res: the error). */
static int
s_store(chat_t *c, const pgs_req_t *req, const pgs_idem_t *idem, const s_answer_t *a,
        pgs_res_t *res, json_t **msg)
{
    *msg = NULL;
    if (idem->active) {
        int rc = pgs_idem_begin(c->db, idem, req, res);
        if (rc != 0)
            return rc;
    } else if (pgs_db_begin(c->db) < 0) {
        chat_req_fail_db(c->db, req, res);
        return -1;
    }
    int64_t now = pgs_time_now_ms();
    char month[8];
    chat_req_month(now / 1000, month);
    chat_msg_t um = {
        .conversation_id = a->conv, .role = "user", .content = a->question, .created_ms = now};
    chat_msg_t am = {.conversation_id = a->conv,
                     .role = "assistant",
                     .content = a->answer,
                     .citations_json = a->citations,
                     .model = a->model,
                     .input_tokens = a->in,
                     .output_tokens = a->out,
                     .has_usage = 1,
                     .created_ms = now};
    pgs_id_new("msg", um.id);
    pgs_id_new("msg", am.id);
    if ((!a->cmpl && a->question && chat_store_msg_insert(c->db, &um) < 0) ||
        (!a->cmpl && chat_store_msg_insert(c->db, &am) < 0) ||
        chat_store_count_send(c->db, a->ws, month) < 0) {
        chat_req_fail_db(c->db, req, res);
        return -1;
    }
    json_t *m;
    if (a->cmpl) {
        json_t *cites = json_loads(a->citations ? a->citations : "[]", 0, NULL);
        m = chat_openai_completion(a->cmpl, a->created_s, a->bot, a->model, a->answer, cites, a->in,
                                   a->out);
        json_decref(cites);
    } else {
        m = chat_store_msg_json(&am);
    }
    pgs_res_json(res, 200, json_incref(m));
    pgs_res_usage_bot(res, a->bot);
    res->meta.messages = 1;
    res->meta.input_tokens = a->in;
    res->meta.output_tokens = a->out;
    if (idem->active) {
        if (pgs_idem_commit(c->db, idem, req, res) < 0) {
            json_decref(m);
            return -1;
        }
    } else if (pgs_db_commit(c->db) < 0) {
        json_decref(m);
        chat_req_fail_db(c->db, req, res);
        return -1;
    }
    *msg = m;
    return 0;
}

/* ---- the bots service ---- */

/* The bots service's answer to bots.retrieve: the 200 body as an owned
 * object, or NULL with res filled: 409 bot_deleted when the bot is gone,
 * else 503. */
static json_t *
s_retrieved(const pgs_req_t *req, pgs_res_t *res, const pgs_res_t *out, int openai)
{
    json_t *body = NULL;
    if (out->status == 200)
        body = out->body ? json_loadb(out->body, out->body_len, 0, NULL) : NULL;
    if (openai && (out->status == 404 || out->status == 410)) {
        pgs_res_error(res, req, 404, "model_not_found",
                      "No such model: a model here is the id of one of the workspace's bots "
                      "(see GET /openai/v1/models).",
                      "model");
    } else if (out->status == 404 || out->status == 410) {
        pgs_res_error(res, req, 409, "bot_deleted",
                      "The bot of this conversation was deleted; the conversation is read-only.",
                      NULL);
    } else if (!json_is_object(body)) {
        PGS_LOG(PGS_LOG_WARN, req->request_id, "bots.retrieve answered %d", out->status);
        chat_req_unavailable(req, res);
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* What an /openai/v1 completion adds to a send (NULL for a Pegasus one). */
typedef struct {
    const char *system; /* its system messages, after the bot's instructions */
    json_t *sampling;   /* passed on to an upstream model */
} s_openai_t;

/* ---- upstream sends ---- */

static void
s_job_free(chat_job_t **jp)
{
    chat_job_t *j = *jp;
    if (!j)
        return;
    chat_t *c = j->c;
    if (j->prev)
        j->prev->next = j->next;
    else if (c->jobs == j)
        c->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    free(j->question);
    free(j->citations);
    free(j->content);
    free(j);
    *jp = NULL;
}

static void
s_on_start(void *arg)
{
    chat_job_t *j = arg;
    if (!j->stream || j->began)
        return;
    s_stream_begin(j->d, j->bot, 0);
    if (j->openai)
        s_chunk(j->d, j->cmpl, j->created_s, j->bot, 1, "", 0, NULL, NULL);
    j->began = 1;
    j->last_chunk = pgs_time_mono_ms();
}

static void
s_on_delta(void *arg, const char *text, size_t len)
{
    chat_job_t *j = arg;
    if (j->oom)
        return;
    if (j->len + len + 1 > j->cap) {
        size_t cap = (j->cap ? j->cap * 2 : 1024) + len;
        char *p = realloc(j->content, cap);
        if (!p) {
            j->oom = 1;
            return;
        }
        j->content = p;
        j->cap = cap;
    }
    memcpy(j->content + j->len, text, len);
    j->len += len;
    j->content[j->len] = '\0';
    if (j->stream && j->began && j->openai) {
        s_chunk(j->d, j->cmpl, j->created_s, j->bot, 0, text, len, NULL, NULL);
        j->last_chunk = pgs_time_mono_ms();
    } else if (j->stream && j->began) {
        json_t *o = json_object();
        json_object_set_new(o, "delta", json_stringn(text, len));
        s_event(j->d, "message.delta", o);
        json_decref(o);
        j->last_chunk = pgs_time_mono_ms();
    }
}

/* Ends a job with an error: the key keeps it as the first response; the
 * client gets a JSON error, or an error event when its stream began. */
static void
s_job_fail(chat_job_t *j, int status, const char *code, const char *message)
{
    chat_t *c = j->c;
    pgs_req_t fr = {.request_id = j->request_id};
    pgs_res_t res = {0};
    pgs_res_error(&res, &fr, status, code, message, NULL);
    if (j->idem.active) {
        if (pgs_db_begin(c->db) < 0 ||
            pgs_idem_save(c->db, &j->idem, pgs_time_now_ms() / 1000, &res) < 0 ||
            pgs_db_commit(c->db) < 0)
            pgs_db_rollback(c->db);
    }
    if (j->began && j->openai) {
        char *ev = chat_openai_error_event(status, code, message, j->request_id);
        if (ev)
            pgs_call_stream_chunk(j->d, ev, strlen(ev));
        free(ev);
        pgs_call_stream_end(&j->d, 0, NULL);
        pgs_res_clear(&res);
    } else if (j->began) {
        s_event_error(j->d, j->request_id, code, message);
        pgs_call_stream_end(&j->d, 0, NULL);
        pgs_res_clear(&res);
    } else {
        pgs_call_reply(&j->d, &res);
    }
}

static void
s_on_done(void *arg, const chat_call_result_t *r)
{
    chat_job_t *j = arg;
    chat_t *c = j->c;
    j->call = NULL;
    char msg[160];
    switch (r->status) {
    case CHAT_CALL_OK:
        break;
    case CHAT_CALL_HTTP_ERROR:
        snprintf(msg, sizeof msg, "The model provider answered with HTTP status %ld.",
                 r->http_status);
        s_job_fail(j, 502, "upstream_error", msg);
        s_job_free(&j);
        return;
    case CHAT_CALL_TIMEOUT:
        s_job_fail(j, 504, "upstream_timeout", "The model provider did not answer in time.");
        s_job_free(&j);
        return;
    default:
        s_job_fail(j, 502, "upstream_error",
                   "The model provider could not be reached or sent an answer that could not be "
                   "read.");
        s_job_free(&j);
        return;
    }
    if (j->oom) {
        s_job_fail(j, 500, "internal_error", "Internal error.");
        s_job_free(&j);
        return;
    }
    const char *answer = j->content ? j->content : "";
    s_answer_t a = {.ws = j->ws,
                    .conv = j->conv,
                    .bot = j->bot,
                    .model = j->model,
                    .question = j->stream ? NULL : j->question,
                    .answer = answer,
                    .citations = j->citations,
                    .in = r->prompt_tokens >= 0 ? r->prompt_tokens : j->input_est,
                    .out = r->completion_tokens >= 0 ? r->completion_tokens
                                                     : chat_text_tokens(answer, j->len),
                    .cmpl = j->openai ? j->cmpl : NULL,
                    .created_s = j->created_s};
    pgs_req_t fr = {.request_id = j->request_id};
    pgs_res_t res = {0};
    json_t *m = NULL;
    int rc = s_store(c, &fr, &j->idem, &a, &res, &m);
    if (!j->stream) {
        pgs_call_reply(&j->d, &res);
    } else if (rc == 0) {
        if (!j->began) {
            /* No byte came before the end (an empty answer). */
            s_on_start(j);
        }
        if (j->openai) {
            s_chunks_end(j->d, j->cmpl, j->created_s, j->bot, j->stream == S_OPENAI_STREAM_USAGE,
                         a.in, a.out);
        } else {
            if (j->len == 0)
                s_event_text(j->d, "message.delta", "{\"delta\":\"\"}");
            s_event(j->d, "message.completed", m);
        }
        pgs_call_stream_end(&j->d, 1, &res.meta);
        pgs_res_clear(&res);
    } else if (j->began && j->openai) {
        json_t *o = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
        json_t *e = json_object_get(o, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg2 = json_string_value(json_object_get(e, "message"));
        char *ev = chat_openai_error_event(res.status, code ? code : "internal_error",
                                           msg2 ? msg2 : "Internal error.", j->request_id);
        if (ev)
            pgs_call_stream_chunk(j->d, ev, strlen(ev));
        free(ev);
        json_decref(o);
        pgs_call_stream_end(&j->d, 0, NULL);
        pgs_res_clear(&res);
    } else if (j->began) {
        s_event_error_res(j->d, j->request_id, &res);
        pgs_call_stream_end(&j->d, 0, NULL);
        pgs_res_clear(&res);
    } else {
        pgs_call_reply(&j->d, &res);
    }
    json_decref(m);
    s_job_free(&j);
}

static const chat_call_cb_t s_callbacks = {s_on_start, s_on_delta, s_on_done};

/* The request body for the upstream: the bot's instructions and the
 * passages as the system message, the recent turns, the question. */
static char *
s_upstream_body(const chat_model_t *m, json_t *bot, json_t *passages, json_t *hist,
                const char *question, const char *extra, json_t *sampling, long long *tokens)
{
    const char *instructions = json_string_value(json_object_get(bot, "instructions"));
    const char *name = json_string_value(json_object_get(bot, "name"));
    size_t cap = 1024, len = 0;
    char *sys = malloc(cap);
    if (!sys)
        return NULL;
    sys[0] = '\0';
#define S_APPEND(str, n)                                                                           \
    do {                                                                                           \
        size_t _n = (n);                                                                           \
        if (len + _n + 1 > cap) {                                                                  \
            size_t _c = cap * 2 + _n;                                                              \
            char *_p = realloc(sys, _c);                                                           \
            if (!_p) {                                                                             \
                free(sys);                                                                         \
                return NULL;                                                                       \
            }                                                                                      \
            sys = _p;                                                                              \
            cap = _c;                                                                              \
        }                                                                                          \
        memcpy(sys + len, (str), _n);                                                              \
        len += _n;                                                                                 \
        sys[len] = '\0';                                                                           \
    } while (0)
    static const char intro[] = "You are the assistant of a knowledge base";
    S_APPEND(intro, sizeof intro - 1);
    if (name && *name) {
        S_APPEND(" named \"", 8);
        S_APPEND(name, strlen(name));
        S_APPEND("\"", 1);
    }
    S_APPEND(".\n", 2);
    if (instructions && *instructions) {
        S_APPEND(instructions, strlen(instructions));
        S_APPEND("\n", 1);
    }
    if (extra && *extra) {
        S_APPEND(extra, strlen(extra));
        S_APPEND("\n", 1);
    }
    if (json_array_size(passages)) {
        static const char ctx[] =
            "\nAnswer from the numbered context passages below when they are relevant, and "
            "cite them as [n].\n";
        S_APPEND(ctx, sizeof ctx - 1);
        size_t i;
        json_t *p;
        json_array_foreach(passages, i, p)
        {
            char head[64];
            int hl = snprintf(head, sizeof head, "\n[%zu] ", i + 1);
            const char *title = json_string_value(json_object_get(p, "title"));
            const char *text = json_string_value(json_object_get(p, "text"));
            S_APPEND(head, (size_t)hl);
            if (title) {
                S_APPEND(title, strlen(title));
                S_APPEND(": ", 2);
            }
            if (text)
                S_APPEND(text, strlen(text));
            S_APPEND("\n", 1);
        }
    }
#undef S_APPEND
    *tokens = chat_text_tokens(sys, len) + chat_text_tokens(question, strlen(question));
    json_t *msgs = json_array();
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", sys));
    free(sys);
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h)
    {
        json_array_append(msgs, h);
        const char *t = json_string_value(json_object_get(h, "content"));
        *tokens += t ? chat_text_tokens(t, strlen(t)) : 0;
    }
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user", "content", question));
    json_t *body = json_pack("{s:s,s:b,s:{s:b},s:o}", "model", m->upstream_model, "stream", 1,
                             "stream_options", "include_usage", 1, "messages", msgs);
    if (body && sampling)
        json_object_update_missing(body, sampling); /* the client's, where it gave them */
    char *text = body ? pgs_json_dump(body) : NULL;
    json_decref(body);
    return text;
}

/* Citations of an upstream answer: each document of the passages sent. */
static char *
s_passage_citations(json_t *passages)
{
    json_t *arr = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(passages, i, p)
    {
        const char *doc = json_string_value(json_object_get(p, "document_id"));
        if (!doc)
            continue;
        int seen = 0;
        size_t k;
        json_t *q;
        json_array_foreach(arr, k, q)
        {
            if (!strcmp(json_string_value(json_object_get(q, "document_id")), doc))
                seen = 1;
        }
        if (seen)
            continue;
        const char *title = json_string_value(json_object_get(p, "title"));
        const char *snip = json_string_value(json_object_get(p, "snippet"));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "document_id", doc, "title",
                                             title ? title : "", "snippet", snip ? snip : ""));
    }
    char *text = pgs_json_dump(arr);
    json_decref(arr);
    return text;
}

static void
s_upstream(chat_t *c, pgs_call_t **callp, const pgs_req_t *req, pgs_res_t *res,
           const chat_conv_t *conv, const chat_model_t *m, json_t *bot, json_t *passages,
           json_t *hist, const char *question, int stream, const pgs_idem_t *idem,
           const s_openai_t *oa)
{
    chat_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return;
    }
    j->c = c;
    j->stream = stream;
    j->idem = *idem;
    snprintf(j->request_id, sizeof j->request_id, "%s", req->request_id);
    snprintf(j->ws, sizeof j->ws, "%s", conv->workspace_id);
    snprintf(j->conv, sizeof j->conv, "%s", conv->id);
    snprintf(j->bot, sizeof j->bot, "%s", conv->bot_id);
    snprintf(j->model, sizeof j->model, "%s", m->id);
    j->question = strdup(question);
    j->citations = s_passage_citations(passages);
    if (oa) {
        j->openai = 1;
        pgs_id_new("chatcmpl", j->cmpl);
        j->created_s = pgs_time_now_ms() / 1000;
    }
    char *body = s_upstream_body(m, bot, passages, hist, question, oa ? oa->system : NULL,
                                 oa ? oa->sampling : NULL, &j->input_est);
    const char *key = m->api_key_env && *m->api_key_env ? getenv(m->api_key_env) : NULL;
    if (j->question && j->citations && body)
        j->call = chat_upstream_start(c->up, m->base_url, key, body, (long)m->timeout_ms,
                                      &s_callbacks, j);
    free(body);
    if (!j->call) {
        pgs_res_error(res, req, 502, "upstream_error", "The model provider could not be called.",
                      NULL);
        s_job_free(&j);
        return;
    }
    /* The question (when streaming) and the key's "in progress" mark. */
    if (stream || idem->active) {
        int rc = 0;
        if (idem->active)
            rc = pgs_idem_begin(c->db, idem, req, res);
        else if (pgs_db_begin(c->db) < 0)
            rc = -1, chat_req_fail_db(c->db, req, res);
        if (rc == 0) {
            int64_t now = pgs_time_now_ms();
            chat_msg_t um = {.conversation_id = conv->id,
                             .role = "user",
                             .content = question,
                             .created_ms = now};
            pgs_id_new("msg", um.id);
            if ((stream && !oa && chat_store_msg_insert(c->db, &um) < 0) ||
                pgs_idem_save(c->db, idem, now / 1000, NULL) < 0 || pgs_db_commit(c->db) < 0)
                rc = -1, chat_req_fail_db(c->db, req, res);
        }
        if (rc != 0) {
            if (rc == 1)
                s_replay(callp, res, stream);
            chat_upstream_cancel(c->up, j->call);
            s_job_free(&j);
            return;
        }
    }
    j->d = *callp; /* the job answers it */
    *callp = NULL;
    j->next = c->jobs;
    if (c->jobs)
        c->jobs->prev = j;
    c->jobs = j;
}

/* ---- built-in models ---- */

static void
s_builtin(chat_t *c, pgs_call_t **callp, const pgs_req_t *req, pgs_res_t *res,
          const chat_conv_t *conv, const chat_model_t *m, json_t *bot, json_t *passages,
          json_t *hist, const char *question, const char *earlier, int stream,
          const pgs_idem_t *idem, const s_openai_t *oa)
{
    chat_passage_t ps[S_MAX_PASSAGES];
    size_t n = 0, i;
    json_t *p;
    const char *instructions = json_string_value(json_object_get(bot, "instructions"));
    long long in = chat_text_tokens(question, strlen(question)) +
                   (instructions ? chat_text_tokens(instructions, strlen(instructions)) : 0);
    json_array_foreach(passages, i, p)
    {
        if (n == S_MAX_PASSAGES)
            break;
        json_t *text = json_object_get(p, "text");
        if (!json_is_string(text))
            text = json_object_get(p, "snippet");
        if (!json_is_string(text))
            continue;
        ps[n] = (chat_passage_t){json_string_value(json_object_get(p, "document_id")),
                                 json_string_value(json_object_get(p, "title")),
                                 json_string_value(text), json_string_length(text)};
        in += chat_text_tokens(ps[n].text, ps[n].text_len);
        n++;
    }
    json_t *h;
    json_array_foreach(hist, i, h)
    {
        const char *t = json_string_value(json_object_get(h, "content"));
        in += t ? chat_text_tokens(t, strlen(t)) : 0;
    }
    int sentences = m->passages < 3 ? 3 : m->passages > 6 ? 6 : (int)m->passages;
    chat_answer_t ans;
    if (chat_answer_compose(ps, n, question, earlier, sentences, &ans) < 0) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return;
    }
    char *cites = pgs_json_dump(ans.citations);
    s_answer_t a = {.ws = conv->workspace_id,
                    .conv = conv->id,
                    .bot = conv->bot_id,
                    .model = m->id,
                    .question = question,
                    .answer = ans.content,
                    .citations = cites,
                    .in = in,
                    .out = chat_text_tokens(ans.content, strlen(ans.content))};
    char cmpl[PGS_ID_MAX];
    if (oa) {
        pgs_id_new("chatcmpl", cmpl);
        a.cmpl = cmpl;
        a.created_s = pgs_time_now_ms() / 1000;
    }
    json_t *msg = NULL;
    int rc = cites ? s_store(c, req, idem, &a, res, &msg) : -1;
    if (!cites)
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
    free(cites);
    chat_answer_clear(&ans);
    if (rc == 0 && stream)
        s_stream_message(callp, res, msg, 0, stream);
    else if (rc == 1)
        s_replay(callp, res, stream);
    json_decref(msg);
}

/* ---- the handler ---- */

static int
s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\v' && *s != '\f')
            return 0;
    return 1;
}

/* The last user turns of hist, joined, for follow-up questions. Owned. */
static char *
s_earlier(json_t *hist)
{
    const char *turns[S_EARLIER_TURNS];
    int n = 0;
    for (size_t i = json_array_size(hist); i-- > 0 && n < S_EARLIER_TURNS;) {
        json_t *h = json_array_get(hist, i);
        if (!strcmp(json_string_value(json_object_get(h, "role")), "user"))
            turns[n++] = json_string_value(json_object_get(h, "content"));
    }
    size_t len = 1;
    for (int k = 0; k < n; k++)
        len += strlen(turns[k]) + 1;
    char *out = malloc(len);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (int k = n - 1; k >= 0; k--) {
        strcat(out, turns[k]);
        if (k)
            strcat(out, " ");
    }
    return out;
}

/* A send waiting for bots.retrieve. */
typedef struct {
    chat_t *c;
    json_t *body; /* the request's JSON; question points into it */
    const char *question;
    int stream;
    chat_conv_t conv;
    pgs_idem_t idem;
    json_t *hist;
    char *earlier;
    int openai;             /* an /openai/v1 completion: */
    chat_openai_req_t oreq; /* its request (question, hist and body are its) */
    s_openai_t oa;
} s_send_t;

static void
s_send_free(s_send_t *st)
{
    json_decref(st->body);
    json_decref(st->hist);
    free(st->earlier);
    if (st->openai)
        chat_openai_req_clear(&st->oreq);
    free(st);
}

/* The bot and its passages came back (or not): answer, now or later. */
static void
s_send_answer(s_send_t *st, pgs_call_t **callp, const pgs_req_t *req, pgs_res_t *res,
              const pgs_res_t *reply)
{
    chat_t *c = st->c;
    json_t *found = s_retrieved(req, res, reply, st->openai);
    if (!found)
        return;
    json_t *bot = json_incref(json_object_get(found, "bot"));
    json_t *passages = json_incref(json_object_get(found, "passages"));
    json_decref(found);
    if (!json_is_object(bot)) {
        chat_req_unavailable(req, res);
        goto out;
    }
    const char *model_id = json_string_value(json_object_get(bot, "model"));
    chat_model_t m;
    if (chat_state_model(c, model_id, &m) != 1) {
        pgs_res_error(res, req, 409, "conflict",
                      "The bot's model is not configured on this server; change the bot's model.",
                      NULL);
        goto out;
    }
    const char *plan = pgs_req_ctx(req, "plan");
    if (!chat_state_model_allows(&m, plan)) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "The bot's model '%s' is not available on the workspace's plan; change the "
                 "bot's model or upgrade.",
                 m.id);
        pgs_res_error(res, req, 403, "model_not_allowed", msg, NULL);
        goto out;
    }
    while (json_is_array(passages) && json_array_size(passages) > (size_t)m.passages)
        json_array_remove(passages, json_array_size(passages) - 1);
    if (!json_is_array(passages)) {
        json_decref(passages);
        passages = json_array();
    }
    if (m.provider == CHAT_MODEL_PROVIDER_BUILTIN)
        s_builtin(c, callp, req, res, &st->conv, &m, bot, passages, st->hist, st->question,
                  st->earlier, st->stream, &st->idem, st->openai ? &st->oa : NULL);
    else
        s_upstream(c, callp, req, res, &st->conv, &m, bot, passages, st->hist, st->question,
                   st->stream, &st->idem, st->openai ? &st->oa : NULL);
out:
    json_decref(bot);
    json_decref(passages);
}

static pgs_handled_t
s_on_retrieved(void *arg, const pgs_req_t *req, pgs_res_t *res, pgs_res_t *reply)
{
    s_send_t *st = arg;
    pgs_call_t *call = req->call;
    s_send_answer(st, &call, req, res, reply);
    s_send_free(st);
    return call ? PGS_DONE : PGS_LATER; /* NULL: streamed, or a job's now */
}

/* The Idempotency-Key, if any, looked up before any work: 0 to go on, -1
 * when res is the answer (a replay, a conflict, an error). */
static int
s_idem_lookup(s_send_t *st, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = st->c;
    if (pgs_idem_init(&st->idem, req, res) < 0)
        return -1;
    if (!st->idem.active)
        return 0;
    int rc = pgs_idem_begin(c->db, &st->idem, req, res);
    if (rc != 0) {
        if (rc == 1) {
            pgs_call_t *call = req->call;
            s_replay(&call, res, st->stream);
        }
        return -1;
    }
    pgs_db_rollback(c->db); /* looked up only: the work comes first */
    return 0;
}

/* Asks bots for the bot and its best passages for st's question (with
 * the earlier user turns of st->hist). 0: the answer comes later
 * (s_on_retrieved), -1: res is the error. */
static int
s_retrieve(s_send_t *st, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = st->c;
    st->earlier = st->hist ? s_earlier(st->hist) : NULL;
    char *query = st->earlier ? chat_answer_query(st->question, st->earlier) : NULL;
    if (!query) {
        chat_req_fail_db(c->db, req, res);
        return -1;
    }
    /* One round trip to bots gives the bot and its best passages: as many
     * as the hungriest model wants, cut to this bot's model when they come
     * (the order is the ranking, so the cut keeps the same best ones). */
    long long k = chat_state_max_passages(c);
    json_t *params = json_pack("{s:s,s:s,s:s,s:I}", "workspace_id", st->conv.workspace_id, "bot_id",
                               st->conv.bot_id, "query", query, "k", (json_int_t)(k > 0 ? k : 1));
    free(query);
    int rc = params ? pgs_call_request(req->call, "bots", "bots.retrieve", req->ctx, params, NULL,
                                       0, (int)c->bots_timeout_ms, s_on_retrieved, st)
                    : -1;
    json_decref(params);
    if (rc < 0) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return -1;
    }
    return 0;
}

pgs_handled_t
chat_send_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    static const pgs_json_field_t fields[] = {
        {"content", PGS_JSON_STRING, 1}, {"stream", PGS_JSON_BOOLEAN, 0}, {NULL, 0, 0}};
    s_send_t *st = calloc(1, sizeof *st);
    if (!st) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return PGS_DONE;
    }
    st->c = c;
    st->body = chat_req_body(req, res, fields);
    if (!st->body)
        goto done;
    json_t *jc = json_object_get(st->body, "content");
    const char *question = st->question = json_string_value(jc);
    st->stream = json_is_true(json_object_get(st->body, "stream"));
    long cp = pgs_json_utf8_length(question, json_string_length(jc));
    if (cp < 0) {
        pgs_res_error(res, req, 400, "invalid_request", "'content' must be valid UTF-8 text.",
                      "content");
        goto done;
    }
    if (cp == 0 || s_blank(question)) {
        pgs_res_error(res, req, 400, "invalid_request", "'content' must not be empty.", "content");
        goto done;
    }
    if (cp > S_CONTENT_MAX) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "'content' must be at most 32000 characters.", "content");
        goto done;
    }
    if (!chat_req_conversation(c, req, res, &st->conv))
        goto done;
    if (s_idem_lookup(st, req, res) < 0)
        goto done;

    st->hist = chat_store_recent(c->db, st->conv.id, (int)c->history);
    if (s_retrieve(st, req, res) == 0)
        return PGS_LATER;
done:
    s_send_free(st);
    return PGS_DONE;
}

pgs_handled_t
chat_send_openai(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    chat_t *c = arg;
    s_send_t *st = calloc(1, sizeof *st);
    if (!st) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        return PGS_DONE;
    }
    st->c = c;
    st->openai = 1;
    if (chat_openai_parse(req, res, c->history, &st->oreq) < 0)
        goto done;
    st->question = st->oreq.question;
    st->stream = !st->oreq.stream         ? S_NO_STREAM
                 : st->oreq.include_usage ? S_OPENAI_STREAM_USAGE
                                          : S_OPENAI_STREAM;
    st->oa = (s_openai_t){st->oreq.system, st->oreq.sampling};
    /* No conversation: the workspace's bot, named by the model. */
    const char *ws = pgs_req_ctx(req, "workspace_id");
    snprintf(st->conv.workspace_id, sizeof st->conv.workspace_id, "%s", ws ? ws : "");
    snprintf(st->conv.bot_id, sizeof st->conv.bot_id, "%s", st->oreq.model);
    if (s_idem_lookup(st, req, res) < 0)
        goto done;
    st->hist = json_incref(st->oreq.hist);
    if (s_retrieve(st, req, res) == 0)
        return PGS_LATER;
done:
    s_send_free(st);
    return PGS_DONE;
}

/* ---- the loop ---- */

void
chat_send_ping(void *arg)
{
    chat_t *c = arg;
    int64_t now = pgs_time_mono_ms();
    for (chat_job_t *j = c->jobs; j; j = j->next) {
        if (j->began && j->d && now - j->last_chunk >= c->ping_ms) {
            pgs_call_stream_chunk(j->d, ": ping\n\n", 8);
            j->last_chunk = now;
        }
    }
}

int
chat_send_ping_every_ms(const chat_t *c)
{
    long long ms = c->ping_ms / 4;
    return (int)(ms < 10 ? 10 : ms > 1000 ? 1000 : ms);
}

void
chat_send_abort_all(chat_t *c)
{
    while (c->jobs) {
        chat_job_t *j = c->jobs;
        if (j->call)
            chat_upstream_cancel(c->up, j->call);
        j->call = NULL;
        if (j->began) {
            s_event_error(j->d, j->request_id, "service_unavailable",
                          "The service is restarting. Try again shortly.");
            pgs_call_stream_end(&j->d, 0, NULL);
        } else if (j->d) {
            pgs_req_t fr = {.request_id = j->request_id};
            pgs_res_t res = {0};
            chat_req_unavailable(&fr, &res);
            pgs_call_reply(&j->d, &res);
        }
        s_job_free(&j);
    }
}
