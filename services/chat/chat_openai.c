/*
 * chat_openai — see chat_openai.h.
 */
#include "chat_openai.h"
#include "pgs_id.h"
#include "pgs_json.h"
#include "pgs_openai.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_QUESTION_MAX 32000 /* characters, as a Pegasus message */
#define S_MESSAGES_MAX 1000

/* Every field the request may have. The sampling ones are passed on to an
 * upstream model; the others are read here, or accepted and left alone
 * (store, service_tier, parallel_tool_calls, metadata: nothing to do). */
static const char *const s_known[] = {"model",
                                      "messages",
                                      "stream",
                                      "stream_options",
                                      "max_tokens",
                                      "max_completion_tokens",
                                      "temperature",
                                      "top_p",
                                      "stop",
                                      "seed",
                                      "presence_penalty",
                                      "frequency_penalty",
                                      "n",
                                      "user",
                                      "metadata",
                                      "response_format",
                                      "logprobs",
                                      "top_logprobs",
                                      "logit_bias",
                                      "store",
                                      "service_tier",
                                      "parallel_tool_calls",
                                      "tools",
                                      "tool_choice",
                                      "functions",
                                      "function_call",
                                      "audio",
                                      "modalities",
                                      "prediction",
                                      NULL};
static const char *const s_sampling[] = {
    "max_tokens", "max_completion_tokens", "temperature",       "top_p", "stop",
    "seed",       "presence_penalty",      "frequency_penalty", "user",  NULL};
/* Present and not null (or an empty list): 400, not what a bot does. */
static const char *const s_unsupported[] = {"tools", "tool_choice", "functions",  "function_call",
                                            "audio", "modalities",  "prediction", NULL};

static int
s_in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static int
s_bad(const pgs_req_t *req, pgs_res_t *res, const char *param, const char *message)
{
    pgs_res_error(res, req, 400, "invalid_request", message, param);
    return -1;
}

static int
s_number_in(json_t *v, double lo, double hi)
{
    if (!json_is_number(v))
        return 0;
    double x = json_number_value(v);
    return isfinite(x) && x >= lo && x <= hi;
}

/* The fields' types and ranges, as OpenAI checks them. */
static int
s_check_fields(const pgs_req_t *req, pgs_res_t *res, json_t *body, chat_openai_req_t *o)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (!s_in(s_known, key)) {
            char msg[200];
            snprintf(msg, sizeof msg, "Unrecognized request argument supplied: %.64s", key);
            return s_bad(req, res, key, msg);
        }
        if (json_is_null(v))
            continue;
        if (s_in(s_unsupported, key) && !(json_is_array(v) && json_array_size(v) == 0)) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "'%s' is not supported: a Pegasus bot answers from its documents.", key);
            return s_bad(req, res, key, msg);
        }
    }
    json_t *stream = json_object_get(body, "stream");
    if (stream && !json_is_null(stream) && !json_is_boolean(stream))
        return s_bad(req, res, "stream", "'stream' must be a boolean.");
    o->stream = json_is_true(stream);
    json_t *so = json_object_get(body, "stream_options");
    if (so && !json_is_null(so)) {
        json_t *iu = json_object_get(so, "include_usage");
        if (!json_is_object(so) || (iu && !json_is_boolean(iu)))
            return s_bad(req, res, "stream_options",
                         "'stream_options' must be an object with a boolean include_usage.");
        o->include_usage = json_is_true(iu);
    }
    json_t *n = json_object_get(body, "n");
    if (n && !json_is_null(n) && !(json_is_integer(n) && json_integer_value(n) == 1))
        return s_bad(req, res, "n", "Only n = 1 is supported.");
    struct {
        const char *name;
        double lo, hi;
        int integer;
    } ranges[] = {{"temperature", 0, 2, 0},       {"top_p", 0, 1, 0},
                  {"presence_penalty", -2, 2, 0}, {"frequency_penalty", -2, 2, 0},
                  {"max_tokens", 1, 1e9, 1},      {"max_completion_tokens", 1, 1e9, 1},
                  {"seed", -9.2e18, 9.2e18, 1}};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        v = json_object_get(body, ranges[i].name);
        if (!v || json_is_null(v))
            continue;
        if ((ranges[i].integer && !json_is_integer(v)) ||
            !s_number_in(v, ranges[i].lo, ranges[i].hi)) {
            char msg[160];
            snprintf(msg, sizeof msg, "'%s' must be a%s number from %g to %g.", ranges[i].name,
                     ranges[i].integer ? "n integer" : "", ranges[i].lo, ranges[i].hi);
            return s_bad(req, res, ranges[i].name, msg);
        }
    }
    v = json_object_get(body, "stop");
    if (v && !json_is_null(v)) {
        int ok = json_is_string(v) || (json_is_array(v) && json_array_size(v) <= 4);
        size_t i;
        json_t *s;
        if (json_is_array(v))
            json_array_foreach(v, i, s) ok = ok && json_is_string(s);
        if (!ok)
            return s_bad(req, res, "stop", "'stop' must be a string or up to 4 strings.");
    }
    v = json_object_get(body, "user");
    if (v && !json_is_null(v) && !json_is_string(v))
        return s_bad(req, res, "user", "'user' must be a string.");
    v = json_object_get(body, "metadata");
    if (v && !json_is_null(v) && !json_is_object(v))
        return s_bad(req, res, "metadata", "'metadata' must be an object.");
    v = json_object_get(body, "response_format");
    if (v && !json_is_null(v)) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!type || strcmp(type, "text") != 0)
            return s_bad(req, res, "response_format",
                         "Only a response_format of type 'text' is supported.");
    }
    v = json_object_get(body, "logprobs");
    if (v && !json_is_null(v) && !json_is_false(v))
        return s_bad(req, res, "logprobs", "'logprobs' is not supported.");
    v = json_object_get(body, "top_logprobs");
    if (v && !json_is_null(v))
        return s_bad(req, res, "top_logprobs", "'top_logprobs' is not supported.");
    v = json_object_get(body, "logit_bias");
    if (v && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0))
        return s_bad(req, res, "logit_bias", "'logit_bias' is not supported.");
    o->sampling = json_object();
    for (const char *const *k = s_sampling; *k; k++) {
        v = json_object_get(body, *k);
        if (v && !json_is_null(v))
            json_object_set(o->sampling, *k, v);
    }
    return 0;
}

