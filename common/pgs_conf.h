/*
 * pgs_conf — the one typed table of every config key: its section (or a
 * section family such as [plan.<name>]), name, type, default, range and the
 * processes that read it. Every binary reads its settings through the
 * getters below, so no call site repeats a default or a range, and every
 * binary checks the whole file with pgs_conf_check at start (and for -n),
 * so all of them give one verdict on one file.
 *
 * A family entry's section ends in ".*" ("plan.*"); an exact entry for one
 * member of a family ("service.edge") refines the family's rule for that
 * member. Values come from pgs_config (environment overrides win), so an
 * override is checked exactly like a file value.
 */
#ifndef PGS_CONF_H
#define PGS_CONF_H

#include "pgs_config.h"

#include <stddef.h>

/* Limits the table enforces and the readers size their arrays by. */
#define PGS_CONF_MAX_EDGES 16    /* [broker] endpoints, [service.edge] processes */
#define PGS_CONF_MAX_PLANS 8     /* [plan.<name>] sections */
#define PGS_CONF_MAX_SERVICES 16 /* [service.<name>] sections */

/* Who reads a key (a bitmask; pegasusctl config keys prints it). */
enum {
    PGS_CONF_EDGE = 1 << 0,
    PGS_CONF_AUTH = 1 << 1,
    PGS_CONF_BOTS = 1 << 2,
    PGS_CONF_CHAT = 1 << 3,
    PGS_CONF_USAGE = 1 << 4,
    PGS_CONF_MASTER = 1 << 5,
    PGS_CONF_CTL = 1 << 6,
    PGS_CONF_WORKERS = PGS_CONF_AUTH | PGS_CONF_BOTS | PGS_CONF_CHAT | PGS_CONF_USAGE,
};

typedef enum {
    PGS_CONF_INT,  /* a decimal integer in [min, max] */
    PGS_CONF_BOOL, /* on/off, yes/no, true/false, 1/0 */
    PGS_CONF_STR,  /* any text (at most max bytes when max > 0) */
    PGS_CONF_ENUM, /* one of the space-separated words of choices (any case) */
    PGS_CONF_LIST, /* min..max items separated by spaces or commas */
    PGS_CONF_URL,  /* empty, or an http:// or https:// URL */
    PGS_CONF_COUNT, /* "auto" (the number of online CPUs, within [min, max]) or an INT */
} pgs_conf_type_t;

/* Every key. The handle of a key is its index in the table. */
typedef enum {
    PGS_KEY_LOG_LEVEL,
    PGS_KEY_MASTER_SCHEDULER,
    PGS_KEY_EDGE_ADDRESS,
    PGS_KEY_EDGE_PORT,
    PGS_KEY_EDGE_PUBLIC_URL,
    PGS_KEY_EDGE_WEB_ROOT,
    PGS_KEY_EDGE_OPENAPI,
    PGS_KEY_EDGE_TRUSTED_PROXIES,
    PGS_KEY_EDGE_CORS_ORIGINS,
    PGS_KEY_EDGE_MAX_HEADER_BYTES,
    PGS_KEY_EDGE_MAX_HEADERS,
    PGS_KEY_EDGE_MAX_URI_BYTES,
    PGS_KEY_EDGE_MAX_BODY_BYTES,
    PGS_KEY_EDGE_HEADER_TIMEOUT_S,
    PGS_KEY_EDGE_KEEPALIVE_TIMEOUT_S,
    PGS_KEY_EDGE_MAX_CONNECTIONS,
    PGS_KEY_EDGE_MAX_CONNECTIONS_PER_ADDRESS,
    PGS_KEY_EDGE_BODY_TIMEOUT_S,
    PGS_KEY_EDGE_MIN_BODY_RATE,
    PGS_KEY_EDGE_BODY_BUFFER_BYTES,
    PGS_KEY_EDGE_USAGE_QUEUE_EVENTS,
    PGS_KEY_EDGE_USAGE_FLUSH_MS,
    PGS_KEY_EDGE_MAX_QUEUE,
    PGS_KEY_EDGE_DEADLINE_MS,
    PGS_KEY_EDGE_CACHE_TTL_MS,
    PGS_KEY_EDGE_NEGATIVE_TTL_MS,
    PGS_KEY_REDIS_ADDRESS,
    PGS_KEY_REDIS_TIMEOUT_MS,
    PGS_KEY_BROKER_ENDPOINTS,
    PGS_KEY_BROKER_BIND,
    PGS_KEY_AUTH_SESSION_IDLE_S,
    PGS_KEY_AUTH_SESSION_ABSOLUTE_S,
    PGS_KEY_AUTH_LOGIN_MAX_FAILURES,
    PGS_KEY_AUTH_LOGIN_WINDOW_S,
    PGS_KEY_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS,
    PGS_KEY_AUTH_MAX_TOKENS_PER_USER,
    PGS_KEY_AUTH_TOUCH_INTERVAL_S,
    PGS_KEY_CHAT_MAX_STREAMS_PER_TOKEN,
    PGS_KEY_CHAT_STREAM_IDLE_S,
    PGS_KEY_CHAT_PING_INTERVAL_MS,
    PGS_KEY_CHAT_HISTORY_MESSAGES,
    PGS_KEY_CHAT_BOTS_TIMEOUT_MS,
    PGS_KEY_CHAT_QUOTA_RECONCILE_S,
    PGS_KEY_CHAT_QUOTA_STALE_S,
    PGS_KEY_USAGE_MAX_REPORTS_PER_DAY,
    PGS_KEY_USAGE_REPORT_RETENTION_DAYS,
    PGS_KEY_BOTS_TEST_DELAY_MS,
    PGS_KEY_SERVICE_PROCESSES,
    PGS_KEY_SERVICE_EDGE_PROCESSES,
    PGS_KEY_SERVICE_CAPACITY,
    PGS_KEY_SERVICE_STOP_TIMEOUT_MS,
    PGS_KEY_SERVICE_WRAPPER,
    PGS_KEY_PLAN_API_ACCESS,
    PGS_KEY_PLAN_MESSAGES_PER_MONTH,
    PGS_KEY_PLAN_REQUESTS_PER_MINUTE,
    PGS_KEY_PLAN_MAX_BOTS,
    PGS_KEY_PLAN_MAX_DOCUMENTS_PER_BOT,
    PGS_KEY_PLAN_MAX_DOCUMENT_BYTES,
    PGS_KEY_MODEL_PROVIDER,
    PGS_KEY_MODEL_PLANS,
    PGS_KEY_MODEL_NAME,
    PGS_KEY_MODEL_DESCRIPTION,
    PGS_KEY_MODEL_PASSAGES,
    PGS_KEY_MODEL_TIMEOUT_MS,
    PGS_KEY_MODEL_BASE_URL,
    PGS_KEY_MODEL_API_KEY_ENV,
    PGS_KEY_MODEL_UPSTREAM_MODEL,
    PGS_KEY_COUNT
} pgs_key_t;

