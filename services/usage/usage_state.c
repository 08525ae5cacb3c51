/*
 * usage_state — see usage_state.h.
 */
#include "usage_state.h"
#include "usage_store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

usage_t *
usage_state(pgs_worker_t *w)
{
    return pgs_worker_state(w);
}

usage_t *
usage_state_new(pgs_worker_t *w)
{
    usage_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->w = w;
    u->cfg = pgs_worker_config(w);
    u->own_pending = 1;
    snprintf(u->consumer, sizeof u->consumer, "usage-%s", pgs_worker_instance(w));
    snprintf(u->claimer, sizeof u->claimer, "%s:%ld:%08x", pgs_worker_instance(w), (long)getpid(),
             (unsigned)randombytes_random());
    long long redis_timeout = 500;
    if (pgs_config_int(u->cfg, "redis", "timeout_ms", 500, 10, 60000, &redis_timeout) < 0) {
        usage_state_destroy(&u);
        return NULL;
    }
    const char *home = pgs_worker_home(w);
    char path[1200];
    snprintf(path, sizeof path, "%s/data", home);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/data/usage.db", home);
    u->db = usage_store_open(path);
    const char *addr = pgs_config_str(u->cfg, "redis", "address", "");
    char where[1200];
    if (*addr)
        snprintf(where, sizeof where, "%s", addr);
    else
        snprintf(where, sizeof where, "%s/redis.sock", home);
    u->redis = u->db ? pgs_redis_new(where, (int)redis_timeout) : NULL;
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
