/*
 * pgs_log — see pgs_log.h. Formats into a stack buffer and writes it with a
 * single write(2), so that a supervisor collecting several processes' stderr
 * into one file never sees half lines.
 */
#include "pgs_log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char s_service[32] = "pegasus";
static char s_instance[32] = "0";
static pgs_log_level_t s_level = PGS_LOG_INFO;
static const char *const s_names[] = {"debug", "info", "warn", "error"};

void
pgs_log_init(const char *service, const char *instance)
{
    snprintf(s_service, sizeof s_service, "%s", service ? service : "pegasus");
    snprintf(s_instance, sizeof s_instance, "%s", instance ? instance : "0");
}

int
pgs_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcasecmp(name, s_names[i]) == 0) {
            s_level = (pgs_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

int
pgs_log_enabled(pgs_log_level_t level)
{
    return level >= s_level;
}

void
pgs_log_write(pgs_log_level_t level, const char *request_id, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s[%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, s_names[level], s_service, s_instance);
    if (request_id && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "request_id=%s ", request_id);
    if (n > 0 && (size_t)n < sizeof line) {
        va_list ap;
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        va_end(ap);
    }
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
