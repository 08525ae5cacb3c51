/*
 * ctl_system — the commands that talk to the supervisor: status, restart,
 * scale. Each takes the arguments
 * after its command words and returns the process exit code (0 success,
 * 1 failure, 2 usage error), having printed any error once on stderr.
 */
#ifndef CTL_SYSTEM_H
#define CTL_SYSTEM_H

#include "ctl_args.h"

/* pegasusctl status */
int ctl_system_status(const ctl_t *c, int argc, char **argv);

/* pegasusctl restart SERVICE */
int ctl_system_restart(const ctl_t *c, int argc, char **argv);

/* pegasusctl scale SERVICE N */
int ctl_system_scale(const ctl_t *c, int argc, char **argv);

#endif
