/*
 * edge_response — see edge_response.h.
 */
#include "edge_response.h"
#include "pgs_num.h"
#include "edge_openai.h"
#include "edge_usage.h"
#include "pgs_json.h"
#include "pgs_space.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
edge_response_header_n(edge_req_t *r, const char *name, size_t name_len, const char *value,
                       size_t value_len)
{
    if (r->nheaders == EDGE_MAX_RESP_HEADERS)
        return;
    size_t need = name_len + value_len + 2;
    edge_header_t h = {0};
    if (r->hbuf_len + need <= sizeof r->hbuf) {
        h.name = r->hbuf + r->hbuf_len;
        h.value = h.name + name_len + 1;
        r->hbuf_len += need;
    } else {
        h.name = malloc(name_len + 1);
        h.value = malloc(value_len + 1);
        h.owned = 1;
        if (!h.name || !h.value) {
            free(h.name);
            free(h.value);
            return;
        }
    }
    memcpy(h.name, name, name_len);
    h.name[name_len] = '\0';
    memcpy(h.value, value, value_len);
    h.value[value_len] = '\0';
    r->headers[r->nheaders++] = h;
}

void
edge_response_header(edge_req_t *r, const char *name, const char *value)
{
    edge_response_header_n(r, name, strlen(name), value, strlen(value));
}

void
edge_response_headers_clear(edge_req_t *r)
{
    for (int i = 0; i < r->nheaders; i++) {
        if (r->headers[i].owned) {
            free(r->headers[i].name);
            free(r->headers[i].value);
        }
    }
    r->nheaders = 0;
    r->hbuf_len = 0;
}

static int
s_has_header(const edge_req_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static void
s_rate_headers(edge_req_t *r)
{
    char buf[PGS_NUM_MAX];
    size_t n = pgs_num_i64(r->rl_limit, buf);
    edge_response_header_n(r, "X-RateLimit-Limit", 17, buf, n);
    n = pgs_num_i64(r->rl_remaining, buf);
    edge_response_header_n(r, "X-RateLimit-Remaining", 21, buf, n);
    n = pgs_num_i64(r->rl_reset, buf);
    edge_response_header_n(r, "X-RateLimit-Reset", 17, buf, n);
    int64_t now = pgs_time_now_ms() / 1000;
    if (r->tok.expires_at - now <= 7 * 86400) {
        char when[PGS_TIME_RFC3339_LEN];
        pgs_time_rfc3339(r->tok.expires_at, when);
        edge_response_header(r, "Pegasus-Token-Expires", when);
    }
}

int
edge_response_cors_allowed(const edge_req_t *r)
{
    if (!r->origin || !r->ctx->cors_origins[0])
        return 0;
    size_t n = strlen(r->origin);
    const char *p = r->ctx->cors_origins;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *s = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - s) == n && memcmp(s, r->origin, n) == 0)
            return 1;
    }
    return 0;
}

void
edge_response_set(edge_req_t *r, int status, char *body, const char *content_type)
{
    free(r->resp_body);
    r->status = status;
    r->resp_body = body;
    r->resp_len = body ? strlen(body) : 0;
    if (content_type)
        edge_response_header(r, "Content-Type", content_type);
    edge_response_header(r, "X-Request-Id", r->request_id);
    if (r->route && r->route->auth != EDGE_AUTH_NONE && !s_has_header(r, "Cache-Control"))
        edge_response_header(r, "Cache-Control", "no-store");
    if (r->past_check4)
        s_rate_headers(r);
    if (edge_response_cors_allowed(r)) {
        edge_response_header(r, "Access-Control-Allow-Origin", r->origin);
        edge_response_header(r, "Vary", "Origin");
        edge_response_header(
            r, "Access-Control-Expose-Headers",
            "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
            "Retry-After, Pegasus-Token-Expires, Idempotent-Replayed");
    }
    r->resp_ready = 1;
    if (!r->streaming)
        edge_usage_emit(r, status); /* a stream's outcome is known at its end */
}

static void
s_error(edge_req_t *r, int status, const char *code, const char *message, const char *param,
        json_t *extra)
{
    char *body = pgs_json_error_body(code, message, r->request_id, param, extra);
    if (body && edge_openai_path(r->path)) {
        char *o = edge_openai_error_body(status, body, strlen(body));
        if (o) {
            free(body);
            body = o;
        }
    }
    if (status == 401)
        edge_response_header(r, "WWW-Authenticate",
                             "Bearer realm=\"pegasus\", error=\"invalid_token\"");
    edge_response_set(r, status, body, "application/json");
}

void
edge_response_error_x(edge_req_t *r, int status, const char *code, const char *message,
                      json_t *extra)
{
    s_error(r, status, code, message, NULL, extra);
}

void
edge_response_error_param(edge_req_t *r, int status, const char *code, const char *message,
                          const char *param)
{
    s_error(r, status, code, message, param, NULL);
}

void
edge_response_error(edge_req_t *r, int status, const char *code, const char *message)
{
    edge_response_error_x(r, status, code, message, NULL);
}

void
edge_response_no_space(edge_req_t *r)
{
    edge_response_header(r, "Retry-After", PGS_SPACE_RETRY_AFTER);
    edge_response_error(r, 507, "insufficient_storage", PGS_SPACE_MESSAGE);
}

void
edge_response_unavailable(edge_req_t *r)
{
    edge_response_header(r, "Retry-After", "1");
    edge_response_error(r, 503, "service_unavailable",
                        "The service is unavailable. Try again shortly.");
}
