/*
 * ctl_config — pegasusctl config check and config keys: the same check of
 * the config that every daemon's -n runs (pgs_conf_check), printed for an
 * operator, and the table of every key.
 */
#ifndef CTL_CONFIG_H
#define CTL_CONFIG_H

#include "ctl_args.h"

/* Checks the config (-c, $PEGASUS_CONFIG or config/pegasus.conf): prints
 * "OK <file>", or one line per problem (section, key, value, rule) and
 * returns 1; --json prints {"ok", "file", "problems": [...]}. */
int ctl_config_check(const ctl_t *c, int argc, char **argv);

/* Prints the table of every key: section, key, type, default, range,
 * readers (--json: an array of objects). */
int ctl_config_keys(const ctl_t *c, int argc, char **argv);

#endif
