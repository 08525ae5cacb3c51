/*
 * pgs_worker — see pgs_worker.h.
 *
 * One loop turn: zmq_poll over the edge sockets, the fd watches and the
 * thread pool's eventfd, for at most the time to the next timer; then every
 * message waiting on every edge, the ready fds, the finished offloaded work
 * and the due timers.
 *
 * Liveness follows the Paranoid Pirate pattern: each side heartbeats every
 * second and treats 3 silent seconds as death — silent meaning nothing read
 * from the peer and nothing waiting to be read: a message still in the
 * socket is a sign of life, so a busy worker never judges a live edge dead.
 * A worker that hears nothing from an edge for that long drops its socket
 * and connects afresh, so an edge that restarted learns about the worker
 * through a new READY.
 */
#include "pgs_worker.h"
#include "pgs_edges.h"
#include "pgs_headers.h"
#include "pgs_conf.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_meta.h"
#include "pgs_proto.h"
#include "pgs_space.h"
#include "pgs_time.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_EDGES PGS_CONF_MAX_EDGES
#define S_HEARTBEAT_MS 1000
#define S_LIVENESS_MS 3000
#define S_HOUSEKEEP_MS 250
#define S_LEAVE_MIN_MS 300 /* requests sent before the edge saw DISCONNECT */
#define S_PIECE_IDLE_MS 10000 /* a body in pieces whose next piece never came */
#define S_SCRATCH (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME + 64)

typedef struct {
    void *sock;
    char endpoint[512];
    int64_t last_seen;
    int64_t last_sent;
} s_edge_t;

typedef struct {
    char *route;
    pgs_handler_fn fn;
    void *arg;
} s_route_t;

typedef struct {
    int id;
    int period; /* 0: one-shot */
    int64_t due;
    pgs_timer_fn fn;
    void *arg;
} s_timer_t;

typedef struct {
    int fd, events;
    pgs_fd_fn fn;
    void *arg;
} s_watch_t;

/* A request to another service waiting for its reply. */
typedef struct s_out {
    struct s_out *next, *prev;
    pgs_worker_t *w;
    uint64_t id;
    int timer;
    void (*fn)(void *arg, pgs_res_t *reply);
    void *arg;
    int assembling;         /* a REPLY with MORE or STREAM came: pieces follow */
    pgs_res_t partial;      /* its status, headers and meta */
    pgs_proto_body_t body;  /* and its body so far */
} s_out_t;

/* A continuation of a call. */
typedef struct {
    pgs_call_t *call;
    pgs_then_fn then;  /* after a request to another service, or */
    pgs_handler_fn done; /* after offloaded work */
    void (*work)(void *arg);
    void *arg;
} s_cont_t;

/* Offloaded work. */
typedef struct s_job {
    struct s_job *next;
    void (*work)(void *arg);
    void (*done)(void *arg);
    void *arg;
} s_job_t;

typedef struct {
    pthread_t *threads;
    unsigned nthreads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    s_job_t *todo_head, *todo_tail;
    s_job_t *done_head, *done_tail;
    unsigned pending; /* queued or running or done but not yet delivered */
    int quit;
    int efd;
} s_pool_t;

struct pgs_call {
    pgs_call_t *next, *prev; /* the worker's open calls */
    pgs_worker_t *w;
    int edge;
    pgs_req_t req;
    pgs_ctx_t ctx;        /* req.ctx */
    char *params_text;    /* req.params_text */
    json_t *params;       /* *req.params_cache */
    pgs_proto_inbox_t in; /* the message the body borrows from */
    char route[PGS_PROTO_MAX_NAME + 1];
    char request_id[128];
    int in_handler, answered;
    int partial, too_large; /* its body comes in BODY pieces */
    pgs_proto_body_t body;  /* where they are put together */
    int64_t last_piece;
    uint64_t space_mark; /* pgs_space_refusals() when its handler began */
};

struct pgs_worker {
    char name[PGS_PROTO_MAX_NAME + 1];
    pgs_config_t *cfg;
    char home[1024];
    char instance[64];
    void *zctx;
    s_edge_t edges[S_MAX_EDGES];
    int nedges;
    unsigned capacity;
    long long stop_timeout_ms;
    s_route_t *routes;
    size_t nroutes;
    s_timer_t *timers;
    size_t ntimers, captimers;
    int next_timer;
    s_watch_t *watches;
    size_t nwatches, capwatches;
    s_out_t *outs;
    uint64_t next_out_id;
    pgs_call_t *calls;   /* calls not yet answered */
    unsigned calls_open; /* how many */
    s_pool_t pool;
    pgs_call_t *spare; /* where the next message is received */
    char *scratch;
    int64_t longest_turn_ms, last_stall_log;
    int64_t last_version_log;
};

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

const pgs_config_t *
pgs_worker_config(const pgs_worker_t *w)
{
    return w->cfg;
}

const char *
pgs_worker_home(const pgs_worker_t *w)
{
    return w->home;
}

const char *
pgs_worker_instance(const pgs_worker_t *w)
{
    return w->instance;
}

/* ---- sending ---- */

/* Sends one message (whole = 0) or a REQUEST or REPLY with a body of any
 * size, in pieces when it needs them (whole = 1). */
static int
s_send_as(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg, int whole)
{
    if (e < 0 || e >= w->nedges || !w->edges[e].sock) {
        errno = ENOTCONN;
        return -1;
    }
    void *sock = w->edges[e].sock;
    int rc = whole ? pgs_proto_send_whole(sock, NULL, 0, msg) : pgs_proto_send(sock, NULL, 0, msg);
    if (rc == 0)
        w->edges[e].last_sent = pgs_time_mono_ms();
    return rc;
}

