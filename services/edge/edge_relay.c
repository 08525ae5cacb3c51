/*
 * edge_relay — see edge_relay.h.
 */
#include "edge_relay.h"
#include "edge_openai.h"
#include "edge_quota.h"
#include "edge_response.h"
#include "edge_usage.h"
#include "pgs_headers.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_meta.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_RESTARTING "The service is restarting. Try again shortly."

/* What the reply's meta says: invalidations first (the caller's very next
 * request must see them), then what the usage event counts. */
static void
s_take_meta(edge_req_t *r, const char *text)
{
    if (!text || !*text)
        return;
    pgs_meta_t m;
    if (pgs_meta_parse(text, strlen(text), &m) < 0)
        return;
    if (m.invalidate)
        edge_tokens_invalidate(r->ctx->tokens, m.invalidate);
    if (m.replayed && !r->usage.replayed) {
        edge_quota_release(r); /* a replay does no work twice, and counts once */
        r->usage.replayed = 1;
    }
    edge_usage_note_meta(r, &m);
    pgs_meta_clear(&m);
}

/* A reply's headers for the client: Content-Type apart (the response's
 * own), the rest as they come. */
typedef struct {
    edge_req_t *r;
    char content_type[256];
} s_headers_t;

static void
s_on_header(void *arg, const char *name, size_t name_len, const char *value, size_t value_len)
{
    s_headers_t *h = arg;
    if (name_len == 12 && strncasecmp(name, "content-type", 12) == 0) {
        if (value_len < sizeof h->content_type) {
            memcpy(h->content_type, value, value_len);
            h->content_type[value_len] = '\0';
        }
        return;
    }
    edge_response_header_n(h->r, name, name_len, value, value_len);
}

static void
s_on_reply(void *arg, edge_broker_reply_t *rep)
{
    edge_req_t *r = arg;
    r->pending = 0;
    r->streaming = rep->stream;
    s_take_meta(r, rep->meta);
    if (!r->streaming) {
        r->broker_handle = 0;
        if (rep->status >= 400)
            edge_quota_release(r);
        else
            edge_quota_spend(r);
        if (r->stream_slot) {
            r->stream_slot = 0;
            edge_ratelimit_stream_release(r->ctx->ratelimit, r->tok.token_id);
        }
    }
    s_headers_t h = {r, ""};
    if (pgs_headers_each(rep->headers, strlen(rep->headers), s_on_header, &h) < 0)
        pgs_warn("a reply's headers are malformed (the rest are dropped)");
    const char *content_type = h.content_type[0] ? h.content_type : NULL;
    char *copy = NULL;
    if (rep->owned) {
        copy = rep->owned; /* put together from pieces: kept, not copied */
        rep->owned = NULL;
    } else if (rep->body_len) {
        copy = malloc(rep->body_len + 1);
        if (copy) {
            memcpy(copy, rep->body, rep->body_len);
            copy[rep->body_len] = '\0';
        }
    }
    size_t copy_len = copy ? rep->body_len : 0;
    if (copy && rep->status >= 400 && edge_openai_path(r->path)) {
        char *o = edge_openai_error_body(rep->status, copy, copy_len);
        if (o) {
            free(copy);
            copy = o;
            copy_len = strlen(o);
        }
    }
    edge_response_set(r, rep->status, copy, content_type);
    r->resp_len = copy_len;
    r->ops->wake(r->http);
}

static void
s_on_chunk(void *arg, const void *data, size_t len)
{
    edge_req_t *r = arg;
    r->ops->stream_push(r->http, data, len);
}

/* Ends r's stream: with an error event carrying message when it did not
 * end well, then the settling of what it held and its usage event. */
static void
s_end_stream(edge_req_t *r, int ok, const char *message)
{
    r->broker_handle = 0;
    if (!ok) {
        char *err = pgs_json_error_body("service_unavailable", message, r->request_id, NULL, NULL);
        int openai = edge_openai_path(r->path);
        if (err && openai) {
            /* OpenAI's streams carry an error as a data line of its shape */
            char *o = edge_openai_error_body(503, err, strlen(err));
            free(err);
            err = o;
        }
        char event[1024];
        int n = snprintf(event, sizeof event,
                         openai ? "data: %s\n\n" : "event: error\ndata: %s\n\n", err ? err : "{}");
        free(err);
        if (n > 0 && (size_t)n < sizeof event)
            r->ops->stream_push(r->http, event, (size_t)n);
        r->stream_failed = 1;
    }
    if (r->stream_failed)
        edge_quota_release(r);
    else
        edge_quota_spend(r);
    if (r->stream_slot) {
        r->stream_slot = 0;
        edge_ratelimit_stream_release(r->ctx->ratelimit, r->tok.token_id);
    }
    edge_usage_emit(r, r->status);
    r->ops->stream_end(r->http);
}

static void
s_on_end(void *arg, edge_broker_end_t how, const char *meta)
{
    edge_req_t *r = arg;
    s_take_meta(r, meta);
    if (how == EDGE_BROKER_END_FAILED)
        r->stream_failed = 1; /* the worker's own error event says why */
    /* Lost: the worker died or went silent, and the client is told here. */
    s_end_stream(r, how != EDGE_BROKER_END_LOST, "The stream was interrupted. Try again.");
}

int
edge_relay_abort(edge_req_t *r)
{
    if (!r->broker_handle)
        return 0;
    /* The worker still finishes what it holds (a reply is still stored);
     * only its answer to us is dropped. */
    edge_broker_cancel(r->ctx->broker, r->broker_handle);
    if (r->streaming) {
        s_end_stream(r, 0, S_RESTARTING);
        return 1;
    }
    if (!r->pending)
        return 0;
    /* broker_handle stays set: the message reserved for the worker's work
     * stays spent (edge_request_release gives back only what was never
     * forwarded). */
    r->pending = 0;
    edge_response_header(r, "Retry-After", "1");
    edge_response_error(r, 503, "service_unavailable", S_RESTARTING);
    r->ops->wake(r->http);
    return 1;
}

void
edge_relay_forward(edge_req_t *r, const char *params, const char *context)
{
    const edge_route_t *route = r->route;
    int forward_body = route->body != EDGE_BODY_NONE;
    edge_broker_req_t req = {.service = route->service,
                             .route = route->route,
                             .context = context,
                             .params = params,
                             .body = forward_body ? r->body : NULL,
                             .body_len = forward_body ? r->body_len : 0,
                             .deadline_ms =
                                 route->deadline_ms ? route->deadline_ms : r->ctx->deadline_ms,
                             .retryable = strcmp(r->method, "GET") == 0,
                             .request_id = r->request_id,
                             .on_chunk = s_on_chunk,
                             .on_end = s_on_end,
                             .stream_idle_ms = r->ctx->stream_idle_ms};
    r->pending = 1;
    r->broker_handle = edge_broker_submit(r->ctx->broker, &req, s_on_reply, r);
    if (!r->broker_handle) {
        r->pending = 0;
        edge_response_unavailable(r);
    }
}
