/*
 * edge_usage — the usage counts of finished /v1 requests (SPEC §5; the
 * fields are in docs/internals.md, "Usage analytics"). Every request whose
 * token passed checks 1–4 is counted when its outcome is known (its
 * response, the end of its stream, or the client leaving first): its counts
 * are summed in memory per token, route, bot and day (edge_usage_sum), and
 * every flush_ms each sum goes to the Redis stream pgs:usage as one entry —
 * one XADD for all of a busy token's requests of that time, not one each.
 * A clean stop flushes; a killed edge loses at most the last flush_ms.
 *
 * An entry Redis does not take (it is down, or refuses writes) waits in an
 * edge_usage_queue — memory, then a spool file kept across restarts — and
 * is sent again, in order, once Redis answers; each entry carries its own
 * id so the usage service counts one sent twice once.
 */
#ifndef EDGE_USAGE_H
#define EDGE_USAGE_H

#include "edge_req.h"
#include "pgs_meta.h"

#include <stddef.h>

typedef struct edge_usage edge_usage_t;

/* Sums written every flush_ms; the entries' queue: max_memory entries in
 * memory, then spool_path; the requests it holds are written to
 * status_path (JSON, for pegasusctl status; NULL: none). NULL when out of
 * memory. */
edge_usage_t *edge_usage_new(edge_redis_t *redis, const char *spool_path, size_t max_memory,
                             int flush_ms, const char *status_path);

/* Keeps what still waits, and what was summed since the last flush, in the
 * spool file; sets *u to NULL. */
void edge_usage_destroy(edge_usage_t **u);

/* Flushes the sums when they are due; sends waiting entries while Redis is
 * up (a batch at a time); refreshes the status file. */
void edge_usage_tick(edge_usage_t *u);

/* Sends every sum now (a clean stop). */
void edge_usage_flush(edge_usage_t *u);

/* timeout_ms, or less when sums are due to be flushed sooner. */
int edge_usage_timeout_ms(const edge_usage_t *u, int timeout_ms);

/* Requests whose entries wait for Redis. */
size_t edge_usage_waiting(const edge_usage_t *u);

/* 1 while a batch of waiting events is being sent. */
int edge_usage_sending(const edge_usage_t *u);

/* Takes what a reply's meta says (pgs_meta.h): the bot, the messages and
 * tokens counted. */
void edge_usage_note_meta(edge_req_t *r, const pgs_meta_t *m);

/* Counts r with the request's final status, once; a no-op for requests
 * that are not counted. */
void edge_usage_emit(edge_req_t *r, int status);

#endif