/* A message's text: a string, or text parts joined. Owned, or NULL with
 * res set. */
static char *
s_text(const pgs_req_t *req, pgs_res_t *res, json_t *content, size_t i)
{
    char param[48];
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (json_is_string(content))
        return strdup(json_string_value(content));
    if (!json_is_array(content)) {
        s_bad(req, res, param, "A message's content must be a string or a list of text parts.");
        return NULL;
    }
    size_t len = 0, k;
    json_t *part;
    json_array_foreach(content, k, part)
    {
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (!type || strcmp(type, "text") != 0 || !json_is_string(text)) {
            s_bad(req, res, param,
                  "Only text content parts are supported (no images, audio or files).");
            return NULL;
        }
        len += json_string_length(text) + 1;
    }
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    out[0] = '\0';
    json_array_foreach(content, k, part)
    {
        if (k)
            strcat(out, "\n");
        strcat(out, json_string_value(json_object_get(part, "text")));
    }
    return out;
}

static int
s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* The messages: the last is the user's question; system and developer
 * messages are instructions; the rest is history. */
static int
s_messages(const pgs_req_t *req, pgs_res_t *res, json_t *msgs, long long max_hist,
           chat_openai_req_t *o)
{
    size_t n = json_array_size(msgs);
    if (!json_is_array(msgs) || n == 0)
        return s_bad(req, res, "messages", "'messages' must be a non-empty list.");
    if (n > S_MESSAGES_MAX)
        return s_bad(req, res, "messages", "'messages' may hold at most 1000 messages.");
    o->hist = json_array();
    size_t sys_len = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        char param[48];
        snprintf(param, sizeof param, "messages[%zu].role", i);
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!json_is_object(m) || !role)
            return s_bad(req, res, param, "Each message needs a role.");
        int sys = !strcmp(role, "system") || !strcmp(role, "developer");
        if (!sys && strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
            return s_bad(req, res, param,
                         "A message's role must be system, developer, user or assistant (tools "
                         "are not supported).");
        json_t *calls = json_object_get(m, "tool_calls");
        if (calls && !json_is_null(calls))
            return s_bad(req, res, param, "Tool calls are not supported.");
        char *text = s_text(req, res, json_object_get(m, "content"), i);
        if (!text)
            return -1;
        if (i == n - 1) {
            if (strcmp(role, "user") != 0) {
                free(text);
                return s_bad(req, res, "messages", "The last message must be the user's.");
            }
            long cp = pgs_json_utf8_length(text, strlen(text));
            if (cp <= 0 || s_blank(text) || cp > S_QUESTION_MAX) {
                free(text);
                snprintf(param, sizeof param, "messages[%zu].content", i);
                return s_bad(req, res, param,
                             "The last user message must hold 1 to 32000 characters of text.");
            }
            o->question = text;
        } else if (sys) {
            size_t tl = strlen(text);
            char *p = realloc(o->system, sys_len + tl + 2);
            if (!p) {
                free(text);
                return -1;
            }
            o->system = p;
            if (sys_len)
                o->system[sys_len++] = '\n';
            memcpy(o->system + sys_len, text, tl + 1);
            sys_len += tl;
            free(text);
        } else {
            json_array_append_new(
                o->hist, json_pack("{s:s,s:s%}", "role", role, "content", text, strlen(text)));
            free(text);
        }
    }
    while ((long long)json_array_size(o->hist) > max_hist)
        json_array_remove(o->hist, 0);
    return 0;
}

