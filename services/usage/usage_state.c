/*
 * usage_state — see usage_state.h.
 */
#include "usage_state.h"
#include "pgs_conf.h"
#include "usage_store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


usage_t *
usage_state_new(pgs_worker_t *w)
{
    usage_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->w = w;
    u->cfg = pgs_worker_config(w);
    u->own_pending = 1;
    u->max_reports_per_day = pgs_conf_int(u->cfg, PGS_KEY_USAGE_MAX_REPORTS_PER_DAY);
    u->report_retention_days = pgs_conf_int(u->cfg, PGS_KEY_USAGE_REPORT_RETENTION_DAYS);
    snprintf(u->consumer, sizeof u->consumer, "usage-%s", pgs_worker_instance(w));
    snprintf(u->claimer, sizeof u->claimer, "%s:%ld:%08x", pgs_worker_instance(w), (long)getpid(),
             (unsigned)randombytes_random());
    char path[1200];
    pgs_worker_db_path(w, "usage", path, sizeof path);
    u->db = usage_store_open(path);
    if (u->db)
        pgs_db_busy(u->db, PGS_WORKER_DB_BUSY_MS, pgs_worker_keepalive_fn, w);
    u->redis = u->db ? pgs_worker_redis(w) : NULL;
    if (!u->redis) {
        usage_state_destroy(&u);
        return NULL;
    }
    return u;
}

void
usage_state_destroy(usage_t **up)
{
    if (!up || !*up)
        return;
    usage_t *u = *up;
    pgs_redis_destroy(&u->redis);
    pgs_db_destroy(&u->db);
    free(u);
    *up = NULL;
}
