/*
 * chat_state — see chat_state.h.
 */
#include "chat_state.h"
#include "pgs_plan.h"
#include "chat_send.h"
#include "chat_store.h"
#include "chat_upstream.h"
#include "pgs_log.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>


chat_t *
chat_state_new(pgs_worker_t *w)
{
    chat_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->w = w;
    c->cfg = pgs_worker_config(w);
    snprintf(c->instance, sizeof c->instance, "%s:%ld:%08x", pgs_worker_instance(w), (long)getpid(),
             (unsigned)randombytes_random());
    c->ping_ms = pgs_conf_int(c->cfg, PGS_KEY_CHAT_PING_INTERVAL_MS);
    c->history = pgs_conf_int(c->cfg, PGS_KEY_CHAT_HISTORY_MESSAGES);
    c->bots_timeout_ms = pgs_conf_int(c->cfg, PGS_KEY_CHAT_BOTS_TIMEOUT_MS);
    c->reconcile_ms = pgs_conf_int(c->cfg, PGS_KEY_CHAT_QUOTA_RECONCILE_S) * 1000;
    c->stale_ms = pgs_conf_int(c->cfg, PGS_KEY_CHAT_QUOTA_STALE_S) * 1000;
    char path[1200];
    pgs_worker_db_path(w, "chat", path, sizeof path);
    c->db = chat_store_open(path);
    if (c->db)
        pgs_db_busy(c->db, PGS_WORKER_DB_BUSY_MS, pgs_worker_keepalive_fn, w);
    c->redis = c->db ? pgs_worker_redis(w) : NULL;
    c->up = c->redis ? chat_upstream_new(w) : NULL;
    if (!c->up) {
        chat_state_destroy(&c);
        return NULL;
    }
    return c;
}

void
chat_state_destroy(chat_t **cp)
{
    if (!cp || !*cp)
        return;
    chat_t *c = *cp;
    chat_send_abort_all(c);
    chat_upstream_destroy(&c->up);
    pgs_redis_destroy(&c->redis);
    pgs_db_destroy(&c->db);
    free(c);
    *cp = NULL;
}

int
chat_state_model_allows(const chat_model_t *m, const char *plan)
{
    return plan && pgs_plan_list_has(m->section_plans, plan);
}

int
chat_state_model(const chat_t *c, const char *id, chat_model_t *out)
{
    /* pgs_conf_check refused, at start, a model without a valid provider
     * or an openai one without a base_url. */
    const char *provider = id ? pgs_conf_str_in(c->cfg, PGS_KEY_MODEL_PROVIDER, id) : NULL;
    if (!provider)
        return 0;
    memset(out, 0, sizeof *out);
    out->id = id;
    out->section_plans = pgs_conf_str_in(c->cfg, PGS_KEY_MODEL_PLANS, id);
    out->provider =
        strcasecmp(provider, "openai") ? CHAT_MODEL_PROVIDER_BUILTIN : CHAT_MODEL_PROVIDER_OPENAI;
    out->passages = pgs_conf_int_in(c->cfg, PGS_KEY_MODEL_PASSAGES, id);
    out->timeout_ms = pgs_conf_int_in(c->cfg, PGS_KEY_MODEL_TIMEOUT_MS, id);
    if (out->provider == CHAT_MODEL_PROVIDER_OPENAI) {
        const char *upstream = pgs_conf_str_in(c->cfg, PGS_KEY_MODEL_UPSTREAM_MODEL, id);
        out->base_url = pgs_conf_str_in(c->cfg, PGS_KEY_MODEL_BASE_URL, id);
        out->api_key_env = pgs_conf_str_in(c->cfg, PGS_KEY_MODEL_API_KEY_ENV, id);
        out->upstream_model = upstream ? upstream : id;
    }
    return 1;
}

typedef struct {
    const chat_t *c;
    long long max;
} s_max_t;

static void
s_max_each(const char *section, const char *suffix, void *arg)
{
    (void)section;
    s_max_t *m = arg;
    chat_model_t model;
    if (chat_state_model(m->c, suffix, &model) == 1 && model.passages > m->max)
        m->max = model.passages;
}

long long
chat_state_max_passages(const chat_t *c)
{
    s_max_t m = {c, 0};
    pgs_config_each_section(c->cfg, "model.", s_max_each, &m);
    return m.max;
}
