/*
 * pgs_conf — see pgs_conf.h. The table is indexed by pgs_key_t through
 * designated initializers, so a key's handle and its declaration cannot drift
 * apart; the unit tests check that every handle has a declaration and that
 * every default obeys its own rule.
 */
#include "pgs_conf.h"
#include "pgs_log.h"
#include "pgs_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_ALL (PGS_CONF_EDGE | PGS_CONF_WORKERS | PGS_CONF_MASTER)
#define S_NO_LIMIT 0

#define S_INT(sec, k, d, lo, hi, who)                                                              \
    {                                                                                              \
        (sec), (k), PGS_CONF_INT, #d, (lo), (hi), NULL, (who), 0                                   \
    }
#define S_BOOL(sec, k, d, who)                                                                     \
    {                                                                                              \
        (sec), (k), PGS_CONF_BOOL, (d), 0, 0, NULL, (who), 0                                       \
    }
#define S_STR(sec, k, d, maxlen, who)                                                              \
    {                                                                                              \
        (sec), (k), PGS_CONF_STR, (d), 0, (maxlen), NULL, (who), 0                                 \
    }
#define S_URL(sec, k, who)                                                                         \
    {                                                                                              \
        (sec), (k), PGS_CONF_URL, "", 0, 0, NULL, (who), 0                                         \
    }

/* Where two binaries read a key with different ranges before the table,
 * the stricter one was kept: [auth] touch_interval_s from 1 (auth took 0),
 * [plan.*] messages_per_month up to 10^9 (the edge's; auth took 2^40),
 * [service.*] processes defaults to 1 (the master's; the edge took 0). */
