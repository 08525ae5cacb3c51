/*
 * Unit tests of services/edge/edge_usage_queue, on spool files in a private
 * temporary directory: FIFO order across memory and the file (the file is
 * only made once memory is full and is cut back to nothing once drained),
 * pushes while events wait in the file going to the file, peek and pop
 * bounds, the max_file_bytes limit and the dropped count, persistence
 * through destroy and a new queue on the same path (the exact file contents,
 * the file removed when nothing waits), adoption of a file whose last line
 * was cut short, peeked lines staying valid while the ring grows, and a file
 * holding a line longer than the 64 KiB load chunk, and the weights of
 * lines (the requests they count) through memory, the file, a line that
 * straddles two of adoption's 64 KiB reads, and a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_usage_queue.h"
#include "pgs_log.h"
#include "pgs_test.h"

#include <errno.h>
#include <sys/stat.h>

typedef struct {
    char dir[64];
    char path[128];
    char tmp[160]; /* path.tmp, what destroy writes before its rename */
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (!f || !pgs_test_tmpdir(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/usage.spool", f->dir);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp", f->path);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    int rc = pgs_test_rmtree(f->dir);
    free(f);
    return rc;
}

/* The size of the file at path, or -1 when it does not exist. */
static long long
s_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The whole file at path, NUL-terminated (free it), or fails the test. */
static char *
s_read(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("open %s: %s", path, strerror(errno));
    size_t cap = 256, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(fp);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Writes data (len bytes) as the file at path, replacing it. */
static void
s_write(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        fail_msg("create %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* "line-NN", the n-th numbered event. */
static const char *
s_line(char buf[16], int n)
{
    snprintf(buf, 16, "line-%02d", n);
    return buf;
}

/* Pushes lines first..last, each of which must be accepted. */
static void
s_push_range(edge_usage_queue_t *q, int first, int last)
{
    for (int i = first; i <= last; i++) {
        char b[16], what[48];
        snprintf(what, sizeof what, "push of %s", s_line(b, i));
        PGS_EXPECT_INT(what, edge_usage_queue_push(q, b), 0);
    }
}

/* Peeks and pops in batches of the sizes in batches[] (cycled) until the
 * queue is empty, checking that the events come out as lines first..last
 * exactly and that no peek returns more than asked, more than waits, or
 * nothing while something waits. */
static void
s_drain_expect(edge_usage_queue_t *q, int first, int last, const size_t *batches, size_t nb)
{
    const char *lines[16];
    int next = first;
    for (size_t round = 0; edge_usage_queue_len(q) > 0; round++) {
        if (round > 1000)
            fail_msg("the queue does not drain: len %zu after 1000 peeks", edge_usage_queue_len(q));
        size_t want = batches[round % nb];
        assert_true(want <= sizeof lines / sizeof lines[0]);
        size_t waiting = edge_usage_queue_len(q);
        size_t k = edge_usage_queue_peek(q, lines, want);
        if (k == 0)
            fail_msg("peek(%zu) returned 0 while %zu events wait (next %d)", want, waiting, next);
        if (k > want || k > waiting)
            fail_msg("peek(%zu) returned %zu with %zu waiting", want, k, waiting);
        for (size_t i = 0; i < k; i++, next++) {
            char b[16], what[64];
            if (next > last)
                fail_msg("an event after line-%02d: \"%s\"", last, lines[i]);
            snprintf(what, sizeof what, "event %d (peek of %zu, index %zu)", next, want, i);
            PGS_EXPECT_STR(what, lines[i], s_line(b, next));
        }
        edge_usage_queue_pop(q, k);
        PGS_EXPECT_INT("len after a pop", edge_usage_queue_len(q), waiting - k);
    }
    PGS_EXPECT_INT("the last event out", next - 1, last);
}

/* ---- tests ---- */

/* Ten events through a queue holding three in memory: the file appears with
 * the 4th, the order holds through batches of 1, 2, 4 and 10, and the file
 * is cut back to nothing once all are popped. */
static void
test_fifo_memory_and_file(void **state)
{
    s_fixture_t *f = *state;
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 3, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len of a new queue", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("dropped of a new queue", edge_usage_queue_dropped(q), 0);

    s_push_range(q, 1, 3);
    PGS_EXPECT_INT("spool file while memory holds everything (-1: none)", s_size(f->path), -1);
    s_push_range(q, 4, 4);
    PGS_EXPECT_INT("spool file size after the 4th push", s_size(f->path), 8); /* "line-04\n" */
    s_push_range(q, 5, 10);
    PGS_EXPECT_INT("len after 10 pushes", edge_usage_queue_len(q), 10);
    PGS_EXPECT_INT("spool file size after 10 pushes", s_size(f->path), 7 * 8);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    PGS_EXPECT_INT("spool file mode", st.st_mode & 0777, 0600);

    static const size_t batches[] = {1, 2, 4, 10};
    s_drain_expect(q, 1, 10, batches, 4);
    PGS_EXPECT_INT("len after everything is popped", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("spool file size after everything is popped", s_size(f->path), 0);
    PGS_EXPECT_INT("dropped", edge_usage_queue_dropped(q), 0);

    /* The emptied queue starts over: memory first, then the file from 0. */
    s_push_range(q, 1, 5);
    PGS_EXPECT_INT("spool file size after 5 more pushes", s_size(f->path), 2 * 8);
    static const size_t big[] = {10};
    s_drain_expect(q, 1, 5, big, 1);
    PGS_EXPECT_INT("spool file size after the second drain", s_size(f->path), 0);

    edge_usage_queue_destroy(&q);
    PGS_EXPECT_NULL("*q after destroy", q);
}

/* While events wait in the file, pushes go to the file even when memory has
 * room, so they stay behind them. */
static void
test_push_behind_file(void **state)
{
    s_fixture_t *f = *state;
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 2, 1 << 20, NULL);
    assert_non_null(q);
    s_push_range(q, 1, 5);
    const char *lines[4];
    PGS_EXPECT_INT("peek(1)", edge_usage_queue_peek(q, lines, 1), 1);
    PGS_EXPECT_STR("first event", lines[0], "line-01");
    edge_usage_queue_pop(q, 1);
    s_push_range(q, 6, 8);
    PGS_EXPECT_INT("len", edge_usage_queue_len(q), 7);
    PGS_EXPECT_INT("spool file size (lines 3..8)", s_size(f->path), 6 * 8);
    static const size_t batches[] = {3, 1};
    s_drain_expect(q, 2, 8, batches, 2);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("spool file after destroying an empty queue (-1: none)", s_size(f->path), -1);
}

/* peek returns at most what was asked and what waits, leaves the rest of the
 * array alone, returns 0 on an empty queue; pop(0) changes nothing. */
static void
test_peek_pop_bounds(void **state)
{
    s_fixture_t *f = *state;
    const char *sentinel = "untouched";
    const char *lines[12];
    for (size_t i = 0; i < 12; i++)
        lines[i] = sentinel;

    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 4, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("peek(10) on an empty queue", edge_usage_queue_peek(q, lines, 10), 0);
    PGS_EXPECT_STR("lines[0] after a peek returning 0", lines[0], sentinel);
    edge_usage_queue_pop(q, 0);
    edge_usage_queue_pop(q, 3); /* more than waits: nothing to remove */
    PGS_EXPECT_INT("len after pops on an empty queue", edge_usage_queue_len(q), 0);

    s_push_range(q, 1, 3);
    PGS_EXPECT_INT("peek(0)", edge_usage_queue_peek(q, lines, 0), 0);
    PGS_EXPECT_STR("lines[0] after peek(0)", lines[0], sentinel);
    PGS_EXPECT_INT("peek(2) with 3 waiting", edge_usage_queue_peek(q, lines, 2), 2);
    PGS_EXPECT_STR("peek(2) [0]", lines[0], "line-01");
    PGS_EXPECT_STR("peek(2) [1]", lines[1], "line-02");
    PGS_EXPECT_STR("lines[2] after peek(2)", lines[2], sentinel);
    PGS_EXPECT_INT("peek(10) with 3 waiting", edge_usage_queue_peek(q, lines, 10), 3);
    PGS_EXPECT_STR("peek(10) [2]", lines[2], "line-03");
    PGS_EXPECT_STR("lines[3] after peek(10) of 3", lines[3], sentinel);

    edge_usage_queue_pop(q, 0);
    PGS_EXPECT_INT("len after pop(0)", edge_usage_queue_len(q), 3);
    PGS_EXPECT_INT("peek(1) after pop(0)", edge_usage_queue_peek(q, lines, 1), 1);
    PGS_EXPECT_STR("first event after pop(0)", lines[0], "line-01");

    /* 4 in memory, 4 in the file: a peek returns no more than memory holds,
     * and never more than waits. */
    s_push_range(q, 4, 8);
    PGS_EXPECT_INT("len with memory full and 4 in the file", edge_usage_queue_len(q), 8);
    PGS_EXPECT_INT("peek(12) with 4 in memory", edge_usage_queue_peek(q, lines, 12), 4);
    PGS_EXPECT_STR("peek(12) [3]", lines[3], "line-04");
    PGS_EXPECT_STR("lines[4] after peek(12) of 4", lines[4], sentinel);
    edge_usage_queue_pop(q, 4);
    PGS_EXPECT_INT("peek(12) loading from the file", edge_usage_queue_peek(q, lines, 12), 4);
    PGS_EXPECT_STR("loaded [0]", lines[0], "line-05");
    PGS_EXPECT_STR("loaded [3]", lines[3], "line-08");
    PGS_EXPECT_STR("lines[4] after the load", lines[4], sentinel);
    edge_usage_queue_pop(q, 4);
    PGS_EXPECT_INT("len after popping all", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("peek(12) on the emptied queue", edge_usage_queue_peek(q, lines, 12), 0);
    edge_usage_queue_destroy(&q);

    /* destroy of NULL and of an already destroyed queue does nothing. */
    edge_usage_queue_destroy(NULL);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_NULL("q", q);
}

/* With a file limit of 30 bytes ("line-NN\n" is 8: three fit, 32 does not),
 * the pushes past it return -1 and are counted; the others come out in
 * order. A push stays dropped while the file is full even once memory has
 * room (it would jump the file's events), and the drained file takes events
 * again. */
static void
test_max_file_bytes(void **state)
{
    s_fixture_t *f = *state;
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 1, 30, NULL);
    assert_non_null(q);
    s_push_range(q, 1, 4); /* 1 in memory, 2..4 in the file: 24 bytes */
    for (int i = 5; i <= 9; i++) {
        char b[16], what[48];
        snprintf(what, sizeof what, "push of %s past the limit", s_line(b, i));
        PGS_EXPECT_INT(what, edge_usage_queue_push(q, b), -1);
    }
    PGS_EXPECT_INT("dropped", edge_usage_queue_dropped(q), 5);
    PGS_EXPECT_INT("len", edge_usage_queue_len(q), 4);
    PGS_EXPECT_INT("spool file size", s_size(f->path), 24);

    /* A 6-byte line still fits (24 + 6 = 30, the limit itself). */
    PGS_EXPECT_INT("push of a line reaching the limit exactly", edge_usage_queue_push(q, "tiny5"),
                   0);
    PGS_EXPECT_INT("spool file size at the limit", s_size(f->path), 30);
    PGS_EXPECT_INT("push of \"\" past the limit", edge_usage_queue_push(q, ""), -1);
    PGS_EXPECT_INT("dropped", edge_usage_queue_dropped(q), 6);

    const char *lines[4];
    PGS_EXPECT_INT("peek(4)", edge_usage_queue_peek(q, lines, 4), 1);
    PGS_EXPECT_STR("first", lines[0], "line-01");
    edge_usage_queue_pop(q, 1);
    PGS_EXPECT_INT("push with memory empty but the file full", edge_usage_queue_push(q, "late"),
                   -1);
    PGS_EXPECT_INT("dropped", edge_usage_queue_dropped(q), 7);

    static const char *const want[] = {"line-02", "line-03", "line-04", "tiny5"};
    for (size_t i = 0; i < 4; i++) {
        char what[32];
        snprintf(what, sizeof what, "event %zu", i + 2);
        PGS_EXPECT_INT(what, edge_usage_queue_peek(q, lines, 4), 1);
        PGS_EXPECT_STR(what, lines[0], want[i]);
        edge_usage_queue_pop(q, 1);
    }
    PGS_EXPECT_INT("len after the drain", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("spool file size after the drain", s_size(f->path), 0);

    s_push_range(q, 1, 4);
    PGS_EXPECT_INT("dropped after the drained file takes events again", edge_usage_queue_dropped(q),
                   7);
    static const size_t batches[] = {2};
    s_drain_expect(q, 1, 4, batches, 1);
    edge_usage_queue_destroy(&q);
}

/* destroy keeps what waits, memory first then the file's unread part, and a
 * new queue on the same path starts with it; an empty queue's destroy
 * removes the file. */
static void
test_persistence(void **state)
{
    s_fixture_t *f = *state;
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 2, 1 << 20, NULL);
    assert_non_null(q);
    s_push_range(q, 1, 6);
    const char *lines[4];
    PGS_EXPECT_INT("peek(1)", edge_usage_queue_peek(q, lines, 1), 1);
    edge_usage_queue_pop(q, 1);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_NULL("*q after destroy", q);

    char *got = s_read(f->path, NULL);
    PGS_EXPECT_STR("spool file after destroy", got,
                   "line-02\nline-03\nline-04\nline-05\nline-06\n");
    free(got);
    PGS_EXPECT_INT("path.tmp after destroy (-1: none)", s_size(f->tmp), -1);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    PGS_EXPECT_INT("kept file mode", st.st_mode & 0777, 0600);

    q = edge_usage_queue_new(f->path, 2, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len of the queue adopting the file", edge_usage_queue_len(q), 5);
    /* Events 2, 3 popped, then 4 and 5 loaded into memory and 6 unread in
     * the file: destroy keeps 4, 5 (memory) then 6 (the file from where it
     * was read to). */
    PGS_EXPECT_INT("peek(1) after adoption", edge_usage_queue_peek(q, lines, 1), 1);
    PGS_EXPECT_STR("first adopted event", lines[0], "line-02");
    edge_usage_queue_pop(q, 1);
    PGS_EXPECT_INT("peek(4)", edge_usage_queue_peek(q, lines, 4), 1);
    PGS_EXPECT_STR("second adopted event", lines[0], "line-03");
    edge_usage_queue_pop(q, 1);
    PGS_EXPECT_INT("peek(1)", edge_usage_queue_peek(q, lines, 1), 1);
    PGS_EXPECT_STR("third adopted event", lines[0], "line-04");
    edge_usage_queue_destroy(&q);
    got = s_read(f->path, NULL);
    PGS_EXPECT_STR("spool file after the second destroy", got, "line-04\nline-05\nline-06\n");
    free(got);

    q = edge_usage_queue_new(f->path, 2, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len after the second adoption", edge_usage_queue_len(q), 3);
    s_push_range(q, 7, 7); /* behind the adopted ones: in the file */
    static const size_t batches[] = {1, 4};
    s_drain_expect(q, 4, 7, batches, 2);
    PGS_EXPECT_INT("spool file size after the drain", s_size(f->path), 0);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() of the file of a destroyed empty queue", access(f->path, F_OK), -1);

    /* A queue that never needed its file: destroy writes memory to it. */
    q = edge_usage_queue_new(f->path, 100, 1 << 20, NULL);
    assert_non_null(q);
    s_push_range(q, 1, 3);
    PGS_EXPECT_INT("access() while everything is in memory", access(f->path, F_OK), -1);
    edge_usage_queue_destroy(&q);
    got = s_read(f->path, NULL);
    PGS_EXPECT_STR("spool file of a memory-only queue after destroy", got,
                   "line-01\nline-02\nline-03\n");
    free(got);
    q = edge_usage_queue_new(f->path, 100, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len after adopting it", edge_usage_queue_len(q), 3);
    static const size_t all[] = {10};
    s_drain_expect(q, 1, 3, all, 1);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() after destroying the drained queue", access(f->path, F_OK), -1);

    /* A queue that never held anything and has no file: destroy makes none. */
    q = edge_usage_queue_new(f->path, 2, 1 << 20, NULL);
    assert_non_null(q);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() after destroying a queue that never held anything",
                   access(f->path, F_OK), -1);
}

/* A file whose last line has no '\n' (a crash mid-write): the complete lines
 * are the queue, the cut line is dropped and cut off the file at once. */
static void
test_adopt_cut_short(void **state)
{
    s_fixture_t *f = *state;
    s_write(f->path, "a\nb\nc", 5);
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 10, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("spool file size right after new", s_size(f->path), 4);
    PGS_EXPECT_INT("len", edge_usage_queue_len(q), 2);
    char *got = s_read(f->path, NULL);
    PGS_EXPECT_STR("spool file right after new", got, "a\nb\n");
    free(got);

    const char *lines[4];
    PGS_EXPECT_INT("peek(4)", edge_usage_queue_peek(q, lines, 4), 2);
    PGS_EXPECT_STR("first", lines[0], "a");
    PGS_EXPECT_STR("second", lines[1], "b");
    edge_usage_queue_pop(q, 2);
    PGS_EXPECT_INT("len after popping both", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("peek(4) after popping both", edge_usage_queue_peek(q, lines, 4), 0);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() after destroy", access(f->path, F_OK), -1);

    /* Nothing but a cut line: an empty queue, the file emptied. */
    s_write(f->path, "partial", 7);
    q = edge_usage_queue_new(f->path, 10, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len with only a cut line", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("spool file size with only a cut line", s_size(f->path), 0);
    PGS_EXPECT_INT("peek(4)", edge_usage_queue_peek(q, lines, 4), 0);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() after destroy", access(f->path, F_OK), -1);

    /* An empty line is an event too. */
    s_write(f->path, "\nx\n", 3);
    q = edge_usage_queue_new(f->path, 10, 1 << 20, NULL);
    assert_non_null(q);
    PGS_EXPECT_INT("len with an empty line", edge_usage_queue_len(q), 2);
    PGS_EXPECT_INT("peek(4)", edge_usage_queue_peek(q, lines, 4), 2);
    PGS_EXPECT_STR("empty line", lines[0], "");
    PGS_EXPECT_STR("after it", lines[1], "x");
    edge_usage_queue_pop(q, 2);
    edge_usage_queue_destroy(&q);
}

/* Lines loaded from the file stay where peek pointed while pushes grow the
 * ring (its first size is 64 slots: 100 pushes grow it, with the ring
 * wrapped since the first slot was popped). */
static void
test_peeked_valid_across_growth(void **state)
{
    s_fixture_t *f = *state;
    s_write(f->path, "old-1\nold-2\nold-3\n", 18);
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 1000, 1 << 20, NULL);
    assert_non_null(q);
    const char *peeked[3];
    PGS_EXPECT_INT("peek(3) loading the file", edge_usage_queue_peek(q, peeked, 3), 3);
    edge_usage_queue_pop(q, 1); /* old-1; peeked[1], peeked[2] are still unpopped */
    const char *p1 = peeked[1], *p2 = peeked[2];
    PGS_EXPECT_INT("peek(2)", edge_usage_queue_peek(q, peeked, 2), 2);
    assert_ptr_equal(peeked[0], p1);
    assert_ptr_equal(peeked[1], p2);

    for (int i = 1; i <= 100; i++) {
        char b[16];
        snprintf(b, sizeof b, "new-%03d", i);
        PGS_EXPECT_INT("push", edge_usage_queue_push(q, b), 0);
    }
    PGS_EXPECT_INT("len", edge_usage_queue_len(q), 102);
    PGS_EXPECT_STR("first peeked line after 100 pushes", p1, "old-2");
    PGS_EXPECT_STR("second peeked line after 100 pushes", p2, "old-3");

    const char *lines[16];
    size_t k = edge_usage_queue_peek(q, lines, 16);
    PGS_EXPECT_INT("peek(16)", k, 16);
    PGS_EXPECT_STR("peek [0]", lines[0], "old-2");
    PGS_EXPECT_STR("peek [1]", lines[1], "old-3");
    PGS_EXPECT_STR("peek [2]", lines[2], "new-001");
    PGS_EXPECT_STR("peek [15]", lines[15], "new-014");
    edge_usage_queue_pop(q, 16);
    int next = 15;
    for (int guard = 0; guard < 100 && edge_usage_queue_len(q) > 0; guard++) {
        k = edge_usage_queue_peek(q, lines, 16);
        assert_true(k > 0);
        for (size_t i = 0; i < k; i++, next++) {
            char b[16];
            snprintf(b, sizeof b, "new-%03d", next);
            PGS_EXPECT_STR("pushed event", lines[i], b);
        }
        edge_usage_queue_pop(q, k);
    }
    PGS_EXPECT_INT("last pushed event out", next - 1, 100);
    PGS_EXPECT_INT("len after the drain", edge_usage_queue_len(q), 0);
    PGS_EXPECT_INT("spool file size after the drain", s_size(f->path), 0);
    edge_usage_queue_destroy(&q);
}

/* A line longer than the 64 KiB load chunk is not one of the queue's (a
 * damaged file): it is dropped whole, and the normal lines around it come
 * out in order; the queue drains to 0. */
static void
test_long_line(void **state)
{
    s_fixture_t *f = *state;
    enum { LONG = 70000 };
    size_t len = 3 + LONG + 1 + 3 + 3;
    char *data = malloc(len);
    assert_non_null(data);
    memcpy(data, "n0\n", 3);
    memset(data + 3, 'x', LONG);
    memcpy(data + 3 + LONG, "\nn1\nn2\n", 7);
    s_write(f->path, data, len);
    free(data);

    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 10, 1 << 20, NULL);
    assert_non_null(q);
    /* adopted: four lines, the long one among them */
    PGS_EXPECT_INT("len after adopting 3 normal lines and a long one", edge_usage_queue_len(q), 4);

    static const char *const want[] = {"n0", "n1", "n2"};
    size_t normal = 0, pieces = 0;
    const char *lines[8];
    for (int guard = 0; guard < 100 && edge_usage_queue_len(q) > 0; guard++) {
        size_t waiting = edge_usage_queue_len(q);
        size_t k = edge_usage_queue_peek(q, lines, 8);
        if (k == 0)
            fail_msg("peek returned 0 while len is %zu", waiting);
        for (size_t i = 0; i < k; i++) {
            if (lines[i][0] == 'n') {
                if (normal >= 3)
                    fail_msg("a normal line after n2: \"%s\"", lines[i]);
                PGS_EXPECT_STR("normal line", lines[i], want[normal]);
                normal++;
                continue;
            }
            size_t n = strlen(lines[i]);
            if (strspn(lines[i], "x") != n || n >= LONG)
                fail_msg("an event of %zu bytes that is neither a normal line nor a piece of the "
                         "long one",
                         n);
            if (normal != 1)
                fail_msg("a piece of the long line after %zu normal lines, want after n0", normal);
            pieces++;
        }
        edge_usage_queue_pop(q, k);
    }
    PGS_EXPECT_INT("normal lines out", normal, 3);
    PGS_EXPECT_INT("len after popping everything peek gave", edge_usage_queue_len(q), 0);
    /* the long line is not one of ours: dropped whole, never sent in pieces */
    PGS_EXPECT_INT("pieces of the long line sent", pieces, 0);
    PGS_EXPECT_INT("spool file size after the drain", s_size(f->path), 0);
    edge_usage_queue_destroy(&q);
    PGS_EXPECT_INT("access() after destroy", access(f->path, F_OK), -1);
}

/* The weight of "w=<n>;…" is n, of any other line 0. */
static size_t
s_weigh(const char *line, size_t len)
{
    if (len < 3 || memcmp(line, "w=", 2) != 0)
        return 0;
    size_t v = 0;
    for (size_t i = 2; i < len && line[i] >= '0' && line[i] <= '9'; i++)
        v = v * 10 + (size_t)(line[i] - '0');
    return v;
}

/* Weights add up on push (memory, then the file), leave with pop, survive a
 * destroy and a new queue on the file — also for a line that straddles two
 * of adoption's reads — and a line that is not one of ours weighs nothing. */
static void
test_weights(void **state)
{
    s_fixture_t *f = *state;
    edge_usage_queue_t *q = edge_usage_queue_new(f->path, 2, 1 << 22, s_weigh);
    assert_non_null(q);
    PGS_EXPECT_INT("weight of a new queue", edge_usage_queue_weight(q), 0);
    edge_usage_queue_push(q, "w=5;a");
    edge_usage_queue_push(q, "w=7;b");
    edge_usage_queue_push(q, "w=11;c"); /* the file */
    edge_usage_queue_push(q, "other");
    PGS_EXPECT_INT("weight of memory and file", edge_usage_queue_weight(q), 23);
    PGS_EXPECT_INT("len", edge_usage_queue_len(q), 4);
    const char *lines[4];
    assert_int_equal(edge_usage_queue_peek(q, lines, 1), 1);
    edge_usage_queue_pop(q, 1);
    PGS_EXPECT_INT("weight after popping w=5", edge_usage_queue_weight(q), 18);
    edge_usage_queue_destroy(&q);

    q = edge_usage_queue_new(f->path, 2, 1 << 22, s_weigh);
    assert_non_null(q);
    PGS_EXPECT_INT("weight adopted from the file", edge_usage_queue_weight(q), 18);
    size_t k = edge_usage_queue_peek(q, lines, 4);
    edge_usage_queue_pop(q, k);
    PGS_EXPECT_INT("weight after popping what peek gave", edge_usage_queue_weight(q),
                   k >= 2 ? 0 : 11);
    k = edge_usage_queue_peek(q, lines, 4);
    edge_usage_queue_pop(q, k);
    PGS_EXPECT_INT("weight of the emptied queue", edge_usage_queue_weight(q), 0);
    edge_usage_queue_destroy(&q);

    /* A file whose second line crosses the 64 KiB boundary of a read. */
    size_t pad = 65536 - 10;
    size_t len = pad + 1 + 64;
    char *data = malloc(len + 1);
    assert_non_null(data);
    memcpy(data, "w=3;", 4);
    memset(data + 4, 'x', pad - 4);
    data[pad] = '\n';
    int n = snprintf(data + pad + 1, 64, "w=40;%s", "straddles the boundary");
    data[pad + 1 + (size_t)n] = '\n';
    s_write(f->path, data, pad + 2 + (size_t)n);
    free(data);
    q = edge_usage_queue_new(f->path, 10, 1 << 22, s_weigh);
    assert_non_null(q);
    PGS_EXPECT_INT("lines adopted", edge_usage_queue_len(q), 2);
    PGS_EXPECT_INT("weight of a line straddling two reads", edge_usage_queue_weight(q), 43);
    k = edge_usage_queue_peek(q, lines, 4);
    PGS_EXPECT_INT("lines loaded", k, 2);
    PGS_EXPECT_INT("weight once loaded into memory", edge_usage_queue_weight(q), 43);
    edge_usage_queue_pop(q, k);
    PGS_EXPECT_INT("weight after the drain", edge_usage_queue_weight(q), 0);
    edge_usage_queue_destroy(&q);
}

int
main(void)
{
    pgs_log_set_level("error"); /* spool and drop lines are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fifo_memory_and_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_push_behind_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peek_pop_bounds, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_max_file_bytes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_persistence, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_adopt_cut_short, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_peeked_valid_across_growth, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_long_line, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_weights, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("edge_usage_queue", tests, NULL, NULL);
}
