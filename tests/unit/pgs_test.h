/*
 * pgs_test — helpers shared by the cmocka unit tests: "got …, want …"
 * expectations and a private temporary directory that is removed afterwards.
 * Include after <cmocka.h>.
 */
#ifndef PGS_TEST_H
#define PGS_TEST_H

#include <fcntl.h>
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

/* Capture of what a piece of code writes to fd 1 or 2 (into a temp file). */
typedef struct {
    int fd, saved;
    char path[64];
} pgs_test_capture_t;

static inline void
pgs_test_capture_start(pgs_test_capture_t *c, int fd)
{
    fflush(stdout);
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "/tmp/pgs-test-cap-%d-%d.txt", (int)getpid(), fd);
    c->fd = fd;
    c->saved = dup(fd);
    int f = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(f, fd);
    close(f);
}

/* Restores the descriptor; returns what was written, in buf. */
static inline const char *
pgs_test_capture_end(pgs_test_capture_t *c, char *buf, size_t len)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    FILE *f = fopen(c->path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    unlink(c->path);
    return buf;
}

#endif
