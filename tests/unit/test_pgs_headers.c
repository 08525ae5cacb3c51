/*
 * Unit tests of common/pgs_headers: a JSON object of headers formatted as
 * "Name: value\n" lines and read back (every member, in order), members that
 * cannot travel left out (a value with CR or LF — which would split the
 * response head —, a name that is not an HTTP token, a non-string), and
 * the parser's refusals (no ':', a bad name, a CR in a value).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_headers.h"
#include "pgs_test.h"

#include <stdlib.h>
#include <string.h>

static void
test_round_trip(void **state)
{
    (void)state;
    json_t *h =
        json_pack("{s:s,s:s,s:s}", "Content-Type", "text/csv; charset=utf-8", "Content-Disposition",
                  "attachment; filename=\"usage.csv\"", "Retry-After", "1");
    char *text = pgs_headers_format(h);
    assert_non_null(text);
    PGS_EXPECT_STR("formatted", text,
                   "Content-Type: text/csv; charset=utf-8\n"
                   "Content-Disposition: attachment; filename=\"usage.csv\"\nRetry-After: 1\n");
    json_t *back = pgs_headers_object(text, strlen(text));
    assert_non_null(back);
    PGS_EXPECT_INT("read back equal", json_equal(h, back), 1);
    json_decref(back);
    free(text);
    json_decref(h);

    text = pgs_headers_format(NULL);
    PGS_EXPECT_STR("no headers", text, "");
    free(text);
    back = pgs_headers_object("", 0);
    PGS_EXPECT_INT("an empty frame is an empty object", json_object_size(back), 0);
    json_decref(back);
    back = pgs_headers_object("X-A:b", 5); /* no space, no final newline */
    PGS_EXPECT_STR("a line without the space", json_string_value(json_object_get(back, "X-A")),
                   "b");
    json_decref(back);
}

static void
test_refusals(void **state)
{
    (void)state;
    json_t *h = json_pack("{s:s,s:s,s:s,s:i,s:s}", "X-Split", "a\r\nSet-Cookie: x=1", "Bad Name",
                          "v", "X-Lf", "a\nb", "X-Int", 3, "X-Ok", "yes");
    char *text = pgs_headers_format(h);
    PGS_EXPECT_STR("only the member that can travel", text, "X-Ok: yes\n");
    free(text);
    json_decref(h);
    static const char *const bad[] = {"no colon\n", "Bad Name: v\n", "X-Cr: a\rb\n", ": v\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        PGS_EXPECT_NULL(bad[i], pgs_headers_object(bad[i], strlen(bad[i])));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests_name("pgs_headers", tests, NULL, NULL);
}
