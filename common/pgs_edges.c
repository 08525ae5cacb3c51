/*
 * pgs_edges — see pgs_edges.h.
 */
#include "pgs_edges.h"
#include "pgs_conf.h"

#include <stdio.h>
#include <string.h>

int
pgs_edges_count(const pgs_config_t *cfg)
{
    return (int)pgs_conf_int_in(cfg, PGS_KEY_SERVICE_PROCESSES, "edge");
}

int
pgs_edges_bind(const pgs_config_t *cfg, const char *home, int instance, char *out, size_t len)
{
    const char *pattern = pgs_conf_str(cfg, PGS_KEY_BROKER_BIND);
    char dflt[1100];
    if (!*pattern) {
        snprintf(dflt, sizeof dflt, "ipc://%s/broker-{i}.sock", home);
        pattern = dflt;
    }
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        if (strncmp(p, "{i}", 3) == 0) {
            int w = snprintf(out + n, len > n ? len - n : 0, "%d", instance);
            if (w < 0 || n + (size_t)w >= len)
                return -1;
            n += (size_t)w;
            p += 2;
            continue;
        }
        if (n + 1 >= len)
            return -1;
        out[n++] = *p;
    }
    if (len == 0)
        return -1;
    out[n] = '\0';
    return 0;
}

int
pgs_edges_endpoints(const pgs_config_t *cfg, const char *home, char *out, size_t len)
{
    const char *list = pgs_conf_str(cfg, PGS_KEY_BROKER_ENDPOINTS);
    if (*list) {
        int w = snprintf(out, len, "%s", list);
        return w < 0 || (size_t)w >= len ? -1 : 0;
    }
    size_t n = 0;
    int count = pgs_edges_count(cfg);
    for (int i = 1; i <= count; i++) {
        if (n + 2 >= len)
            return -1;
        if (i > 1)
            out[n++] = ',';
        if (pgs_edges_bind(cfg, home, i, out + n, len - n) < 0)
            return -1;
        n += strlen(out + n);
    }
    return 0;
}
