/*
 * pgs_test — helpers shared by the cmocka unit tests: "got …, want …"
 * expectations and a private temporary directory that is removed afterwards.
 * Include after <cmocka.h>.
 */
#ifndef PGS_TEST_H
#define PGS_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fails the test with "what: got G, want W" when two integers differ. */
#define PGS_EXPECT_INT(what, got, want)                                                            \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_)                                                                              \
            fail_msg("%s: got %lld, want %lld", (what), g_, w_);                                   \
    } while (0)

/* Fails the test with "what: got "G", want "W"" when two strings differ
 * (a NULL got is shown as (null) and never equals a string). */
#define PGS_EXPECT_STR(what, got, want)                                                            \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!g_ || strcmp(g_, w_) != 0)                                                            \
            fail_msg("%s: got \"%s\", want \"%s\"", (what), g_ ? g_ : "(null)", w_);               \
    } while (0)

/* Fails when got is not NULL. */
#define PGS_EXPECT_NULL(what, got)                                                                 \
    do {                                                                                           \
        if ((got) != NULL)                                                                         \
            fail_msg("%s: got a pointer, want NULL", (what));                                      \
    } while (0)

/* Creates a fresh directory /tmp/pgs-test-XXXXXX into buf (64 bytes).
 * Returns buf, or NULL. */
static inline char *
pgs_test_tmpdir(char buf[64])
{
    snprintf(buf, 64, "%s", "/tmp/pgs-test-XXXXXX");
    return mkdtemp(buf);
}

static inline int
pgs_test_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything under it. Returns 0 or -1. */
static inline int
pgs_test_rmtree(const char *dir)
{
    return nftw(dir, pgs_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
