/*
 * bots_state — see bots_state.h.
 */
#include "bots_state.h"
#include "bots_index.h"
#include "bots_store.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_plan.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


bots_t *
bots_state_new(pgs_worker_t *w)
{
    bots_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->w = w;
    b->cfg = pgs_worker_config(w);
    b->test_delay_ms = pgs_conf_int(b->cfg, PGS_KEY_BOTS_TEST_DELAY_MS);
    char path[1200];
    pgs_worker_db_path(w, "bots", path, sizeof path);
    b->db = bots_store_open(path);
    if (b->db) {
        /* Long statements (deleting a large bot, indexing a large
         * document) and waits for the other process's write lock keep the
         * worker's heartbeats going. */
        pgs_db_progress(b->db, 100000, pgs_worker_keepalive_fn, w);
        pgs_db_busy(b->db, PGS_WORKER_DB_BUSY_MS, pgs_worker_keepalive_fn, w);
        /* A search reads a few hundred pages of the index, scattered over
         * a file of hundreds of megabytes: with SQLite's default page cache
         * (2 MB) most come through read(2) again on every search; a larger
         * cache and a mapped file save the rereads and the copies. */
        pgs_db_exec(b->db, "PRAGMA cache_size = -65536; PRAGMA mmap_size = 4294967296");
    }
    b->ix = b->db ? bots_index_new(b->db) : NULL;
    if (!b->ix) {
        bots_state_destroy(&b);
        return NULL;
    }
    return b;
}

/* An answer held back by test_delay_ms. */
typedef struct {
    pgs_call_t *call;
    pgs_res_t res;
} s_delayed_t;

static void
s_send_delayed(void *arg)
{
    s_delayed_t *d = arg;
    pgs_call_reply(&d->call, &d->res);
    free(d);
}

pgs_handled_t
bots_state_answer(bots_t *b, const pgs_req_t *req, pgs_res_t *res)
{
    if (b->test_delay_ms <= 0)
        return PGS_DONE;
    s_delayed_t *d = calloc(1, sizeof *d);
    if (!d)
        return PGS_DONE;
    d->call = req->call;
    pgs_res_move(&d->res, res);
    if (pgs_worker_after(b->w, (int)b->test_delay_ms, s_send_delayed, d) < 0) {
        pgs_res_move(res, &d->res);
        free(d);
        return PGS_DONE;
    }
    return PGS_LATER;
}

void
bots_state_destroy(bots_t **bp)
{
    if (!bp || !*bp)
        return;
    bots_t *b = *bp;
    bots_index_destroy(&b->ix);
    pgs_db_destroy(&b->db);
    free(b);
    *bp = NULL;
}

long long
bots_state_plan_limit(const bots_t *b, const char *plan, pgs_key_t key)
{
    return pgs_plan_int(b->cfg, plan, key);
}

int
bots_state_model_allowed(const bots_t *b, const char *plan, const char *model)
{
    return pgs_plan_model_allows(b->cfg, model, plan);
}

/* A few milliseconds of merging per loop turn (requests wait at most that
 * long), again on the next turn while segments are left. */
static void
s_merge_more(void *arg)
{
    bots_t *b = arg;
    int64_t t0 = pgs_time_mono_ms();
    int rc;
    do
        rc = bots_index_merge_step(b->ix);
    while (rc == 1 && pgs_time_mono_ms() - t0 < 4);
    if (rc == 1 && pgs_worker_after(b->w, 0, s_merge_more, b) > 0)
        return;
    b->merging = 0;
    b->next_merge_ms = pgs_time_now_ms() + (rc == 2 ? 500 : 5000);
}

void
bots_state_tick(bots_t *b)
{
    int64_t now = pgs_time_now_ms();
    if (!b->merging && now >= b->next_merge_ms && strcmp(pgs_worker_instance(b->w), "1") == 0) {
        /* One process merges, and only when nobody writes (see
         * bots_index_merge_step). */
        int rc = bots_index_merge_step(b->ix);
        b->merging = rc == 1 && pgs_worker_after(b->w, 0, s_merge_more, b) > 0;
        b->next_merge_ms = now + (rc == 2 ? 500 : 5000);
    }
    pgs_idem_tick(b->db, &b->last_purge_ms);
    pgs_db_wal_tick(b->db, &b->last_wal_ms);
}
