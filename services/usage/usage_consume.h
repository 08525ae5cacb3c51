/*
 * usage_consume — reads the edges' usage events from the Redis stream
 * pgs:usage in the consumer group "usage" and counts each exactly once
 * (docs/internals.md, "Usage analytics"): own pending entries first (left
 * by a crash of this instance), then new ones; every 10 s the entries other
 * consumers left pending for over 30 s are claimed. A batch is counted in
 * one SQLite transaction that also records the entry ids; XACK follows the
 * commit, so a crash in between only re-delivers what usage_seen skips.
 */
#ifndef USAGE_CONSUME_H
#define USAGE_CONSUME_H

#include "usage_state.h"

/* How often the consumer looks for events. */
#define USAGE_CONSUME_EVERY_MS 100

/* Does the consumer's due work, one batch (a backlog goes on in a pass on
 * the next loop turn, after the requests waiting meanwhile): a timer of the
 * worker every USAGE_CONSUME_EVERY_MS (arg: the usage_t). */
void usage_consume_timer(void *arg);

#endif
