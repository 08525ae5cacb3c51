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
 *
 * Reconciliation: every [chat] quota_reconcile_s, one chat process (the
 * holder of pgs:quota_reconcile_lock) looks at the reservations the edges
 * still hold (pgs:quota_held, by time) that are older than quota_stale_s —
 * far past any send's deadline, so their edge crashed or lost Redis — and,
 * per workspace and month, gives back as many as the counter holds beyond
 * what chat.db stored and what is still recent: counter − stored − recent
 * held is the number of reservations that cannot have led to a stored
 * message, and the stale ones are all the candidates. So a crash never
 * charges a workspace for a message it did not get; a stale reservation
 * whose message was stored is only forgotten.
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

/* Reconciles now if the lock is free. Returns the reservations given back,
 * or -1 when Redis or the database failed. */
int chat_quota_reconcile(chat_t *c);

#endif
