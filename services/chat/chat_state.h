/*
 * chat_state — the chat worker's process state: chat.db, the Redis
 * connection (quota rebuild only), the upstream HTTP client, the replies in
 * flight, the [chat] settings and the model table of the config. One
 * chat_t per process, made in init and destroyed in fini; handlers reach it
 * through chat_state().
 */
#ifndef CHAT_STATE_H
#define CHAT_STATE_H

#include "pgs_conf.h"
#include "pgs_db.h"
#include "pgs_redis.h"
#include "pgs_worker.h"

#include <stdint.h>

typedef struct chat_upstream chat_upstream_t;
typedef struct chat_job chat_job_t;

typedef struct {
    pgs_worker_t *w;
    const pgs_config_t *cfg;
    pgs_db_t *db;
    pgs_redis_t *redis;
    chat_upstream_t *up;
    chat_job_t *jobs;   /* sends waiting for an upstream model (chat_send.c) */
    char instance[128]; /* unique per process: the quota rebuild lock's value */
    long long ping_ms;  /* ": ping" after this long without a chunk */
    long long history;  /* earlier messages sent along with a question */
    long long bots_timeout_ms;
    int64_t last_quota_check;
    int64_t last_reconcile;
    long long reconcile_ms, stale_ms;
    int64_t last_purge;
    int64_t last_wal;
} chat_t;

#define CHAT_MODEL_PROVIDER_BUILTIN 0
#define CHAT_MODEL_PROVIDER_OPENAI 1

/* One [model.<id>] section; strings borrowed from the config. */
typedef struct {
    const char *id;
    const char *section_plans; /* space or comma separated */
    int provider;
    long long passages;   /* retrieved passages sent along (lite 3, max 8) */
    const char *base_url; /* openai */
    const char *api_key_env;
    const char *upstream_model;
    long long timeout_ms; /* openai: no byte from the upstream for this long → 504 */
} chat_model_t;

/* Builds the state: reads [chat], opens $PEGASUS_HOME/data/chat.db and
 * makes the lazy Redis connection and the HTTP client. Owned or NULL. */
chat_t *chat_state_new(pgs_worker_t *w);

/* Ends the replies in flight (503 or an error event), frees everything,
 * sets *c to NULL; no-op on NULL. */
void chat_state_destroy(chat_t **c);

/* Looks up model id. 1 found (out filled), 0 not configured. */
int chat_state_model(const chat_t *c, const char *id, chat_model_t *out);

/* 1 when plan is listed in the model's plans, else 0. */
int chat_state_model_allows(const chat_model_t *m, const char *plan);

/* The most passages any configured model asks for (what one bots.retrieve
 * fetches before the bot's model is known). */
long long chat_state_max_passages(const chat_t *c);

#endif
