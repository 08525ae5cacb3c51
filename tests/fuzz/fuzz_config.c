/*
 * Fuzz target: pgs_config_parse on the input as configuration text, then the
 * lookups a service makes (sections by prefix, keys in them) and the check
 * every binary runs (pgs_conf_check).
 *
 * Properties: an error names a line ("line N: …"); every section listed by
 * pgs_config_each_section can be looked up without crashing; the check
 * reports as many problems as it counts, each with a rule.
 */
#include "pgs_conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_visit(const char *section, const char *suffix, void *arg)
{
    const pgs_config_t *cfg = arg;
    if (strlen(suffix) > strlen(section))
        abort();
    static const char *const keys[] = {"port",     "api_access", "messages_per_month",
                                       "provider", "processes",  ""};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = pgs_config_get(cfg, section, keys[i]);
        if (v)
            (void)strlen(v);
    }
    char env[64];
    pgs_config_env_name(section, suffix, env, sizeof env);
    if (strlen(env) >= sizeof env)
        abort();
}

static void
s_problem(const pgs_conf_problem_t *p, void *arg)
{
    if (!p->rule[0])
        abort();
    (*(int *)arg)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256] = "";
    pgs_config_t *cfg = pgs_config_parse(text, err, sizeof err);
    if (!cfg) {
        if (strncmp(err, "line ", 5) != 0 && strcmp(err, "out of memory") != 0)
            abort();
    } else {
        pgs_config_each_section(cfg, "", s_visit, cfg);
        pgs_config_each_section(cfg, "plan.", s_visit, cfg);
        (void)pgs_conf_int(cfg, PGS_KEY_EDGE_PORT);
        (void)pgs_conf_str_in(cfg, PGS_KEY_MODEL_PROVIDER, "pegasus-lite");
        int seen = 0;
        if (pgs_conf_check(cfg, s_problem, &seen) != seen)
            abort();
        pgs_config_destroy(&cfg);
        if (cfg)
            abort();
    }
    free(text);
    return 0;
}
