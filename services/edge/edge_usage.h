/*
 * edge_usage — the usage event of a finished /v1 request (SPEC §5; the
 * fields are in docs/internals.md, "Usage analytics"). One event per request
 * whose token passed checks 1–4, sent to the Redis stream pgs:usage when the
 * request's outcome is known: its response, the end of its stream, or the
 * client leaving first.
 */
#ifndef EDGE_USAGE_H
#define EDGE_USAGE_H

#include "edge_req.h"
#include "pgs_meta.h"

#include <stddef.h>

/* Takes what a reply's meta says (pgs_meta.h): the bot, the messages and
 * tokens counted. */
void edge_usage_note_meta(edge_req_t *r, const pgs_meta_t *m);

/* Sends r's event with the request's final status, once; a no-op for
 * requests that are not counted. */
void edge_usage_emit(edge_req_t *r, int status);

#endif
