/*
 * edge_params — what a worker is told about a request besides its body
 * (frames of the REQUEST; docs/internals.md, "Params" and "Context"):
 * params is the method, the path parameters and the query (percent-decoded,
 * the first value of a repeated name), the headers a worker may read and
 * the session cookie, all valid UTF-8; context is the request id, the
 * client address and, for token routes, who is calling (token, user,
 * workspace, role, plan, scopes, seat).
 */
#ifndef EDGE_PARAMS_H
#define EDGE_PARAMS_H

#include "edge_req.h"
#include "pgs_ctx.h"

/* r's params as JSON text (caller frees). NULL with r's response set (400
 * invalid_request) when the query is not valid UTF-8 once decoded; a path
 * parameter that is not becomes "". */
char *edge_params_build(edge_req_t *r);

/* r's context as the protocol's flat fields (pgs_ctx.h) into out
 * (PGS_CTX_MAX bytes). */
void edge_params_context(const edge_req_t *r, char *out, size_t size);

#endif
