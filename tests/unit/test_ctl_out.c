/*
 * Unit tests of services/ctl/ctl_out: aligned tables, raw --json output,
 * the error line and table cells from JSON members (output captured from
 * stdout/stderr).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ctl/ctl_out.h"
#include "pgs_test.h"

#include <fcntl.h>

static pgs_test_capture_t s_cap;

static void
test_table(void **state)
{
    (void)state;
    static const char *const headers[] = {"ID", "NAME", "STATE", NULL};
    ctl_table_t *t = ctl_table_new(headers);
    const char *r1[] = {"usr_1", "Ann", "active"};
    const char *r2[] = {"usr_22222", NULL, "x"};
    const char *r3[] = {"", "A much longer name", ""};
    PGS_EXPECT_INT("row 1", ctl_table_row(t, r1), 0);
    PGS_EXPECT_INT("row 2", ctl_table_row(t, r2), 0);
    PGS_EXPECT_INT("row 3", ctl_table_row(t, r3), 0);
    char out[1024];
    pgs_test_capture_start(&s_cap, 1);
    ctl_table_print(&t);
    pgs_test_capture_end(&s_cap, out, sizeof out);
    PGS_EXPECT_NULL("print frees the table", t);
    PGS_EXPECT_STR("table", out,
                   "ID         NAME                STATE\n"
                   "usr_1      Ann                 active\n"
                   "usr_22222  -                   x\n"
                   "           A much longer name  \n");
    /* Many rows (growth), destroy without printing. */
    t = ctl_table_new(headers);
    for (int i = 0; i < 100; i++)
        PGS_EXPECT_INT("row", ctl_table_row(t, r1), 0);
    ctl_table_destroy(&t);
    PGS_EXPECT_NULL("destroy sets NULL", t);
    ctl_table_destroy(&t);
    ctl_table_print(&t);
    /* A table with no rows prints its header. */
    static const char *const one[] = {"ONLY", NULL};
    t = ctl_table_new(one);
    pgs_test_capture_start(&s_cap, 1);
    ctl_table_print(&t);
    pgs_test_capture_end(&s_cap, out, sizeof out);
    PGS_EXPECT_STR("header only", out, "ONLY\n");
}

static void
test_out(void **state)
{
    (void)state;
    char out[256];
    static const struct {
        const char *body;
        size_t len;
        const char *want;
    } raw[] = {
        {NULL, 0, "{\"ok\":true}\n"},
        {"", 0, "{\"ok\":true}\n"},
        {"{\"a\":1}", 7, "{\"a\":1}\n"},
        {"{\"a\":1}\n", 8, "{\"a\":1}\n"},
        {"{\"a\":1}XYZ", 7, "{\"a\":1}\n"},
    };
    for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++) {
        pgs_test_capture_start(&s_cap, 1);
        ctl_out_raw(raw[i].body, raw[i].len);
        pgs_test_capture_end(&s_cap, out, sizeof out);
        char what[64];
        snprintf(what, sizeof what, "raw case %zu", i);
        PGS_EXPECT_STR(what, out, raw[i].want);
    }
    json_t *v = json_pack("{s:s,s:i}", "a", "b", "n", 3);
    pgs_test_capture_start(&s_cap, 1);
    ctl_out_json(v);
    pgs_test_capture_end(&s_cap, out, sizeof out);
    if (strcmp(out, "{\"a\":\"b\",\"n\":3}\n") != 0 && strcmp(out, "{\"n\":3,\"a\":\"b\"}\n") != 0)
        fail_msg("json: got \"%s\", want a compact object", out);
    json_decref(v);
    pgs_test_capture_start(&s_cap, 2);
    PGS_EXPECT_INT("fail returns 1", ctl_out_fail("bad %s %d", "thing", 7), 1);
    pgs_test_capture_end(&s_cap, out, sizeof out);
    PGS_EXPECT_STR("fail message", out, "pegasusctl: bad thing 7\n");

    json_t *o = json_loads("{\"s\":\"text\",\"i\":-42,\"r\":1.5,\"t\":true,\"f\":false,\"n\":null,"
                           "\"o\":{},\"a\":[1]}",
                           0, NULL);
    static const struct {
        const char *key;
        const char *want; /* NULL: no cell */
    } fields[] = {{"s", "text"}, {"i", "-42"}, {"r", "1.5"}, {"t", "true"}, {"f", "false"},
                  {"n", NULL},   {"o", NULL},  {"a", NULL},  {"missing", NULL}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char buf[32];
        const char *got = ctl_out_field(o, fields[i].key, buf, sizeof buf);
        char what[64];
        snprintf(what, sizeof what, "field(%s)", fields[i].key);
        if (fields[i].want)
            PGS_EXPECT_STR(what, got, fields[i].want);
        else
            PGS_EXPECT_NULL(what, got);
    }
    char small[3];
    PGS_EXPECT_STR("field into a short buffer", ctl_out_field(o, "i", small, sizeof small), "-4");
    PGS_EXPECT_NULL("field of a non-object", ctl_out_field(json_object_get(o, "a"), "x", small, 3));
    json_decref(o);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_out),
    };
    return cmocka_run_group_tests_name("ctl_out", tests, NULL, NULL);
}
