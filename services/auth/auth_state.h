/*
 * auth_state — the auth worker's process state: its database, its Redis
 * connection, the token pepper, the settings of [auth] and the plan and
 * model tables of the config. One auth_t per process, made in init and
 * destroyed in fini; handlers reach it through pgs_worker_state().
 */
#ifndef AUTH_STATE_H
#define AUTH_STATE_H

#include "pgs_conf.h"
#include "pgs_db.h"
#include "pgs_redis.h"
#include "pgs_token.h"
#include "pgs_worker.h"

#include <sodium.h>
#include <stdint.h>

typedef struct auth_view auth_view_t; /* auth_view.h */

typedef struct {
    pgs_worker_t *w;
    const pgs_config_t *cfg;
    pgs_db_t *db;
    pgs_redis_t *redis;
    auth_view_t *view; /* the rows the lean read routes answer from */
    unsigned char *pepper; /* PGS_TOKEN_PEPPER_LEN bytes of sodium_malloc memory */
    /* An argon2id hash of a random password: verified against for unknown
     * emails so that a sign-in takes as long whether the email exists or not. */
    char dummy_hash[crypto_pwhash_STRBYTES];
    char instance[128]; /* unique per process: the rebuild lock's value */
    int secure_cookies;
    long long session_idle_s;
    long long session_absolute_s;
    long long login_max_failures;
    long long login_window_s;
    long long login_max_failures_per_address;
    long long max_tokens;
    long long touch_interval_s;
    int rebuild_needed; /* a Redis write after a commit failed */
    int64_t last_rebuild_check;
    int64_t last_wal; /* WAL restarts (pgs_db_wal_tick) */
} auth_t;

/* Builds the state: reads [auth], loads the pepper, opens
 * $PEGASUS_HOME/data/auth.db and makes the (lazy) Redis connection.
 * Returns an owned auth_t or NULL (reason logged). */
auth_t *auth_state_new(pgs_worker_t *w);

/* Frees everything, wiping the pepper; sets *a to NULL; no-op on NULL. */
void auth_state_destroy(auth_t **a);


/* 1 when plan names a [plan.<plan>] section of the config, else 0. */
int auth_state_plan_valid(const auth_t *a, const char *plan);

/* 1 when the plan has API access ([plan.<plan>] api_access), else 0. */
int auth_state_plan_api(const auth_t *a, const char *plan);

/* The plan's messages_per_month (0 when unset or invalid). */
long long auth_state_plan_messages(const auth_t *a, const char *plan);

/* The configured plan names, space separated, for error messages. */
void auth_state_plan_names(const auth_t *a, char *buf, size_t len);

#endif
