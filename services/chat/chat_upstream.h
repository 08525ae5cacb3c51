/*
 * chat_upstream — calls to OpenAI-compatible /v1/chat/completions servers
 * with libcurl's multi socket interface on the worker's loop (fd watches and
 * timers), so the worker keeps heartbeating and serving while a model
 * answers, and sleeps while it says nothing.
 *
 * A call always asks for a stream ("stream": true, usage included) and
 * accepts either an event stream or one JSON completion (servers that
 * ignore "stream"). The API key goes only into the Authorization header;
 * it is never logged nor put into an error message.
 */
#ifndef CHAT_UPSTREAM_H
#define CHAT_UPSTREAM_H

#include "pgs_worker.h"

#include <stddef.h>

typedef struct chat_upstream chat_upstream_t;
typedef struct chat_call chat_call_t;

typedef enum {
    CHAT_CALL_OK = 0,
    CHAT_CALL_HTTP_ERROR, /* the upstream answered a status ≥ 300 */
    CHAT_CALL_TIMEOUT,    /* no byte for timeout_ms, or no connection */
    CHAT_CALL_FAILED,     /* unreachable, reset, or an answer we cannot read */
} chat_call_status_t;

typedef struct {
    chat_call_status_t status;
    long http_status;
    long long prompt_tokens, completion_tokens; /* -1 when not reported */
} chat_call_result_t;

typedef struct {
    /* The upstream accepted the call (2xx headers): a stream can begin. */
    void (*on_start)(void *arg);
    /* A piece of the answer (UTF-8, never empty). */
    void (*on_delta)(void *arg, const char *text, size_t len);
    /* The call ended; the handle is freed after this returns. */
    void (*on_done)(void *arg, const chat_call_result_t *r);
} chat_call_cb_t;

/* A client on w's loop; NULL when libcurl cannot start. */
chat_upstream_t *chat_upstream_new(pgs_worker_t *w);

/* Aborts every call without callbacks, frees, sets *u to NULL. */
void chat_upstream_destroy(chat_upstream_t **u);

/* Starts POST {base_url}/v1/chat/completions (a base_url that already
 * ends in /v1 is not doubled) with the JSON body. api_key may be NULL or
 * "" (no Authorization header). Returns the call (owned by u) or NULL. */
chat_call_t *chat_upstream_start(chat_upstream_t *u, const char *base_url, const char *api_key,
                                 const char *body, long timeout_ms, const chat_call_cb_t *cb,
                                 void *arg);

/* Aborts one call without callbacks. */
void chat_upstream_cancel(chat_upstream_t *u, chat_call_t *call);

/* Number of calls in flight. */
int chat_upstream_active(const chat_upstream_t *u);

#endif
