/*
 * edge_req — the record of one HTTP request that the edge's request modules
 * share (edge_req_t: what edge_http collected, where the checks got, what is
 * held, and the response being built), and the context they all run in
 * (edge_ctx_t, owned by main). Types only: the modules that act on a
 * request have their own headers.
 */
#ifndef EDGE_REQ_H
#define EDGE_REQ_H

#include "edge_broker.h"
#include "edge_http_ops.h"
#include "edge_ratelimit.h"
#include "edge_redis.h"
#include "edge_routes.h"
#include "edge_tokens.h"
#include "pgs_conf.h"
#include "pgs_id.h"

#include <stddef.h>
#include <stdint.h>

#define EDGE_MAX_PLANS PGS_CONF_MAX_PLANS
#define EDGE_MAX_SERVICES PGS_CONF_MAX_SERVICES
#define EDGE_MAX_RESP_HEADERS 20

typedef struct {
    char name[32];
    int api_access;
    long requests_per_minute;
    long messages_per_month;
    long long max_document_bytes;
} edge_plan_t;

/* Everything the request logic needs, owned by main. */
typedef struct {
    const pgs_config_t *cfg;
    const char *home; /* PEGASUS_HOME (its free space is in /readyz) */
    edge_broker_t *broker;
    edge_redis_t *redis;
    edge_tokens_t *tokens;
    edge_ratelimit_t *ratelimit;
    struct edge_usage *usage; /* events waiting for Redis (edge_usage.h); NULL: none kept */
    unsigned char pepper[PGS_TOKEN_PEPPER_LEN];
    edge_plan_t plans[EDGE_MAX_PLANS];
    int nplans;
    char services[EDGE_MAX_SERVICES][33]; /* configured with processes ≥ 1 */
    int nservices;
    size_t max_body;
    int deadline_ms;
    char *openapi; /* the OpenAPI document without its servers, from after its
                    * opening brace (edge_local_openapi_load) */
    size_t openapi_len;
    char public_url[512]; /* [edge] public_url, no trailing slash; "" when unset */
    char cors_origins[1024];
    char trusted_proxies[1024];
    int touch_interval_ms;
    int max_streams_per_token;
    int stream_idle_ms;
    int edges; /* edges of this host ([service.edge] processes) */
} edge_ctx_t;

typedef struct {
    char *name; /* in the request's hbuf, or malloc'd when owned */
    char *value;
    int owned;
} edge_header_t;;

typedef struct edge_req {
    edge_ctx_t *ctx;
    const edge_http_ops_t *ops; /* set by the HTTP module, with its handle: */
    void *http;                 /* passed back to every call of ops */

    /* request line and headers, filled by edge_http */
    char method[16];
    char *path;  /* owned, raw (percent-encoded) path */
    char *query; /* owned, raw query without '?', or NULL */
    char *authorization;
    int n_authorization;
    char *content_type;
    long long content_length; /* -1 when absent */
    char *accept, *idempotency_key, *csrf, *user_agent, *session_cookie, *origin;
    char *host;          /* the Host header as sent, or NULL */
    int forwarded_https; /* from a trusted proxy with X-Forwarded-Proto: https */
    char request_id[72];
    char client_ip[64];

    /* routing and authentication */
    const edge_route_t *route;
    edge_route_param_t params[EDGE_ROUTES_MAX_PARAMS];
    int nparams;
    char token_hash[PGS_TOKEN_HASH_HEX_LEN + 1];
    edge_token_state_t tok;
    int past_check4;
    long rl_limit, rl_remaining;
    int64_t rl_reset;
    uint64_t tokens_handle, broker_handle;
    int pending;
    int quota_reserved; /* one message of the monthly quota is held: */
    struct {
        char counter[96], held[96]; /* its month's keys */
        char id[PGS_ID_MAX];        /* the reservation */
        char member[160];           /* in pgs:quota_held */
    } quota;
    int stream_slot;    /* one of the token's concurrent streams is held */
    int streaming;      /* the reply is an event stream */
    int stream_failed;  /* it ended with an error */
    int64_t started_ms; /* monotonic, when the headers were in */
    struct {
        char bot[PGS_ID_MAX];     /* the bot the request concerned, if any */
        long msgs, in, out; /* messages counted, input and output tokens */
        int replayed;       /* an idempotent replay: no work, nothing counted */
        int sent;           /* the event is out */
    } usage;

    /* body, filled by edge_http */
    char *body;
    size_t body_len, body_cap;
    size_t body_map_len; /* a spooled body is mapped: this many bytes (edge_http's) */
    int body_too_large;
    size_t max_body;          /* when set (after the checks), the body limit ... */
    const char *max_body_why; /* ... and its reason ("plan": the plan's document size) */

    /* response */
    int status;
    edge_header_t headers[EDGE_MAX_RESP_HEADERS];
    int nheaders;
    char hbuf[2048]; /* where the headers' names and values are kept, mostly */
    size_t hbuf_len;
    char *resp_body;
    size_t resp_len;
    int resp_ready;
    int close; /* close the connection after the response */
} edge_req_t;

#endif
