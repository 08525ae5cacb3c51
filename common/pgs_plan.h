/*
 * pgs_plan — plans and models as the config describes them. Plans
 * ([plan.<name>]) hold limits; models ([model.<id>]) name the plans that
 * may use them in `plans` (a space- or comma-separated list). Every service
 * reads them through here, so one rule decides what a plan allows.
 */
#ifndef PGS_PLAN_H
#define PGS_PLAN_H

#include "pgs_conf.h"

/* 1 when word is one of the space-, comma- or tab-separated items of list. */
int pgs_plan_list_has(const char *list, const char *word);

/* 1 when name can be a plan or model id: 1..64 of [A-Za-z0-9._-]. */
int pgs_plan_name_ok(const char *name);

/* The integer key (a PGS_KEY_PLAN_… handle) of [plan.<plan>]; the table's
 * default when missing, or when plan is not a valid name. */
long long pgs_plan_int(const pgs_config_t *cfg, const char *plan, pgs_key_t key);

/* 1 when the config has a section [plan.<plan>]. */
int pgs_plan_exists(const pgs_config_t *cfg, const char *plan);

/* 1 when [model.<model>] exists and lists plan among its plans, else 0. */
int pgs_plan_model_allows(const pgs_config_t *cfg, const char *model, const char *plan);

#endif
