/*
 * pgs_worker — the library every worker process runs on: one event loop
 * (the shape of CZMQ's zloop and Redis's ae) that a service's main() builds
 * and drives. The library owns argv, config, logging, signals, the ZeroMQ
 * connections to every configured edge, READY/HEARTBEAT, dispatch, calls to
 * other services, a small pool of threads for CPU-heavy work, and a clean
 * stop. Postfix's single_server is the model for what it takes off a
 * service's hands.
 *
 *   int rc;
 *   pgs_worker_t *w = pgs_worker_new("auth", argc, argv, &settings, &rc);
 *   if (!w) return rc;                       (-n, a usage or config error)
 *   auth_t *a = auth_state_new(w);           (the service's own state)
 *   pgs_worker_routes(w, routes, a);         (each handler gets a back)
 *   pgs_worker_every(w, 250, auth_tick, a);
 *   rc = pgs_worker_run(w);                  (until SIGTERM, then drains)
 *   auth_state_destroy(&a);
 *   pgs_worker_destroy(&w);
 *
 * Command line: pegasus-<name> [-c CONFIG] [-i INSTANCE] [-n]
 *   -c  the config file (default config/pegasus.conf, or $PEGASUS_CONFIG);
 *       one that does not exist is an error
 *   -i  this process's instance name, shown in logs and READY (default 0)
 *   -n  check the config and exit (0 when it is valid)
 * PEGASUS_HOME names the data directory (default ./var).
 *
 * The whole config is checked against pgs_conf's table at start and for
 * -n (the same verdict as every other binary's). The skeleton reads
 * [service.<name>] capacity (requests in flight at once; the default is the
 * settings' capacity), [broker] endpoints (default
 * ipc://$PEGASUS_HOME/broker.sock) and [log] level.
 *
 * A request body or a reply of any size up to PGS_PROTO_MAX_TOTAL travels
 * in pieces when it is larger than one message (pgs_proto.h); handlers
 * always see whole bodies, and a reply to pgs_call_request is whole too.
 *
 * Nothing a callback does may block the loop: a request to another service
 * is pgs_call_request (a continuation), waiting is a timer, a socket is an
 * fd watch, CPU-heavy work is pgs_call_offload. The loop logs a warning
 * for any turn whose callbacks ran longer than PGS_WORKER_STALL_MS.
 *
 * SIGTERM/SIGINT: the worker tells each edge it is leaving (no new work
 * comes), finishes what it holds — calls answered later, requests to other
 * services, offloaded work — for up to [service.<name>] stop_timeout_ms
 * (default 8000, below the master's 10 s), then pgs_worker_run returns 0.
 */
#ifndef PGS_WORKER_H
#define PGS_WORKER_H

#include "pgs_config.h"
#include "pgs_redis.h"
#include "pgs_req.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pgs_worker pgs_worker_t;

/* What a handler did with the request. */
typedef enum {
    PGS_DONE = 0, /* res is the reply: the library sends it */
    PGS_LATER,    /* the handler keeps req->call and answers exactly once
                     through it (pgs_call_reply or a stream); res is ignored */
} pgs_handled_t;

typedef pgs_handled_t (*pgs_handler_fn)(void *arg, const pgs_req_t *req, pgs_res_t *res);

typedef struct {
    const char *route; /* e.g. "token.get" */
    pgs_handler_fn fn;
} pgs_route_t;

typedef struct {
    unsigned capacity; /* default [service.<name>] capacity (0: 8) */
    unsigned threads;  /* threads for pgs_call_offload (0: none) */
} pgs_worker_settings_t;

/* Parses argv, loads the config, starts logging. NULL when the process
 * should exit at once with *exit_code: 0 after a successful -n, 2 for a
 * usage error, 1 for a bad config (logged). */
pgs_worker_t *pgs_worker_new(const char *service, int argc, char **argv,
                             const pgs_worker_settings_t *settings, int *exit_code);

/* Closes the connections (what was sent is flushed for up to a second),
 * stops the threads, frees, sets *w to NULL; no-op on NULL. */
void pgs_worker_destroy(pgs_worker_t **w);

/* Connects to every edge and runs the loop until SIGTERM/SIGINT, then
 * drains (above). Returns the process exit code. */
int pgs_worker_run(pgs_worker_t *w);

/* ---- registrations: each carries an arg given back to its callback ---- */

/* A table terminated by {NULL, NULL}; every handler gets arg. 0 or -1. */
int pgs_worker_routes(pgs_worker_t *w, const pgs_route_t *routes, void *arg);

typedef void (*pgs_timer_fn)(void *arg);

/* A timer every ms milliseconds (periodic) or once after ms (one-shot;
 * ms may be 0: on the next loop turn). Returns its id (> 0), or -1. A
 * one-shot timer's id is gone once it has fired. */
