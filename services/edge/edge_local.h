/*
 * edge_local — the routes the edge answers itself, without a worker:
 * /healthz (the process is up), /readyz (Redis reachable, auth has rebuilt
 * Redis, a live worker for every configured service; 503 with the reason
 * otherwise) and /v1/openapi.json (the document loaded at start).
 */
#ifndef EDGE_LOCAL_H
#define EDGE_LOCAL_H

#include "edge_req.h"

/* Sets the response of r, whose route is local (r->route->local). */
void edge_local_respond(edge_req_t *r);

#endif
