/*
 * edge_http — the thin layer over libmicrohttpd (external epoll mode, in
 * the edge loop). It accepts connections, enforces the HTTP-level limits
 * and the hostile-input rules libmicrohttpd lets through, collects the
 * request into an edge_req_t for edge_request, suspends the connection
 * while asynchronous work runs (the request wakes it, and writes a stream,
 * through the edge_http_ops_t it is given), and writes the response.
 * Static files of the web app are served from web_root. Nothing else in the
 * edge includes microhttpd.h, so the HTTP library could be replaced here
 * alone.
 */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include "edge_loop.h"
#include "edge_request.h"

typedef struct edge_http edge_http_t;

typedef struct {
    const char *address; /* IPv4 address to listen on */
    int port;
    const char *web_root;
    size_t max_header_bytes;
    int max_headers;
    size_t max_uri_bytes;
    int header_timeout_s;
    int keepalive_timeout_s;
    int max_connections;
} edge_http_opts_t;

/* Starts listening. Returns an owned handle or NULL (reason logged). */
edge_http_t *edge_http_new(edge_loop_t *loop, edge_ctx_t *ctx, const edge_http_opts_t *opts);

/* Stops the daemon (closing every connection) once no connection is
 * suspended (each is resumed first; one waiting on a worker is answered
 * 503); sets *h to NULL. */
void edge_http_destroy(edge_http_t **h);

/* Begins a stop: no new connection is accepted; requests already taken run
 * on and their responses close the connection; a new request on an open
 * connection is answered 503 service_unavailable with Connection: close;
 * connections between requests are closed. Idempotent. */
void edge_http_drain(edge_http_t *h);

/* Number of requests taken and not yet completely answered. */
int edge_http_requests(const edge_http_t *h);

/* The stop deadline: every request still waiting on a worker is answered
 * 503 and every stream in progress ended with an error event now (see
 * edge_request_abort); they complete as their bytes are written. */
void edge_http_abort(edge_http_t *h);

/* Runs libmicrohttpd's pending work and the slow-header timer. */
void edge_http_tick(edge_http_t *h);

/* How long the loop may sleep before libmicrohttpd needs a call (ms). */
int edge_http_timeout_ms(edge_http_t *h, int cap_ms);

#endif
