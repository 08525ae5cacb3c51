/*
 * edge_request — what the edge does with one HTTP request, independent of
 * the HTTP library: the steps in order, each done by its own module —
 * routing (404/405, CORS preflight), the local routes (edge_local), the
 * checks of SPEC §2 and the body rules (edge_checks, with the message quota
 * in edge_quota), the worker's params and context (edge_params), and the
 * forwarding and relay of the reply (edge_relay); every response is built
 * by edge_response.
 *
 * The HTTP module (edge_http) fills an edge_req_t (with its edge_http_ops_t
 * and handle), then calls edge_request_headers_done and, once the body is
 * in, edge_request_body_done. Either may finish the request at once
 * (r->resp_ready) or start asynchronous work (r->pending); when that work
 * ends, the request calls r->ops->wake(r->http). Nothing here calls
 * edge_http by name.
 */
#ifndef EDGE_REQUEST_H
#define EDGE_REQUEST_H

#include "edge_req.h"

#include <stddef.h>

/* Called once the request line and headers are in. */
void edge_request_headers_done(edge_req_t *r);

/* Called once the whole body is in (or was refused as too large). */
void edge_request_body_done(edge_req_t *r);

/* The body limit of r's route (after routing). */
size_t edge_request_max_body(const edge_req_t *r);

/* 1 when r's route reads a body at all. */
int edge_request_wants_body(const edge_req_t *r);

/* The edge is stopping and r ran out of time: when it waits on a worker or
 * a token lookup, it is answered 503 service_unavailable now (a stream in
 * progress ends with an error event) and woken. A request waiting on a
 * Redis reply is left to it (the Redis timeout bounds it). Returns 1 when r
 * was ended. */
int edge_request_abort(edge_req_t *r);

/* Frees what r owns (not r itself) and cancels pending work. */
void edge_request_release(edge_req_t *r);

#endif
