/*
 * pegasusctl — the operator's command line (SPEC §6).
 *
 *   pegasusctl [-c CONFIG] [--json] COMMAND … [-h|--help]
 *
 * Account, team and token commands are requests to the running auth
 * service through the edge's broker (ctl_account); status, restart and
 * scale talk to the supervisor (ctl_system); config check and config keys
 * read the config and the key table (ctl_config). The system is found
 * through PEGASUS_HOME (default ./var); other commands read the config (-c
 * or PEGASUS_CONFIG; one that does not exist is an error) only to find a
 * non-default broker endpoint. --json, anywhere, prints the
 * raw JSON reply instead of a table. Exit status: 0 success, 1 failure
 * (one message on stderr), 2 a usage error.
 */
#include "ctl_account.h"
#include "ctl_args.h"
#include "ctl_config.h"
#include "ctl_out.h"
#include "ctl_system.h"
#include "ctl_usage.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*s_fn)(const ctl_t *c, int argc, char **argv);

typedef struct {
    const char *words; /* "team member add" */
    s_fn fn;
    const char *usage;
    const char *help;
} s_cmd_t;

static int
s_member_add(const ctl_t *c, int argc, char **argv)
{
    return ctl_account_team_member(c, "add", argc, argv);
}

static int
s_member_set(const ctl_t *c, int argc, char **argv)
{
    return ctl_account_team_member(c, "set", argc, argv);
}

static int
s_member_remove(const ctl_t *c, int argc, char **argv)
{
    return ctl_account_team_member(c, "remove", argc, argv);
}

static const s_cmd_t s_cmds[] = {
    {"user add", ctl_account_user_add, "--email E --name N [--password-stdin]",
     "Creates a user and their Personal workspace (free plan). With --password-stdin the\n"
     "password is the first line of stdin; otherwise a 20-character password is generated\n"
     "and printed once, here (with --json, as \"password\" in the output)."},
    {"user list", ctl_account_user_list, "",
     "Lists every user: id, email, name, plan of the Personal workspace, workspace id."},
    {"plan set", ctl_account_plan_set, "--workspace WS|--email E --plan free|pro|ultra",
     "Sets the plan of a workspace; --email E means that user's Personal workspace."},
    {"team add", ctl_account_team_add, "--name N --owner EMAIL --plan free|pro|ultra --seats K",
     "Creates a team owned (and seated) by an existing user."},
    {"team seats", ctl_account_team_seats, "--team T --seats K",
     "Sets a team's number of seats; refused below the seated members.\n"
     "T is a ws_ id or a unique team name."},
    {"team member add", s_member_add, "--team T --email E [--role R] [--seat|--no-seat]",
     "Adds a user to a team: role owner|admin|member|viewer (default member), with a seat\n"
     "when one is free unless --no-seat. T is a ws_ id or a unique team name."},
    {"team member set", s_member_set, "--team T --email E [--role R] [--seat|--no-seat]",
     "Changes a member's role and/or seat."},
    {"team member remove", s_member_remove, "--team T --email E",
     "Removes a member from a team and revokes all of their tokens for that team."},
    {"team state", ctl_account_team_state,
     "--team T [--pending-cancellation on|off] [--quota-disabled on|off]",
     "Sets a team's state; either flag on makes the team read-only for the API."},
    {"token list", ctl_account_token_list, "[--workspace WS]",
     "Lists tokens (never their secrets): every token, or one workspace's."},
    {"token revoke", ctl_account_token_revoke, "TOKEN_ID",
     "Revokes a token, permanently; every edge stops accepting it."},
    {"status", ctl_system_status, "",
     "Lists every process the supervisor runs: service, instance, pid, state\n"
     "(running|starting|backoff|stopping), uptime in seconds, restarts after a crash."},
    {"restart", ctl_system_restart, "SERVICE",
     "Restarts every process of a service, one at a time: each replacement is started\n"
     "before the next process is stopped."},
    {"scale", ctl_system_scale, "SERVICE N",
     "Runs N (1-64) processes of a service; extra ones are stopped, highest instance\n"
     "first. The edge cannot be scaled."},
    {"config check", ctl_config_check, "",
     "Checks the config (-c, $PEGASUS_CONFIG or config/pegasus.conf) as every daemon's -n\n"
     "does: prints OK, or each problem (section, key, value and the rule it breaks) and\n"
     "exits 1. Environment overrides (PEGASUS_<SECTION>_<KEY>) are checked like file values."},
    {"config keys", ctl_config_keys, "",
     "Lists every config key: section, key, type, default, rule, and the processes that\n"
     "read it. A section ending in .* is a family: [plan.<name>], [model.<id>], …"},
    {"usage report", ctl_usage_report, "--workspace WS --month YYYY-MM",
     "Makes a workspace's usage report for a calendar month (UTC) now, from the counted\n"
     "events, and prints a line per day with the totals. WS is a ws_ id. The month's\n"
     "report is stored: the API lists it as the monthly report (kind monthly)."},
};
#define S_NCMDS (sizeof s_cmds / sizeof s_cmds[0])

