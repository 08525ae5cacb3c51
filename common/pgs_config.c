/*
 * pgs_config — see pgs_config.h. The file is small (a few hundred lines), so
 * entries live in one flat array searched linearly; lookups happen at start
 * and on rare reloads, never per request.
 */
#include "pgs_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *section;
    char *key;
    char *value;
} s_entry_t;

struct pgs_config {
    s_entry_t *entries;
    size_t count, cap;
    char **sections;
    size_t nsections, capsections;
};

static char *
s_trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int
s_add_section(pgs_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsections; i++)
        if (strcmp(cfg->sections[i], name) == 0)
            return 0;
    if (cfg->nsections == cfg->capsections) {
        size_t cap = cfg->capsections ? cfg->capsections * 2 : 16;
        char **p = realloc(cfg->sections, cap * sizeof *p);
        if (!p)
            return -1;
        cfg->sections = p;
        cfg->capsections = cap;
    }
    cfg->sections[cfg->nsections] = strdup(name);
    if (!cfg->sections[cfg->nsections])
        return -1;
    cfg->nsections++;
    return 0;
}

static int
s_add(pgs_config_t *cfg, const char *section, const char *key, const char *value)
{
    for (size_t i = 0; i < cfg->count; i++) {
        s_entry_t *e = &cfg->entries[i];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(e->value);
            e->value = v;
            return 0;
        }
    }
    if (cfg->count == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 64;
        s_entry_t *p = realloc(cfg->entries, cap * sizeof *p);
        if (!p)
            return -1;
        cfg->entries = p;
        cfg->cap = cap;
    }
    s_entry_t *e = &cfg->entries[cfg->count];
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return -1;
    }
    cfg->count++;
    return 0;
}

pgs_config_t *
pgs_config_parse(const char *text, char *err, size_t errlen)
{
    pgs_config_t *cfg = calloc(1, sizeof *cfg);
    char *copy = strdup(text ? text : "");
    if (!cfg || !copy) {
        free(cfg);
        free(copy);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char section[128] = "";
    int lineno = 0;
    /* strtok_r would skip empty lines and so miscount; walk by hand. */
    char *line = copy;
    while (line) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = s_trim(line);
        if (*s == '\0' || *s == '#' || *s == ';') {
            line = next;
            continue;
        }
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || *s_trim(close + 1) != '\0' || close - s - 1 <= 0 ||
                (size_t)(close - s - 1) >= sizeof section) {
                snprintf(err, errlen, "line %d: malformed section header", lineno);
                goto fail;
            }
            *close = '\0';
            snprintf(section, sizeof section, "%s", s_trim(s + 1));
            if (s_add_section(cfg, section) < 0)
                goto oom;
            line = next;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "line %d: expected key = value", lineno);
            goto fail;
        }
        *eq = '\0';
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        if (*key == '\0') {
            snprintf(err, errlen, "line %d: empty key", lineno);
            goto fail;
        }
        if (section[0] == '\0') {
            snprintf(err, errlen, "line %d: key outside a section", lineno);
            goto fail;
        }
        if (s_add(cfg, section, key, value) < 0)
            goto oom;
        line = next;
    }
    free(copy);
    return cfg;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(copy);
    pgs_config_destroy(&cfg);
    return NULL;
}

pgs_config_t *
pgs_config_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *p = cap < (1u << 24) ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: too large or out of memory", path);
        return NULL;
    }
    buf[len] = '\0';
    char inner[256];
    pgs_config_t *cfg = pgs_config_parse(buf, inner, sizeof inner);
    free(buf);
    if (!cfg)
        snprintf(err, errlen, "%s: %s", path, inner);
    return cfg;
}

void
pgs_config_destroy(pgs_config_t **cfgp)
{
    if (!cfgp || !*cfgp)
        return;
    pgs_config_t *cfg = *cfgp;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->entries[i].section);
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    for (size_t i = 0; i < cfg->nsections; i++)
        free(cfg->sections[i]);
    free(cfg->entries);
    free(cfg->sections);
    free(cfg);
    *cfgp = NULL;
}

void
pgs_config_env_name(const char *section, const char *key, char *buf, size_t len)
{
    int n = snprintf(buf, len, "PEGASUS_%s_%s", section, key);
    if (n < 0)
        return;
    for (char *p = buf; *p; p++) {
        if (*p == '.' || *p == '-')
            *p = '_';
        else
            *p = (char)toupper((unsigned char)*p);
    }
}

const char *
pgs_config_get(const pgs_config_t *cfg, const char *section, const char *key)
{
    char env[256];
    pgs_config_env_name(section, key, env, sizeof env);
    const char *v = getenv(env);
    if (v)
        return v;
    if (!cfg)
        return NULL;
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 &&
            strcmp(cfg->entries[i].key, key) == 0)
            return cfg->entries[i].value;
    return NULL;
}

void
pgs_config_each_section(const pgs_config_t *cfg, const char *prefix,
                        void (*fn)(const char *section, const char *suffix, void *arg), void *arg)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; cfg && i < cfg->nsections; i++)
        if (strncmp(cfg->sections[i], prefix, plen) == 0 && cfg->sections[i][plen] != '\0')
            fn(cfg->sections[i], cfg->sections[i] + plen, arg);
}

void
pgs_config_each_key(const pgs_config_t *cfg,
                    void (*fn)(const char *section, const char *key, const char *value, void *arg),
                    void *arg)
{
    for (size_t i = 0; cfg && i < cfg->count; i++)
        fn(cfg->entries[i].section, cfg->entries[i].key, cfg->entries[i].value, arg);
}
