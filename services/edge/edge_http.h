/*
 * edge_http — the edge's HTTP/1.1 server, on the edge loop (edge-triggered
 * epoll, no thread). It accepts connections (capped in all and per client
 * address), reads each request head with the strict rules of
 * edge_http_parse, collects the request into an edge_req_t for
 * edge_request, reads the body only after the checks passed (bounded by the
 * route's and the plan's limit and by time; large bodies are spooled to a
 * file), waits while asynchronous work runs (the request wakes it, and
 * writes a stream, through the edge_http_ops_t it is given), and writes the
 * response. Every error it answers itself is the SPEC's JSON error with an
 * X-Request-Id. Static files of the web app are served from web_root.
 *
 * The edge used libmicrohttpd until its own error replies, its lenient
 * framing and its idle-only timer could not be fixed from outside; see
 * docs/decisions.md.
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
    int max_connections_per_address; /* trusted proxies: requests in flight per client */
    int body_timeout_s;              /* a body arrives within this ... */
    long long min_body_rate;         /* ... or, larger, at this many bytes/s (0: no rate) */
    size_t body_buffer_bytes;        /* larger bodies are spooled to a file */
    const char *spool_dir;           /* created when missing */
    int reuse_port;                  /* several edges share the port (SO_REUSEPORT) */
} edge_http_opts_t;

/* Starts listening. Returns an owned handle or NULL (reason logged). */
edge_http_t *edge_http_new(edge_loop_t *loop, edge_ctx_t *ctx, const edge_http_opts_t *opts);

/* Closes every connection (what their requests hold is released) and the
 * listening socket; sets *h to NULL. */
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

/* Runs the connections that were woken or have stream bytes, and every
 * 100 ms the timers (slow heads and bodies, idle keep-alive, stalled
 * writes, lingering closes). */
void edge_http_tick(edge_http_t *h);

/* How long the loop may sleep before edge_http_tick is needed (ms). */
int edge_http_timeout_ms(edge_http_t *h, int cap_ms);

#endif