static int
s_send(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg)
{
    return s_send_as(w, e, msg, 0);
}

/* A REPLY: the start of a stream (flags PGS_PROTO_STREAM), or a whole
 * reply in as many pieces as its body needs. */
static int
s_send_reply(pgs_worker_t *w, int e, uint64_t id, int status, unsigned flags, json_t *headers,
             const pgs_meta_t *meta, const char *body, size_t len)
{
    char *text = headers ? pgs_headers_format(headers) : NULL;
    char *mtext = meta && !pgs_meta_is_empty(meta) ? pgs_meta_format(meta) : NULL;
    pgs_proto_msg_t reply = {.cmd = PGS_PROTO_REPLY,
                             .id = id,
                             .status = status,
                             .flags = flags,
                             .headers = text ? text : "",
                             .meta = mtext ? mtext : "",
                             .body = body,
                             .body_len = len};
    int rc = s_send_as(w, e, &reply, !(flags & PGS_PROTO_STREAM));
    free(text);
    free(mtext);
    return rc;
}

void
pgs_worker_keepalive(pgs_worker_t *w)
{
    int64_t now = pgs_time_mono_ms();
    for (int e = 0; e < w->nedges; e++) {
        if (now - w->edges[e].last_sent >= S_HEARTBEAT_MS) {
            pgs_proto_msg_t hb = {.cmd = PGS_PROTO_HEARTBEAT};
            s_send(w, e, &hb);
        }
    }
}

int
pgs_worker_keepalive_fn(void *worker)
{
    pgs_worker_keepalive(worker);
    return 0;
}

/* ---- calls: requests being answered ---- */

static pgs_call_t *
s_call_new(pgs_worker_t *w)
{
    pgs_call_t *c = calloc(1, sizeof *c);
    if (c)
        c->w = w;
    return c;
}

static void
s_call_free(pgs_call_t *c)
{
    json_decref(c->params);
    free(c->params_text);
    pgs_proto_inbox_close(&c->in);
    pgs_proto_body_free(&c->body);
    free(c);
}

static void
s_call_open(pgs_worker_t *w, pgs_call_t *c)
{
    c->prev = NULL;
    c->next = w->calls;
    if (w->calls)
        w->calls->prev = c;
    w->calls = c;
    w->calls_open++;
}

static void
s_call_close(pgs_call_t *c)
{
    pgs_worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->calls_open--;
    s_call_free(c);
}

/* The call was answered: free it now, or when its handler returns. */
static void
s_call_answered(pgs_call_t **cp)
{
    pgs_call_t *c = *cp;
    *cp = NULL;
    c->answered = 1;
    if (!c->in_handler)
        s_call_close(c);
}

/* What a handler or a continuation of c did (it ran with c->in_handler
 * set): answered c itself, or left it for later, or res is the reply. */
static void
s_call_settle(pgs_call_t *c, pgs_handled_t how, pgs_res_t *res)
{
    c->in_handler = 0;
    if (c->answered) {
        pgs_res_clear(res); /* answered from inside (a stream made at once) */
        s_call_close(c);
    } else if (how == PGS_LATER) {
        pgs_res_clear(res);
    } else {
        pgs_call_reply(&c, res);
    }
}

const pgs_req_t *
pgs_call_req(const pgs_call_t *call)
{
    return &call->req;
}

void
pgs_call_reply(pgs_call_t **cp, pgs_res_t *res)
{
    if (!cp || !*cp) {
        pgs_res_clear(res);
        return;
    }
    pgs_call_t *c = *cp;
    if (res->status < 100 || res->status > 599) {
        pgs_error("route %s answered no status", c->route);
        pgs_res_error(res, &c->req, 500, "internal_error", "Internal error.", NULL);
    }
    if (res->status == 500 && pgs_space_refusals() != c->space_mark) {
        /* A write failed for lack of space while this call ran (its own,
         * most likely): the client can retry later, and is told so. */
        PGS_LOG(PGS_LOG_WARN, c->request_id, "no space left on the disk: 507");
        pgs_res_clear(res);
        pgs_res_error(res, &c->req, 507, "insufficient_storage", PGS_SPACE_MESSAGE, NULL);
        pgs_res_header(res, "Retry-After", PGS_SPACE_RETRY_AFTER);
    }
    int rc = s_send_reply(c->w, c->edge, c->req.id, res->status, 0, res->headers, &res->meta,
                          res->body, res->body_len);
    if (rc < 0 && errno == EMSGSIZE) {
        /* Larger than any body may be: a clear error instead. */
        PGS_LOG(PGS_LOG_WARN, c->request_id, "reply of %zu bytes is over the %zu-byte limit",
                res->body_len, PGS_PROTO_MAX_TOTAL);
        pgs_res_error(res, &c->req, 500, "internal_error",
                      "The answer is larger than 256 MiB and cannot be sent.", NULL);
        rc = s_send_reply(c->w, c->edge, c->req.id, res->status, 0, res->headers, &res->meta,
                          res->body, res->body_len);
    }
    if (rc < 0)
        PGS_LOG(PGS_LOG_WARN, c->request_id, "reply not sent: %s", zmq_strerror(errno));
    pgs_res_clear(res);
    s_call_answered(cp);
}

