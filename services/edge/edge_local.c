/*
 * edge_local — see edge_local.h.
 */
#include "edge_local.h"
#include "edge_response.h"
#include "pgs_json.h"
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
    case EDGE_LOCAL_OPENAPI: {
        char *copy = malloc(r->ctx->openapi_len + 1);
        if (copy) {
            memcpy(copy, r->ctx->openapi, r->ctx->openapi_len);
            copy[r->ctx->openapi_len] = '\0';
        }
        edge_response_set(r, 200, copy, "application/json");
        return;
    }
    default:
        edge_response_error(r, 404, "not_found", "No such route.");
        return;
    }
}
