/*
 * Unit tests of common/pgs_id: prefixed random ids and request ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_id.h"
#include "pgs_test.h"

#include <sodium.h>

static const char s_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
s_setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
test_new(void **state)
{
    (void)state;
    static const struct {
        const char *prefix;
        const char *want_prefix; /* as written, with its '_' */
    } cases[] = {
        {"usr", "usr_"},
        {"ws", "ws_"},
        {"tok", "tok_"},
        {"req", "req_"},
        {"abcdefgh", "abcdefgh_"},
        {"abcdefghij", "abcdefgh_"}, /* cut to 8 */
        {"x", "x_"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[PGS_ID_MAX + 8];
        memset(id, '#', sizeof id);
        pgs_id_new(cases[i].prefix, id);
        char what[64];
        size_t plen = strlen(cases[i].want_prefix);
        snprintf(what, sizeof what, "pgs_id_new(\"%s\") length", cases[i].prefix);
        PGS_EXPECT_INT(what, strlen(id), plen + PGS_ID_RANDOM_LEN);
        if (strlen(id) >= PGS_ID_MAX)
            fail_msg("%s: got %zu characters, want fewer than PGS_ID_MAX", what, strlen(id));
        snprintf(what, sizeof what, "pgs_id_new(\"%s\") prefix", cases[i].prefix);
        PGS_EXPECT_INT(what, strncmp(id, cases[i].want_prefix, plen), 0);
        for (size_t k = plen; id[k]; k++)
            if (!strchr(s_alphabet, id[k]))
                fail_msg("pgs_id_new(\"%s\"): character %zu (0x%02x) is not base62",
                         cases[i].prefix, k, (unsigned char)id[k]);
        PGS_EXPECT_INT("bytes past PGS_ID_MAX untouched", id[PGS_ID_MAX], '#');
    }
    /* Valid with its own prefix, not with another. */
    char id[PGS_ID_MAX];
    pgs_id_new("usr", id);
    PGS_EXPECT_INT("valid(new usr id, usr)", pgs_id_valid(id, "usr"), 1);
    PGS_EXPECT_INT("valid(new usr id, ws)", pgs_id_valid(id, "ws"), 0);
    PGS_EXPECT_INT("valid(new usr id, us)", pgs_id_valid(id, "us"), 0);
    PGS_EXPECT_INT("valid(new usr id, usr_)", pgs_id_valid(id, "usr_"), 0);

    enum { N = 5000 };
    char(*ids)[PGS_ID_MAX] = calloc(N, sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        pgs_id_new("tok", ids[i]);
        PGS_EXPECT_INT("valid(new tok id)", pgs_id_valid(ids[i], "tok"), 1);
    }
    qsort(ids, N, sizeof *ids, s_cmp);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("two of %d new ids are equal: %s", N, ids[i]);
    free(ids);
}

static void
test_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s, *prefix;
        int want;
    } cases[] = {
        {"usr_abc", "usr", 1},
        {"usr_A", "usr", 1},
        {"usr_0123456789ABCDEFGHIJKLMN", "usr", 1},  /* 24 */
        {"usr_0123456789ABCDEFGHIJKLMNO", "usr", 0}, /* 25 */
        {"usr_", "usr", 0},
        {"usr", "usr", 0},
        {"", "usr", 0},
        {"usrabc", "usr", 0},
        {"usr-abc", "usr", 0},
        {"usr__abc", "usr", 0},
        {"usr_ab-c", "usr", 0},
        {"usr_ab c", "usr", 0},
        {"usr_ab_c", "usr", 0},
        {"usr_abc\n", "usr", 0},
        {"usr_\xc3\xa9", "usr", 0},
        {"USR_abc", "usr", 0},
        {"ws_abc", "usr", 0},
        {"us_abc", "usr", 0},
        {"usr_x", "us", 0},
        {"ws_x", "ws", 1},
        {NULL, "usr", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "pgs_id_valid(\"%s\", \"%s\")",
                 cases[i].s ? cases[i].s : "NULL", cases[i].prefix);
        PGS_EXPECT_INT(what, pgs_id_valid(cases[i].s, cases[i].prefix), cases[i].want);
    }
}

static void
test_request_id(void **state)
{
    (void)state;
    char s64[65], s65[66];
    memset(s64, 'a', 64);
    s64[64] = '\0';
    memset(s65, 'a', 65);
    s65[65] = '\0';
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"a", 1},
        {"req_123", 1},
        {"A-Z.a_z:0-9", 1},
        {"550e8400-e29b-41d4-a716-446655440000", 1},
        {"", 0},
        {"a b", 0},
        {" a", 0},
        {"a/b", 0},
        {"a\"b", 0},
        {"a\\b", 0},
        {"a\nb", 0},
        {"a\tb", 0},
        {"a=b", 0},
        {"a,b", 0},
        {"caf\xc3\xa9", 0},
        {"<script>", 0},
        {NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "request_id_valid(\"%s\")", cases[i].s ? cases[i].s : "NULL");
        PGS_EXPECT_INT(what, pgs_id_request_id_valid(cases[i].s), cases[i].want);
    }
    PGS_EXPECT_INT("request_id_valid(64 characters)", pgs_id_request_id_valid(s64), 1);
    PGS_EXPECT_INT("request_id_valid(65 characters)", pgs_id_request_id_valid(s65), 0);
    s64[63] = '!';
    PGS_EXPECT_INT("request_id_valid(64 characters, last bad)", pgs_id_request_id_valid(s64), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_request_id),
    };
    return cmocka_run_group_tests_name("pgs_id", tests, s_setup, NULL);
}