int
pgs_call_stream_begin(pgs_call_t *c, int status, json_t *headers, const pgs_meta_t *meta)
{
    return s_send_reply(c->w, c->edge, c->req.id, status, PGS_PROTO_STREAM, headers, meta, NULL,
                        0);
}

int
pgs_call_stream_chunk(pgs_call_t *c, const void *data, size_t len)
{
    const char *p = data;
    do {
        size_t n = len < PGS_PROTO_PIECE ? len : PGS_PROTO_PIECE;
        pgs_proto_msg_t m = {.cmd = PGS_PROTO_CHUNK, .id = c->req.id, .body = p, .body_len = n};
        if (s_send(c->w, c->edge, &m) < 0)
            return -1;
        p += n;
        len -= n;
    } while (len);
    return 0;
}

void
pgs_call_stream_end(pgs_call_t **cp, int ok, const pgs_meta_t *meta)
{
    if (!cp || !*cp)
        return;
    char *mtext = meta && !pgs_meta_is_empty(meta) ? pgs_meta_format(meta) : NULL;
    pgs_proto_msg_t m = {
        .cmd = PGS_PROTO_END, .id = (*cp)->req.id, .ok = ok, .meta = mtext ? mtext : ""};
    s_send((*cp)->w, (*cp)->edge, &m);
    free(mtext);
    s_call_answered(cp);
}

/* ---- registrations ---- */

int
pgs_worker_routes(pgs_worker_t *w, const pgs_route_t *routes, void *arg)
{
    size_t n = 0;
    while (routes[n].route)
        n++;
    s_route_t *p = realloc(w->routes, (w->nroutes + n) * sizeof *p);
    if (!p)
        return -1;
    w->routes = p;
    for (size_t i = 0; i < n; i++) {
        char *name = strdup(routes[i].route);
        if (!name)
            return -1;
        w->routes[w->nroutes++] = (s_route_t){name, routes[i].fn, arg};
    }
    return 0;
}

static int
s_timer_add(pgs_worker_t *w, int ms, int period, pgs_timer_fn fn, void *arg)
{
    if (ms < 0)
        ms = 0;
    if (w->ntimers == w->captimers) {
        size_t cap = w->captimers ? w->captimers * 2 : 16;
        s_timer_t *p = realloc(w->timers, cap * sizeof *p);
        if (!p)
            return -1;
        w->timers = p;
        w->captimers = cap;
    }
    if (++w->next_timer <= 0)
        w->next_timer = 1;
    w->timers[w->ntimers++] =
        (s_timer_t){w->next_timer, period, pgs_time_mono_ms() + ms, fn, arg};
    return w->next_timer;
}

int
pgs_worker_every(pgs_worker_t *w, int ms, pgs_timer_fn fn, void *arg)
{
    return s_timer_add(w, ms, ms > 0 ? ms : 1, fn, arg);
}

int
pgs_worker_after(pgs_worker_t *w, int ms, pgs_timer_fn fn, void *arg)
{
    return s_timer_add(w, ms, 0, fn, arg);
}

void
pgs_worker_cancel(pgs_worker_t *w, int id)
{
    if (id <= 0)
        return;
    for (size_t i = 0; i < w->ntimers; i++) {
        if (w->timers[i].id == id) {
            w->timers[i].fn = NULL; /* removed after the current pass */
            return;
        }
    }
}

int
pgs_worker_watch(pgs_worker_t *w, int fd, int events, pgs_fd_fn fn, void *arg)
{
    for (size_t i = 0; i < w->nwatches; i++) {
        if (w->watches[i].fd != fd)
            continue;
        if (events)
            w->watches[i] = (s_watch_t){fd, events, fn, arg};
        else
            w->watches[i] = w->watches[--w->nwatches];
        return 0;
    }
    if (!events)
        return 0;
    if (w->nwatches == w->capwatches) {
        size_t cap = w->capwatches ? w->capwatches * 2 : 8;
        s_watch_t *p = realloc(w->watches, cap * sizeof *p);
        if (!p)
            return -1;
        w->watches = p;
        w->capwatches = cap;
    }
    w->watches[w->nwatches++] = (s_watch_t){fd, events, fn, arg};
    return 0;
}

/* ---- requests to other services ---- */

static void
s_out_unlink(pgs_worker_t *w, s_out_t *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        w->outs = o->next;
    if (o->next)
        o->next->prev = o->prev;
}

/* Ends a request with reply (or a 503 when reply is NULL). */
static void
s_out_finish(s_out_t *o, pgs_res_t *reply)
{
    pgs_worker_t *w = o->w;
    s_out_unlink(w, o);
    pgs_worker_cancel(w, o->timer);
    pgs_res_t r = {0};
    if (reply)
        pgs_res_move(&r, reply);
    else
        pgs_res_error(&r, NULL, 503, "service_unavailable", "The service is unavailable.", NULL);
    o->fn(o->arg, &r);
    pgs_res_clear(&r);
    pgs_res_clear(&o->partial);
    pgs_proto_body_free(&o->body);
    free(o);
}

static void
s_out_timeout(void *arg)
{
    s_out_t *o = arg;
    o->timer = 0; /* a fired one-shot timer is gone */
    s_out_finish(o, NULL);
}

/* Sends a request to another service; fn(arg, reply) runs exactly once,
 * from the loop. 0, or -1 (fn will not run). */
