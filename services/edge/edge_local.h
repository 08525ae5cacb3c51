/*
 * edge_local — the routes the edge answers itself, without a worker:
 * /healthz (the process is up), /readyz (Redis reachable, auth has rebuilt
 * Redis, a live worker for every configured service; 503 with the reason
 * otherwise) and /v1/openapi.json (the document loaded at start, its
 * servers set to this server's URL for each request).
 */
#ifndef EDGE_LOCAL_H
#define EDGE_LOCAL_H

#include "edge_req.h"

/* Keeps the OpenAPI document text (len bytes, JSON) in c, without its
 * servers member, to serve. 0, or -1 (logged) when it is not a JSON
 * object. */
int edge_local_openapi_load(edge_ctx_t *c, const char *text, size_t len);

/* Sets the response of r, whose route is local (r->route->local). */
void edge_local_respond(edge_req_t *r);

#endif
