/*
 * edge_checks — the checks of SPEC §2 on a request, in the SPEC's order,
 * each answering with its own status and error code: for bearer-token
 * routes checks 1–2 (the Authorization header, the token's syntax and
 * checksum), the token state lookup (edge_tokens), checks 3–9 (revoked,
 * expired, plan, seat, scope, role, read-only team), check 10 (the rate
 * limit) and check 11 (the message quota, through edge_quota); then, once
 * the body is in, the body rules (415 media type, 413 size) and the limit
 * of concurrent streams per token (429).
 */
#ifndef EDGE_CHECKS_H
#define EDGE_CHECKS_H

#include "edge_req.h"

/* Runs checks 1–11 on r, whose route needs a token. Ends with r's response
 * set (a check failed, or Redis or auth is down), with r->pending (the
 * token lookup or the quota reservation answers later, then
 * r->ops->wake), or with neither: every check passed. A token that passed
 * may also be reported to auth (token.touch, at most once per interval). */
void edge_checks_token(edge_req_t *r);

/* The rules on the body, and for a send asking for a stream, one of the
 * token's concurrent stream slots (r->stream_slot). Returns 0 when the
 * request may go on, -1 when its response was set. */
int edge_checks_body(edge_req_t *r);

#endif
