/*
 * Unit tests of services/ctl/ctl_args: pegasusctl's option parsing and the
 * shared value checks, with the exact error lines (captured from stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctl/ctl_args.h"
#include "pgs_test.h"

#include <fcntl.h>

static const ctl_t s_ctl = {.json = 0, .home = "./var", .config = NULL, .command = "user add"};

static pgs_test_capture_t s_cap;

static void
test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *args; /* space separated; "_" stands for an empty argument */
        int rc;
        const char *email, *seats, *team; /* values; "-" = not set */
        int admin;
        const char *pos; /* positional arguments joined by "|" */
        const char *err; /* the stderr message (after "pegasusctl user add: ") */
    } cases[] = {
        {"", 0, "-", "-", "-", 0, "", NULL},
        {"--email a@b.c", 0, "a@b.c", "-", "-", 0, "", NULL},
        {"--email=a@b.c", 0, "a@b.c", "-", "-", 0, "", NULL},
        {"--email= --seats 3", 0, "", "3", "-", 0, "", NULL},
        {"--email=x=y", 0, "x=y", "-", "-", 0, "", NULL},
        {"--admin", 0, "-", "-", "-", 1, "", NULL},
        {"one two", 0, "-", "-", "-", 0, "one|two", NULL},
        {"one --admin two", 0, "-", "-", "-", 1, "one|two", NULL},
        {"- --admin", 0, "-", "-", "-", 1, "-", NULL}, /* "-" alone is positional */
        {"-- --admin -x", 0, "-", "-", "-", 0, "--admin|-x", NULL},
        {"--email --admin", 0, "--admin", "-", "-", 0, "", NULL}, /* the next word is the value */
        {"--team _", 0, "-", "-", "", 0, "", NULL},
        {"one two three", 2, NULL, NULL, NULL, 0, NULL, "unexpected argument \"three\""},
        {"--bogus", 2, NULL, NULL, NULL, 0, NULL, "unknown option --bogus"},
        {"--bogus=1", 2, NULL, NULL, NULL, 0, NULL, "unknown option --bogus"},
        {"--emai a", 2, NULL, NULL, NULL, 0, NULL, "unknown option --emai"},
        {"--emailx a", 2, NULL, NULL, NULL, 0, NULL, "unknown option --emailx"},
        {"--EMAIL a", 2, NULL, NULL, NULL, 0, NULL, "unknown option --EMAIL"},
        {"--", 0, "-", "-", "-", 0, "", NULL},
        {"--=x", 2, NULL, NULL, NULL, 0, NULL, "unknown option --"},
        {"-e a", 2, NULL, NULL, NULL, 0, NULL, "unknown option -e"},
        {"--email", 2, NULL, NULL, NULL, 0, NULL, "--email needs a value"},
        {"--email a --email b", 2, NULL, NULL, NULL, 0, NULL, "--email given twice"},
        {"--admin --admin", 2, NULL, NULL, NULL, 0, NULL, "--admin given twice"},
        {"--admin=yes", 2, NULL, NULL, NULL, 0, NULL, "--admin takes no value"},
        {"--admin=", 2, NULL, NULL, NULL, 0, NULL, "--admin takes no value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s", cases[i].args);
        char *argv[16];
        int argc = 0;
        char *save = NULL;
        for (char *w = strtok_r(copy, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
            argv[argc++] = strcmp(w, "_") == 0 ? w + 1 : w;
        ctl_opt_t opts[] = {CTL_OPT_VALUE("email"), CTL_OPT_VALUE("seats"), CTL_OPT_VALUE("team"),
                            CTL_OPT_FLAG("admin"), CTL_OPT_END};
        const char *pos[2] = {NULL, NULL};
        int npos = -1;
        char err[1024];
        pgs_test_capture_start(&s_cap, 2);
        int rc = ctl_args_parse(&s_ctl, argc, argv, opts, pos, 2, &npos);
        pgs_test_capture_end(&s_cap, err, sizeof err);
        char what[300];
        snprintf(what, sizeof what, "parse(%s)", cases[i].args);
        PGS_EXPECT_INT(what, rc, cases[i].rc);
        if (cases[i].rc != 0) {
            char want[300];
            snprintf(want, sizeof want,
                     "pegasusctl user add: %s (see pegasusctl user add --help)\n", cases[i].err);
            snprintf(what, sizeof what, "parse(%s) message", cases[i].args);
            PGS_EXPECT_STR(what, err, want);
            continue;
        }
        snprintf(what, sizeof what, "parse(%s): nothing on stderr", cases[i].args);
        PGS_EXPECT_STR(what, err, "");
        const char *names[] = {"email", "seats", "team"};
        const char *wants[] = {cases[i].email, cases[i].seats, cases[i].team};
        for (int k = 0; k < 3; k++) {
            snprintf(what, sizeof what, "parse(%s): --%s", cases[i].args, names[k]);
            if (strcmp(wants[k], "-") == 0) {
                PGS_EXPECT_NULL(what, ctl_args_get(opts, names[k]));
                PGS_EXPECT_INT(what, ctl_args_has(opts, names[k]), 0);
            } else {
                PGS_EXPECT_STR(what, ctl_args_get(opts, names[k]), wants[k]);
                PGS_EXPECT_INT(what, ctl_args_has(opts, names[k]), 1);
            }
        }
        snprintf(what, sizeof what, "parse(%s): --admin", cases[i].args);
        PGS_EXPECT_INT(what, ctl_args_has(opts, "admin"), cases[i].admin);
        PGS_EXPECT_NULL(what, ctl_args_get(opts, "admin")); /* a flag has no value */
        char joined[256] = "";
        for (int k = 0; k < npos; k++) {
            strcat(joined, k ? "|" : "");
            strcat(joined, pos[k]);
        }
        snprintf(what, sizeof what, "parse(%s): positional", cases[i].args);
        PGS_EXPECT_STR(what, joined, cases[i].pos);
    }
    /* Unknown names in get/has. */
    ctl_opt_t opts[] = {CTL_OPT_VALUE("email"), CTL_OPT_END};
    PGS_EXPECT_NULL("get(unknown)", ctl_args_get(opts, "nope"));
    PGS_EXPECT_INT("has(unknown)", ctl_args_has(opts, "nope"), 0);
    /* No positional arguments allowed. */
    char a0[] = "x";
    char *argv[] = {a0};
    int npos = -1;
    char err[512];
    pgs_test_capture_start(&s_cap, 2);
    PGS_EXPECT_INT("maxpos 0", ctl_args_parse(&s_ctl, 1, argv, opts, NULL, 0, &npos), 2);
    pgs_test_capture_end(&s_cap, err, sizeof err);
}

static void
test_require(void **state)
{
    (void)state;
    ctl_opt_t opts[] = {CTL_OPT_VALUE("email"), CTL_OPT_FLAG("admin"), CTL_OPT_END};
    char a0[] = "--admin";
    char *argv[] = {a0};
    int npos;
    ctl_args_parse(&s_ctl, 1, argv, opts, NULL, 0, &npos);
    char err[512];
    pgs_test_capture_start(&s_cap, 2);
    PGS_EXPECT_INT("require(admin)", ctl_args_require(&s_ctl, opts, "admin"), 0);
    PGS_EXPECT_INT("require(email)", ctl_args_require(&s_ctl, opts, "email"), 2);
    pgs_test_capture_end(&s_cap, err, sizeof err);
    PGS_EXPECT_STR("require(email) message", err,
                   "pegasusctl user add: --email is required (see pegasusctl user add --help)\n");
}

static void
test_int(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long long min, max;
        int rc;
        long long want;
    } cases[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 0, 10},
        {"11", 0, 10, 2, 0},
        {"-1", 0, 10, 2, 0},
        {"-1", -5, 5, 0, -1},
        {"+3", 0, 10, 0, 3},
        {"007", 0, 10, 0, 7},
        {"", 0, 10, 2, 0},
        {" 3", 0, 10, 0, 3}, /* strtoll skips leading space */
        {"3 ", 0, 10, 2, 0},
        {"3x", 0, 10, 2, 0},
        {"0x10", 0, 100, 2, 0},
        {"1e3", 0, 10000, 2, 0},
        {"9223372036854775807", 0, 9223372036854775807LL, 0, 9223372036854775807LL},
        {"9223372036854775808", 0, 9223372036854775807LL, 2, 0},
        {"-9223372036854775809", -9223372036854775807LL - 1, 0, 2, 0},
        {"99999999999999999999999", 0, 10, 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long out = 12345;
        char err[512], what[128];
        pgs_test_capture_start(&s_cap, 2);
        int rc = ctl_args_int(&s_ctl, "--seats", cases[i].text, cases[i].min, cases[i].max, &out);
        pgs_test_capture_end(&s_cap, err, sizeof err);
        snprintf(what, sizeof what, "int(\"%s\", %lld..%lld)", cases[i].text, cases[i].min,
                 cases[i].max);
        PGS_EXPECT_INT(what, rc, cases[i].rc);
        if (rc == 0) {
            PGS_EXPECT_INT(what, out, cases[i].want);
        } else {
            PGS_EXPECT_INT("out untouched on error", out, 12345);
            char want[256];
            snprintf(want, sizeof want,
                     "pegasusctl user add: --seats must be an integer from %lld to %lld (see "
                     "pegasusctl user add --help)\n",
                     cases[i].min, cases[i].max);
            PGS_EXPECT_STR(what, err, want);
        }
    }
    long long out = 5;
    char err[512];
    pgs_test_capture_start(&s_cap, 2);
    PGS_EXPECT_INT("int(NULL)", ctl_args_int(&s_ctl, "--seats", NULL, 0, 10, &out), 2);
    pgs_test_capture_end(&s_cap, err, sizeof err);
}

