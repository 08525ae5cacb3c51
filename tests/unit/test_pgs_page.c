/*
 * Unit tests of common/pgs_page: cursors round-trip, and anything that is
 * not a cursor of ours is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_page.h"
#include "pgs_test.h"

#include <sodium.h>

static int
s_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void
test_round_trip(void **state)
{
    (void)state;
    static const struct {
        int64_t ts;
        const char *id;
    } cases[] = {{0, "a"}, {1764316800123LL, "bot_Pol4pGTy9lH2WdMBZkVN"}, {999999999999999999LL, "x.y-z_1"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char c[PGS_PAGE_CURSOR_MAX];
        pgs_page_cursor(cases[i].ts, cases[i].id, c, sizeof c);
        if (!c[0])
            fail_msg("case %zu: no cursor", i);
        for (const char *p = c; *p; p++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p))
                fail_msg("case %zu: cursor %s is not base64url", i, c);
        int64_t ts = -1;
        char id[PGS_PAGE_ID_MAX];
        PGS_EXPECT_INT("decode", pgs_page_cursor_decode(c, &ts, id), 0);
        PGS_EXPECT_INT("ts", ts, cases[i].ts);
        PGS_EXPECT_STR("id", id, cases[i].id);
    }
}

static void
test_refused(void **state)
{
    (void)state;
    char big[400];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    /* base64url of: "p2:1:x", "p1::x", "p1:1:", "p1:1:a b", "p1:-1:x", "p1:1x:x",
     * "p1:1234567890123456789:x" (19 digits) */
    static const char *const bad[] = {"", "!!", "====", "cDI6MTp4", "cDE6Ong", "cDE6MTo",
                                      "cDE6MTphIGI", "cDE6LTE6eA", "cDE6MXg6eA",
                                      "cDE6MTIzNDU2Nzg5MDEyMzQ1Njc4OTp4", NULL};
    int64_t ts;
    char id[PGS_PAGE_ID_MAX];
    for (int i = 0; bad[i]; i++)
        if (pgs_page_cursor_decode(bad[i], &ts, id) != -1)
            fail_msg("cursor %s: got accepted, want refused", bad[i]);
    PGS_EXPECT_INT("long", pgs_page_cursor_decode(big, &ts, id), -1);
    PGS_EXPECT_INT("NULL", pgs_page_cursor_decode(NULL, &ts, id), -1);
    char c[PGS_PAGE_CURSOR_MAX];
    pgs_page_cursor(1, "bad id", c, sizeof c);
    PGS_EXPECT_STR("bad id makes no cursor", c, "");
    pgs_page_cursor(1, "ok", c, 4);
    PGS_EXPECT_STR("small buffer makes no cursor", c, "");
}

static void
test_list(void **state)
{
    (void)state;
    json_t *l = pgs_page_list(NULL, 1, "abc");
    char *s = json_dumps(l, JSON_COMPACT | JSON_SORT_KEYS);
    PGS_EXPECT_STR("envelope", s, "{\"data\":[],\"has_more\":true,\"next_cursor\":\"abc\",\"object\":\"list\"}");
    free(s);
    json_decref(l);
    l = pgs_page_list(json_array(), 0, "abc");
    s = json_dumps(l, JSON_COMPACT | JSON_SORT_KEYS);
    PGS_EXPECT_STR("last page", s, "{\"data\":[],\"has_more\":false,\"next_cursor\":null,\"object\":\"list\"}");
    free(s);
    json_decref(l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
