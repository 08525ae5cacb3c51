/*
 * edge_usage — the usage event of a finished /v1 request (SPEC §5; the
 * fields are in docs/internals.md, "Usage analytics"). One event per request
 * whose token passed checks 1–4, sent to the Redis stream pgs:usage when the
 * request's outcome is known: its response, the end of its stream, or the
 * client leaving first.
 *
 * An event Redis does not take (it is down, or refuses writes) waits in an
 * edge_usage_queue — memory, then a spool file kept across restarts — and
 * is sent again, in order, once Redis answers; each event carries its own
 * id so the usage service counts one sent twice once.
 */
#ifndef EDGE_USAGE_H
#define EDGE_USAGE_H

#include "edge_req.h"
#include "pgs_meta.h"

#include <stddef.h>

typedef struct edge_usage edge_usage_t;

/* The events' queue: max_memory events in memory, then spool_path; the
 * queue's size is written to status_path (JSON, for pegasusctl status;
 * NULL: none). NULL when out of memory. */
edge_usage_t *edge_usage_new(edge_redis_t *redis, const char *spool_path, size_t max_memory,
                             const char *status_path);

/* Keeps what still waits in the spool file; sets *u to NULL. */
void edge_usage_destroy(edge_usage_t **u);

/* Sends waiting events while Redis is up (a batch at a time); refreshes the
 * status file. */
void edge_usage_tick(edge_usage_t *u);

/* Events waiting for Redis. */
size_t edge_usage_waiting(const edge_usage_t *u);

/* 1 while a batch of waiting events is being sent. */
int edge_usage_sending(const edge_usage_t *u);

/* Takes what a reply's meta says (pgs_meta.h): the bot, the messages and
 * tokens counted. */
void edge_usage_note_meta(edge_req_t *r, const pgs_meta_t *m);

/* Sends r's event with the request's final status, once; a no-op for
 * requests that are not counted. */
void edge_usage_emit(edge_req_t *r, int status);

#endif