int pgs_worker_every(pgs_worker_t *w, int ms, pgs_timer_fn fn, void *arg);
int pgs_worker_after(pgs_worker_t *w, int ms, pgs_timer_fn fn, void *arg);
/* Cancels a timer; ids that are gone (or <= 0) are ignored. */
void pgs_worker_cancel(pgs_worker_t *w, int timer_id);

#define PGS_FD_IN 1
#define PGS_FD_OUT 2
typedef void (*pgs_fd_fn)(void *arg, int fd, int revents /* PGS_FD_* */);

/* Watches fd for events (PGS_FD_IN | PGS_FD_OUT); replaces an earlier
 * watch of the same fd; events 0 removes it. 0 or -1. */
int pgs_worker_watch(pgs_worker_t *w, int fd, int events, pgs_fd_fn fn, void *arg);

/* ---- answering later ---- */

/* The request of a call, valid until the call is answered. */
const pgs_req_t *pgs_call_req(const pgs_call_t *call);

/* Sends res as the reply; frees the call (and its request), sets *call to
 * NULL; res is cleared. No-op when *call is NULL. */
void pgs_call_reply(pgs_call_t **call, pgs_res_t *res);

/* A streamed reply (Server-Sent Events for chat): stream_begin (status,
 * headers and meta, borrowed, each may be NULL: the edge starts the HTTP
 * response at once), any number of stream_chunk (bytes written to the
 * client as they come), stream_end (ok: the stream ended as it should — a
 * stream that ends with an error event is not ok — and the meta known only
 * at the end: usage counts). When the client went away the edge drops the
 * chunks; the worker is not told and should finish its work (a chat reply
 * is stored regardless). begin and chunk return 0, or -1 when the edge is
 * gone. */
int pgs_call_stream_begin(pgs_call_t *call, int status, json_t *headers, const pgs_meta_t *meta);
int pgs_call_stream_chunk(pgs_call_t *call, const void *data, size_t len);
void pgs_call_stream_end(pgs_call_t **call, int ok, const pgs_meta_t *meta);

/* ---- continuing a call: another service, or the threads ----
 *
 * A continuation is a handler that runs later, from the loop, for the same
 * call: it gets the call's request, a reply to fill, and returns PGS_DONE
 * (the library sends res) or PGS_LATER (it continued the call again, or
 * keeps req->call to answer it itself). It owns its arg. */

/* Asks route of service through the broker for call; then(arg, req, res,
 * reply) runs exactly once, never from inside this function, with the
 * other service's reply or a 503 error (no edge, or no answer within
 * timeout_ms). reply belongs to the library: move what is wanted out of it
 * (pgs_res_move). ctx and params may be NULL. 0, or -1 (out of memory:
 * then will not run). */
typedef pgs_handled_t (*pgs_then_fn)(void *arg, const pgs_req_t *req, pgs_res_t *res,
                                     pgs_res_t *reply);
int pgs_call_request(pgs_call_t *call, const char *service, const char *route,
                     const pgs_ctx_t *ctx, json_t *params, const char *body, size_t body_len, int timeout_ms,
                     pgs_then_fn then, void *arg);

/* Runs work(arg) on one of the library's threads, then done(arg, req, res)
 * on the loop for call. work must not touch the loop's objects (sockets,
 * the database connection, the Redis connection): it gets its inputs in
 * arg and leaves its results there. 0, or -1 (no threads configured, or
 * PGS_WORKER_OFFLOAD_MAX already waiting: done will not run). */
int pgs_call_offload(pgs_call_t *call, void (*work)(void *arg), pgs_handler_fn done, void *arg);

#define PGS_WORKER_OFFLOAD_MAX 256
#define PGS_WORKER_STALL_MS 50

/* ---- what services share ---- */

const pgs_config_t *pgs_worker_config(const pgs_worker_t *w);
const char *pgs_worker_home(const pgs_worker_t *w);
const char *pgs_worker_instance(const pgs_worker_t *w);

/* The path of the service's database, $PEGASUS_HOME/data/<name>.db, into
 * out (len bytes); the data directory is made (mode 0700) when missing. */
void pgs_worker_db_path(const pgs_worker_t *w, const char *name, char *out, size_t len);

/* A Redis connection as the config says: [redis] address (default the unix
 * socket redis.sock under PEGASUS_HOME) and timeout_ms (default 500). NULL
 * on a bad config value (logged) or out of memory. */
pgs_redis_t *pgs_worker_redis(const pgs_worker_t *w);

/* Sends the heartbeats that are due. Long synchronous work that cannot be
 * split (a large SQLite statement) calls this through pgs_db_progress and
 * pgs_db_busy so the edge does not take the busy worker for a dead one. */
void pgs_worker_keepalive(pgs_worker_t *w);

/* pgs_worker_keepalive as a callback for pgs_db_progress and pgs_db_busy:
 * worker is the pgs_worker_t; returns 0 (go on). */
int pgs_worker_keepalive_fn(void *worker);

/* How long a worker's database statements wait for another process's write
 * lock, heartbeating meanwhile (pgs_db_busy). */
#define PGS_WORKER_DB_BUSY_MS 2000

#endif
