/*
 * bots_state — the bots worker's process state: its database (bots.db), the
 * passage index bound to it, and the plan and model tables of the config.
 * One bots_t per process, made in init and destroyed in fini; handlers reach
 * it through bots_state().
 */
#ifndef BOTS_STATE_H
#define BOTS_STATE_H

#include "bots_index.h"
#include "pgs_config.h"
#include "pgs_db.h"
#include "pgs_worker.h"

#include <stdint.h>

typedef struct {
    pgs_worker_t *w;
    const pgs_config_t *cfg;
    pgs_db_t *db;
    bots_index_t *ix;
    int64_t last_purge_ms;
    int64_t last_wal_ms;
    int64_t next_merge_ms; /* when to try merging the index's segments again */
    int merging;           /* the index has segments left to merge */
} bots_t;

/* Opens $PEGASUS_HOME/data/bots.db (migrating it) and the index. Returns
 * an owned bots_t or NULL (reason logged). */
bots_t *bots_state_new(pgs_worker_t *w);

/* Between requests: merges the index's segments a few milliseconds at a
 * time while there is merging to do (see bots_index_merge_step). */
void bots_state_pump(bots_t *b);

/* How long the worker may sleep: 0 while merging, else -1 (its default). */
int bots_state_wait_ms(const bots_t *b);

/* Frees everything; sets *b to NULL; no-op on NULL. */
void bots_state_destroy(bots_t **b);

/* The state of the worker that runs the handler (borrowed). */
bots_t *bots_state(pgs_worker_t *w);

/* [plan.<plan>] key as a non-negative integer; dflt when the plan or key is
 * missing or invalid (an invalid value is logged). */
long long bots_state_plan_limit(const bots_t *b, const char *plan, const char *key, long long dflt);

/* 1 when a [model.<model>] section exists and its plans list names plan,
 * else 0. */
int bots_state_model_allowed(const bots_t *b, const char *plan, const char *model);

/* Housekeeping between requests (expired idempotency keys). */
void bots_state_tick(bots_t *b);

#endif
