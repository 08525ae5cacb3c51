/*
 * pgs_worker — the one skeleton every worker process runs on (Postfix's
 * single_server is the model). A service's main.c declares its routes and
 * hooks in a pgs_service_t and calls pgs_worker_main; the skeleton owns
 * argv, config, logging, signals, the ZeroMQ connections to every configured
 * edge, READY/HEARTBEAT, dispatch, internal calls and graceful shutdown.
 *
 * Command line: pegasus-<name> [-c CONFIG] [-i INSTANCE] [-n]
 *   -c  the config file (default config/pegasus.conf, or $PEGASUS_CONFIG)
 *   -i  this process's instance name, shown in logs and READY (default 0)
 *   -n  check the config and exit (0 when it is valid)
 * PEGASUS_HOME names the data directory (default ./var).
 *
 * Config ([service.<name>]): capacity (requests in flight at once, 1..1024,
 * default 8). [broker] endpoints: comma-separated edge endpoints (default
 * ipc://$PEGASUS_HOME/broker.sock). [log] level.
 *
 * Handlers run one at a time on the worker's loop; they must not block for
 * long (the loop heartbeats between requests, and a handler past a second
 * delays heartbeats). SIGTERM: the worker tells each edge it is leaving,
 * finishes what it already received, then exits 0.
 */
#ifndef PGS_WORKER_H
#define PGS_WORKER_H

#include "pgs_config.h"
#include "pgs_redis.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pgs_worker pgs_worker_t;

/* One request, all borrowed for the duration of the handler. */
typedef struct {
    uint64_t id;
    const char *route;
    json_t *ctx;    /* the edge's context object (see pgs_proto.h) */
    json_t *params; /* path parameters, query and selected headers */
    const char *body;
    size_t body_len;
    const char *request_id; /* ctx.request_id, or "" */
} pgs_req_t;

/* A reply being built. Headers and body are owned by the reply. */
typedef struct {
    int status;
    json_t *headers; /* object: header name → string value */
    char *body;
    size_t body_len;
} pgs_res_t;

typedef void (*pgs_handler_fn)(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);

typedef struct {
    const char *route; /* e.g. "token.get" */
    pgs_handler_fn fn;
} pgs_route_t;

typedef struct {
    const char *name;              /* "auth": config section service.auth */
    const pgs_route_t *routes;     /* terminated by {NULL, NULL} */
    int (*init)(pgs_worker_t *w);  /* after config and logging; 0 or -1 */
    void (*tick)(pgs_worker_t *w); /* about every 250 ms, between requests */
    void (*fini)(pgs_worker_t *w);
    /* Optional, for services with work in flight outside handlers (deferred
     * replies, e.g. upstream HTTP calls): pump runs on every loop turn, and
     * the loop sleeps at most wait_ms(w) milliseconds (-1: the default). */
    void (*pump)(pgs_worker_t *w);
    int (*wait_ms)(pgs_worker_t *w);
} pgs_service_t;

/* Runs the worker until SIGTERM/SIGINT. Returns the process exit code. */
int pgs_worker_main(const pgs_service_t *svc, int argc, char **argv);

/* Borrowed accessors. */
const pgs_config_t *pgs_worker_config(const pgs_worker_t *w);
const char *pgs_worker_home(const pgs_worker_t *w);
const char *pgs_worker_instance(const pgs_worker_t *w);
void *pgs_worker_state(const pgs_worker_t *w);
void pgs_worker_set_state(pgs_worker_t *w, void *state);

/* The path of the service's database, $PEGASUS_HOME/data/<name>.db, into
 * out (len bytes); the data directory is made (mode 0700) when missing. */
void pgs_worker_db_path(const pgs_worker_t *w, const char *name, char *out, size_t len);

/* A Redis connection as the config says: [redis] address (default the unix
 * socket redis.sock under PEGASUS_HOME) and timeout_ms (default 500). NULL
 * on a bad config value (logged) or out of memory. */
pgs_redis_t *pgs_worker_redis(const pgs_worker_t *w);

