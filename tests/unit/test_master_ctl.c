/*
 * Unit tests of services/master/master_ctl: master_ctl_answer, the one
 * function that turns a control request into its reply — every malformed
 * request gets exactly one error reply, and status/restart/scale map to the
 * process table. The table holds services whose starts fail (PEGASUS_HOME
 * under /dev/null), so no process is started.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "master/master_ctl.h"
#include "pgs_log.h"
#include "pgs_test.h"

#include <sys/stat.h>

static char s_dir[64];

static master_proc_t *
s_table(void)
{
    char bindir[128];
    snprintf(bindir, sizeof bindir, "%s", s_dir);
    master_proc_t *p = master_proc_new(bindir, "/etc/pegasus.conf", "/dev/null/home");
    char err[256];
    if (master_proc_add(p, "edge", 1, 0, err, sizeof err) < 0 ||
        master_proc_add(p, "svc", 1, 1, err, sizeof err) < 0)
        fail_msg("master_proc_add: %s", err);
    return p;
}

static int
s_setup(void **state)
{
    (void)state;
    if (!pgs_test_tmpdir(s_dir))
        return -1;
    static const char *const names[] = {"edge", "svc"};
    for (int i = 0; i < 2; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/pegasus-%s", s_dir, names[i]);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fputs("#!/bin/sh\nexit 0\n", f);
        fclose(f);
        chmod(path, 0755);
    }
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    pgs_test_rmtree(s_dir);
    return 0;
}

static void
test_answers(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        const char *want;
    } cases[] = {
        {"", "{\"error\":\"request is not a JSON object\"}"},
        {"nonsense", "{\"error\":\"request is not a JSON object\"}"},
        {"[]", "{\"error\":\"request is not a JSON object\"}"},
        {"\"status\"", "{\"error\":\"request is not a JSON object\"}"},
        {"{\"cmd\":\"status\"", "{\"error\":\"request is not a JSON object\"}"},
        {"{\"cmd\":\"status\",\"cmd\":\"status\"}", "{\"error\":\"request is not a JSON object\"}"},
        {"{}", "{\"error\":\"missing \\\"cmd\\\"\"}"},
        {"{\"cmd\":1}", "{\"error\":\"missing \\\"cmd\\\"\"}"},
        {"{\"cmd\":null}", "{\"error\":\"missing \\\"cmd\\\"\"}"},
        {"{\"cmd\":\"bogus\"}", "{\"error\":\"unknown cmd (status, restart or scale)\"}"},
        {"{\"cmd\":\"STATUS\"}", "{\"error\":\"unknown cmd (status, restart or scale)\"}"},
        {"{\"cmd\":\"status\"}",
         "{\"processes\":[{\"service\":\"edge\",\"instance\":1,\"pid\":0,\"state\":\"backoff\","
         "\"uptime_s\":0,\"restarts\":0},{\"service\":\"svc\",\"instance\":1,\"pid\":0,"
         "\"state\":\"backoff\",\"uptime_s\":0,\"restarts\":0}]}"},
        {"{\"cmd\":\"status\",\"extra\":[1,2]}", NULL /* a status */},
        {"{\"cmd\":\"restart\"}", "{\"error\":\"missing \\\"service\\\"\"}"},
        {"{\"cmd\":\"restart\",\"service\":3}", "{\"error\":\"missing \\\"service\\\"\"}"},
        {"{\"cmd\":\"restart\",\"service\":\"nope\"}", "{\"error\":\"unknown service: nope\"}"},
        {"{\"cmd\":\"restart\",\"service\":\"svc\"}", "{\"ok\":true}"},
        {"{\"cmd\":\"scale\"}", "{\"error\":\"missing \\\"service\\\"\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\"}", "{\"error\":\"\\\"count\\\" must be an integer\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":\"2\"}",
         "{\"error\":\"\\\"count\\\" must be an integer\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":2.0}",
         "{\"error\":\"\\\"count\\\" must be an integer\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":true}",
         "{\"error\":\"\\\"count\\\" must be an integer\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":0}", "{\"error\":\"count must be 1-64\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":65}",
         "{\"error\":\"count must be 1-64\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":4294967298}",
         "{\"error\":\"count must be 1-64\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":-9223372036854775808}",
         "{\"error\":\"count must be 1-64\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"edge\",\"count\":2}",
         "{\"error\":\"service edge cannot be scaled: exactly one runs per host\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"nope\",\"count\":2}",
         "{\"error\":\"unknown service: nope\"}"},
        {"{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":2}", "{\"ok\":true}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        master_proc_t *p = s_table();
        char *got = master_ctl_answer(p, cases[i].req, strlen(cases[i].req), 0);
        char what[160];
        snprintf(what, sizeof what, "answer(%s)", cases[i].req);
        if (cases[i].want)
            PGS_EXPECT_STR(what, got, cases[i].want);
        else if (!got || strncmp(got, "{\"processes\":[", 14) != 0)
            fail_msg("%s: got \"%s\", want a status", what, got ? got : "(null)");
        free(got);
        master_proc_destroy(&p);
    }
}

static void
test_length_not_nul(void **state)
{
    (void)state;
    master_proc_t *p = s_table();
    /* The request is len bytes, not a C string: what follows is ignored. */
    static const char buf[] = "{\"cmd\":\"restart\",\"service\":\"svc\"}GARBAGE";
    char *got = master_ctl_answer(p, buf, sizeof buf - 1 - 7, 0);
    PGS_EXPECT_STR("request followed by garbage outside len", got, "{\"ok\":true}");
    free(got);
    got = master_ctl_answer(p, buf, sizeof buf - 1, 0);
    PGS_EXPECT_STR("garbage inside len", got, "{\"error\":\"request is not a JSON object\"}");
    free(got);
    got = master_ctl_answer(p, buf, 5, 0);
    PGS_EXPECT_STR("a cut request", got, "{\"error\":\"request is not a JSON object\"}");
    free(got);
    static const char nul[] = "{\"cmd\":\"status\"}\0{}";
    got = master_ctl_answer(p, nul, sizeof nul - 1, 0);
    PGS_EXPECT_STR("a NUL inside len", got, "{\"error\":\"request is not a JSON object\"}");
    free(got);
    /* A long service name is cut in the error, never overflows. */
    char big[4096];
    int n = snprintf(big, sizeof big, "{\"cmd\":\"restart\",\"service\":\"");
    memset(big + n, 'x', 3000);
    snprintf(big + n + 3000, sizeof big - (size_t)n - 3000, "\"}");
    got = master_ctl_answer(p, big, strlen(big), 0);
    if (!got || strncmp(got, "{\"error\":\"unknown service: xxx", 30) != 0)
        fail_msg("long service name: got \"%.80s\"", got ? got : "(null)");
    free(got);
    /* After a scale, status shows the new count. */
    got = master_ctl_answer(p, "{\"cmd\":\"scale\",\"service\":\"svc\",\"count\":3}", 41, 0);
    PGS_EXPECT_STR("scale to 3", got, "{\"ok\":true}");
    free(got);
    got = master_ctl_answer(p, "{\"cmd\":\"status\"}", 16, 0);
    json_t *st = json_loads(got, 0, NULL);
    PGS_EXPECT_INT("status entries after scale to 3",
                   json_array_size(json_object_get(st, "processes")), 4);
    json_decref(st);
    free(got);
    master_proc_destroy(&p);
}

int
main(void)
{
    pgs_log_set_level("error");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_length_not_nul),
    };
    return cmocka_run_group_tests_name("master_ctl", tests, s_setup, s_teardown);
}