static int
s_request(pgs_worker_t *w, const char *service, const char *route, const pgs_ctx_t *ctx,
          json_t *params,
          const char *body, size_t body_len, int timeout_ms, void (*fn)(void *, pgs_res_t *),
          void *arg)
{
    s_out_t *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    o->w = w;
    o->id = ++w->next_out_id;
    o->fn = fn;
    o->arg = arg;
    char ctx_text[PGS_CTX_MAX];
    if (!ctx || pgs_ctx_format(ctx, ctx_text, sizeof ctx_text) < 0)
        ctx_text[0] = '\0';
    char *params_text = params ? pgs_json_dump(params) : NULL;
    pgs_proto_msg_t msg = {.cmd = PGS_PROTO_REQUEST,
                           .id = o->id,
                           .service = service,
                           .route = route,
                           .context = ctx_text,
                           .params = params_text ? params_text : "{}",
                           .body = body,
                           .body_len = body_len};
    int sent = -1;
    for (int e = 0; e < w->nedges && sent < 0; e++)
        sent = s_send_as(w, e, &msg, 1);
    free(params_text);
    /* Unsent: the 503 comes on the next turn, never from inside this call. */
    o->timer = pgs_worker_after(w, sent == 0 ? timeout_ms : 0, s_out_timeout, o);
    if (o->timer < 0) {
        free(o);
        return -1;
    }
    o->next = w->outs;
    if (w->outs)
        w->outs->prev = o;
    w->outs = o;
    return 0;
}

static s_out_t *
s_out_find(pgs_worker_t *w, uint64_t id)
{
    s_out_t *o = w->outs;
    while (o && o->id != id)
        o = o->next;
    return o;
}

/* A reply to one of our requests: whole, or the start of one in pieces
 * (a body in CHUNKs, or a stream, which a caller also gets whole). */
static void
s_on_reply(pgs_worker_t *w, const pgs_proto_msg_t *m)
{
    s_out_t *o = s_out_find(w, m->id);
    if (!o || o->assembling)
        return; /* late (after its timeout), or a second REPLY */
    pgs_res_t r = {.status = m->status, .headers = pgs_headers_object(m->headers, strlen(m->headers))};
    pgs_proto_body_t body = {0};
    if ((*m->meta && pgs_meta_parse(m->meta, strlen(m->meta), &r.meta) < 0) ||
        pgs_proto_body_add(&body, m->body, m->body_len) < 0) {
        pgs_res_clear(&r);
        s_out_finish(o, NULL);
        return;
    }
    if (m->flags & (PGS_PROTO_MORE | PGS_PROTO_STREAM)) {
        o->assembling = 1;
        pgs_res_move(&o->partial, &r);
        o->body = body;
        return;
    }
    r.body = body.data;
    r.body_len = body.len;
    s_out_finish(o, &r);
}

/* The next piece (CHUNK) or the end (END) of a reply in pieces. */
static void
s_on_reply_piece(pgs_worker_t *w, const pgs_proto_msg_t *m)
{
    s_out_t *o = s_out_find(w, m->id);
    if (!o || !o->assembling)
        return;
    if (m->cmd == PGS_PROTO_CHUNK) {
        if (pgs_proto_body_add(&o->body, m->body, m->body_len) < 0)
            s_out_finish(o, NULL);
        return;
    }
    if (!m->ok) {
        s_out_finish(o, NULL);
        return;
    }
    pgs_res_t r = {0};
    pgs_res_move(&r, &o->partial);
    r.body = o->body.data;
    r.body_len = o->body.len;
    o->body = (pgs_proto_body_t){0};
    if (!r.body) {
        pgs_res_clear(&r);
        s_out_finish(o, NULL);
        return;
    }
    s_out_finish(o, &r);
}

static void
s_call_replied(void *arg, pgs_res_t *reply)
{
    s_cont_t k = *(s_cont_t *)arg;
    free(arg);
    pgs_res_t res = {0};
    k.call->in_handler = 1;
    s_call_settle(k.call, k.then(k.arg, &k.call->req, &res, reply), &res);
}

int
pgs_call_request(pgs_call_t *call, const char *service, const char *route, const pgs_ctx_t *ctx,
                 json_t *params, const char *body, size_t body_len, int timeout_ms,
                 pgs_then_fn then, void *arg)
{
    s_cont_t *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    *k = (s_cont_t){.call = call, .then = then, .arg = arg};
    if (s_request(call->w, service, route, ctx, params, body, body_len, timeout_ms,
                  s_call_replied, k) < 0) {
        free(k);
        return -1;
    }
    return 0;
}

/* ---- the thread pool ---- */

static void *
s_pool_main(void *arg)
{
    s_pool_t *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->todo_head && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->todo_head)
            break; /* quit, and nothing left to do */
        s_job_t *j = p->todo_head;
        p->todo_head = j->next;
        if (!p->todo_head)
            p->todo_tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->work(j->arg);
        pthread_mutex_lock(&p->mu);
        j->next = NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        uint64_t one = 1;
        ssize_t wr = write(p->efd, &one, sizeof one);
        (void)wr; /* the counter only overflows after 2^64 - 1 jobs */
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int
s_pool_start(s_pool_t *p, unsigned n)
{
    p->efd = -1;
    if (!n)
        return 0;
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    p->threads = calloc(n, sizeof *p->threads);
    if (p->efd < 0 || !p->threads)
        return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (; p->nthreads < n; p->nthreads++)
        if (pthread_create(&p->threads[p->nthreads], NULL, s_pool_main, p) != 0)
            return -1;
    return 0;
}

