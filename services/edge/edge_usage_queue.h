/*
 * edge_usage_queue — the usage events that wait for Redis, oldest first:
 * up to max_memory of them in memory, the rest appended to a spool file
 * (one event per line) of at most max_file_bytes; past that an event is
 * dropped and counted. The file outlives the process: a new queue on the
 * same path starts with what an earlier one left in it, and destroying a
 * queue writes what it holds in memory to the file first, so a restart or a
 * crash of the edge loses at most the events in memory at a crash.
 *
 * An event is one line of text without '\n' (edge_usage's format). The
 * queue does no I/O but on its file, and none when it stays in memory.
 *
 * Each line has a weight — the requests it counts, as the weight function
 * given to edge_usage_queue_new reads it off the line (NULL: 1 per line) —
 * so that what waits can be told in requests, whichever part holds it.
 */
#ifndef EDGE_USAGE_QUEUE_H
#define EDGE_USAGE_QUEUE_H

#include <stddef.h>

typedef struct edge_usage_queue edge_usage_queue_t;

/* The weight of one line (len bytes, not NUL-terminated). */
typedef size_t (*edge_usage_queue_weight_fn)(const char *line, size_t len);

/* A queue spooling to path (created when needed, mode 0600). NULL when out
 * of memory. An existing file's events come first. */
edge_usage_queue_t *edge_usage_queue_new(const char *path, size_t max_memory,
                                         long long max_file_bytes,
                                         edge_usage_queue_weight_fn weight);

/* Writes the events in memory (then the file's unread ones) to the file,
 * or removes the file when nothing waits; frees; sets *q to NULL. */
void edge_usage_queue_destroy(edge_usage_queue_t **q);

/* Adds an event at the end. 0, or -1 when it was dropped (the file is full
 * or cannot be written; logged, counted). */
int edge_usage_queue_push(edge_usage_queue_t *q, const char *line);

/* Events waiting, in memory and in the file. */
size_t edge_usage_queue_len(const edge_usage_queue_t *q);

/* The sum of their weights. */
unsigned long long edge_usage_queue_weight(const edge_usage_queue_t *q);

/* Events dropped since the queue was made. */
unsigned long long edge_usage_queue_dropped(const edge_usage_queue_t *q);

/* Sets lines[0..k) to the first k ≤ n events (loading them from the file
 * when memory holds none) and returns k. They stay valid until popped. */
size_t edge_usage_queue_peek(edge_usage_queue_t *q, const char **lines, size_t n);

/* Removes the first n events (n ≤ what peek returned). */
void edge_usage_queue_pop(edge_usage_queue_t *q, size_t n);

#endif