int
chat_openai_parse(const pgs_req_t *req, pgs_res_t *res, long long max_hist, chat_openai_req_t *out)
{
    memset(out, 0, sizeof *out);
    pgs_json_err_t err;
    out->body = pgs_json_parse_object(req->body, req->body_len, &err);
    if (!out->body) {
        pgs_res_error(res, req, 400, err.code, err.message, err.param[0] ? err.param : NULL);
        return -1;
    }
    if (s_check_fields(req, res, out->body, out) < 0)
        return -1;
    out->model = json_string_value(json_object_get(out->body, "model"));
    if (!out->model)
        return s_bad(req, res, "model", "'model' must be the id of one of your bots.");
    if (!pgs_id_valid(out->model, "bot")) {
        pgs_res_error(res, req, 404, "model_not_found",
                      "No such model: a model here is the id of one of the workspace's bots "
                      "(see GET /openai/v1/models).",
                      "model");
        return -1;
    }
    return s_messages(req, res, json_object_get(out->body, "messages"), max_hist, out);
}

void
chat_openai_req_clear(chat_openai_req_t *o)
{
    json_decref(o->body);
    json_decref(o->hist);
    json_decref(o->sampling);
    free(o->question);
    free(o->system);
    memset(o, 0, sizeof *o);
}

json_t *
chat_openai_completion(const char *id, int64_t created_s, const char *bot, const char *model,
                       const char *content, json_t *citations, long long in, long long out)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s,s:n},s:s,s:n}],s:{s:I,s:I,s:I},"
                     "s:{s:s,s:O}}",
                     "id", id, "object", "chat.completion", "created", (json_int_t)created_s,
                     "model", bot, "choices", "index", 0, "message", "role", "assistant", "content",
                     content, "refusal", "finish_reason", "stop", "logprobs", "usage",
                     "prompt_tokens", (json_int_t)in, "completion_tokens", (json_int_t)out,
                     "total_tokens", (json_int_t)(in + out), "pegasus", "model", model, "citations",
                     citations ? citations : json_array());
}

/* "data: <o>\n\n", owned. */
static char *
s_data_line(json_t *o)
{
    char *text = o ? pgs_json_dump(o) : NULL;
    if (!text)
        return NULL;
    size_t n = strlen(text) + 16;
    char *ev = malloc(n);
    if (ev)
        snprintf(ev, n, "data: %s\n\n", text);
    free(text);
    return ev;
}

char *
chat_openai_chunk(const char *id, int64_t created_s, const char *bot, int role, const char *content,
                  size_t len, const char *finish, json_t *usage)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "chat.completion.chunk",
                          "created", (json_int_t)created_s, "model", bot);
    if (!o)
        return NULL;
    json_t *choices = json_array();
    if (usage) {
        json_object_set(o, "usage", usage);
    } else {
        json_t *delta = json_object();
        if (role)
            json_object_set_new(delta, "role", json_string("assistant"));
        if (content)
            json_object_set_new(delta, "content", json_stringn(content, len));
        json_array_append_new(
            choices, json_pack("{s:i,s:o,s:o,s:n}", "index", 0, "delta", delta, "finish_reason",
                               finish ? json_string(finish) : json_null(), "logprobs"));
    }
    json_object_set_new(o, "choices", choices);
    char *ev = s_data_line(o);
    json_decref(o);
    return ev;
}

char *
chat_openai_error_event(int status, const char *code, const char *message, const char *request_id)
{
    json_t *o = pgs_openai_error(status, code, message, NULL, request_id);
    char *ev = s_data_line(o);
    json_decref(o);
    return ev;
}
