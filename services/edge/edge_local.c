/*
 * edge_local — see edge_local.h.
 */
#include "edge_local.h"
#include "edge_response.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

/* Less free space than this where the data lives: not ready (writes are
 * about to fail, or failing). */
#define S_MIN_FREE_BYTES ((unsigned long long)8 << 20)
#define S_MISCONF_RECENT_MS 10000

static int
s_ready(const edge_ctx_t *c, char *why, size_t len)
{
    if (!edge_redis_up(c->redis)) {
        snprintf(why, len, "redis is unreachable");
        return 0;
    }
    if (!edge_tokens_redis_rebuilt(c->tokens)) {
        snprintf(why, len, "auth has not rebuilt redis yet");
        return 0;
    }
    for (int i = 0; i < c->nservices; i++) {
        if (!edge_broker_live_workers(c->broker, c->services[i])) {
            snprintf(why, len, "no live %s worker", c->services[i]);
            return 0;
        }
    }
    struct statvfs sv;
    if (c->home && statvfs(c->home, &sv) == 0 &&
        (unsigned long long)sv.f_bavail * sv.f_frsize < S_MIN_FREE_BYTES) {
        snprintf(why, len, "no space left on the disk of PEGASUS_HOME (%llu KiB free)",
                 (unsigned long long)sv.f_bavail * sv.f_frsize / 1024);
        return 0;
    }
    int64_t misconf = edge_redis_space_error_ms(c->redis);
    if (misconf && pgs_time_mono_ms() - misconf < S_MISCONF_RECENT_MS) {
        snprintf(why, len, "redis cannot write to its disk (MISCONF)");
        return 0;
    }
    return 1;
}

int
edge_local_openapi_load(edge_ctx_t *c, const char *text, size_t len)
{
    json_error_t e;
    json_t *doc = json_loadb(text, len, 0, &e);
    if (!json_is_object(doc)) {
        pgs_error("the OpenAPI document is not a JSON object (line %d: %s)", e.line, e.text);
        json_decref(doc);
        return -1;
    }
    json_object_del(doc, "servers"); /* set for each request */
    char *dump = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!dump)
        return -1;
    free(c->openapi);
    c->openapi_len = strlen(dump) - 1;
    c->openapi = malloc(c->openapi_len + 1);
    if (c->openapi)
        memcpy(c->openapi, dump + 1, c->openapi_len + 1); /* what follows the '{' */
    free(dump);
    return c->openapi ? 0 : -1;
}

/* A Host header that can stand in a URL as it is: a name or an address,
 * with an optional port. */
static int
s_host_ok(const char *h)
{
    size_t n = h ? strlen(h) : 0;
    if (n == 0 || n > 255)
        return 0;
    return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]") == n;
}

/* The document with servers set to this server's URL: [edge] public_url,
 * else the origin the client sent the request to (https when it came
 * through a trusted proxy that says so), else "/" (a request with no
 * usable Host). */
static void
s_openapi(edge_req_t *r)
{
    const edge_ctx_t *c = r->ctx;
    char url[600];
    int from_request = !c->public_url[0];
    if (!from_request)
        snprintf(url, sizeof url, "%s", c->public_url);
    else if (s_host_ok(r->host))
        snprintf(url, sizeof url, "%s://%s", r->forwarded_https ? "https" : "http", r->host);
    else
        snprintf(url, sizeof url, "/");
    json_t *servers = json_pack("[{s:s}]", "url", url);
    char *head = servers ? json_dumps(servers, JSON_COMPACT) : NULL;
    json_decref(servers);
    size_t hn = head ? strlen(head) : 0;
    char *body = head && c->openapi ? malloc(hn + c->openapi_len + 16) : NULL;
    if (!body) {
        free(head);
        edge_response_error(r, 500, "internal_error", "Out of memory.");
        return;
    }
    int empty = c->openapi[0] == '}';
    snprintf(body, hn + c->openapi_len + 16, "{\"servers\":%s%s%s", head, empty ? "" : ",",
             c->openapi);
    free(head);
    if (from_request)
        edge_response_header(r, "Vary", "Host, X-Forwarded-Proto");
    edge_response_set(r, 200, body, "application/json");
}

void
edge_local_respond(edge_req_t *r)
{
    switch (r->route->local) {
    case EDGE_LOCAL_HEALTHZ:
        edge_response_set(r, 200, strdup("{\"status\":\"ok\"}"), "application/json");
        return;
    case EDGE_LOCAL_READYZ: {
        char why[128] = "";
        int ok = s_ready(r->ctx, why, sizeof why);
        json_t *j = json_pack("{s:s}", "status", ok ? "ready" : "not_ready");
        if (!ok)
            json_object_set_new(j, "reason", json_string(why));
        char *body = pgs_json_dump(j);
        json_decref(j);
        edge_response_set(r, ok ? 200 : 503, body, "application/json");
        return;
    }
    case EDGE_LOCAL_OPENAPI:
        s_openapi(r);
        return;
    default:
        edge_response_error(r, 404, "not_found", "No such route.");
        return;
    }
}