static const pgs_conf_key_t s_keys[PGS_KEY_COUNT] = {
    [PGS_KEY_LOG_LEVEL] = {"log", "level", PGS_CONF_ENUM, "info", 0, 0, "debug info warn error",
                           S_ALL, 0},
    /* The CPU scheduling policy of the supervisor and, inherited, of every
     * process it starts: batch (SCHED_BATCH: a woken process does not
     * preempt the one that woke it) or other (the kernel's default). */
    [PGS_KEY_MASTER_SCHEDULER] = {"master", "scheduler", PGS_CONF_ENUM, "batch", 0, 0,
                                  "batch other", PGS_CONF_MASTER, 0},

    [PGS_KEY_EDGE_ADDRESS] = S_STR("edge", "address", "127.0.0.1", S_NO_LIMIT, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_PORT] = S_INT("edge", "port", 8080, 1, 65535, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_PUBLIC_URL] = S_URL("edge", "public_url", PGS_CONF_EDGE | PGS_CONF_AUTH),
    [PGS_KEY_EDGE_WEB_ROOT] = S_STR("edge", "web_root", "web", S_NO_LIMIT, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_OPENAPI] =
        S_STR("edge", "openapi", "config/openapi.json", S_NO_LIMIT, PGS_CONF_EDGE),
    /* The edge keeps these two in 1 KiB buffers. */
    [PGS_KEY_EDGE_TRUSTED_PROXIES] = S_STR("edge", "trusted_proxies", "", 1023, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_CORS_ORIGINS] = S_STR("edge", "cors_origins", "", 1023, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_HEADER_BYTES] =
        S_INT("edge", "max_header_bytes", 16384, 1024, 1048576, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_HEADERS] = S_INT("edge", "max_headers", 100, 8, 10000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_URI_BYTES] =
        S_INT("edge", "max_uri_bytes", 8192, 256, 1048576, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_BODY_BYTES] =
        S_INT("edge", "max_body_bytes", 1048576, 1024, 67108864, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_HEADER_TIMEOUT_S] = S_INT("edge", "header_timeout_s", 10, 1, 600, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_KEEPALIVE_TIMEOUT_S] =
        S_INT("edge", "keepalive_timeout_s", 60, 1, 3600, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_CONNECTIONS] =
        S_INT("edge", "max_connections", 16384, 16, 1000000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_CONNECTIONS_PER_ADDRESS] =
        S_INT("edge", "max_connections_per_address", 64, 1, 1000000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_BODY_TIMEOUT_S] = S_INT("edge", "body_timeout_s", 30, 1, 3600, PGS_CONF_EDGE),
    /* Bytes per second a large body must keep up (it may take longer than
     * body_timeout_s at this rate); 0: body_timeout_s alone. */
    [PGS_KEY_EDGE_MIN_BODY_RATE] =
        S_INT("edge", "min_body_rate", 32768, 0, 1073741824, PGS_CONF_EDGE),
    /* Usage events kept in memory while Redis does not take them; more go
     * to $PEGASUS_HOME/spool/usage-<instance>.events (up to 256 MiB). */
    [PGS_KEY_EDGE_USAGE_QUEUE_EVENTS] =
        S_INT("edge", "usage_queue_events", 10000, 1, 10000000, PGS_CONF_EDGE),
    /* How long usage counts are summed in the edge before they are written
     * (one stream entry per token, route, bot and day); what a killed edge
     * can lose. */
    [PGS_KEY_EDGE_USAGE_FLUSH_MS] = S_INT("edge", "usage_flush_ms", 100, 1, 1000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_BODY_BUFFER_BYTES] =
        S_INT("edge", "body_buffer_bytes", 65536, 4096, 67108864, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_MAX_QUEUE] = S_INT("edge", "max_queue", 1024, 1, 1000000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_DEADLINE_MS] = S_INT("edge", "deadline_ms", 10000, 100, 600000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_CACHE_TTL_MS] = S_INT("edge", "cache_ttl_ms", 2000, 0, 2000, PGS_CONF_EDGE),
    [PGS_KEY_EDGE_NEGATIVE_TTL_MS] =
        S_INT("edge", "negative_ttl_ms", 5000, 0, 60000, PGS_CONF_EDGE),

    /* Empty: $PEGASUS_HOME/redis.sock. */
    [PGS_KEY_REDIS_ADDRESS] =
        S_STR("redis", "address", "", S_NO_LIMIT, PGS_CONF_EDGE | PGS_CONF_WORKERS),
    [PGS_KEY_REDIS_TIMEOUT_MS] =
        S_INT("redis", "timeout_ms", 500, 10, 60000, PGS_CONF_EDGE | PGS_CONF_WORKERS),
    /* The edges a worker (and pegasusctl) connects to. Empty: every edge of
     * this host, each at its [broker] bind. */
    [PGS_KEY_BROKER_ENDPOINTS] = {"broker", "endpoints", PGS_CONF_LIST, "", 0, PGS_CONF_MAX_EDGES,
                                  NULL, PGS_CONF_EDGE | PGS_CONF_WORKERS | PGS_CONF_CTL, 0},
    /* Where edge {i} listens for workers ({i}: its instance number).
     * Empty: ipc://$PEGASUS_HOME/broker-{i}.sock. */
    [PGS_KEY_BROKER_BIND] = S_STR("broker", "bind", "", 1000, S_ALL | PGS_CONF_CTL),

    [PGS_KEY_AUTH_SESSION_IDLE_S] =
        S_INT("auth", "session_idle_s", 43200, 60, 31536000, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_SESSION_ABSOLUTE_S] =
        S_INT("auth", "session_absolute_s", 604800, 60, 31536000, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_LOGIN_MAX_FAILURES] =
        S_INT("auth", "login_max_failures", 5, 1, 1000, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_LOGIN_WINDOW_S] = S_INT("auth", "login_window_s", 900, 1, 86400, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS] =
        S_INT("auth", "login_max_failures_per_address", 30, 1, 100000, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_MAX_TOKENS_PER_USER] =
        S_INT("auth", "max_tokens_per_user", 50, 1, 100000, PGS_CONF_AUTH),
    [PGS_KEY_AUTH_TOUCH_INTERVAL_S] =
        S_INT("auth", "touch_interval_s", 60, 1, 86400, PGS_CONF_EDGE | PGS_CONF_AUTH),

    [PGS_KEY_CHAT_MAX_STREAMS_PER_TOKEN] =
        S_INT("chat", "max_streams_per_token", 4, 1, 1000, PGS_CONF_EDGE),
    [PGS_KEY_CHAT_STREAM_IDLE_S] = S_INT("chat", "stream_idle_s", 60, 1, 3600, PGS_CONF_EDGE),
    [PGS_KEY_CHAT_PING_INTERVAL_MS] =
        S_INT("chat", "ping_interval_ms", 15000, 50, 600000, PGS_CONF_CHAT),
    [PGS_KEY_CHAT_HISTORY_MESSAGES] = S_INT("chat", "history_messages", 6, 0, 100, PGS_CONF_CHAT),
    [PGS_KEY_CHAT_BOTS_TIMEOUT_MS] =
        S_INT("chat", "bots_timeout_ms", 5000, 100, 60000, PGS_CONF_CHAT),
    [PGS_KEY_CHAT_QUOTA_RECONCILE_S] =
        S_INT("chat", "quota_reconcile_s", 60, 1, 86400, PGS_CONF_CHAT),
    [PGS_KEY_CHAT_QUOTA_STALE_S] = S_INT("chat", "quota_stale_s", 300, 1, 86400, PGS_CONF_CHAT),
    [PGS_KEY_USAGE_MAX_REPORTS_PER_DAY] =
        S_INT("usage", "max_reports_per_day", 50, 1, 100000, PGS_CONF_USAGE),
    [PGS_KEY_USAGE_REPORT_RETENTION_DAYS] =
        S_INT("usage", "report_retention_days", 30, 1, 3660, PGS_CONF_USAGE),
    /* A test aid, 0 in production. */
    [PGS_KEY_BOTS_TEST_DELAY_MS] = S_INT("bots", "test_delay_ms", 0, 0, 60000, PGS_CONF_BOTS),

    [PGS_KEY_SERVICE_PROCESSES] =
        S_INT("service.*", "processes", 1, 0, 64, PGS_CONF_EDGE | PGS_CONF_MASTER),
    /* Edges of this host, each its own process and loop on the same port
     * (SO_REUSEPORT); auto: one per CPU. Workers connect to every one. */
    [PGS_KEY_SERVICE_EDGE_PROCESSES] = {"service.edge", "processes", PGS_CONF_COUNT, "auto", 1,
                                        PGS_CONF_MAX_EDGES, NULL, S_ALL | PGS_CONF_CTL, 0},
    /* A service's main() may set its own default (auth: 32). */
    [PGS_KEY_SERVICE_CAPACITY] =
        S_INT("service.*", "capacity", 8, 1, PGS_PROTO_MAX_CAPACITY, PGS_CONF_WORKERS),
    [PGS_KEY_SERVICE_STOP_TIMEOUT_MS] =
        S_INT("service.*", "stop_timeout_ms", 8000, 100, 60000, PGS_CONF_EDGE | PGS_CONF_WORKERS),
    /* A program the master runs the service's processes under (a profiler,
     * a debugger): an absolute path and its arguments; empty: none. */
    [PGS_KEY_SERVICE_WRAPPER] = S_STR("service.*", "wrapper", "", 1000, PGS_CONF_MASTER),

    [PGS_KEY_PLAN_API_ACCESS] =
        S_BOOL("plan.*", "api_access", "off", PGS_CONF_EDGE | PGS_CONF_AUTH),
    [PGS_KEY_PLAN_MESSAGES_PER_MONTH] =
        S_INT("plan.*", "messages_per_month", 0, 0, 1000000000, PGS_CONF_EDGE | PGS_CONF_AUTH),
    [PGS_KEY_PLAN_REQUESTS_PER_MINUTE] =
        S_INT("plan.*", "requests_per_minute", 0, 0, 1000000000, PGS_CONF_EDGE),
    [PGS_KEY_PLAN_MAX_BOTS] = S_INT("plan.*", "max_bots", 0, 0, 1099511627776, PGS_CONF_BOTS),
    [PGS_KEY_PLAN_MAX_DOCUMENTS_PER_BOT] =
        S_INT("plan.*", "max_documents_per_bot", 0, 0, 1099511627776, PGS_CONF_BOTS),
    [PGS_KEY_PLAN_MAX_DOCUMENT_BYTES] = S_INT("plan.*", "max_document_bytes", 1048576, 0,
                                              1099511627776, PGS_CONF_BOTS | PGS_CONF_EDGE),

    [PGS_KEY_MODEL_PROVIDER] = {"model.*", "provider", PGS_CONF_ENUM, NULL, 0, 0, "builtin openai",
                                PGS_CONF_AUTH | PGS_CONF_CHAT, 1},
    /* The plans that may use the model; plans do not list models. */
    [PGS_KEY_MODEL_PLANS] =
        S_STR("model.*", "plans", "", S_NO_LIMIT, PGS_CONF_AUTH | PGS_CONF_BOTS | PGS_CONF_CHAT),
    /* No default: the model id. */
    [PGS_KEY_MODEL_NAME] = S_STR("model.*", "name", NULL, S_NO_LIMIT, PGS_CONF_AUTH),
    [PGS_KEY_MODEL_DESCRIPTION] = S_STR("model.*", "description", "", S_NO_LIMIT, PGS_CONF_AUTH),
    [PGS_KEY_MODEL_PASSAGES] = S_INT("model.*", "passages", 3, 0, 50, PGS_CONF_CHAT),
    [PGS_KEY_MODEL_TIMEOUT_MS] = S_INT("model.*", "timeout_ms", 30000, 100, 600000, PGS_CONF_CHAT),
    /* Required by provider = openai (a rule across keys, in the check). */
    [PGS_KEY_MODEL_BASE_URL] = S_URL("model.*", "base_url", PGS_CONF_CHAT),
    [PGS_KEY_MODEL_API_KEY_ENV] = S_STR("model.*", "api_key_env", "", S_NO_LIMIT, PGS_CONF_CHAT),
    /* No default: the model id. */
    [PGS_KEY_MODEL_UPSTREAM_MODEL] =
        S_STR("model.*", "upstream_model", NULL, S_NO_LIMIT, PGS_CONF_CHAT),
};

