/*
 * ctl_usage — pegasusctl usage report: asks the usage service to make (or
 * remake) a workspace's monthly usage report now, and prints its day rows.
 */
#ifndef CTL_USAGE_H
#define CTL_USAGE_H

#include "ctl_args.h"

int ctl_usage_report(const ctl_t *c, int argc, char **argv);

#endif
