/*
 * edge_relay — forwards a request that passed every check to a worker of
 * its route's service through the broker, and relays what comes back onto
 * the request: the REPLY (its status, headers and body, whole), and for a
 * stream each CHUNK and the END, written through r->ops. The reply's and the
 * END's meta (pgs_meta.h) are acted on, never relayed: invalidations are
 * applied before the reply is relayed, usage counts and the bot noted for
 * the usage event, a replay gives its message back. What the request held is
 * settled with the reply (or at a stream's end): the reserved message is
 * given back on a failure or a replay, else spent; the stream slot freed.
 */
#ifndef EDGE_RELAY_H
#define EDGE_RELAY_H

#include "edge_req.h"

/* Submits r to the broker with params and context (JSON text, borrowed).
 * Sets r->pending; the reply sets r's response and calls r->ops->wake.
 * When the broker refuses at once, answers 503 instead. */
void edge_relay_forward(edge_req_t *r, const char *params, const char *context);

/* The edge is stopping and r's worker did not answer in time: a request
 * waiting for its reply is answered 503 service_unavailable (and woken), a
 * stream in progress is ended with an error event of that code. The worker
 * keeps what it holds; its answer is dropped. Returns 1 when r was ended,
 * 0 when it was not waiting on a worker. */
int edge_relay_abort(edge_req_t *r);

#endif
