/*
 * edge_http_ops — the only way the request modules reach the connection a
 * request came on. The HTTP layer (edge_http) fills one of these and hands
 * it to every request it creates (edge_req_t.ops, with its own handle in
 * edge_req_t.http), so the request modules never call the HTTP layer by
 * name and could run under another one (the fuzz target gives no-ops).
 *
 * A response itself is not a call: the request modules set it on the
 * edge_req_t (resp_ready, status, headers, body, streaming) and the HTTP
 * layer reads it when it regains control, or after wake.
 */
#ifndef EDGE_HTTP_OPS_H
#define EDGE_HTTP_OPS_H

#include <stddef.h>

typedef struct {
    /* Asynchronous work of the request ended (its response may be set):
     * resumes the connection if it was suspended. */
    void (*wake)(void *http);
    /* Streamed replies: bytes to write to the client as they come, after
     * the response was set with streaming = 1 ... */
    void (*stream_push)(void *http, const void *data, size_t len);
    /* ... and the end of the stream. */
    void (*stream_end)(void *http);
} edge_http_ops_t;

#endif
