/*
 * edge_usage_queue — see edge_usage_queue.h.
 *
 * The queue is memory (a ring of lines, the oldest events) followed by the
 * file's unread part (read_off to the end): a push goes to memory only
 * while the file has nothing unread, so the order holds. Events are loaded
 * from the file into memory when memory runs empty; the file is cut back to
 * nothing once everything it held has been popped (a crash before that
 * sends some events again, which the usage service recognises by their id).
 */
#include "edge_usage_queue.h"
#include "pgs_log.h"
#include "pgs_space.h"
#include "pgs_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define S_LOAD_CHUNK 65536

struct edge_usage_queue {
    char *path;
    char **ring;
    size_t head, count, cap, max_memory;
    int fd;              /* the spool file, -1 until needed */
    long long file_size; /* bytes in it */
    long long read_off;  /* bytes loaded into memory */
    size_t file_lines;   /* events in it not loaded yet */
    long long max_file;
    unsigned long long dropped;
    int64_t last_warn;
    edge_usage_queue_weight_fn weight;
    unsigned long long weight_mem, weight_file; /* of the ring's lines, of the file's unread */
};

static size_t
s_weight(const edge_usage_queue_t *q, const char *line, size_t len)
{
    return q->weight ? q->weight(line, len) : 1;
}

static int
s_open(edge_usage_queue_t *q)
{
    if (q->fd >= 0)
        return 0;
    q->fd = open(q->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    return q->fd >= 0 ? 0 : -1;
}

/* An earlier process's file: its complete lines are the queue (a last line
 * cut short by a crash is dropped). A line is weighed whole: one that
 * straddles two reads is put together in carry first (one longer than the
 * load chunk is not one of ours: s_load drops it, and it weighs nothing). */
static void
s_adopt(edge_usage_queue_t *q)
{
    struct stat st;
    if (stat(q->path, &st) < 0 || st.st_size == 0 || s_open(q) < 0)
        return;
    static char buf[S_LOAD_CHUNK], carry[S_LOAD_CHUNK];
    size_t ncarry = 0;
    int overlong = 0;
    long long off = 0, last_nl = -1;
    ssize_t n;
    while ((n = pread(q->fd, buf, sizeof buf, off)) > 0) {
        ssize_t start = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n')
                continue;
            q->file_lines++;
            last_nl = off + i;
            size_t len = (size_t)(i - start);
            if (ncarry && !overlong && ncarry + len <= sizeof carry) {
                memcpy(carry + ncarry, buf + start, len);
                q->weight_file += s_weight(q, carry, ncarry + len);
            } else if (!ncarry && !overlong) {
                q->weight_file += s_weight(q, buf + start, len);
            }
            ncarry = 0;
            overlong = 0;
            start = i + 1;
        }
        size_t rest = (size_t)(n - start);
        if (ncarry + rest <= sizeof carry) {
            memcpy(carry + ncarry, buf + start, rest);
            ncarry += rest;
        } else {
            overlong = 1;
        }
        off += n;
    }
    q->file_size = last_nl + 1;
    if (q->file_size != off && ftruncate(q->fd, q->file_size) < 0)
        pgs_warn("usage spool %s: %s", q->path, strerror(errno));
    if (q->file_lines)
        pgs_info("usage spool %s: %zu events from before are queued", q->path, q->file_lines);
}

edge_usage_queue_t *
edge_usage_queue_new(const char *path, size_t max_memory, long long max_file_bytes,
                     edge_usage_queue_weight_fn weight)
{
    edge_usage_queue_t *q = calloc(1, sizeof *q);
    if (!q || !(q->path = strdup(path))) {
        free(q);
        return NULL;
    }
    q->fd = -1;
    q->max_memory = max_memory ? max_memory : 1;
    q->max_file = max_file_bytes;
    q->weight = weight;
    s_adopt(q);
    return q;
}

static void
s_drop(edge_usage_queue_t *q, const char *why)
{
    q->dropped++;
    int64_t now = pgs_time_mono_ms();
    if (now - q->last_warn >= 10000) {
        q->last_warn = now;
        pgs_warn("usage event dropped (%llu so far): %s", q->dropped, why);
    }
}

static int
s_ring_push(edge_usage_queue_t *q, char *line)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        if (cap > q->max_memory)
            cap = q->max_memory;
        char **r = malloc(cap * sizeof *r);
        if (!r)
            return -1;
        for (size_t i = 0; i < q->count; i++)
            r[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = r;
        q->head = 0;
        q->cap = cap;
    }
    q->ring[(q->head + q->count) % q->cap] = line;
    q->count++;
    return 0;
}

