/*
 * ctl_config — see ctl_config.h.
 */
#include "ctl_config.h"
#include "ctl_out.h"

#include "pgs_conf.h"

#include <jansson.h>
#include <stdio.h>

static int
s_no_args(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[1];
    int npos = 0;
    return ctl_args_parse(c, argc, argv, opts, pos, 0, &npos);
}

typedef struct {
    const ctl_t *c;
    json_t *list; /* --json: the problems as objects */
} s_check_t;

/* Problems print as they are found: a line each, or an object for --json. */
static void
s_problem(const pgs_conf_problem_t *p, void *arg)
{
    s_check_t *ck = arg;
    if (!ck->c->json) {
        char line[640];
        pgs_conf_problem_format(p, line, sizeof line);
        printf("%s\n", line);
        return;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "section", p->section, "key", p->key, "value",
                          p->value, "rule", p->rule);
    if (o && *p->env)
        json_object_set_new(o, "env", json_string(p->env));
    json_array_append_new(ck->list, o);
}

int
ctl_config_check(const ctl_t *c, int argc, char **argv)
{
    int rc = s_no_args(c, argc, argv);
    if (rc)
        return rc;
    const char *path = pgs_conf_path(c->config);
    char err[512];
    pgs_config_t *cfg = pgs_config_load(path, err, sizeof err);
    if (!cfg)
        return ctl_out_fail("config: %s", err);
    s_check_t ck = {c, json_array()};
    int n = pgs_conf_check(cfg, s_problem, &ck);
    pgs_config_destroy(&cfg);
    if (c->json) {
        json_t *out = json_pack("{s:b, s:s, s:O}", "ok", n == 0, "file", path, "problems", ck.list);
        if (out)
            ctl_out_json(out);
        json_decref(out);
    } else if (n == 0) {
        printf("OK %s\n", path);
    }
    json_decref(ck.list);
    if (n == 0)
        return 0;
    return ctl_out_fail("config %s: %d problem%s", path, n, n == 1 ? "" : "s");
}

static const char *const s_types[] = {"int", "bool", "string", "enum", "list", "url"};

/* The rule of d as text: a range, the choices, a length. */
static void
s_rule(const pgs_conf_key_t *d, char *buf, size_t len)
{
    buf[0] = '\0';
    if (d->type == PGS_CONF_INT)
        snprintf(buf, len, "%lld..%lld", d->min, d->max);
    else if (d->type == PGS_CONF_LIST)
        snprintf(buf, len, "%lld..%lld items", d->min, d->max);
    else if (d->type == PGS_CONF_STR && d->max > 0)
        snprintf(buf, len, "at most %lld bytes", d->max);
    else if (d->type == PGS_CONF_ENUM)
        snprintf(buf, len, "%s", d->choices);
}

int
ctl_config_keys(const ctl_t *c, int argc, char **argv)
{
    int rc = s_no_args(c, argc, argv);
    if (rc)
        return rc;
    static const char *const headers[] = {"SECTION", "KEY",     "TYPE", "DEFAULT",
                                          "RULE",    "READ BY", NULL};
    ctl_table_t *t = c->json ? NULL : ctl_table_new(headers);
    json_t *list = c->json ? json_array() : NULL;
    if (!t && !list)
        return ctl_out_fail("out of memory");
    for (int i = 0; i < PGS_KEY_COUNT; i++) {
        const pgs_conf_key_t *d = pgs_conf_key((pgs_key_t)i);
        char rule[160], readers[96];
        s_rule(d, rule, sizeof rule);
        pgs_conf_readers(d->readers, readers, sizeof readers);
        const char *dflt = d->dflt ? d->dflt : d->required ? "(required)" : NULL;
        if (t) {
            const char *cells[] = {d->section, d->key, s_types[d->type], dflt, rule, readers};
            ctl_table_row(t, cells);
            continue;
        }
        json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:b}", "section", d->section, "key",
                              d->key, "type", s_types[d->type], "default", d->dflt, "rule", rule,
                              "readers", readers, "required", d->required);
        json_array_append_new(list, o);
    }
    if (t) {
        ctl_table_print(&t);
        return 0;
    }
    ctl_out_json(list);
    json_decref(list);
    return 0;
}
