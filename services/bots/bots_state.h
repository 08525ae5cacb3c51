/*
 * bots_state — the bots worker's process state: its database (bots.db), the
 * passage index bound to it, and the plan and model tables of the config.
 * One bots_t per process, made in init and destroyed in fini; handlers reach
 * it through bots_state().
 */
#ifndef BOTS_STATE_H
#define BOTS_STATE_H

#include "bots_index.h"
#include "pgs_conf.h"
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
    int merging;           /* a merge goes on, a few ms per loop turn */
    long long test_delay_ms; /* [bots] test_delay_ms: a test aid, 0 in production */
} bots_t;

/* Opens $PEGASUS_HOME/data/bots.db (migrating it) and the index. Returns
 * an owned bots_t or NULL (reason logged). */
bots_t *bots_state_new(pgs_worker_t *w);

/* The answer of an internal route for chat (bots.get, bots.retrieve):
 * PGS_DONE (res is sent now), or — with [bots] test_delay_ms set, a test
 * aid that makes bots slow without blocking its loop — PGS_LATER, res being
 * sent that much later. */
pgs_handled_t bots_state_answer(bots_t *b, const pgs_req_t *req, pgs_res_t *res);

/* Frees everything; sets *b to NULL; no-op on NULL. */
void bots_state_destroy(bots_t **b);

/* [plan.<plan>] key (a PGS_KEY_PLAN_… handle); the table's default when the
 * plan or key is missing. */
long long bots_state_plan_limit(const bots_t *b, const char *plan, pgs_key_t key);

/* 1 when a [model.<model>] section exists and its plans list names plan,
 * else 0. */
int bots_state_model_allowed(const bots_t *b, const char *plan, const char *model);

/* Housekeeping every 250 ms: expired idempotency keys, the WAL, and the
 * index's merges (which then go on a few milliseconds per loop turn while
 * segments are left; see bots_index_merge_step). */
void bots_state_tick(bots_t *b);

#endif
