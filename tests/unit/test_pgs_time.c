/*
 * Unit tests of common/pgs_time: RFC 3339 formatting and month boundaries.
 * Expected instants were computed outside this code base (Python calendar.timegm).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_test.h"
#include "pgs_time.h"

static void
test_rfc3339(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},          {1, "1970-01-01T00:00:01Z"},
        {59, "1970-01-01T00:00:59Z"},         {86399, "1970-01-01T23:59:59Z"},
        {951782400, "2000-02-29T00:00:00Z"},  {1704067199, "2023-12-31T23:59:59Z"},
        {1704067200, "2024-01-01T00:00:00Z"}, {1795853830, "2026-11-28T08:17:10Z"},
        {2147483647, "2038-01-19T03:14:07Z"}, {2147483648, "2038-01-19T03:14:08Z"},
        {4107456000, "2100-02-28T00:00:00Z"}, {253402300799, "9999-12-31T23:59:59Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[PGS_TIME_RFC3339_LEN + 4];
        memset(out, '#', sizeof out);
        pgs_time_rfc3339(cases[i].t, out);
        char what[64];
        snprintf(what, sizeof what, "rfc3339(%lld)", (long long)cases[i].t);
        PGS_EXPECT_STR(what, out, cases[i].want);
        PGS_EXPECT_INT("byte past PGS_TIME_RFC3339_LEN untouched", out[PGS_TIME_RFC3339_LEN], '#');
    }
    /* A year with five digits does not fit: empty, never an overflow. */
    char out[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(253402300800LL, out);
    PGS_EXPECT_STR("rfc3339(year 10000)", out, "");
}

static void
test_months(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t t, start, next;
    } cases[] = {
        {"epoch", 0, 0, 2678400},
        {"mid leap February 2024", 1708000496, 1706745600, 1709251200},
        {"last second of leap February 2024", 1709251199, 1706745600, 1709251200},
        {"first second of March 2024", 1709251200, 1709251200, 1711929600},
        {"last second of 2023", 1704067199, 1701388800, 1704067200},
        {"first second of December 2023", 1701388800, 1701388800, 1704067200},
        {"January 31st 2024", 1706695200, 1704067200, 1706745600},
        {"February 2023", 1675209600 + 86400 * 10, 1675209600, 1677628800},
        {"February 2100 (not leap)", 4107456000, 4105123200, 4107542400},
        {"leap day 2000", 951782400, 949363200, 951868800},
        {"November 2026", 1795853830, 1793491200, 1796083200},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "month_start(%s)", cases[i].name);
        PGS_EXPECT_INT(what, pgs_time_month_start(cases[i].t), cases[i].start);
        snprintf(what, sizeof what, "next_month_start(%s)", cases[i].name);
        PGS_EXPECT_INT(what, pgs_time_next_month_start(cases[i].t), cases[i].next);
    }
    /* Month lengths over four years, by formatting the boundaries. */
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, /* 2024 */
                               31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t t = 1704067200; /* 2024-01-01 */
    for (int m = 0; m < 24; m++) {
        int64_t next = pgs_time_next_month_start(t);
        char what[64];
        snprintf(what, sizeof what, "length of month %d from 2024-01 in days", m);
        PGS_EXPECT_INT(what, (next - t) / 86400, days[m]);
        PGS_EXPECT_INT(what, (next - t) % 86400, 0);
        PGS_EXPECT_INT("month_start(next - 1)", pgs_time_month_start(next - 1), t);
        char buf[PGS_TIME_RFC3339_LEN];
        pgs_time_rfc3339(next, buf);
        if (strcmp(buf + 7, "-01T00:00:00Z") != 0)
            fail_msg("next_month_start: got %s, want the first of a month at midnight", buf);
        t = next;
    }
    char buf[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(t, buf);
    PGS_EXPECT_STR("24 months after 2024-01-01", buf, "2026-01-01T00:00:00Z");
}

static void
test_clocks(void **state)
{
    (void)state;
    int64_t a = pgs_time_mono_ms();
    int64_t b = pgs_time_mono_ms();
    if (b < a)
        fail_msg("mono_ms went backwards: got %lld after %lld", (long long)b, (long long)a);
    usleep(20000);
    int64_t c = pgs_time_mono_ms();
    if (c - b < 19)
        fail_msg("mono_ms after 20 ms sleep: got +%lld ms, want at least 19", (long long)(c - b));
    int64_t now = pgs_time_now_ms();
    int64_t sys = (int64_t)time(NULL) * 1000;
    if (now < sys - 2000 || now > sys + 2000)
        fail_msg("now_ms: got %lld, want within 2 s of %lld", (long long)now, (long long)sys);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_months),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests_name("pgs_time", tests, NULL, NULL);
}
