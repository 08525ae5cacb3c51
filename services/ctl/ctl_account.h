/*
 * ctl_account — the account, team and token commands. Each is one request
 * to the auth service through the broker (route admin.*), so its effects
 * flow through the same path, and the same cache invalidations, as a change
 * made in the app. Each takes the arguments after its command words and
 * returns the process exit code (0 success, 1 failure, 2 usage error),
 * having printed any error once on stderr.
 */
#ifndef CTL_ACCOUNT_H
#define CTL_ACCOUNT_H

#include "ctl_args.h"

#define CTL_ACCOUNT_PASSWORD_LEN 20 /* generated passwords, base62 */

/* pegasusctl user add --email E --name N [--password-stdin] */
int ctl_account_user_add(const ctl_t *c, int argc, char **argv);

/* pegasusctl user list */
int ctl_account_user_list(const ctl_t *c, int argc, char **argv);

/* pegasusctl plan set --workspace WS|--email E --plan P */
int ctl_account_plan_set(const ctl_t *c, int argc, char **argv);

/* pegasusctl team add --name N --owner EMAIL --plan P --seats K */
int ctl_account_team_add(const ctl_t *c, int argc, char **argv);

/* pegasusctl team seats --team T --seats K */
int ctl_account_team_seats(const ctl_t *c, int argc, char **argv);

/* pegasusctl team member add|set|remove --team T --email E [--role R]
 * [--seat|--no-seat]; verb is "add", "set" or "remove". */
int ctl_account_team_member(const ctl_t *c, const char *verb, int argc, char **argv);

/* pegasusctl team state --team T [--pending-cancellation on|off]
 * [--quota-disabled on|off] */
int ctl_account_team_state(const ctl_t *c, int argc, char **argv);

/* pegasusctl token list [--workspace WS] */
int ctl_account_token_list(const ctl_t *c, int argc, char **argv);

/* pegasusctl token revoke TOKEN_ID */
int ctl_account_token_revoke(const ctl_t *c, int argc, char **argv);

#endif