int
edge_usage_queue_push(edge_usage_queue_t *q, const char *line)
{
    size_t n = strlen(line);
    if (q->file_lines == 0 && q->count < q->max_memory) {
        char *copy = strdup(line);
        if (copy && s_ring_push(q, copy) == 0) {
            q->weight_mem += s_weight(q, line, n);
            return 0;
        }
        free(copy);
    }
    if (q->file_size + (long long)n + 1 > q->max_file) {
        s_drop(q, "the usage spool file is full");
        return -1;
    }
    if (s_open(q) < 0) {
        s_drop(q, strerror(errno));
        return -1;
    }
    struct iovec iov[2] = {{(void *)line, n}, {"\n", 1}};
    ssize_t w = pwritev(q->fd, iov, 2, q->file_size);
    if (w != (ssize_t)n + 1) {
        int err = w < 0 ? errno : ENOSPC;
        pgs_space_note(err);
        s_drop(q, strerror(err));
        return -1;
    }
    q->file_size += w;
    q->file_lines++;
    q->weight_file += s_weight(q, line, n);
    return 0;
}

size_t
edge_usage_queue_len(const edge_usage_queue_t *q)
{
    return q->count + q->file_lines;
}

unsigned long long
edge_usage_queue_weight(const edge_usage_queue_t *q)
{
    return q->weight_mem + q->weight_file;
}

unsigned long long
edge_usage_queue_dropped(const edge_usage_queue_t *q)
{
    return q->dropped;
}

/* Moves events from the file into memory, up to what memory holds. */
static void
s_load(edge_usage_queue_t *q)
{
    char buf[S_LOAD_CHUNK];
    int skipping = 0; /* in a line longer than the chunk: not one of ours */
    while (q->file_lines && q->count < q->max_memory) {
        ssize_t n = pread(q->fd, buf, sizeof buf, q->read_off);
        if (n <= 0)
            break;
        ssize_t start = 0;
        for (ssize_t i = 0; i < n && q->file_lines && q->count < q->max_memory; i++) {
            if (buf[i] != '\n')
                continue;
            if (skipping) {
                skipping = 0; /* the long line ends here: dropped whole */
                q->file_lines--;
                start = i + 1;
                continue;
            }
            char *line = malloc((size_t)(i - start) + 1);
            if (!line || s_ring_push(q, line) < 0) {
                free(line);
                return;
            }
            memcpy(line, buf + start, (size_t)(i - start));
            line[i - start] = '\0';
            size_t w = s_weight(q, line, (size_t)(i - start));
            q->weight_mem += w;
            q->weight_file -= w < q->weight_file ? w : q->weight_file;
            q->file_lines--;
            start = i + 1;
        }
        if (start == 0 && !memchr(buf, '\n', (size_t)n)) {
            skipping = 1;
            start = n;
        }
        q->read_off += start;
    }
}

size_t
edge_usage_queue_peek(edge_usage_queue_t *q, const char **lines, size_t n)
{
    if (q->count == 0 && q->file_lines)
        s_load(q);
    size_t k = n < q->count ? n : q->count;
    for (size_t i = 0; i < k; i++)
        lines[i] = q->ring[(q->head + i) % q->cap];
    return k;
}

void
edge_usage_queue_pop(edge_usage_queue_t *q, size_t n)
{
    for (size_t i = 0; i < n && q->count; i++) {
        const char *line = q->ring[q->head];
        size_t w = s_weight(q, line, strlen(line));
        q->weight_mem -= w < q->weight_mem ? w : q->weight_mem;
        free(q->ring[q->head]);
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    if (q->count == 0 && q->file_lines == 0 && q->file_size > 0) {
        /* Everything the file held is sent: it starts over. */
        if (ftruncate(q->fd, 0) < 0)
            pgs_warn("usage spool %s: %s", q->path, strerror(errno));
        q->file_size = q->read_off = 0;
        q->weight_file = 0;
    }
}

/* Writes what waits to path.tmp and renames it over path. */
static int
s_save(edge_usage_queue_t *q)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", q->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int ok = 1;
    for (size_t i = 0; i < q->count && ok; i++) {
        const char *l = q->ring[(q->head + i) % q->cap];
        struct iovec iov[2] = {{(void *)l, strlen(l)}, {"\n", 1}};
        ok = writev(fd, iov, 2) == (ssize_t)iov[0].iov_len + 1;
    }
    char buf[S_LOAD_CHUNK];
    long long off = q->read_off;
    ssize_t n;
    while (ok && q->fd >= 0 && (n = pread(q->fd, buf, sizeof buf, off)) > 0) {
        ok = write(fd, buf, (size_t)n) == n;
        off += n;
    }
    ok = ok && fsync(fd) == 0;
    if (close(fd) < 0 || !ok || rename(tmp, q->path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void
edge_usage_queue_destroy(edge_usage_queue_t **qp)
{
    if (!qp || !*qp)
        return;
    edge_usage_queue_t *q = *qp;
    size_t waiting = edge_usage_queue_len(q);
    if (waiting == 0) {
        if (q->fd >= 0 || access(q->path, F_OK) == 0)
            unlink(q->path);
    } else if (s_save(q) == 0) {
        pgs_info("usage spool %s: %zu events kept for the next start", q->path, waiting);
    } else {
        pgs_error("usage spool %s: cannot keep %zu events: %s", q->path, waiting, strerror(errno));
    }
    if (q->fd >= 0)
        close(q->fd);
    for (size_t i = 0; i < q->count; i++)
        free(q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    free(q->path);
    free(q);
    *qp = NULL;
}
