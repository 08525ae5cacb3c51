/*
 * ctl_args — see ctl_args.h.
 */
#include "ctl_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ctl_args_usage_error(const ctl_t *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pegasusctl %s: %s (see pegasusctl %s --help)\n", c->command, msg, c->command);
    return 2;
}

static ctl_opt_t *
s_find(ctl_opt_t *opts, const char *name, size_t len)
{
    for (ctl_opt_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

int
ctl_args_parse(const ctl_t *c, int argc, char **argv, ctl_opt_t *opts, const char **pos, int maxpos,
               int *npos)
{
    *npos = 0;
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || strncmp(a, "--", 2) != 0) {
            if (!only_pos && a[0] == '-' && a[1] != '\0')
                return ctl_args_usage_error(c, "unknown option %s", a);
            if (*npos == maxpos)
                return ctl_args_usage_error(c, "unexpected argument \"%s\"", a);
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        ctl_opt_t *o = s_find(opts, name, len);
        if (!o)
            return ctl_args_usage_error(c, "unknown option --%.*s", (int)len, name);
        if (o->set)
            return ctl_args_usage_error(c, "--%s given twice", o->name);
        if (o->has_value) {
            if (eq)
                o->value = eq + 1;
            else if (i + 1 < argc)
                o->value = argv[++i];
            else
                return ctl_args_usage_error(c, "--%s needs a value", o->name);
        } else if (eq) {
            return ctl_args_usage_error(c, "--%s takes no value", o->name);
        }
        o->set = 1;
    }
    return 0;
}

const char *
ctl_args_get(const ctl_opt_t *opts, const char *name)
{
    for (const ctl_opt_t *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->set ? o->value : NULL;
    return NULL;
}

int
ctl_args_has(const ctl_opt_t *opts, const char *name)
{
    for (const ctl_opt_t *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->set;
    return 0;
}

int
ctl_args_require(const ctl_t *c, const ctl_opt_t *opts, const char *name)
{
    if (ctl_args_has(opts, name))
        return 0;
    return ctl_args_usage_error(c, "--%s is required", name);
}

int
ctl_args_int(const ctl_t *c, const char *what, const char *text, long long min, long long max,
             long long *out)
{
    char *end;
    errno = 0;
    long long v = text && *text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || errno || *end || v < min || v > max)
        return ctl_args_usage_error(c, "%s must be an integer from %lld to %lld", what, min, max);
    *out = v;
    return 0;
}

int
ctl_args_onoff(const ctl_t *c, const char *what, const char *text, int *out)
{
    if (text && strcmp(text, "on") == 0)
        *out = 1;
    else if (text && strcmp(text, "off") == 0)
        *out = 0;
    else
        return ctl_args_usage_error(c, "%s must be on or off", what);
    return 0;
}

int
ctl_args_oneof(const ctl_t *c, const char *what, const char *text, const char *const *words)
{
    char list[256] = "";
    size_t n = 0;
    for (const char *const *w = words; *w; w++) {
        if (text && strcmp(text, *w) == 0)
            return 1;
        int k = snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *w);
        if (k > 0 && (size_t)k < sizeof list - n)
            n += (size_t)k;
    }
    ctl_args_usage_error(c, "%s must be one of: %s", what, list);
    return 0;
}
