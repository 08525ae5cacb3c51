/*
 * ctl_args — pegasusctl's command-line options: `--name value`,
 * `--name=value` and flags, checked against each command's own table, plus
 * the few value checks several commands share. Errors are printed once, on
 * stderr, naming the command and how to get its help.
 */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#define CTL_ARGS_MAX_POS 4

/* One option a command accepts. The parser fills value (borrowed from argv;
 * NULL for a flag) and set. */
typedef struct {
    const char *name; /* without the leading "--" */
    int has_value;
    const char *value;
    int set;
} ctl_opt_t;

/* Table entries: an option taking a value, a flag, the terminator. */
#define CTL_OPT_VALUE(n)                                                                           \
    {                                                                                              \
        .name = (n), .has_value = 1                                                                \
    }
#define CTL_OPT_FLAG(n)                                                                            \
    {                                                                                              \
        .name = (n), .has_value = 0                                                                \
    }
#define CTL_OPT_END                                                                                \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* What the whole program was asked, shared by every command. */
typedef struct {
    int json;            /* --json: print the raw JSON reply */
    const char *home;    /* PEGASUS_HOME, default ./var */
    const char *config;  /* -c or PEGASUS_CONFIG; NULL when neither */
    const char *command; /* "user add", for messages */
} ctl_t;

/* Parses argv[0..argc) against opts (terminated by a {NULL} entry);
 * positional arguments go to pos (at most maxpos; *npos gets their count).
 * Returns 0, or 2 (the usage exit code) after printing why on stderr: an
 * unknown option, a missing value, an option given twice or too many
 * positional arguments. */
int ctl_args_parse(const ctl_t *c, int argc, char **argv, ctl_opt_t *opts, const char **pos,
                   int maxpos, int *npos);

/* The value of option name, or NULL when it was not given. */
const char *ctl_args_get(const ctl_opt_t *opts, const char *name);

/* 1 when option name was given. */
int ctl_args_has(const ctl_opt_t *opts, const char *name);

/* Prints "pegasusctl <command>: --name is required" and returns 2 when
 * option name was not given; returns 0 otherwise. */
int ctl_args_require(const ctl_t *c, const ctl_opt_t *opts, const char *name);

/* Parses a decimal integer in [min, max] into *out. Returns 0, or 2 after
 * printing a message naming what (e.g. "--seats"). */
int ctl_args_int(const ctl_t *c, const char *what, const char *text, long long min, long long max,
                 long long *out);

/* Parses "on" or "off" into *out (1 or 0). Returns 0, or 2 after printing
 * a message naming what. */
int ctl_args_onoff(const ctl_t *c, const char *what, const char *text, int *out);

/* 1 when text is one of the NULL-terminated words; otherwise prints a
 * message naming what and the allowed words and returns 0. */
int ctl_args_oneof(const ctl_t *c, const char *what, const char *text, const char *const *words);

/* Prints "pegasusctl <command>: <message>" on stderr and returns 2. */
int ctl_args_usage_error(const ctl_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
