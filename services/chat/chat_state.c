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
    if (pgs_config_int(c->cfg, "chat", "ping_interval_ms", 15000, 50, 600000, &c->ping_ms) < 0 ||
        pgs_config_int(c->cfg, "chat", "history_messages", 6, 0, 100, &c->history) < 0 ||
        pgs_config_int(c->cfg, "chat", "bots_timeout_ms", 5000, 100, 60000, &c->bots_timeout_ms) <
            0 ||
        chat_state_check_models(c) < 0) {
        chat_state_destroy(&c);
        return NULL;
    }
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
    if (!id || !pgs_plan_name_ok(id))
        return 0;
    char section[96];
    snprintf(section, sizeof section, "model.%s", id);
    const char *provider = pgs_config_get(c->cfg, section, "provider");
    if (!provider)
        return 0;
    memset(out, 0, sizeof *out);
    out->id = id;
    out->section_plans = pgs_config_str(c->cfg, section, "plans", "");
    if (!strcmp(provider, "builtin")) {
        out->provider = CHAT_MODEL_PROVIDER_BUILTIN;
    } else if (!strcmp(provider, "openai")) {
        out->provider = CHAT_MODEL_PROVIDER_OPENAI;
    } else {
        pgs_error("config [%s] provider: '%s' is neither builtin nor openai", section, provider);
        return -1;
    }
    long long dflt_passages = !strcmp(id, "pegasus-max") ? 8 : 3;
    if (pgs_config_int(c->cfg, section, "passages", dflt_passages, 0, 50, &out->passages) < 0 ||
        pgs_config_int(c->cfg, section, "timeout_ms", 30000, 100, 600000, &out->timeout_ms) < 0)
        return -1;
    if (out->provider == CHAT_MODEL_PROVIDER_OPENAI) {
        out->base_url = pgs_config_str(c->cfg, section, "base_url", "");
        out->api_key_env = pgs_config_str(c->cfg, section, "api_key_env", "");
        out->upstream_model = pgs_config_str(c->cfg, section, "upstream_model", id);
        if (strncasecmp(out->base_url, "http://", 7) != 0 &&
            strncasecmp(out->base_url, "https://", 8) != 0) {
            pgs_error("config [%s] base_url must start with http:// or https://", section);
            return -1;
        }
    }
    return 1;
}

typedef struct {
    const chat_t *c;
    int bad;
} s_check_t;

static void
s_check_each(const char *section, const char *suffix, void *arg)
{
    (void)section;
    s_check_t *k = arg;
    chat_model_t m;
    if (!pgs_plan_name_ok(suffix)) {
        pgs_error("config [model.%s]: a model id is 1-64 of [A-Za-z0-9._-]", suffix);
        k->bad = 1;
    } else if (chat_state_model(k->c, suffix, &m) != 1) {
        pgs_error("config [model.%s]: needs provider = builtin | openai", suffix);
        k->bad = 1;
    }
}

int
chat_state_check_models(const chat_t *c)
{
    s_check_t k = {.c = c};
    pgs_config_each_section(c->cfg, "model.", s_check_each, &k);
    return k.bad ? -1 : 0;
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
