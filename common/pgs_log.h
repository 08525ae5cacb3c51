/*
 * pgs_log — one line per event on stderr:
 *   level service[instance] request_id=… message key=value
 *
 * Promises: a call below the configured level does no formatting work; a line
 * is written with one write(2) so lines of concurrent processes never
 * interleave. Callers never pass a secret (token, password, pepper, body).
 */
#ifndef PGS_LOG_H
#define PGS_LOG_H

#include <stdarg.h>

typedef enum {
    PGS_LOG_DEBUG = 0,
    PGS_LOG_INFO = 1,
    PGS_LOG_WARN = 2,
    PGS_LOG_ERROR = 3,
} pgs_log_level_t;

/* Sets the service name and instance shown on every line. Copies both. */
void pgs_log_init(const char *service, const char *instance);

/* Sets the lowest level written; "debug", "info", "warn" or "error".
 * Returns 0, or -1 for an unknown name (the level is left as it was). */
int pgs_log_set_level(const char *name);

/* Non-zero when a line at this level would be written. */
int pgs_log_enabled(pgs_log_level_t level);

/* Writes one line. request_id may be NULL. Use the macros below. */
void pgs_log_write(pgs_log_level_t level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PGS_LOG(level, rid, ...)                                                                   \
    do {                                                                                           \
        if (pgs_log_enabled(level))                                                                \
            pgs_log_write(level, rid, __VA_ARGS__);                                                \
    } while (0)

#define pgs_debug(...) PGS_LOG(PGS_LOG_DEBUG, NULL, __VA_ARGS__)
#define pgs_info(...) PGS_LOG(PGS_LOG_INFO, NULL, __VA_ARGS__)
#define pgs_warn(...) PGS_LOG(PGS_LOG_WARN, NULL, __VA_ARGS__)
#define pgs_error(...) PGS_LOG(PGS_LOG_ERROR, NULL, __VA_ARGS__)

#endif
