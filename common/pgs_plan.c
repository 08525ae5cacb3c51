/*
 * pgs_plan — see pgs_plan.h.
 */
#include "pgs_plan.h"

#include <string.h>

int
pgs_plan_list_has(const char *list, const char *word)
{
    size_t wl = strlen(word);
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        if (wl && (size_t)(p - start) == wl && strncmp(start, word, wl) == 0)
            return 1;
    }
    return 0;
}

int
pgs_plan_name_ok(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

long long
pgs_plan_int(const pgs_config_t *cfg, const char *plan, pgs_key_t key)
{
    return pgs_conf_int_in(cfg, key, plan);
}

typedef struct {
    const char *want;
    int found;
} s_find_t;

static void
s_find(const char *section, const char *suffix, void *arg)
{
    (void)section;
    s_find_t *f = arg;
    if (strcmp(suffix, f->want) == 0)
        f->found = 1;
}

int
pgs_plan_exists(const pgs_config_t *cfg, const char *plan)
{
    if (!pgs_plan_name_ok(plan))
        return 0;
    s_find_t f = {plan, 0};
    pgs_config_each_section(cfg, "plan.", s_find, &f);
    return f.found;
}

int
pgs_plan_model_allows(const pgs_config_t *cfg, const char *model, const char *plan)
{
    if (!pgs_plan_name_ok(model) || !pgs_plan_name_ok(plan))
        return 0;
    return pgs_plan_list_has(pgs_conf_str_in(cfg, PGS_KEY_MODEL_PLANS, model), plan);
}
