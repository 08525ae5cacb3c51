/*
 * Unit tests of common/pgs_ctx: the flat "name=value\n" fields of the
 * request context — a round trip of every field, fields in any order and
 * the last line without '\n', unknown names skipped, empty values read as
 * absent, and refusals (a line without '=', a value one byte too long, a
 * control byte) that leave the context empty; pgs_ctx_set's refusals and
 * pgs_ctx_format's when the output does not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_ctx.h"
#include "pgs_test.h"

#include <stdio.h>
#include <string.h>

static void
test_round_trip(void **state)
{
    (void)state;
    pgs_ctx_t c = {0};
    static const char *const kv[][2] = {{"request_id", "req_abc"},
                                        {"client_ip", "2001:db8::1"},
                                        {"actor", "pegasusctl"},
                                        {"token_id", "tok_1"},
                                        {"user_id", "usr_1"},
                                        {"workspace_id", "ws_1"},
                                        {"workspace_type", "team"},
                                        {"role", "admin"},
                                        {"plan", "pro"},
                                        {"scopes", "bots:read chat:write"},
                                        {"seat", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        PGS_EXPECT_INT(kv[i][0], pgs_ctx_set(&c, kv[i][0], kv[i][1]), 0);
    char text[PGS_CTX_MAX];
    int n = pgs_ctx_format(&c, text, sizeof text);
    PGS_EXPECT_INT("formatted length", n, (long long)strlen(text));
    pgs_ctx_t d;
    PGS_EXPECT_INT("parse of the formatted text", pgs_ctx_parse(text, (size_t)n, &d), 0);
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        PGS_EXPECT_STR(kv[i][0], pgs_ctx_get(&d, kv[i][0]), kv[i][1]);
    PGS_EXPECT_NULL("an unknown name", pgs_ctx_get(&d, "password"));

    /* any order, the last line without '\n', unknown names skipped, an
     * empty value is absent */
    const char *t = "role=member\nfuture_field=x=y\nrequest_id=\nuser_id=usr_2";
    PGS_EXPECT_INT("parse", pgs_ctx_parse(t, strlen(t), &d), 0);
    PGS_EXPECT_STR("role", pgs_ctx_get(&d, "role"), "member");
    PGS_EXPECT_STR("user_id on the last line", pgs_ctx_get(&d, "user_id"), "usr_2");
    PGS_EXPECT_NULL("an empty request_id", pgs_ctx_get(&d, "request_id"));
    PGS_EXPECT_NULL("a field left out", pgs_ctx_get(&d, "token_id"));
    PGS_EXPECT_INT("empty text", pgs_ctx_parse("", 0, &d), 0);
    PGS_EXPECT_NULL("nothing in an empty context", pgs_ctx_get(&d, "request_id"));
    PGS_EXPECT_NULL("a NULL context", pgs_ctx_get(NULL, "request_id"));
    PGS_EXPECT_INT("format of an empty context", pgs_ctx_format(&d, text, sizeof text), 0);
    PGS_EXPECT_STR("its text", text, "");
}

static void
test_refusals(void **state)
{
    (void)state;
    pgs_ctx_t d;
    const char *t = "user_id=usr_1\nno equals sign\n";
    PGS_EXPECT_INT("a line without '='", pgs_ctx_parse(t, strlen(t), &d), -1);
    PGS_EXPECT_NULL("left empty", pgs_ctx_get(&d, "user_id"));
    char line[80];
    snprintf(line, sizeof line, "role=%015d", 0); /* 15 characters: role holds 15 */
    PGS_EXPECT_INT("a value that just fits", pgs_ctx_parse(line, strlen(line), &d), 0);
    snprintf(line, sizeof line, "role=%016d", 0);
    PGS_EXPECT_INT("one byte too long", pgs_ctx_parse(line, strlen(line), &d), -1);
    t = "user_id=usr\t1";
    PGS_EXPECT_INT("a control byte", pgs_ctx_parse(t, strlen(t), &d), -1);
    t = "user_id=usr\r\n";
    PGS_EXPECT_INT("a carriage return", pgs_ctx_parse(t, strlen(t), &d), -1);

    pgs_ctx_t c = {0};
    PGS_EXPECT_INT("set of an unknown name", pgs_ctx_set(&c, "admin", "1"), -1);
    PGS_EXPECT_INT("set of a value with a newline", pgs_ctx_set(&c, "role", "a\nb"), -1);
    PGS_EXPECT_INT("set of a value too long", pgs_ctx_set(&c, "seat", "1234"), -1);
    PGS_EXPECT_NULL("nothing was set", pgs_ctx_get(&c, "role"));
    PGS_EXPECT_INT("set", pgs_ctx_set(&c, "role", "owner"), 0);
    PGS_EXPECT_INT("set NULL empties", pgs_ctx_set(&c, "role", NULL), 0);
    PGS_EXPECT_NULL("emptied", pgs_ctx_get(&c, "role"));
    pgs_ctx_set(&c, "user_id", "usr_1");
    char small[8];
    PGS_EXPECT_INT("format into too small a buffer", pgs_ctx_format(&c, small, sizeof small), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("pgs_ctx", tests, NULL, NULL);
}
