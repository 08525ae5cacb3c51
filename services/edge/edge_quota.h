/*
 * edge_quota — SPEC §2 check 11: the workspace's monthly message quota,
 * one counter per workspace and month in Redis (pgs:quota:<ws>:<YYYYMM>).
 * A send reserves one message before it is forwarded (one atomic script);
 * the message is given back when the send fails, is an idempotent replay or
 * its stream ends with an error, and spent when the message was sent. Until
 * then it is held (pgs:quota_held:<ws>:<YYYYMM> and pgs:quota_held, by
 * time), so chat can give back what a crashed edge held for a message that
 * was never stored. Chat rebuilds the counters; until it has, reservations
 * are refused as unavailable.
 */
#ifndef EDGE_QUOTA_H
#define EDGE_QUOTA_H

#include "edge_req.h"

/* Reserves one message of plan's monthly quota for r. The answer comes
 * later (r->pending, then r->ops->wake): r->quota_reserved, or a 429
 * quota_exceeded (with Retry-After: the seconds to the next month) or 503
 * response. When Redis is not connected, answers 503 at once. */
void edge_quota_reserve(edge_req_t *r, const edge_plan_t *plan);

/* The set of every held reservation ("<ws>:<YYYYMM>:<id>", by time). */
#define EDGE_QUOTA_HELD_ALL "pgs:quota_held"

/* Gives r's reserved message back, if it holds one (r->quota_reserved). */
void edge_quota_release(edge_req_t *r);

/* r's reserved message was sent: it is no longer held. */
void edge_quota_spend(edge_req_t *r);

#endif
