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

#include <stddef.h>

/* Takes what a worker's x-pgs-usage reply header says ("bot=<id> msgs=<n>
 * in=<n> out=<n>", any subset, space separated). */
void edge_usage_note_header(edge_req_t *r, const char *value);

/* Looks at one chunk of a streamed reply: a message.completed event carries
 * the token counts. */
void edge_usage_note_chunk(edge_req_t *r, const void *data, size_t len);

/* Sends r's event with the request's final status, once; a no-op for
 * requests that are not counted. */
void edge_usage_emit(edge_req_t *r, int status);

#endif