static void
s_pool_stop(s_pool_t *p)
{
    if (p->threads && p->nthreads) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < p->nthreads; i++)
            pthread_join(p->threads[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    /* Work finished but never delivered: its done callbacks cannot run any
     * more (the service's state is gone); its memory is the service's. */
    for (s_job_t *j = p->done_head, *next; j; j = next) {
        next = j->next;
        free(j);
    }
    p->done_head = p->done_tail = NULL;
    free(p->threads);
    p->threads = NULL;
    p->nthreads = 0;
    if (p->efd >= 0)
        close(p->efd);
    p->efd = -1;
}

static int
s_offload(pgs_worker_t *w, void (*work)(void *arg), void (*done)(void *arg), void *arg)
{
    s_pool_t *p = &w->pool;
    if (!p->nthreads || p->pending >= PGS_WORKER_OFFLOAD_MAX)
        return -1;
    s_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    *j = (s_job_t){NULL, work, done, arg};
    pthread_mutex_lock(&p->mu);
    if (p->todo_tail)
        p->todo_tail->next = j;
    else
        p->todo_head = j;
    p->todo_tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    p->pending++; /* the loop's own count: only the loop thread reads it */
    return 0;
}

static void
s_pool_deliver(pgs_worker_t *w)
{
    s_pool_t *p = &w->pool;
    uint64_t n;
    ssize_t rd = read(p->efd, &n, sizeof n);
    (void)rd; /* EAGAIN: nothing new; the list below says what is done */
    pthread_mutex_lock(&p->mu);
    s_job_t *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        s_job_t *next = j->next;
        p->pending--;
        j->done(j->arg);
        free(j);
        j = next;
    }
}

static void
s_call_work(void *arg)
{
    s_cont_t *k = arg;
    k->work(k->arg);
}

static void
s_call_worked(void *arg)
{
    s_cont_t k = *(s_cont_t *)arg;
    free(arg);
    pgs_res_t res = {0};
    k.call->in_handler = 1;
    s_call_settle(k.call, k.done(k.arg, &k.call->req, &res), &res);
}

int
pgs_call_offload(pgs_call_t *call, void (*work)(void *arg), pgs_handler_fn done, void *arg)
{
    s_cont_t *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    *k = (s_cont_t){.call = call, .done = done, .work = work, .arg = arg};
    if (s_offload(call->w, s_call_work, s_call_worked, k) < 0) {
        free(k);
        return -1;
    }
    return 0;
}

/* ---- connections ---- */