/* One declaration. dflt is the value as the file would spell it; NULL
 * means "no default": the getter returns NULL (the caller documents its
 * fallback, e.g. the model id) or, with required, every section of the
 * family must set the key. */
typedef struct {
    const char *section; /* "edge", or a family "plan.*" */
    const char *key;
    pgs_conf_type_t type;
    const char *dflt;
    long long min, max;  /* INT: the range; LIST: items; STR: max bytes (0: any) */
    const char *choices; /* ENUM: "debug info warn error" */
    unsigned readers;    /* PGS_CONF_EDGE | … */
    int required;
} pgs_conf_key_t;

/* The declaration of key (never NULL for a valid handle). */
const pgs_conf_key_t *pgs_conf_key(pgs_key_t key);

/* Fixed-section getters: the value of key (environment override, else the
 * file, else the default). pgs_conf_check refuses a config with an invalid
 * value at start, so a getter never sees one there; if it does (a caller
 * that skipped the check), it logs once per call and returns the default. */
long long pgs_conf_int(const pgs_config_t *cfg, pgs_key_t key);
int pgs_conf_bool(const pgs_config_t *cfg, pgs_key_t key);
const char *pgs_conf_str(const pgs_config_t *cfg, pgs_key_t key);

/* The same for a family key in the section of member name ([plan.<name>]).
 * An invalid member name reads as the default. */
long long pgs_conf_int_in(const pgs_config_t *cfg, pgs_key_t key, const char *name);
int pgs_conf_bool_in(const pgs_config_t *cfg, pgs_key_t key, const char *name);
const char *pgs_conf_str_in(const pgs_config_t *cfg, pgs_key_t key, const char *name);

/* 1 when the file or the environment sets the family key for name. */
int pgs_conf_is_set_in(const pgs_config_t *cfg, pgs_key_t key, const char *name);

/* One thing wrong with a config. key is "" for a whole section; env names
 * the environment variable when the value came from there. */
typedef struct {
    char section[128];
    char key[64];
    char value[128];
    char rule[192];
    char env[160];
} pgs_conf_problem_t;

typedef void (*pgs_conf_problem_fn)(const pgs_conf_problem_t *p, void *arg);

/* Checks the whole config against the table, whatever process asks: every
 * value the file or the environment sets, for every key (an override of a
 * key the file lacks included); unknown sections and unknown keys in known
 * sections (errors: a misspelt key would otherwise be silently ignored);
 * member names and counts of families; required keys; and the rules across
 * keys (an openai model needs a base_url). Calls fn for each problem (the
 * file's unknown names first, then values in table order), or logs each
 * with pgs_error when fn is NULL. Returns the number of problems (0: the
 * config is valid). */
int pgs_conf_check(const pgs_config_t *cfg, pgs_conf_problem_fn fn, void *arg);

/* Formats a problem as one line: [section] key = "value": rule (from ENV). */
void pgs_conf_problem_format(const pgs_conf_problem_t *p, char *buf, size_t len);

/* What every binary does first: the config path (path, else
 * $PEGASUS_CONFIG, else config/pegasus.conf), loaded, its [log] level
 * applied and the whole of it checked. Returns an owned config, or NULL
 * after logging why (a file that does not exist or cannot be parsed, or
 * each problem pgs_conf_check found). */
pgs_config_t *pgs_conf_open(const char *path);

/* The path pgs_conf_open would read for path (borrowed). */
const char *pgs_conf_path(const char *path);

/* Parse a value as the table's INT and BOOL types do. Return 0, or -1
 * (nothing logged). */
int pgs_conf_parse_int(const char *text, long long min, long long max, long long *out);
int pgs_conf_parse_bool(const char *text, int *out);

/* Writes the readers bitmask as "edge,auth,…" into buf. */
void pgs_conf_readers(unsigned readers, char *buf, size_t len);

#endif
