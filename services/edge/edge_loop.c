/*
 * edge_loop — see edge_loop.h. Registrations live in a table indexed by fd,
 * so a callback that unwatches another fd in the same batch is safe: the
 * event for it is skipped when its slot is empty or was re-registered.
 */
#include "edge_loop.h"
#include "pgs_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct {
    edge_loop_fn fn;
    void *arg;
    uint32_t events;
    uint64_t gen;
} s_slot_t;

struct edge_loop {
    int epfd;
    s_slot_t *slots;
    int nslots;
    uint64_t gen;
};

edge_loop_t *
edge_loop_new(void)
{
    edge_loop_t *loop = calloc(1, sizeof *loop);
    if (!loop)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        free(loop);
        return NULL;
    }
    return loop;
}

void
edge_loop_destroy(edge_loop_t **loopp)
{
    if (!loopp || !*loopp)
        return;
    close((*loopp)->epfd);
    free((*loopp)->slots);
    free(*loopp);
    *loopp = NULL;
}

int
edge_loop_watch(edge_loop_t *loop, int fd, uint32_t events, edge_loop_fn fn, void *arg)
{
    if (fd < 0)
        return -1;
    if (fd >= loop->nslots) {
        int n = loop->nslots ? loop->nslots : 64;
        while (n <= fd)
            n *= 2;
        s_slot_t *p = realloc(loop->slots, (size_t)n * sizeof *p);
        if (!p)
            return -1;
        memset(p + loop->nslots, 0, (size_t)(n - loop->nslots) * sizeof *p);
        loop->slots = p;
        loop->nslots = n;
    }
    s_slot_t *s = &loop->slots[fd];
    if (s->fn == fn && s->arg == arg && s->events == events)
        return 0; /* as it is: no system call */
    struct epoll_event ev = {.events = events, .data.u64 = ((uint64_t)(++loop->gen) << 32) | (uint32_t)fd};
    int op = s->fn ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
        pgs_error("epoll_ctl fd=%d: %s", fd, strerror(errno));
        return -1;
    }
    s->fn = fn;
    s->arg = arg;
    s->events = events;
    s->gen = loop->gen;
    return 0;
}

void
edge_loop_unwatch(edge_loop_t *loop, int fd)
{
    if (fd < 0 || fd >= loop->nslots || !loop->slots[fd].fn)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&loop->slots[fd], 0, sizeof loop->slots[fd]);
}

int
edge_loop_run_once(edge_loop_t *loop, int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(loop->epfd, evs, 64, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)evs[i].data.u64;
        uint64_t gen = evs[i].data.u64 >> 32;
        if (fd >= loop->nslots)
            continue;
        s_slot_t *s = &loop->slots[fd];
        if (!s->fn || (s->gen & 0xffffffffu) != gen)
            continue;
        s->fn(s->arg, evs[i].events);
        ran++;
    }
    return ran;
}