static void
test_onoff_oneof(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc, want;
    } cases[] = {{"on", 0, 1},  {"off", 0, 0},  {"ON", 2, 0}, {"On", 2, 0}, {"", 2, 0},
                 {"yes", 2, 0}, {"1", 2, 0},    {"on ", 2, 0}, {NULL, 2, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int out = 7;
        char err[512], what[64];
        pgs_test_capture_start(&s_cap, 2);
        int rc = ctl_args_onoff(&s_ctl, "--quota", cases[i].text, &out);
        pgs_test_capture_end(&s_cap, err, sizeof err);
        snprintf(what, sizeof what, "onoff(%s)", cases[i].text ? cases[i].text : "NULL");
        PGS_EXPECT_INT(what, rc, cases[i].rc);
        PGS_EXPECT_INT(what, out, rc == 0 ? cases[i].want : 7);
        if (rc)
            PGS_EXPECT_STR(what, err,
                           "pegasusctl user add: --quota must be on or off (see pegasusctl user "
                           "add --help)\n");
    }
    static const char *const words[] = {"free", "pro", "team", NULL};
    static const struct {
        const char *text;
        int want;
    } one[] = {{"free", 1}, {"team", 1}, {"Pro", 0}, {"", 0}, {"pro ", 0}, {NULL, 0}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        char err[512], what[64];
        pgs_test_capture_start(&s_cap, 2);
        int rc = ctl_args_oneof(&s_ctl, "--plan", one[i].text, words);
        pgs_test_capture_end(&s_cap, err, sizeof err);
        snprintf(what, sizeof what, "oneof(%s)", one[i].text ? one[i].text : "NULL");
        PGS_EXPECT_INT(what, rc, one[i].want);
        PGS_EXPECT_STR(what, err,
                       one[i].want ? ""
                                   : "pegasusctl user add: --plan must be one of: free, pro, team "
                                     "(see pegasusctl user add --help)\n");
    }
    static const char *const none[] = {NULL};
    char err[512];
    pgs_test_capture_start(&s_cap, 2);
    PGS_EXPECT_INT("oneof(empty list)", ctl_args_oneof(&s_ctl, "--x", "a", none), 0);
    pgs_test_capture_end(&s_cap, err, sizeof err);
    PGS_EXPECT_STR("oneof(empty list) message", err,
                   "pegasusctl user add: --x must be one of:  (see pegasusctl user add --help)\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_require),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_onoff_oneof),
    };
    return cmocka_run_group_tests_name("ctl_args", tests, NULL, NULL);
}
