/*
 * edge_broker — the ZeroMQ broker inside the edge (Majordomo-style, with
 * in-flight tracking per worker, which the Guide's broker lacks).
 *
 * Workers connect to the edge's ROUTER and announce READY(service, instance,
 * capacity). The broker sends a worker at most `capacity` requests at once,
 * tracks each in flight, heartbeats every second and declares a worker dead
 * after 3 silent seconds: its in-flight GETs are retried once on another
 * worker, the rest are answered 503. A request with no live worker for its
 * service is answered 503 at once; with live but busy workers it waits in a
 * bounded queue. Past its deadline a request is answered 504. Clients that
 * are not workers (pegasusctl, a worker calling another service) send
 * REQUESTs to the same socket and get the REPLY relayed back.
 *
 * Bodies in pieces (pgs_proto.h): the broker sends a request body larger
 * than one message in BODY pieces, and puts together a client's; a reply in
 * CHUNKs is put together for a caller inside the edge (done gets it whole)
 * and relayed piece by piece to a client. Messages of another protocol
 * version are refused, with one log line a minute.
 */
#ifndef EDGE_BROKER_H
#define EDGE_BROKER_H

#include "edge_loop.h"

#include <stddef.h>
#include <stdint.h>

typedef struct edge_broker edge_broker_t;

/* A reply, borrowed for the call. status is the worker's, or 503/504 from
 * the broker (then headers is "{}" and body an error object). */
typedef struct {
    int status;
    const char *headers; /* JSON text */
    const char *meta;    /* pgs_meta text form; "" when none */
    const void *body;
    size_t body_len;
    int stream; /* an event stream: on_chunk and on_end follow */
    /* When not NULL, body is a malloc'd, NUL-terminated buffer the callee
     * may keep (it sets owned to NULL): a reply put together from pieces is
     * then not copied again. */
    char *owned;
} edge_broker_reply_t;

/* Completion of one request: exactly one call per edge_broker_submit that
 * returned 0. */
typedef void (*edge_broker_done)(void *arg, edge_broker_reply_t *reply);

/* How a stream ended. */
typedef enum {
    EDGE_BROKER_END_OK,     /* the worker's END "ok" */
    EDGE_BROKER_END_FAILED, /* the worker's END "failed": its stream says why */
    EDGE_BROKER_END_LOST,   /* the worker died, or the stream was idle too long */
} edge_broker_end_t;

typedef struct {
    const char *service;
    const char *route;
    const char *context; /* JSON text */
    const char *params;  /* JSON text */
    const void *body;
    size_t body_len;
    int deadline_ms;
    int retryable;       /* a GET: retried once on another worker */
    const char *request_id; /* for logs and broker-made error bodies */
    /* Streamed replies (a REPLY with the STREAM flag): after done,
     * on_chunk for each CHUNK, then on_end exactly once, with the END's
     * meta ("" when it was lost). NULL: chunks are dropped. */
    void (*on_chunk)(void *arg, const void *data, size_t len);
    void (*on_end)(void *arg, edge_broker_end_t how, const char *meta);
    int stream_idle_ms; /* 0: 60 s */
} edge_broker_req_t;

/* Binds the ROUTER at every endpoint of the space-separated list. Returns
 * an owned broker or NULL. */
edge_broker_t *edge_broker_new(edge_loop_t *loop, const char *endpoints, int max_queue);

/* Answers every pending request 503, closes the socket; sets *b to NULL. */
void edge_broker_destroy(edge_broker_t **b);

/* Submits a request (copies everything). Returns a handle (non-zero) for
 * edge_broker_cancel; done is then called exactly once, later. */
uint64_t edge_broker_submit(edge_broker_t *b, const edge_broker_req_t *req, edge_broker_done done,
                            void *arg);

/* Forgets the caller of a request: done will not be called (the worker's
 * reply, when it comes, is dropped). */
void edge_broker_cancel(edge_broker_t *b, uint64_t handle);

/* Reads everything waiting on the socket; heartbeats; deadlines; liveness.
 * Call after every loop wake-up (ZMQ_FD is edge-triggered). */
void edge_broker_poll(edge_broker_t *b);

/* Number of live workers of a service. */
int edge_broker_live_workers(const edge_broker_t *b, const char *service);

/* 1 when completions are waiting for the next edge_broker_poll (the loop
 * should then not sleep). */
int edge_broker_has_ready(const edge_broker_t *b);

#endif
