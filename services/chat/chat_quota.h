/*
 * chat_quota — rebuilds the monthly message counters in Redis from chat.db.
 *
 * The edge reserves one message per send (INCR pgs:quota:<ws>:<YYYYMM>, UTC
 * month) and gives it back when the send fails; chat never counts in Redis.
 * But Redis holds no truth: when the marker pgs:quota_rebuilt is missing
 * (first start, a flush, a restart without its files), one chat process —
 * the holder of pgs:quota_rebuild_lock — sets every counter of the current
 * month from the ledger of successful sends in chat.db (expiring 7 days
 * after the month ends), then sets the marker. The edge answers sends 503
 * while the marker is missing, so the rebuild is one indexed query and one
 * pipeline.
 */
#ifndef CHAT_QUOTA_H
#define CHAT_QUOTA_H

#include "chat_state.h"

/* Checks the marker about once a second and rebuilds when it is missing.
 * From the worker's tick. */
void chat_quota_tick(chat_t *c);

/* Rebuilds now if the marker is missing and the lock is free. Returns 1
 * rebuilt, 0 nothing to do (marker present or another process holds the
 * lock), -1 Redis or the database failed. */
int chat_quota_rebuild(chat_t *c);

#endif