static void
s_edge_connect(pgs_worker_t *w, int e)
{
    s_edge_t *edge = &w->edges[e];
    if (edge->sock)
        zmq_close(edge->sock);
    edge->sock = zmq_socket(w->zctx, ZMQ_DEALER);
    int linger = 1000, hwm = 10000, ivl = 100, ivl_max = 2000;
    int64_t maxmsg = (int64_t)PGS_PROTO_MAX_BODY + (1 << 20);
    zmq_setsockopt(edge->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(edge->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(edge->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(edge->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(edge->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(edge->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_connect(edge->sock, edge->endpoint) < 0)
        pgs_error("cannot connect to %s: %s", edge->endpoint, zmq_strerror(errno));
    pgs_proto_msg_t ready = {
        .cmd = PGS_PROTO_READY, .service = w->name, .instance = w->instance, .capacity = w->capacity};
    s_send(w, e, &ready);
    edge->last_seen = pgs_time_mono_ms();
}

static int
s_parse_endpoints(pgs_worker_t *w)
{
    char list[PGS_CONF_MAX_EDGES * 1100];
    if (pgs_edges_endpoints(w->cfg, w->home, list, sizeof list) < 0) {
        pgs_error("config [broker] endpoints: too long");
        return -1;
    }
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        if (p == start)
            break;
        if (w->nedges == S_MAX_EDGES) {
            pgs_error("config [broker] endpoints lists more than %d edges", S_MAX_EDGES);
            return -1;
        }
        snprintf(w->edges[w->nedges].endpoint, sizeof w->edges[0].endpoint, "%.*s",
                 (int)(p - start), start);
        w->nedges++;
    }
    return w->nedges ? 0 : -1;
}

/* 1 when a message from the edge waits in its socket, unread. */
static int
s_edge_has_input(const s_edge_t *edge)
{
    int events = 0;
    size_t sz = sizeof events;
    return edge->sock && zmq_getsockopt(edge->sock, ZMQ_EVENTS, &events, &sz) == 0 &&
           (events & ZMQ_POLLIN);
}

static void s_expire_partials(pgs_worker_t *w, int64_t now);

/* Every 250 ms: heartbeats that are due, edges that went silent, request
 * bodies that stopped coming. */
static void
s_housekeep(void *arg)
{
    pgs_worker_t *w = arg;
    int64_t now = pgs_time_mono_ms();
    for (int e = 0; e < w->nedges; e++) {
        s_edge_t *edge = &w->edges[e];
        if (now - edge->last_seen > S_LIVENESS_MS) {
            if (s_edge_has_input(edge)) {
                edge->last_seen = now; /* it spoke; we had not read it yet */
                continue;
            }
            pgs_warn("edge %s silent for %d ms; reconnecting", edge->endpoint, S_LIVENESS_MS);
            s_edge_connect(w, e);
        }
    }
    s_expire_partials(w, now);
    pgs_worker_keepalive(w);
}

/* ---- dispatch ---- */

/* Runs the handler of a call whose request is whole. */
static void
s_call_run(pgs_worker_t *w, pgs_call_t *c)
{
    pgs_res_t res = {0};
    const s_route_t *r = NULL;
    for (size_t i = 0; i < w->nroutes && !r; i++)
        if (strcmp(w->routes[i].route, c->route) == 0)
            r = &w->routes[i];
    if (!r) {
        pgs_res_error(&res, &c->req, 404, "not_found", "No such route.", NULL);
        pgs_call_reply(&c, &res);
        return;
    }
    c->in_handler = 1;
    c->space_mark = pgs_space_refusals();
    s_call_settle(c, r->fn(r->arg, &c->req, &res), &res);
}

/* A REQUEST: its call runs now, or once the rest of its body came. */
static void
s_dispatch(pgs_worker_t *w, int e, pgs_call_t *c, const pgs_proto_msg_t *msg)
{
    c->edge = e;
    snprintf(c->route, sizeof c->route, "%s", msg->route);
    c->req.id = msg->id;
    c->req.route = c->route;
    c->req.body = msg->body; /* in c->in, which the call keeps */
    c->req.body_len = msg->body_len;
    c->req.request_id = "";
    c->req.call = c;
    int ctx_ok = pgs_ctx_parse(msg->context, strlen(msg->context), &c->ctx) == 0;
    c->req.ctx = &c->ctx;
    /* Kept as text (the message's frames do not outlive this function for
     * a body in pieces), parsed when a handler asks (pgs_req_params). */
    c->params_text = strdup(msg->params);
    c->req.params_text = c->params_text;
    c->req.params_cache = &c->params;
    s_call_open(w, c);
    pgs_res_t res = {0};
    if (!ctx_ok || !c->params_text || msg->params[0] != '{') {
        pgs_res_error(&res, &c->req, 400, "invalid_request", "Malformed internal request.", NULL);
        pgs_call_reply(&c, &res);
        return;
    }
    snprintf(c->request_id, sizeof c->request_id, "%s", c->ctx.request_id);
    c->req.request_id = c->request_id;
    if (msg->flags & PGS_PROTO_MORE) {
        c->partial = 1;
        c->last_piece = pgs_time_mono_ms();
        if (pgs_proto_body_add(&c->body, msg->body, msg->body_len) < 0)
            c->too_large = 1;
        c->req.body = NULL;
        c->req.body_len = 0;
        pgs_proto_inbox_close(&c->in); /* what it held is copied */
        return;
    }
    s_call_run(w, c);
}

/* The next piece of a request's body; the last one runs its call. */
static void
s_on_body(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg)
{
    pgs_call_t *c = w->calls;
    while (c && !(c->partial && c->edge == e && c->req.id == msg->id))
        c = c->next;
    if (!c)
        return; /* given up on (too slow), or unknown */
    c->last_piece = pgs_time_mono_ms();
    if (!c->too_large && pgs_proto_body_add(&c->body, msg->body, msg->body_len) < 0)
        c->too_large = 1;
    if (msg->flags & PGS_PROTO_MORE)
        return;
    c->partial = 0;
    if (c->too_large) {
        pgs_res_t res = {0};
        pgs_res_error(&res, &c->req, 413, "payload_too_large", "The request body is too large.",
                      NULL);
        pgs_call_reply(&c, &res);
        return;
    }
    c->req.body = c->body.data;
    c->req.body_len = c->body.len;
    s_call_run(w, c);
}

/* Calls whose body stopped coming (its sender died between pieces). */
static void
s_expire_partials(pgs_worker_t *w, int64_t now)
{
    for (pgs_call_t *c = w->calls, *next; c; c = next) {
        next = c->next;
        if (!c->partial || now - c->last_piece < S_PIECE_IDLE_MS)
            continue;
        PGS_LOG(PGS_LOG_WARN, c->request_id, "request body incomplete after %d ms; dropped",
                S_PIECE_IDLE_MS);
        c->partial = 0;
        pgs_res_t res = {0};
        pgs_res_error(&res, &c->req, 400, "invalid_request", "The request body was incomplete.",
                      NULL);
        pgs_call_reply(&c, &res);
    }
}

static void
s_on_message(pgs_worker_t *w, int e)
{
    pgs_call_t *c = w->spare;
    pgs_proto_msg_t msg;
    int rc = pgs_proto_decode(c->in.frames, c->in.nframes, w->scratch, S_SCRATCH, &msg);
    if (rc == PGS_PROTO_EVERSION) {
        int64_t now = pgs_time_mono_ms();
        if (!w->last_version_log || now - w->last_version_log >= 60000) {
            w->last_version_log = now;
            pgs_error("edge %s speaks another protocol version than %s: its messages are "
                      "refused (run the same release everywhere)",
                      w->edges[e].endpoint, PGS_PROTO_VERSION);
        }
        pgs_proto_inbox_close(&c->in);
        return;
    }
    if (rc < 0) {
        pgs_warn("malformed message from edge %s dropped", w->edges[e].endpoint);
        pgs_proto_inbox_close(&c->in);
        return;
    }
    switch (msg.cmd) {
    case PGS_PROTO_REQUEST:
        w->spare = NULL; /* the message is the call's now */
        s_dispatch(w, e, c, &msg);
        return;
    case PGS_PROTO_REPLY:
        s_on_reply(w, &msg);
        break;
    case PGS_PROTO_CHUNK:
    case PGS_PROTO_END:
        s_on_reply_piece(w, &msg);
        break;
    case PGS_PROTO_BODY:
        s_on_body(w, e, &msg);
        break;
    case PGS_PROTO_DISCONNECT:
        /* The edge does not know us (it restarted): introduce ourselves. */
        pgs_proto_inbox_close(&c->in);
        s_edge_connect(w, e);
        return;
    default:
        break; /* HEARTBEAT: liveness already noted */
    }
    pgs_proto_inbox_close(&c->in);
}

/* Reads every message waiting on edge e (at most 1000 a turn). */
static void
s_drain_edge(pgs_worker_t *w, int e)
{
    for (int n = 0; n < 1000 && w->edges[e].sock; n++) {
        if (!w->spare && !(w->spare = s_call_new(w)))
            return;
        int rc = pgs_proto_recv(w->edges[e].sock, 0, &w->spare->in);
        if (rc == 0)
            return;
        w->edges[e].last_seen = pgs_time_mono_ms();
        if (rc > 0)
            s_on_message(w, e);
    }
}

/* ---- the loop ---- */

static void
s_run_timers(pgs_worker_t *w)
{
    int64_t now = pgs_time_mono_ms();
    size_t n = w->ntimers; /* timers added by callbacks wait for the next pass */
    for (size_t i = 0; i < n; i++) {
        s_timer_t t = w->timers[i];
        if (!t.fn || t.due > now)
            continue;
        if (t.period)
            w->timers[i].due = now + t.period;
        else
            w->timers[i].fn = NULL;
        t.fn(t.arg);
    }
    size_t k = 0;
    for (size_t i = 0; i < w->ntimers; i++)
        if (w->timers[i].fn)
            w->timers[k++] = w->timers[i];
    w->ntimers = k;
}

static int
s_poll_timeout(const pgs_worker_t *w, int cap_ms)
{
    int64_t now = pgs_time_mono_ms(), best = cap_ms;
    for (size_t i = 0; i < w->ntimers; i++) {
        if (!w->timers[i].fn)
            continue;
        int64_t left = w->timers[i].due - now;
        if (left < best)
            best = left < 0 ? 0 : left;
    }
    return (int)best;
}

/* One turn: wait for anything (at most cap_ms), then handle all of it. */
static void
s_turn(pgs_worker_t *w, int cap_ms)
{
    size_t n = (size_t)w->nedges + w->nwatches + 1;
    zmq_pollitem_t stack[32];
    zmq_pollitem_t *items = n <= 32 ? stack : calloc(n, sizeof *items);
    if (!items)
        return;
    size_t k = 0;
    for (int e = 0; e < w->nedges; e++)
        items[k++] = (zmq_pollitem_t){w->edges[e].sock, 0, ZMQ_POLLIN, 0};
    size_t first_watch = k;
    for (size_t i = 0; i < w->nwatches; i++) {
        short ev = (short)(((w->watches[i].events & PGS_FD_IN) ? ZMQ_POLLIN : 0) |
                           ((w->watches[i].events & PGS_FD_OUT) ? ZMQ_POLLOUT : 0));
        items[k++] = (zmq_pollitem_t){NULL, w->watches[i].fd, ev, 0};
    }
    size_t nwatch = k - first_watch;
    if (w->pool.efd >= 0)
        items[k++] = (zmq_pollitem_t){NULL, w->pool.efd, ZMQ_POLLIN, 0};
    int rc = zmq_poll(items, (int)k, s_poll_timeout(w, cap_ms));
    int64_t t0 = pgs_time_mono_ms();
    if (rc > 0) {
        for (int e = 0; e < w->nedges; e++)
            if (items[e].revents & ZMQ_POLLIN)
                s_drain_edge(w, e);
        /* Callbacks may change the watches: look each fd up again. */
        for (size_t i = 0; i < nwatch; i++) {
            zmq_pollitem_t *it = &items[first_watch + i];
            if (!it->revents)
                continue;
            int ev = ((it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)) ? PGS_FD_IN : 0) |
                     ((it->revents & ZMQ_POLLOUT) ? PGS_FD_OUT : 0);
            for (size_t j = 0; j < w->nwatches; j++) {
                if (w->watches[j].fd == it->fd) {
                    s_watch_t wt = w->watches[j];
                    if (ev & wt.events)
                        wt.fn(wt.arg, wt.fd, ev & wt.events);
                    else if (it->revents & ZMQ_POLLERR)
                        wt.fn(wt.arg, wt.fd, wt.events);
                    break;
                }
            }
        }
        if (w->pool.efd >= 0 && (items[k - 1].revents & ZMQ_POLLIN))
            s_pool_deliver(w);
    }
    if (items != stack)
        free(items);
    s_run_timers(w);
    int64_t took = pgs_time_mono_ms() - t0;
    if (took > w->longest_turn_ms)
        w->longest_turn_ms = took;
    if (took > PGS_WORKER_STALL_MS && t0 - w->last_stall_log >= 1000) {
        w->last_stall_log = t0;
        pgs_warn("loop turn took %lld ms (longest so far %lld ms)", (long long)took,
                 (long long)w->longest_turn_ms);
    }
}

static int
s_busy(const pgs_worker_t *w)
{
    return w->calls_open > 0 || w->outs != NULL || w->pool.pending > 0;
}

int
pgs_worker_run(pgs_worker_t *w)
{
    w->zctx = zmq_ctx_new();
    if (!w->zctx || pgs_worker_every(w, S_HOUSEKEEP_MS, s_housekeep, w) < 0)
        return 1;
    for (int e = 0; e < w->nedges; e++)
        s_edge_connect(w, e);
    pgs_info("started capacity=%u edges=%d threads=%u", w->capacity, w->nedges,
             w->pool.nthreads);
    while (!s_stop)
        s_turn(w, 1000);

    /* Leave: no new work comes; finish what we hold. */
    pgs_proto_msg_t bye = {.cmd = PGS_PROTO_DISCONNECT};
    for (int e = 0; e < w->nedges; e++)
        s_send(w, e, &bye);
    int64_t start = pgs_time_mono_ms(), deadline = start + w->stop_timeout_ms;
    pgs_info("stopping: %u calls in flight", w->calls_open);
    for (;;) {
        int64_t now = pgs_time_mono_ms();
        if (now >= deadline || (now - start >= S_LEAVE_MIN_MS && !s_busy(w)))
            break;
        s_turn(w, 50);
    }
    if (s_busy(w))
        pgs_warn("stopping with %u calls still in flight after %lld ms", w->calls_open,
                 w->stop_timeout_ms);
    /* Requests to other services that never came back: 503s now, while
     * the service's state still exists. */
    while (w->outs)
        s_out_finish(w->outs, NULL);
    pgs_info("stopped (longest loop turn %lld ms)", (long long)w->longest_turn_ms);
    return 0;
}

/* ---- construction ---- */

static int
s_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-c CONFIG] [-i INSTANCE] [-n]\n", argv0);
    return 2;
}

pgs_worker_t *
pgs_worker_new(const char *service, int argc, char **argv, const pgs_worker_settings_t *settings,
               int *exit_code)
{
    *exit_code = 1;
    const char *config_path = NULL;
    const char *instance = "0";
    int check_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:i:n")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'i': instance = optarg; break;
        case 'n': check_only = 1; break;
        default: *exit_code = s_usage(argv[0]); return NULL;
        }
    }
    if (optind < argc) {
        *exit_code = s_usage(argv[0]);
        return NULL;
    }
    pgs_log_init(service, instance);
    if (sodium_init() < 0) {
        pgs_error("libsodium failed to initialise");
        return NULL;
    }
    pgs_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    snprintf(w->name, sizeof w->name, "%s", service);
    w->pool.efd = -1;
    w->scratch = malloc(S_SCRATCH);
    /* The whole file is checked, not only what this service reads, so
     * that every binary gives the same verdict on it. */
    w->cfg = w->scratch ? pgs_conf_open(config_path) : NULL;
    if (!w->cfg) {
        pgs_worker_destroy(&w);
        return NULL;
    }
    const char *home = getenv("PEGASUS_HOME");
    snprintf(w->home, sizeof w->home, "%s", home && *home ? home : "./var");
    snprintf(w->instance, sizeof w->instance, "%s", instance);
    long long capacity = pgs_conf_int_in(w->cfg, PGS_KEY_SERVICE_CAPACITY, service);
    if (settings && settings->capacity &&
        !pgs_conf_is_set_in(w->cfg, PGS_KEY_SERVICE_CAPACITY, service))
        capacity = settings->capacity;
    w->stop_timeout_ms = pgs_conf_int_in(w->cfg, PGS_KEY_SERVICE_STOP_TIMEOUT_MS, service);
    if (s_parse_endpoints(w) < 0) {
        pgs_worker_destroy(&w);
        return NULL;
    }
    w->capacity = (unsigned)capacity;
    if (check_only) {
        pgs_info("config %s is valid", pgs_conf_path(config_path));
        *exit_code = 0;
        pgs_worker_destroy(&w);
        return NULL;
    }
    if (s_pool_start(&w->pool, settings ? settings->threads : 0) < 0) {
        pgs_error("cannot start the worker's threads");
        pgs_worker_destroy(&w);
        return NULL;
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    *exit_code = 0;
    return w;
}

