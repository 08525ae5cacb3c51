/*
 * edge_loop — the edge's one event loop: an epoll set of file descriptors,
 * each with a callback, and a wake-up at least every tick for timers.
 * Nothing registered here may block.
 */
#ifndef EDGE_LOOP_H
#define EDGE_LOOP_H

#include <stdint.h>

typedef struct edge_loop edge_loop_t;
typedef void (*edge_loop_fn)(void *arg, uint32_t events);

/* A new loop, or NULL. */
edge_loop_t *edge_loop_new(void);

/* Frees the loop (registered fds are not closed); sets *loop to NULL. */
void edge_loop_destroy(edge_loop_t **loop);

/* Watches fd for events (EPOLLIN/EPOLLOUT…); a second call for the same fd
 * replaces its events and callback (and costs nothing when they are the
 * same). Returns 0 or -1. */
int edge_loop_watch(edge_loop_t *loop, int fd, uint32_t events, edge_loop_fn fn, void *arg);

/* Stops watching fd (before it is closed). No-op when not watched. */
void edge_loop_unwatch(edge_loop_t *loop, int fd);

/* Waits up to timeout_ms for events and runs their callbacks.
 * Returns the number of callbacks run, or -1 on a fatal error. */
int edge_loop_run_once(edge_loop_t *loop, int timeout_ms);

#endif
