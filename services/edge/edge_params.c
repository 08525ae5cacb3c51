/*
 * edge_params — see edge_params.h.
 */
#include "edge_params.h"
#include "edge_http_parse.h"
#include "edge_response.h"
#include "pgs_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Percent-decodes s (len bytes) into a new string; '+' becomes a space
 * when plus_space. NULL when the result is not valid UTF-8. */
static char *
s_decode(const char *s, size_t len, int plus_space)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && edge_http_hex(s[i + 1]) >= 0 &&
            edge_http_hex(s[i + 2]) >= 0) {
            out[n++] = (char)(edge_http_hex(s[i + 1]) * 16 + edge_http_hex(s[i + 2]));
            i += 2;
        } else if (s[i] == '+' && plus_space) {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    if (pgs_json_utf8_length(out, n) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

#define S_MAX_QUERY_PARAMS 64

/* 1 when route takes the query parameter name: every one on the web app's
 * routes (their pages send what they send), the listed ones on token
 * routes. */
static int
s_takes(const edge_route_t *route, const char *name)
{
    if (route->auth != EDGE_AUTH_TOKEN)
        return 1;
    size_t n = strlen(name);
    for (const char *p = route->query; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* By hand: a jansson tree per request costs more than the rest of the
 * edge's work. */
char *
edge_params_build(edge_req_t *r)
{
    pgs_jbuf_t b = {0};
    pgs_jbuf_raw(&b, "{", 1);
    pgs_jbuf_member(&b, 0, "method", r->method);
    pgs_jbuf_raw(&b, ",\"path\":{", 9);
    for (int i = 0; i < r->nparams; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)r->params[i].name_len, r->params[i].name);
        char *v = s_decode(r->params[i].value, r->params[i].value_len, 0);
        pgs_jbuf_member(&b, i > 0, name, v ? v : "");
        free(v);
    }
    pgs_jbuf_raw(&b, "},\"query\":{", 11);
    char *seen[S_MAX_QUERY_PARAMS];
    int nseen = 0, bad = 0;
    const char *q = r->query;
    while (q && *q && !bad) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *k = s_decode(q, klen, 1);
        char *v = eq ? s_decode(eq + 1, len - klen - 1, 1) : strdup("");
        bad = !k || !v;
        if (!bad && *k && !s_takes(r->route, k)) {
            /* A misspelt parameter would be ignored silently: refused, named
             * (cut to 64 bytes; the JSON escapes it). */
            char name[65];
            snprintf(name, sizeof name, "%s", k);
            free(k);
            free(v);
            for (int i = 0; i < nseen; i++)
                free(seen[i]);
            free(pgs_jbuf_take(&b));
            char msg[200];
            snprintf(msg, sizeof msg, "This route takes no such query parameter%s%s.",
                     r->route->query ? "; it takes: " : " (it takes none)",
                     r->route->query ? r->route->query : "");
            edge_response_error_param(r, 400, "invalid_request", msg, name);
            return NULL;
        }
        int dup = 0;
        for (int i = 0; !bad && i < nseen && !dup; i++)
            dup = strcmp(seen[i], k) == 0;
        if (!bad && *k && !dup && nseen < S_MAX_QUERY_PARAMS) {
            /* The first value of a repeated name wins. */
            pgs_jbuf_member(&b, nseen > 0, k, v);
            seen[nseen++] = k;
            k = NULL;
        }
        free(k);
        free(v);
        q = amp ? amp + 1 : NULL;
    }
    for (int i = 0; i < nseen; i++)
        free(seen[i]);
    if (bad) {
        free(pgs_jbuf_take(&b));
        edge_response_error(r, 400, "invalid_request", "The query string is not valid UTF-8.");
        return NULL;
    }
    pgs_jbuf_raw(&b, "},\"headers\":{", 13);
    const char *const names[] = {"content-type", "accept", "idempotency-key", "x-csrf-token",
                                 "user-agent"};
    const char *const values[] = {r->content_type, r->accept, r->idempotency_key, r->csrf,
                                  r->user_agent};
    int n = 0;
    for (int i = 0; i < 5; i++) {
        /* Header values reach us as bytes: only valid UTF-8 travels on. */
        if (values[i] && pgs_json_utf8_length(values[i], strlen(values[i])) >= 0)
            pgs_jbuf_member(&b, n++ > 0, names[i], values[i]);
    }
    pgs_jbuf_raw(&b, "},\"cookies\":{", 13);
    if (r->session_cookie &&
        pgs_json_utf8_length(r->session_cookie, strlen(r->session_cookie)) >= 0)
        pgs_jbuf_member(&b, 0, "pegasus_session", r->session_cookie);
    pgs_jbuf_raw(&b, "}}", 2);
    return pgs_jbuf_take(&b);
}

void
edge_params_context(const edge_req_t *r, char *out, size_t size)
{
    /* Every value comes from the edge's own checks (ids, a parsed address,
     * a validated request id, scope ids) and fits its field: copied, not
     * printed (this is on every request's path). */
    pgs_ctx_t c;
    memset(&c, 0, sizeof c);
    memcpy(c.request_id, r->request_id, sizeof c.request_id);
    memcpy(c.client_ip, r->client_ip, sizeof c.client_ip);
    if (r->route->auth == EDGE_AUTH_TOKEN) {
        memcpy(c.token_id, r->tok.token_id, sizeof c.token_id);
        memcpy(c.user_id, r->tok.user_id, sizeof c.user_id);
        memcpy(c.workspace_id, r->tok.workspace_id, sizeof c.workspace_id);
        memcpy(c.workspace_type, r->tok.workspace_type, sizeof r->tok.workspace_type);
        memcpy(c.role, r->tok.role, sizeof r->tok.role);
        memcpy(c.plan, r->tok.plan, sizeof r->tok.plan);
        pgs_scope_format(r->tok.scopes, c.scopes, sizeof c.scopes);
        c.seat[0] = r->tok.seat ? '1' : '0';
    }
    if (pgs_ctx_format(&c, out, size) < 0 && size)
        out[0] = '\0';
}
