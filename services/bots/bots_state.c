/*
 * bots_state — see bots_state.h.
 */
#include "bots_state.h"
#include "bots_store.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bots_t *
bots_state(pgs_worker_t *w)
{
    return pgs_worker_state(w);
}

/* Long statements (deleting a large bot, indexing a large document) keep
 * the worker's heartbeats going. */
static int
s_keepalive(void *arg)
{
    pgs_worker_keepalive(arg);
    return 0;
}

bots_t *
bots_state_new(pgs_worker_t *w)
{
    bots_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->w = w;
    b->cfg = pgs_worker_config(w);
    const char *home = pgs_worker_home(w);
    char path[1200];
    snprintf(path, sizeof path, "%s/data", home);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/data/bots.db", home);
    b->db = bots_store_open(path);
    if (b->db)
        pgs_db_progress(b->db, 100000, s_keepalive, w);
    b->ix = b->db ? bots_index_new(b->db) : NULL;
    if (!b->ix) {
        bots_state_destroy(&b);
        return NULL;
    }
    return b;
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

static int
s_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
              *p == '.'))
            return 0;
    return 1;
}

long long
bots_state_plan_limit(const bots_t *b, const char *plan, const char *key, long long dflt)
{
    if (!s_name_ok(plan))
        return dflt;
    char section[64];
    snprintf(section, sizeof section, "plan.%s", plan);
    long long v = dflt;
    if (pgs_config_int(b->cfg, section, key, dflt, 0, 1LL << 40, &v) < 0)
        return dflt;
    return v;
}

int
bots_state_model_allowed(const bots_t *b, const char *plan, const char *model)
{
    if (!s_name_ok(plan) || !s_name_ok(model))
        return 0;
    char section[80];
    snprintf(section, sizeof section, "model.%s", model);
    const char *plans = pgs_config_get(b->cfg, section, "plans");
    if (!plans)
        return 0;
    size_t wl = strlen(plan);
    const char *p = plans;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        if ((size_t)(p - start) == wl && strncmp(start, plan, wl) == 0)
            return 1;
    }
    return 0;
}

void
bots_state_tick(bots_t *b)
{
    int64_t now = pgs_time_now_ms();
    if (now - b->last_purge_ms < 60000)
        return;
    b->last_purge_ms = now;
    int n = pgs_idem_purge(b->db, now / 1000, 500);
    if (n > 0)
        pgs_debug("purged %d expired idempotency keys", n);
}