/* Calls another service through the broker and waits up to timeout_ms for
 * its reply, serving nothing else meanwhile (requests that arrive are kept
 * and handled afterwards). ctx and params may be NULL. On return, out holds
 * the reply (release with pgs_res_clear). Returns 0 when a reply came, -1 on
 * timeout or when no edge is connected (out is then a 503). */
int pgs_worker_call(pgs_worker_t *w, const char *service, const char *route, json_t *ctx,
                    json_t *params, const char *body, size_t body_len, int timeout_ms,
                    pgs_res_t *out);

/* Sends the heartbeats that are due. A handler doing long work (a large
 * delete or index) calls this now and then so the edge does not take the
 * busy worker for a dead one; cheap enough to call in any loop. */
void pgs_worker_keepalive(pgs_worker_t *w);

/* The same as a callback for pgs_db_progress and pgs_db_busy: worker is
 * the pgs_worker_t; returns 0 (go on). */
int pgs_worker_keepalive_fn(void *worker);

/* How long a worker's database statements wait for another process's write
 * lock, heartbeating meanwhile (pgs_db_busy). */
#define PGS_WORKER_DB_BUSY_MS 2000

/* ---- Deferred and streamed replies ----
 *
 * A handler that cannot answer at once calls pgs_worker_defer: the reply it
 * leaves in res is then ignored, and the request is answered later through
 * the handle (from pump, tick or another handler). The request stays in
 * flight (it holds one unit of the worker's capacity) until it is answered
 * or its stream ends.
 *
 * A streamed reply (Server-Sent Events for chat) is: stream_begin (status and
 * headers: the edge starts the HTTP response at once), any number of
 * stream_chunk (bytes written to the client as they come), stream_end. A
 * handler may also stream synchronously: defer, begin, chunks, end, return.
 * When the client went away the edge drops the chunks; the worker is not
 * told and should finish its work (a chat reply is stored regardless). */
typedef struct pgs_deferred pgs_deferred_t;

/* Takes over req; returns a handle, or NULL (out of memory: answer now). */
pgs_deferred_t *pgs_worker_defer(pgs_worker_t *w, const pgs_req_t *req);

/* Sends res as the reply, frees the handle, sets *d to NULL. res is cleared. */
void pgs_deferred_reply(pgs_deferred_t **d, pgs_res_t *res);

/* Starts a stream with status and headers (borrowed; may be NULL).
 * Returns 0 or -1 (the edge is gone: end the stream). */
int pgs_deferred_stream_begin(pgs_deferred_t *d, int status, json_t *headers);

/* Sends one piece of the stream. Returns 0 or -1. */
int pgs_deferred_stream_chunk(pgs_deferred_t *d, const void *data, size_t len);

/* Ends the stream, frees the handle, sets *d to NULL. */
void pgs_deferred_stream_end(pgs_deferred_t **d);

/* The request id of a deferred request (for logs). */
const char *pgs_deferred_request_id(const pgs_deferred_t *d);

/* Reply builders. Each replaces what the reply held before. */
void pgs_res_json(pgs_res_t *res, int status, json_t *body /* stolen */);
void pgs_res_error(pgs_res_t *res, const pgs_req_t *req, int status, const char *code,
                   const char *message, const char *param);
void pgs_res_empty(pgs_res_t *res, int status);
/* Adds or replaces one header. */
void pgs_res_header(pgs_res_t *res, const char *name, const char *value);
/* Names the bot the request concerned, for the edge's usage event (the
 * reply header x-pgs-usage, docs/internals.md "Usage analytics"). */
void pgs_res_usage_bot(pgs_res_t *res, const char *bot_id);
/* Frees what the reply holds and zeroes it. */
void pgs_res_clear(pgs_res_t *res);

/* Helpers for handlers: a string from the context or params, or NULL. */
const char *pgs_req_ctx(const pgs_req_t *req, const char *key);
const char *pgs_req_param(const pgs_req_t *req, const char *key);

#endif