static void
s_help_all(FILE *f)
{
    fprintf(f, "usage: pegasusctl [-c CONFIG] [--json] COMMAND [ARGS] [-h|--help]\n\n"
               "commands:\n");
    for (size_t i = 0; i < S_NCMDS; i++)
        fprintf(f, "  %s%s%s\n", s_cmds[i].words, *s_cmds[i].usage ? " " : "", s_cmds[i].usage);
    fprintf(f, "\n--json prints the raw JSON reply. The system is found through PEGASUS_HOME\n"
               "(default ./var). Run pegasusctl COMMAND --help for a command's help.\n");
}

static void
s_help_cmd(const s_cmd_t *cmd)
{
    printf("usage: pegasusctl %s%s%s [--json]\n\n%s\n", cmd->words, *cmd->usage ? " " : "",
           cmd->usage, cmd->help);
}

/* Number of words of cmd matched by argv (all of them), or 0. */
static int
s_match(const s_cmd_t *cmd, int argc, char **argv)
{
    const char *w = cmd->words;
    int n = 0;
    while (*w) {
        size_t len = strcspn(w, " ");
        if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], w, len) != 0)
            return 0;
        n++;
        w += len;
        while (*w == ' ')
            w++;
    }
    return n;
}

/* No command matched: when word names a group ("team"), lists its
 * commands; otherwise says the command is unknown. Returns the exit code. */
static int
s_unknown(const char *word, const char *next, int help)
{
    size_t len = strlen(word);
    int group = 0;
    for (size_t i = 0; i < S_NCMDS; i++) {
        if (strncmp(s_cmds[i].words, word, len) != 0 || s_cmds[i].words[len] != ' ')
            continue;
        if (!group)
            fprintf(help ? stdout : stderr, "usage:\n");
        group = 1;
        fprintf(help ? stdout : stderr, "  pegasusctl %s %s\n", s_cmds[i].words, s_cmds[i].usage);
    }
    if (group)
        return help ? 0 : 2;
    fprintf(stderr, "pegasusctl: unknown command \"%s%s%s\" (see pegasusctl --help)\n", word,
            next ? " " : "", next ? next : "");
    return 2;
}

/* Frees through here wipe first: a password passes through jansson. */
static void
s_wiping_free(void *p)
{
    if (p) {
        sodium_memzero(p, malloc_usable_size(p));
        free(p);
    }
}

int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "pegasusctl: libsodium failed to initialise\n");
        return 1;
    }
    json_set_alloc_funcs(malloc, s_wiping_free);
    ctl_t c = {0};
    const char *home = getenv("PEGASUS_HOME");
    c.home = home && *home ? home : "./var";
    const char *config = getenv("PEGASUS_CONFIG");
    c.config = config && *config ? config : NULL;

    /* --json and -h/--help may appear anywhere; -c only before the command. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return 1;
    int n = 0, help = 0, seen_cmd = 0, dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!dashdash && strcmp(a, "--") == 0)
            dashdash = 1;
        if (!dashdash && strcmp(a, "--json") == 0)
            c.json = 1;
        else if (!dashdash && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0))
            help = 1;
        else if (!dashdash && !seen_cmd && strcmp(a, "-c") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "pegasusctl: -c needs a config file\n");
                free(args);
                return 2;
            }
            c.config = argv[++i];
        } else {
            if (a[0] != '-')
                seen_cmd = 1;
            args[n++] = argv[i];
        }
    }
    int rc;
    const s_cmd_t *cmd = NULL;
    int words = 0;
    for (size_t i = 0; i < S_NCMDS && !cmd; i++)
        if ((words = s_match(&s_cmds[i], n, args)) > 0)
            cmd = &s_cmds[i];
    if (!cmd) {
        if (n == 0) {
            s_help_all(help ? stdout : stderr);
            rc = help ? 0 : 2;
        } else {
            rc = s_unknown(args[0], n > 1 ? args[1] : NULL, help);
        }
    } else if (help) {
        s_help_cmd(cmd);
        rc = 0;
    } else if (c.config && access(c.config, R_OK) < 0) {
        /* Whatever the command, a config that is not there is an error. */
        rc = ctl_out_fail("config %s: %s", c.config, strerror(errno));
    } else {
        c.command = cmd->words;
        rc = cmd->fn(&c, n - words, args + words);
    }
    fflush(stdout);
    free(args);
    return rc;
}
