/*
 * edge_quota — SPEC §2 check 11: the workspace's monthly message quota,
 * one counter per workspace and month in Redis (pgs:quota:<ws>:<YYYYMM>).
 * A send reserves one message before it is forwarded (one atomic script);
 * the message is given back when the send fails, is an idempotent replay or
 * its stream ends with an error. Chat rebuilds the counters; until it has,
 * reservations are refused as unavailable.
 */
#ifndef EDGE_QUOTA_H
#define EDGE_QUOTA_H

#include "edge_req.h"

/* Reserves one message of plan's monthly quota for r. The answer comes
 * later (r->pending, then r->ops->wake): r->quota_reserved, or a 429
 * quota_exceeded (with Retry-After: the seconds to the next month) or 503
 * response. When Redis is not connected, answers 503 at once. */
void edge_quota_reserve(edge_req_t *r, const edge_plan_t *plan);

/* Gives r's reserved message back, if it holds one (r->quota_reserved). */
void edge_quota_release(edge_req_t *r);

#endif