/* Section families: what a member's name may be and how many there may be. */
#define S_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
static const struct {
    const char *prefix;
    size_t max_len;
    const char *chars;
    int max_members; /* 0: any number */
    const char *rule;
} s_families[] = {
    {"plan.", 64, S_ALNUM "._-", PGS_CONF_MAX_PLANS, "a plan name is 1-64 of [A-Za-z0-9._-]"},
    {"model.", 64, S_ALNUM "._-", 0, "a model id is 1-64 of [A-Za-z0-9._-]"},
    {"service.", 32, "abcdefghijklmnopqrstuvwxyz0123456789_-", PGS_CONF_MAX_SERVICES,
     "a service name is 1-32 of [a-z0-9_-]"},
};
#define S_NFAMILIES (sizeof s_families / sizeof s_families[0])

const pgs_conf_key_t *
pgs_conf_key(pgs_key_t key)
{
    return (unsigned)key < PGS_KEY_COUNT ? &s_keys[key] : NULL;
}

/* ---- values ---- */

int
pgs_conf_parse_int(const char *text, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long n = text ? strtoll(text, &end, 10) : 0;
    if (!text || errno || end == text || *end != '\0' || n < min || n > max)
        return -1;
    *out = n;
    return 0;
}

int
pgs_conf_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    for (int i = 0; text && i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* 1 when word is one of the space-separated words of list, in any case
 * (log levels always were: PEGASUS_LOG_LEVEL=WARN works). */
static int
s_word_in(const char *word, const char *list)
{
    size_t wl = strlen(word);
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ");
        if (n == wl && wl && strncasecmp(p, word, wl) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

static long long
s_count_items(const char *text)
{
    long long n = 0;
    for (const char *p = text; *p;) {
        p += strspn(p, " ,\t");
        size_t len = strcspn(p, " ,\t");
        n += len > 0;
        p += len;
    }
    return n;
}

/* 0 when text obeys d's rule; otherwise -1 with the rule in rule. */
static int
s_valid(const pgs_conf_key_t *d, const char *text, char *rule, size_t len)
{
    long long n;
    int b;
    switch (d->type) {
    case PGS_CONF_INT:
        if (pgs_conf_parse_int(text, d->min, d->max, &n) == 0)
            return 0;
        snprintf(rule, len, "must be an integer from %lld to %lld", d->min, d->max);
        return -1;
    case PGS_CONF_COUNT:
        if (strcasecmp(text, "auto") == 0 || pgs_conf_parse_int(text, d->min, d->max, &n) == 0)
            return 0;
        snprintf(rule, len, "must be auto or an integer from %lld to %lld", d->min, d->max);
        return -1;
    case PGS_CONF_BOOL:
        if (pgs_conf_parse_bool(text, &b) == 0)
            return 0;
        snprintf(rule, len, "must be on or off");
        return -1;
    case PGS_CONF_STR:
        if (d->max <= 0 || strlen(text) <= (size_t)d->max)
            return 0;
        snprintf(rule, len, "must be at most %lld bytes", d->max);
        return -1;
    case PGS_CONF_ENUM:
        if (s_word_in(text, d->choices))
            return 0;
        snprintf(rule, len, "must be one of: %s", d->choices);
        return -1;
    case PGS_CONF_LIST:
        n = s_count_items(text);
        if (n >= d->min && n <= d->max)
            return 0;
        snprintf(rule, len, "must list %lld to %lld items", d->min, d->max);
        return -1;
    case PGS_CONF_URL:
        if (!*text || strncasecmp(text, "http://", 7) == 0 || strncasecmp(text, "https://", 8) == 0)
            return 0;
        snprintf(rule, len, "must start with http:// or https://");
        return -1;
    }
    return -1;
}

/* ---- finding declarations ---- */

static int
s_is_family(const pgs_conf_key_t *d)
{
    size_t n = strlen(d->section);
    return n >= 2 && strcmp(d->section + n - 2, ".*") == 0;
}

/* 1 when section is a member of d's family ("plan.pro" of "plan.*"). */
static int
s_in_family(const pgs_conf_key_t *d, const char *section)
{
    size_t n = strlen(d->section) - 1; /* "plan." */
    return strncmp(section, d->section, n) == 0 && section[n] != '\0';
}

/* The declaration of [section] key: an exact one wins over a family's. */
static const pgs_conf_key_t *
s_find(const char *section, const char *key)
{
    const pgs_conf_key_t *family = NULL;
    for (int i = 0; i < PGS_KEY_COUNT; i++) {
        const pgs_conf_key_t *d = &s_keys[i];
        if (strcmp(d->key, key) != 0)
            continue;
        if (!s_is_family(d) && strcmp(d->section, section) == 0)
            return d;
        if (s_is_family(d) && s_in_family(d, section))
            family = d;
    }
    return family;
}

/* The family section is a member of, or -1. */
static int
s_family_of(const char *section)
{
    for (size_t i = 0; i < S_NFAMILIES; i++) {
        size_t n = strlen(s_families[i].prefix);
        if (strncmp(section, s_families[i].prefix, n) == 0)
            return (int)i;
    }
    return -1;
}

static int
s_name_ok(int family, const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= s_families[family].max_len && strspn(name, s_families[family].chars) == n;
}

/* 1 when some declaration names section exactly or as a family's member. */
static int
s_section_known(const char *section)
{
    int f = s_family_of(section);
    if (f >= 0)
        return s_name_ok(f, section + strlen(s_families[f].prefix));
    for (int i = 0; i < PGS_KEY_COUNT; i++)
        if (strcmp(s_keys[i].section, section) == 0)
            return 1;
    return 0;
}

/* ---- getters ---- */

/* The text of d in section (default when unset), or NULL when d has none;
 * an invalid value is logged and reads as the default. */
static const char *
s_text(const pgs_config_t *cfg, const pgs_conf_key_t *d, const char *section)
{
    const char *v = pgs_config_get(cfg, section, d->key);
    if (!v)
        return d->dflt;
    char rule[192];
    if (s_valid(d, v, rule, sizeof rule) == 0)
        return v;
    pgs_error("config [%s] %s = \"%s\" %s; using the default", section, d->key, v, rule);
    return d->dflt;
}

/* The declaration and section that key of member name reads, or NULL. */
static const pgs_conf_key_t *
s_member(pgs_key_t key, const char *name, char *section, size_t len)
{
    const pgs_conf_key_t *d = pgs_conf_key(key);
    if (!d || !s_is_family(d) || !name)
        return NULL;
    int f = s_family_of(d->section);
    if (f < 0 || !s_name_ok(f, name))
        return NULL;
    snprintf(section, len, "%s%s", s_families[f].prefix, name);
    return s_find(section, d->key);
}

static long long
s_int(const pgs_conf_key_t *d, const char *text)
{
    long long n = 0;
    if (text && d->type == PGS_CONF_COUNT && strcasecmp(text, "auto") == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
        return n < d->min ? d->min : n > d->max ? d->max : n;
    }
    if (text)
        pgs_conf_parse_int(text, d->min, d->max, &n);
    return n;
}

static int
s_bool(const char *text)
{
    int b = 0;
    if (text)
        pgs_conf_parse_bool(text, &b);
    return b;
}

long long
pgs_conf_int(const pgs_config_t *cfg, pgs_key_t key)
{
    const pgs_conf_key_t *d = pgs_conf_key(key);
    return s_int(d, s_text(cfg, d, d->section));
}

int
pgs_conf_bool(const pgs_config_t *cfg, pgs_key_t key)
{
    const pgs_conf_key_t *d = pgs_conf_key(key);
    return s_bool(s_text(cfg, d, d->section));
}

const char *
pgs_conf_str(const pgs_config_t *cfg, pgs_key_t key)
{
    const pgs_conf_key_t *d = pgs_conf_key(key);
    return s_text(cfg, d, d->section);
}

long long
pgs_conf_int_in(const pgs_config_t *cfg, pgs_key_t key, const char *name)
{
    char section[128];
    const pgs_conf_key_t *d = s_member(key, name, section, sizeof section);
    if (!d)
        return s_int(pgs_conf_key(key), pgs_conf_key(key)->dflt);
    return s_int(d, s_text(cfg, d, section));
}

int
pgs_conf_bool_in(const pgs_config_t *cfg, pgs_key_t key, const char *name)
{
    char section[128];
    const pgs_conf_key_t *d = s_member(key, name, section, sizeof section);
    return s_bool(d ? s_text(cfg, d, section) : pgs_conf_key(key)->dflt);
}

const char *
pgs_conf_str_in(const pgs_config_t *cfg, pgs_key_t key, const char *name)
{
    char section[128];
    const pgs_conf_key_t *d = s_member(key, name, section, sizeof section);
    return d ? s_text(cfg, d, section) : pgs_conf_key(key)->dflt;
}

int
pgs_conf_is_set_in(const pgs_config_t *cfg, pgs_key_t key, const char *name)
{
    char section[128];
    const pgs_conf_key_t *d = s_member(key, name, section, sizeof section);
    return d && pgs_config_get(cfg, section, d->key) != NULL;
}

/* ---- the check ---- */

typedef struct {
    const pgs_config_t *cfg;
    pgs_conf_problem_fn fn;
    void *arg;
    int count;
    int members[S_NFAMILIES];
} s_check_t;

static void
s_report(s_check_t *ck, const char *section, const char *key, const char *value, const char *rule)
{
    pgs_conf_problem_t p;
    memset(&p, 0, sizeof p);
    snprintf(p.section, sizeof p.section, "%s", section);
    snprintf(p.key, sizeof p.key, "%s", key);
    snprintf(p.value, sizeof p.value, "%s", value ? value : "");
    snprintf(p.rule, sizeof p.rule, "%s", rule);
    if (*key) {
        char env[sizeof p.env];
        pgs_config_env_name(section, key, env, sizeof env);
        if (getenv(env))
            snprintf(p.env, sizeof p.env, "%s", env);
    }
    ck->count++;
    if (ck->fn) {
        ck->fn(&p, ck->arg);
        return;
    }
    char line[640];
    pgs_conf_problem_format(&p, line, sizeof line);
    pgs_error("config %s", line);
}

static void
s_check_section(const char *section, const char *suffix, void *arg)
{
    (void)suffix;
    s_check_t *ck = arg;
    int f = s_family_of(section);
    if (f >= 0 && !s_name_ok(f, section + strlen(s_families[f].prefix))) {
        s_report(ck, section, "", "", s_families[f].rule);
        return;
    }
    if (!s_section_known(section)) {
        s_report(ck, section, "", "", "unknown section");
        return;
    }
    if (f >= 0 && s_families[f].max_members && ++ck->members[f] == s_families[f].max_members + 1) {
        char rule[96];
        snprintf(rule, sizeof rule, "more than %d [%s*] sections", s_families[f].max_members,
                 s_families[f].prefix);
        s_report(ck, section, "", "", rule);
    }
}

static void
s_check_file_key(const char *section, const char *key, const char *value, void *arg)
{
    s_check_t *ck = arg;
    if (s_section_known(section) && !s_find(section, key))
        s_report(ck, section, key, value, "unknown key");
}

static void
s_check_value(s_check_t *ck, const pgs_conf_key_t *d, const char *section)
{
    const char *v = pgs_config_get(ck->cfg, section, d->key);
    char rule[192];
    if (!v) {
        if (d->required) {
            snprintf(rule, sizeof rule, "is required (%s)", d->choices ? d->choices : "no default");
            s_report(ck, section, d->key, "", rule);
        }
        return;
    }
    if (s_valid(d, v, rule, sizeof rule) < 0)
        s_report(ck, section, d->key, v, rule);
}

typedef struct {
    s_check_t *ck;
    const pgs_conf_key_t *d;
} s_family_check_t;

static void
s_check_member(const char *section, const char *suffix, void *arg)
{
    s_family_check_t *fc = arg;
    int f = s_family_of(section);
    /* A refinement ([service.edge] processes) checks its own member. */
    if (f < 0 || !s_name_ok(f, suffix) || s_find(section, fc->d->key) != fc->d)
        return;
    s_check_value(fc->ck, fc->d, section);
}

static void
s_check_model(const char *section, const char *suffix, void *arg)
{
    (void)suffix;
    s_check_t *ck = arg;
    const char *provider = pgs_config_get(ck->cfg, section, "provider");
    const char *url = pgs_config_get(ck->cfg, section, "base_url");
    if (provider && strcasecmp(provider, "openai") == 0 && (!url || !*url))
        s_report(ck, section, "base_url", url, "is required when provider = openai");
}

int
pgs_conf_check(const pgs_config_t *cfg, pgs_conf_problem_fn fn, void *arg)
{
    s_check_t ck = {.cfg = cfg, .fn = fn, .arg = arg};
    pgs_config_each_section(cfg, "", s_check_section, &ck);
    pgs_config_each_key(cfg, s_check_file_key, &ck);
    for (int i = 0; i < PGS_KEY_COUNT; i++) {
        const pgs_conf_key_t *d = &s_keys[i];
        if (!s_is_family(d)) {
            s_check_value(&ck, d, d->section);
            continue;
        }
        s_family_check_t fc = {&ck, d};
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%.*s", (int)strlen(d->section) - 1, d->section);
        pgs_config_each_section(cfg, prefix, s_check_member, &fc);
    }
    pgs_config_each_section(cfg, "model.", s_check_model, &ck);
    return ck.count;
}

void
pgs_conf_problem_format(const pgs_conf_problem_t *p, char *buf, size_t len)
{
    if (!*p->key)
        snprintf(buf, len, "[%s]: %s", p->section, p->rule);
    else if (*p->env)
        snprintf(buf, len, "[%s] %s = \"%s\" (from %s): %s", p->section, p->key, p->value, p->env,
                 p->rule);
    else
        snprintf(buf, len, "[%s] %s = \"%s\": %s", p->section, p->key, p->value, p->rule);
}

/* ---- opening ---- */

const char *
pgs_conf_path(const char *path)
{
    if (path && *path)
        return path;
    const char *env = getenv("PEGASUS_CONFIG");
    return env && *env ? env : "config/pegasus.conf";
}

pgs_config_t *
pgs_conf_open(const char *path)
{
    path = pgs_conf_path(path);
    char err[512];
    pgs_config_t *cfg = pgs_config_load(path, err, sizeof err);
    if (!cfg) {
        pgs_error("config: %s", err);
        return NULL;
    }
    /* An invalid level is one of the problems below; until then, info. */
    pgs_log_set_level(pgs_config_get(cfg, "log", "level"));
    int problems = pgs_conf_check(cfg, NULL, NULL);
    if (problems) {
        pgs_error("config %s: %d problem%s (pegasusctl config check lists them)", path, problems,
                  problems == 1 ? "" : "s");
        pgs_config_destroy(&cfg);
    }
    return cfg;
}

void
pgs_conf_readers(unsigned readers, char *buf, size_t len)
{
    static const char *const names[] = {"edge", "auth", "bots", "chat", "usage", "master", "ctl"};
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(readers & (1u << i)))
            continue;
        int k = snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i]);
        if (k < 0 || (size_t)k >= len - n)
            return;
        n += (size_t)k;
    }
}