void
pgs_worker_destroy(pgs_worker_t **wp)
{
    if (!wp || !*wp)
        return;
    pgs_worker_t *w = *wp;
    s_pool_stop(&w->pool);
    /* Calls the service never answered get a 503, as a client would from
     * a worker that died. */
    while (w->calls) {
        pgs_call_t *c = w->calls;
        pgs_res_t res = {0};
        pgs_res_error(&res, &c->req, 503, "service_unavailable",
                      "The service is restarting. Try again shortly.", NULL);
        pgs_call_reply(&c, &res);
    }
    while (w->outs) {
        s_out_t *o = w->outs;
        s_out_unlink(w, o);
        free(o);
    }
    for (int e = 0; e < w->nedges; e++)
        if (w->edges[e].sock)
            zmq_close(w->edges[e].sock);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    if (w->spare)
        s_call_free(w->spare);
    for (size_t i = 0; i < w->nroutes; i++)
        free(w->routes[i].route);
    free(w->routes);
    free(w->timers);
    free(w->watches);
    pgs_config_destroy(&w->cfg);
    free(w->scratch);
    free(w);
    *wp = NULL;
}

/* ---- what services share ---- */

void
pgs_worker_db_path(const pgs_worker_t *w, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/data", w->home);
    mkdir(out, 0700);
    snprintf(out, len, "%s/data/%s.db", w->home, name);
}

pgs_redis_t *
pgs_worker_redis(const pgs_worker_t *w)
{
    long long timeout_ms = pgs_conf_int(w->cfg, PGS_KEY_REDIS_TIMEOUT_MS);
    char where[1200];
    const char *addr = pgs_conf_str(w->cfg, PGS_KEY_REDIS_ADDRESS);
    if (*addr)
        snprintf(where, sizeof where, "%s", addr);
    else
        snprintf(where, sizeof where, "%s/redis.sock", w->home);
    return pgs_redis_new(where, (int)timeout_ms);
}
