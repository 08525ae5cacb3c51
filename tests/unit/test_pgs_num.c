/*
 * Unit tests of common/pgs_num: decimal writing of 0, small, large and
 * extreme values (INT64_MIN, INT64_MAX, UINT64_MAX), checked against
 * snprintf for a sweep of values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_num.h"
#include "pgs_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void
test_values(void **state)
{
    (void)state;
    char out[PGS_NUM_MAX], want[PGS_NUM_MAX];
    PGS_EXPECT_INT("length of 0", pgs_num_i64(0, out), 1);
    PGS_EXPECT_STR("0", out, "0");
    pgs_num_i64(INT64_MIN, out);
    PGS_EXPECT_STR("INT64_MIN", out, "-9223372036854775808");
    pgs_num_i64(INT64_MAX, out);
    PGS_EXPECT_STR("INT64_MAX", out, "9223372036854775807");
    PGS_EXPECT_INT("length of UINT64_MAX", pgs_num_u64(UINT64_MAX, out), 20);
    PGS_EXPECT_STR("UINT64_MAX", out, "18446744073709551615");
    for (int64_t v = -100000; v <= 100000; v += 7) {
        size_t n = pgs_num_i64(v * 1000003, out);
        int w = snprintf(want, sizeof want, "%" PRId64, v * 1000003);
        if (n != (size_t)w || strcmp(out, want) != 0)
            fail_msg("pgs_num_i64(%" PRId64 "): got %s, want %s", v * 1000003, out, want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_values)};
    return cmocka_run_group_tests_name("pgs_num", tests, NULL, NULL);
}
