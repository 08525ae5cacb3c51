/*
 * usage_state — what a usage process holds: its config, usage.db, its
 * Redis connection and the consumer's progress.
 */
#ifndef USAGE_STATE_H
#define USAGE_STATE_H

#include "pgs_config.h"
#include "pgs_db.h"
#include "pgs_redis.h"
#include "pgs_worker.h"

#include <stdint.h>

typedef struct {
    pgs_worker_t *w;
    const pgs_config_t *cfg;
    pgs_db_t *db;
    pgs_redis_t *redis;
    char consumer[64]; /* the name in the consumer group: usage-<instance> */
    char claimer[96];  /* this process, for report claims */
    /* the consumer (usage_consume) */
    int group_ready;    /* the group is known to exist */
    int own_pending;    /* read our own pending entries before new ones */
    int again; /* a pass is due on the next loop turn (a backlog) */
    int64_t next_claim; /* XAUTOCLAIM of other consumers' stale entries */
    int64_t next_prune; /* usage_seen housekeeping */
    long long consumed; /* events counted since start (for logs) */
    /* reports (usage_reports) */
    int64_t next_monthly; /* monotonic ms of the next check for due monthly reports */
    int64_t last_purge;   /* idempotency keys */
    int64_t last_wal;     /* WAL restarts (pgs_db_wal_tick) */
    long long max_reports_per_day; /* requested reports per workspace per UTC day */
    long long report_retention_days;
    int64_t next_expire; /* monotonic ms of the next purge of old requested reports */
} usage_t;

usage_t *usage_state_new(pgs_worker_t *w);
void usage_state_destroy(usage_t **u);

#endif
