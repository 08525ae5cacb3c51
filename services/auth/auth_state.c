/*
 * auth_state — see auth_state.h.
 */
#include "auth_state.h"
#include "auth_view.h"
#include "pgs_plan.h"
#include "auth_store.h"
#include "pgs_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_read_settings(auth_t *a)
{
    const pgs_config_t *c = a->cfg;
    a->session_idle_s = pgs_conf_int(c, PGS_KEY_AUTH_SESSION_IDLE_S);
    a->session_absolute_s = pgs_conf_int(c, PGS_KEY_AUTH_SESSION_ABSOLUTE_S);
    a->login_max_failures = pgs_conf_int(c, PGS_KEY_AUTH_LOGIN_MAX_FAILURES);
    a->login_window_s = pgs_conf_int(c, PGS_KEY_AUTH_LOGIN_WINDOW_S);
    a->login_max_failures_per_address =
        pgs_conf_int(c, PGS_KEY_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS);
    a->max_tokens = pgs_conf_int(c, PGS_KEY_AUTH_MAX_TOKENS_PER_USER);
    a->touch_interval_s = pgs_conf_int(c, PGS_KEY_AUTH_TOUCH_INTERVAL_S);
    const char *url = pgs_conf_str(c, PGS_KEY_EDGE_PUBLIC_URL);
    a->secure_cookies = strncmp(url, "https://", 8) == 0 || strncmp(url, "HTTPS://", 8) == 0;
}

auth_t *
auth_state_new(pgs_worker_t *w)
{
    auth_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->w = w;
    a->cfg = pgs_worker_config(w);
    snprintf(a->instance, sizeof a->instance, "%s:%ld:%08x", pgs_worker_instance(w), (long)getpid(),
             (unsigned)randombytes_random());
    s_read_settings(a);
    a->pepper = sodium_malloc(PGS_TOKEN_PEPPER_LEN);
    if (!a->pepper || pgs_token_pepper_load(pgs_worker_home(w), a->pepper) < 0) {
        pgs_error("cannot load the token pepper");
        auth_state_destroy(&a);
        return NULL;
    }
    /* The dummy hash costs one argon2id run at start; it uses the same
     * limits as real hashes so that verifying it takes as long. */
    unsigned char junk[32];
    randombytes_buf(junk, sizeof junk);
    char junk_hex[65];
    sodium_bin2hex(junk_hex, sizeof junk_hex, junk, sizeof junk);
    if (crypto_pwhash_str(a->dummy_hash, junk_hex, strlen(junk_hex),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        pgs_error("argon2id failed (out of memory)");
        auth_state_destroy(&a);
        return NULL;
    }
    sodium_memzero(junk_hex, sizeof junk_hex);

    char path[1200];
    pgs_worker_db_path(w, "auth", path, sizeof path);
    a->db = auth_store_open(path);
    if (a->db)
        pgs_db_busy(a->db, PGS_WORKER_DB_BUSY_MS, pgs_worker_keepalive_fn, w);
    a->redis = a->db ? pgs_worker_redis(w) : NULL;
    a->view = a->redis ? auth_view_new(a) : NULL;
    if (!a->view) {
        auth_state_destroy(&a);
        return NULL;
    }
    return a;
}

void
auth_state_destroy(auth_t **ap)
{
    if (!ap || !*ap)
        return;
    auth_t *a = *ap;
    auth_view_destroy(&a->view);
    pgs_redis_destroy(&a->redis);
    pgs_db_destroy(&a->db);
    if (a->pepper)
        sodium_free(a->pepper);
    sodium_memzero(a->dummy_hash, sizeof a->dummy_hash);
    free(a);
    *ap = NULL;
}

typedef struct {
    char *buf;
    size_t len;
} s_plan_names_t;

static void
s_plan_name(const char *section, const char *suffix, void *arg)
{
    (void)section;
    s_plan_names_t *pn = arg;
    size_t n = strlen(pn->buf);
    snprintf(pn->buf + n, pn->len - n, "%s%s", n ? ", " : "", suffix);
}

int
auth_state_plan_valid(const auth_t *a, const char *plan)
{
    return pgs_plan_exists(a->cfg, plan);
}

void
auth_state_plan_names(const auth_t *a, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    s_plan_names_t pn = {buf, len};
    pgs_config_each_section(a->cfg, "plan.", s_plan_name, &pn);
}

int
auth_state_plan_api(const auth_t *a, const char *plan)
{
    return pgs_conf_bool_in(a->cfg, PGS_KEY_PLAN_API_ACCESS, plan);
}

long long
auth_state_plan_messages(const auth_t *a, const char *plan)
{
    return pgs_plan_int(a->cfg, plan, PGS_KEY_PLAN_MESSAGES_PER_MONTH);
}
