/*
 * edge_response — builds the response of a request on its edge_req_t: the
 * status, the body (owned by the request) and the headers every response
 * carries (X-Request-Id, Cache-Control: no-store on API routes, the
 * X-RateLimit-* and Pegasus-Token-Expires headers past check 4, CORS for
 * allowed origins), and error bodies in the SPEC's format. Setting a
 * response that is not a stream also sends the request's usage event.
 */
#ifndef EDGE_RESPONSE_H
#define EDGE_RESPONSE_H

#include "edge_req.h"

#include <jansson.h>

/* Adds a response header (copied); dropped past EDGE_MAX_RESP_HEADERS. */
void edge_response_header(edge_req_t *r, const char *name, const char *value);
/* The same with lengths (not NUL-terminated). */
void edge_response_header_n(edge_req_t *r, const char *name, size_t name_len, const char *value,
                            size_t value_len);
/* Drops every header set so far. */
void edge_response_headers_clear(edge_req_t *r);

/* 1 when r's Origin is one of the configured CORS origins. */
int edge_response_cors_allowed(const edge_req_t *r);

/* Sets the response (r->resp_ready): body (a string, or NULL) is owned by r
 * from now on; content_type may be NULL. */
void edge_response_set(edge_req_t *r, int status, char *body, const char *content_type);

/* Ends r with an error response in the SPEC's format; extra (borrowed, may
 * be NULL) holds members added inside the error object. */
void edge_response_error_x(edge_req_t *r, int status, const char *code, const char *message,
                           json_t *extra);

/* The same naming the field at fault (error.param) instead. */
void edge_response_error_param(edge_req_t *r, int status, const char *code, const char *message,
                               const char *param);

/* The same without extra members. */
void edge_response_error(edge_req_t *r, int status, const char *code, const char *message);

/* Ends r with 503 service_unavailable and Retry-After: 1 (Redis, auth or
 * the workers are down: try again). */
void edge_response_unavailable(edge_req_t *r);

/* Ends r with 507 insufficient_storage and Retry-After: 30 (a write was
 * refused for lack of disk space). */
void edge_response_no_space(edge_req_t *r);

#endif
