/*
 * edge_broker — see edge_broker.h.
 *
 * Jobs live in one hash by broker id. A job is either queued on its service
 * (worker == NULL) or in flight on one worker. Completions that the broker
 * decides itself (503, 504) are never delivered from inside
 * edge_broker_submit: they go on a ready list delivered by the next
 * edge_broker_poll, so a caller is never re-entered.
 */
#include "edge_broker.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_proto.h"
#include "pgs_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <uthash.h>
#include <unistd.h>
#include <zmq.h>

#define S_HEARTBEAT_MS 1000
#define S_LIVENESS_MS 3000
#define S_PIECE_IDLE_MS 10000 /* a client's body whose next piece never came */
#define S_SCRATCH (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME + 64)

typedef struct s_service s_service_t;
typedef struct s_worker s_worker_t;

typedef struct s_job {
    uint64_t id;
    UT_hash_handle hh;
    struct s_job *qprev, *qnext; /* service queue, or the ready list */
    s_service_t *service;
    s_worker_t *worker;
    char *route, *context, *params, *request_id; /* in the job's own block */
    void *body;      /* in the block too, unless body_owned */
    int body_owned;  /* body is malloc'd (put together from pieces) */
    size_t body_len;
    int64_t deadline;
    int retryable, retried;
    /* origin: a local caller, or a remote client */
    edge_broker_done done; /* NULL once the caller cancelled */
    void (*on_chunk)(void *arg, const void *data, size_t len);
    void (*on_end)(void *arg, edge_broker_end_t how, const char *meta);
    void *arg;
    int streaming;  /* a stream, or a reply in pieces relayed as they come */
    int assembling; /* a reply in pieces put together for a local caller */
    int reply_status;
    char *reply_headers, *reply_meta;
    pgs_proto_body_t reply_body;
    int stream_idle_ms;
    /* a client's request whose body comes in BODY pieces (on b->partials) */
    struct s_job *pnext;
    char service_name[PGS_PROTO_MAX_NAME + 1];
    pgs_proto_body_t req_body;
    int too_large;
    unsigned char client[256];
    size_t client_len;
    uint64_t client_id;
    /* a result the broker decided (ready list) */
    int result_status;
    char *result_body;
    int queued; /* on the service queue */
    int ready;  /* on the ready list */
} s_job_t;

struct s_worker {
    unsigned char identity[256];
    size_t identity_len;
    UT_hash_handle hh;
    s_service_t *service;
    char instance[PGS_PROTO_MAX_NAME + 1];
    unsigned capacity, inflight;
    int64_t last_seen;
    int draining;
};

struct s_service {
    char name[PGS_PROTO_MAX_NAME + 1];
    s_worker_t **workers;
    int nworkers, capworkers;
    s_job_t *qhead, *qtail;
    int queued;
    struct s_service *next;
};

struct edge_broker {
    edge_loop_t *loop;
    void *zctx, *sock;
    int fd;
    int max_queue;
    uint64_t next_id;
    s_job_t *jobs;
    s_worker_t *workers;
    s_service_t *services;
    s_job_t *ready_head, *ready_tail;
    s_job_t *partials; /* clients' requests still receiving their body */
    int64_t last_heartbeat, last_sweep, last_version_log;
    char *scratch;
};

/* ---- helpers ---- */

static s_service_t *
s_service(edge_broker_t *b, const char *name, int create)
{
    for (s_service_t *s = b->services; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    if (!create)
        return NULL;
    s_service_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->next = b->services;
    b->services = s;
    return s;
}

static void
s_job_free(s_job_t *j)
{
    if (j->body_owned)
        free(j->body);
    free(j->result_body);
    free(j->reply_headers);
    free(j->reply_meta);
    pgs_proto_body_free(&j->reply_body);
    pgs_proto_body_free(&j->req_body);
    free(j);
}

/* Forgets a reply being put together (its worker died: it may be asked
 * again). */
static void
s_assembly_reset(s_job_t *j)
{
    j->assembling = 0;
    free(j->reply_headers);
    free(j->reply_meta);
    j->reply_headers = j->reply_meta = NULL;
    pgs_proto_body_free(&j->reply_body);
}

static void
s_queue_remove(s_service_t *s, s_job_t *j)
{
    if (!j->queued)
        return;
    if (j->qprev)
        j->qprev->qnext = j->qnext;
    else
        s->qhead = j->qnext;
    if (j->qnext)
        j->qnext->qprev = j->qprev;
    else
        s->qtail = j->qprev;
    j->qprev = j->qnext = NULL;
    j->queued = 0;
    s->queued--;
}

static void
s_queue_push(s_service_t *s, s_job_t *j, int front)
{
    j->queued = 1;
    s->queued++;
    if (front) {
        j->qprev = NULL;
        j->qnext = s->qhead;
        if (s->qhead)
            s->qhead->qprev = j;
        else
            s->qtail = j;
        s->qhead = j;
    } else {
        j->qnext = NULL;
        j->qprev = s->qtail;
        if (s->qtail)
            s->qtail->qnext = j;
        else
            s->qhead = j;
        s->qtail = j;
    }
}

/* Delivers a reply to the job's origin and frees the job. The job must be
 * out of every queue and the hash. */
static void
s_deliver(edge_broker_t *b, s_job_t *j, int status, const char *headers, const char *meta,
          const void *body, size_t len)
{
    if (j->done) {
        int assembled = j->assembling && body == j->reply_body.data;
        edge_broker_reply_t rep = {.status = status,
                                   .headers = headers,
                                   .meta = meta ? meta : "",
                                   .body = body,
                                   .body_len = len,
                                   .owned = assembled ? j->reply_body.data : NULL};
        j->done(j->arg, &rep);
        if (assembled && !rep.owned)
            j->reply_body = (pgs_proto_body_t){0}; /* the caller keeps it */
    } else if (j->client_len) {
        pgs_proto_msg_t m = {.cmd = PGS_PROTO_REPLY,
                             .id = j->client_id,
                             .status = status,
                             .headers = headers,
                             .meta = meta,
                             .body = body,
                             .body_len = len};
        if (pgs_proto_send_whole(b->sock, j->client, j->client_len, &m) < 0)
            pgs_debug("reply to client dropped: %s", zmq_strerror(errno));
    }
    s_job_free(j);
}

/* Ends a job with a broker-made error, delivered by the next poll. */
static void
s_fail(edge_broker_t *b, s_job_t *j, int status, const char *code, const char *message)
{
    if (j->worker) {
        j->worker->inflight--;
        j->worker = NULL;
    }
    s_queue_remove(j->service, j);
    HASH_DEL(b->jobs, j);
    /* A stream already started ends badly instead (result_status -1). */
    j->result_status = j->streaming ? -1 : status;
    j->result_body = pgs_json_error_body(code, message, j->request_id, NULL, NULL);
    j->ready = 1;
    j->qnext = NULL;
    if (b->ready_tail)
        b->ready_tail->qnext = j;
    else
        b->ready_head = j;
    b->ready_tail = j;
}

/* Ends a stream: tells the origin and frees the job (out of the hash). */
static void
s_stream_end(edge_broker_t *b, s_job_t *j, edge_broker_end_t how, const char *meta)
{
    if (j->done && j->on_end) {
        j->on_end(j->arg, how, meta ? meta : "");
    } else if (!j->done && j->client_len) {
        pgs_proto_msg_t m = {
            .cmd = PGS_PROTO_END, .id = j->client_id, .ok = how == EDGE_BROKER_END_OK, .meta = meta};
        pgs_proto_send(b->sock, j->client, j->client_len, &m);
    }
    s_job_free(j);
}

static int
s_send_job(edge_broker_t *b, s_worker_t *w, s_job_t *j)
{
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_REQUEST,
                         .id = j->id,
                         .service = j->service->name,
                         .route = j->route,
                         .context = j->context,
                         .params = j->params,
                         .body = j->body,
                         .body_len = j->body_len};
    return pgs_proto_send_whole(b->sock, w->identity, w->identity_len, &m);
}

static int
s_live(const s_service_t *s)
{
    int n = 0;
    for (int i = 0; i < s->nworkers; i++)
        if (!s->workers[i]->draining)
            n++;
    return n;
}

/* Sends queued jobs to workers with free credit, least loaded first. */
static void
s_dispatch(edge_broker_t *b, s_service_t *s)
{
    while (s->qhead) {
        s_worker_t *best = NULL;
        for (int i = 0; i < s->nworkers; i++) {
            s_worker_t *w = s->workers[i];
            if (w->draining || w->inflight >= w->capacity)
                continue;
            if (!best || w->inflight < best->inflight)
                best = w;
        }
        if (!best) {
            if (!s_live(s)) {
                /* Nobody left to serve the queue. */
                while (s->qhead)
                    s_fail(b, s->qhead, 503, "service_unavailable",
                           "The service is unavailable. Try again shortly.");
            }
            return;
        }
        s_job_t *j = s->qhead;
        s_queue_remove(s, j);
        if (s_send_job(b, best, j) < 0) {
            if (errno == EMSGSIZE) {
                /* Larger than any body may be; the worker is fine. */
                s_fail(b, j, 413, "payload_too_large", "The request is too large to forward.");
                continue;
            }
            /* Unreachable or full: stop using it; the next sweep removes
             * it (removing here could free a worker a caller iterates). */
            pgs_warn("worker %s[%s] unreachable: %s", s->name, best->instance,
                     zmq_strerror(errno));
            s_queue_push(s, j, 1);
            best->draining = 1;
            best->last_seen = 0;
            continue;
        }
        j->worker = best;
        best->inflight++;
    }
}

static void
s_worker_remove(edge_broker_t *b, s_worker_t *w, const char *why)
{
    s_service_t *s = w->service;
    pgs_warn("worker %s[%s] removed: %s", s->name, w->instance, why);
    HASH_DEL(b->workers, w);
    for (int i = 0; i < s->nworkers; i++) {
        if (s->workers[i] == w) {
            s->workers[i] = s->workers[--s->nworkers];
            break;
        }
    }
    s_job_t *j, *tmp;
    HASH_ITER(hh, b->jobs, j, tmp) {
        if (j->worker != w)
            continue;
        j->worker = NULL;
        if (j->assembling)
            s_assembly_reset(j); /* nothing of it reached the caller */
        if (j->retryable && !j->retried) {
            j->retried = 1;
            s_queue_push(s, j, 1);
        } else {
            s_fail(b, j, 503, "service_unavailable",
                   "The worker handling this request stopped. Try again.");
        }
    }
    free(w);
    /* The caller dispatches s: removing may happen inside s_dispatch. */
}

/* ---- messages from peers ---- */

static void
s_on_ready(edge_broker_t *b, const unsigned char *id, size_t idlen, const pgs_proto_msg_t *m)
{
    s_worker_t *w = NULL;
    HASH_FIND(hh, b->workers, id, idlen, w);
    if (w) {
        s_service_t *old = w->service;
        s_worker_remove(b, w, "announced itself again");
        s_dispatch(b, old);
    }
    s_service_t *s = s_service(b, m->service, 1);
    w = calloc(1, sizeof *w);
    if (!s || !w) {
        free(w);
        return;
    }
    if (s->nworkers == s->capworkers) {
        int cap = s->capworkers ? s->capworkers * 2 : 8;
        s_worker_t **p = realloc(s->workers, (size_t)cap * sizeof *p);
        if (!p) {
            free(w);
            return;
        }
        s->workers = p;
        s->capworkers = cap;
    }
    memcpy(w->identity, id, idlen);
    w->identity_len = idlen;
    w->service = s;
    snprintf(w->instance, sizeof w->instance, "%s", m->instance);
    w->capacity = m->capacity;
    w->last_seen = pgs_time_mono_ms();
    HASH_ADD(hh, b->workers, identity[0], idlen, w);
    s->workers[s->nworkers++] = w;
    pgs_info("worker %s[%s] ready capacity=%u", s->name, w->instance, w->capacity);
    s_dispatch(b, s);
}

/* The job is finished on w: out of the hash, its credit given back. */
static s_service_t *
s_job_done_on(edge_broker_t *b, s_worker_t *w, s_job_t *j)
{
    HASH_DEL(b->jobs, j);
    w->inflight--;
    j->worker = NULL;
    return w->service;
}

/* After a job finished on w: a worker that is leaving and now holds
 * nothing goes; its service's queue moves. */
static void
s_worker_freed(edge_broker_t *b, s_worker_t *w, s_service_t *s)
{
    if (w->draining && w->inflight == 0)
        s_worker_remove(b, w, "left");
    s_dispatch(b, s);
}

static void
s_on_reply(edge_broker_t *b, s_worker_t *w, const pgs_proto_msg_t *m)
{
    s_job_t *j = NULL;
    HASH_FIND(hh, b->jobs, &m->id, sizeof m->id, j);
    if (!j || j->worker != w || j->streaming || j->assembling)
        return; /* late (after a deadline or a cancel), or a second REPLY */
    int more = (m->flags & PGS_PROTO_MORE) != 0;
    if ((m->flags & PGS_PROTO_STREAM) || (more && !j->done)) {
        /* Relayed as it comes; the job stays in flight on this worker until
         * its END. */
        j->streaming = 1;
        j->retryable = 0;
        j->deadline = pgs_time_mono_ms() + j->stream_idle_ms;
        if (j->done) {
            edge_broker_reply_t rep = {.status = m->status,
                                       .headers = m->headers,
                                       .meta = m->meta,
                                       .body = m->body,
                                       .body_len = m->body_len,
                                       .stream = 1};
            j->done(j->arg, &rep);
        } else if (j->client_len) {
            pgs_proto_msg_t r = *m;
            r.id = j->client_id;
            pgs_proto_send(b->sock, j->client, j->client_len, &r);
        }
        return;
    }
    if (more) {
        /* A body in pieces for a caller here: put together until END. */
        j->assembling = 1;
        j->deadline = pgs_time_mono_ms() + j->stream_idle_ms;
        j->reply_status = m->status;
        j->reply_headers = strdup(m->headers);
        j->reply_meta = strdup(m->meta);
        if (!j->reply_headers || !j->reply_meta ||
            pgs_proto_body_add(&j->reply_body, m->body, m->body_len) < 0) {
            s_fail(b, j, 500, "internal_error", "Internal error.");
            s_dispatch(b, w->service);
        }
        return;
    }
    s_service_t *s = s_job_done_on(b, w, j);
    s_deliver(b, j, m->status, m->headers, m->meta, m->body, m->body_len);
    s_worker_freed(b, w, s);
}

static void
s_on_chunk(edge_broker_t *b, s_worker_t *w, const pgs_proto_msg_t *m, int end)
{
    s_job_t *j = NULL;
    HASH_FIND(hh, b->jobs, &m->id, sizeof m->id, j);
    if (!j || j->worker != w || !(j->streaming || j->assembling))
        return;
    if (!end) {
        j->deadline = pgs_time_mono_ms() + j->stream_idle_ms;
        if (j->assembling) {
            if (pgs_proto_body_add(&j->reply_body, m->body, m->body_len) < 0) {
                pgs_warn("a %s reply is over %zu bytes; refused", w->service->name,
                         PGS_PROTO_MAX_TOTAL);
                s_fail(b, j, 500, "internal_error", "The answer is too large to relay.");
                s_dispatch(b, w->service);
            }
        } else if (j->done && j->on_chunk) {
            j->on_chunk(j->arg, m->body, m->body_len);
        } else if (!j->done && j->client_len) {
            pgs_proto_msg_t c = *m;
            c.id = j->client_id;
            pgs_proto_send(b->sock, j->client, j->client_len, &c);
        }
        return;
    }
    if (j->assembling && !m->ok) {
        s_fail(b, j, 503, "service_unavailable",
               "The service could not finish its answer. Try again.");
        s_dispatch(b, w->service);
        return;
    }
    s_service_t *s = s_job_done_on(b, w, j);
    if (j->assembling)
        s_deliver(b, j, j->reply_status, j->reply_headers, j->reply_meta, j->reply_body.data,
                  j->reply_body.len);
    else
        s_stream_end(b, j, m->ok ? EDGE_BROKER_END_OK : EDGE_BROKER_END_FAILED, m->meta);
    s_worker_freed(b, w, s);
}

static s_job_t *
s_job_new(edge_broker_t *b, const edge_broker_req_t *req)
{
    /* One allocation for the job, its texts and its body: it is made for
     * every request. */
    const char *texts[4] = {req->route, req->context ? req->context : "",
                            req->params ? req->params : "{}",
                            req->request_id ? req->request_id : ""};
    size_t lens[4], total = sizeof(s_job_t) + req->body_len + 1;
    for (int i = 0; i < 4; i++)
        total += (lens[i] = strlen(texts[i]) + 1);
    s_job_t *j = malloc(total);
    if (!j)
        return NULL;
    memset(j, 0, sizeof *j);
    j->id = ++b->next_id;
    char *p = (char *)(j + 1);
    char **dst[4] = {&j->route, &j->context, &j->params, &j->request_id};
    for (int i = 0; i < 4; i++) {
        *dst[i] = memcpy(p, texts[i], lens[i]);
        p += lens[i];
    }
    j->body = p;
    if (req->body_len)
        memcpy(j->body, req->body, req->body_len);
    j->body_len = req->body_len;
    j->deadline = pgs_time_mono_ms() + (req->deadline_ms > 0 ? req->deadline_ms : 10000);
    j->retryable = req->retryable;
    j->stream_idle_ms = req->stream_idle_ms > 0 ? req->stream_idle_ms : 60000;
    return j;
}

/* Queues a job on its service and dispatches; refuses at once when the
 * service has no live worker or its queue is full. */
static void
s_enqueue(edge_broker_t *b, s_job_t *j, const char *service)
{
    j->service = s_service(b, service, 1);
    HASH_ADD(hh, b->jobs, id, sizeof j->id, j);
    if (!j->service || !s_live(j->service)) {
        if (!j->service)
            j->service = b->services; /* only for s_fail's queue bookkeeping */
        s_fail(b, j, 503, "service_unavailable", "The service is unavailable. Try again shortly.");
        return;
    }
    if (j->service->queued >= b->max_queue) {
        s_fail(b, j, 503, "service_unavailable", "The service is overloaded. Try again shortly.");
        return;
    }
    s_queue_push(j->service, j, 0);
    s_dispatch(b, j->service);
}

static void
s_on_client_request(edge_broker_t *b, const unsigned char *id, size_t idlen,
                    const pgs_proto_msg_t *m)
{
    edge_broker_req_t req = {.service = m->service,
                             .route = m->route,
                             .context = m->context,
                             .params = m->params,
                             .body = m->body,
                             .body_len = m->body_len,
                             .deadline_ms = 10000};
    s_job_t *j = s_job_new(b, &req);
    if (!j)
        return;
    memcpy(j->client, id, idlen);
    j->client_len = idlen;
    j->client_id = m->id;
    if (m->flags & PGS_PROTO_MORE) {
        /* Its body comes in BODY pieces: queued once it is whole. */
        snprintf(j->service_name, sizeof j->service_name, "%s", m->service);
        if (pgs_proto_body_add(&j->req_body, m->body, m->body_len) < 0)
            j->too_large = 1;
        j->deadline = pgs_time_mono_ms() + S_PIECE_IDLE_MS;
        j->pnext = b->partials;
        b->partials = j;
        return;
    }
    s_enqueue(b, j, m->service);
}

static void
s_partial_unlink(edge_broker_t *b, s_job_t *j)
{
    for (s_job_t **pp = &b->partials; *pp; pp = &(*pp)->pnext) {
        if (*pp == j) {
            *pp = j->pnext;
            return;
        }
    }
}

/* The next piece of a client's request body; the last one queues it. */
static void
s_on_client_body(edge_broker_t *b, const unsigned char *id, size_t idlen,
                 const pgs_proto_msg_t *m)
{
    s_job_t *j = b->partials;
    while (j && !(j->client_id == m->id && j->client_len == idlen &&
                  memcmp(j->client, id, idlen) == 0))
        j = j->pnext;
    if (!j)
        return;
    if (!j->too_large && pgs_proto_body_add(&j->req_body, m->body, m->body_len) < 0)
        j->too_large = 1;
    if (m->flags & PGS_PROTO_MORE) {
        j->deadline = pgs_time_mono_ms() + S_PIECE_IDLE_MS;
        return;
    }
    s_partial_unlink(b, j);
    if (j->too_large) {
        char *body = pgs_json_error_body("payload_too_large", "The request body is too large.",
                                         j->request_id, NULL, NULL);
        s_deliver(b, j, 413, "", NULL, body, body ? strlen(body) : 0);
        free(body);
        return;
    }
    if (j->body_owned)
        free(j->body);
    j->body = j->req_body.data;
    j->body_owned = 1;
    j->body_len = j->req_body.len;
    j->req_body = (pgs_proto_body_t){0};
    j->deadline = pgs_time_mono_ms() + 10000;
    s_enqueue(b, j, j->service_name);
}

/* Clients' bodies whose next piece never came. */
static void
s_expire_partials(edge_broker_t *b, int64_t now)
{
    for (s_job_t **pp = &b->partials; *pp;) {
        s_job_t *j = *pp;
        if (now <= j->deadline) {
            pp = &j->pnext;
            continue;
        }
        *pp = j->pnext;
        pgs_debug("a client's request body stopped coming; dropped");
        s_job_free(j);
    }
}

static void
s_on_message(edge_broker_t *b, pgs_proto_inbox_t *in)
{
    pgs_proto_msg_t m;
    int rc = pgs_proto_decode(in->frames, in->nframes, b->scratch, S_SCRATCH, &m);
    if (rc == PGS_PROTO_EVERSION) {
        int64_t now = pgs_time_mono_ms();
        if (!b->last_version_log || now - b->last_version_log >= 60000) {
            b->last_version_log = now;
            char v[5];
            for (int i = 0; i < 4; i++) {
                char ch = ((const char *)in->frames[0].data)[i];
                v[i] = ch >= 0x21 && ch <= 0x7e ? ch : '?';
            }
            v[4] = '\0';
            pgs_error("refused a peer speaking protocol %s: this edge speaks %s (run the same "
                      "release of every process)",
                      v, PGS_PROTO_VERSION);
        }
        return;
    }
    if (rc < 0) {
        pgs_warn("malformed broker message dropped");
        return;
    }
    s_worker_t *w = NULL;
    HASH_FIND(hh, b->workers, in->identity, in->identity_len, w);
    if (w)
        w->last_seen = pgs_time_mono_ms();
    switch (m.cmd) {
    case PGS_PROTO_READY: s_on_ready(b, in->identity, in->identity_len, &m); break;
    case PGS_PROTO_REQUEST: s_on_client_request(b, in->identity, in->identity_len, &m); break;
    case PGS_PROTO_BODY: s_on_client_body(b, in->identity, in->identity_len, &m); break;
    case PGS_PROTO_REPLY:
        if (w)
            s_on_reply(b, w, &m);
        break;
    case PGS_PROTO_HEARTBEAT:
        if (!w) {
            /* A worker we do not know (we restarted): ask it to re-announce. */
            pgs_proto_msg_t bye = {.cmd = PGS_PROTO_DISCONNECT};
            pgs_proto_send(b->sock, in->identity, in->identity_len, &bye);
        }
        break;
    case PGS_PROTO_DISCONNECT:
        if (w) {
            s_service_t *s = w->service;
            w->draining = 1;
            if (w->inflight == 0)
                s_worker_remove(b, w, "left");
            s_dispatch(b, s);
        }
        break;
    case PGS_PROTO_CHUNK:
    case PGS_PROTO_END:
        if (w)
            s_on_chunk(b, w, &m, m.cmd == PGS_PROTO_END);
        break;
    default: break;
    }
}

/* ---- timers ---- */

static void
s_sweep(edge_broker_t *b, int64_t now)
{
    s_job_t *j, *tmp;
    HASH_ITER(hh, b->jobs, j, tmp) {
        if (now > j->deadline)
            s_fail(b, j, 504, "upstream_timeout", "The request took too long.");
    }
    s_expire_partials(b, now);
    /* Messages still unread may be a silent-looking worker's heartbeats:
     * judge liveness only with the socket drained. */
    int events = 0;
    size_t sz = sizeof events;
    if (zmq_getsockopt(b->sock, ZMQ_EVENTS, &events, &sz) == 0 && (events & ZMQ_POLLIN))
        return;
    s_worker_t *w, *wtmp;
    HASH_ITER(hh, b->workers, w, wtmp) {
        if (now - w->last_seen > S_LIVENESS_MS) {
            s_service_t *s = w->service;
            s_worker_remove(b, w, "missed 3 heartbeats");
            s_dispatch(b, s);
        }
    }
}

static void
s_heartbeat(edge_broker_t *b)
{
    pgs_proto_msg_t hb = {.cmd = PGS_PROTO_HEARTBEAT};
    s_worker_t *w, *tmp;
    HASH_ITER(hh, b->workers, w, tmp) {
        if (pgs_proto_send(b->sock, w->identity, w->identity_len, &hb) < 0 &&
            errno == EHOSTUNREACH) {
            s_service_t *s = w->service;
            s_worker_remove(b, w, "unreachable");
            s_dispatch(b, s);
        }
    }
}

static void
s_deliver_ready(edge_broker_t *b)
{
    while (b->ready_head) {
        s_job_t *j = b->ready_head;
        b->ready_head = j->qnext;
        if (!b->ready_head)
            b->ready_tail = NULL;
        if (j->result_status < 0) {
            s_stream_end(b, j, EDGE_BROKER_END_LOST, "");
            continue;
        }
        const char *hdr = j->result_status == 503 ? "Retry-After: 1\n" : "";
        char *body = j->result_body;
        j->result_body = NULL;
        s_deliver(b, j, j->result_status, hdr, "", body, body ? strlen(body) : 0);
        free(body);
    }
}

void
edge_broker_poll(edge_broker_t *b)
{
    for (int n = 0; n < 10000; n++) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(b->sock, ZMQ_EVENTS, &events, &sz) < 0 || !(events & ZMQ_POLLIN))
            break;
        pgs_proto_inbox_t in;
        int rc = pgs_proto_recv(b->sock, 1, &in);
        if (rc == 0)
            break;
        if (rc < 0)
            continue;
        s_on_message(b, &in);
        pgs_proto_inbox_close(&in);
    }
    int64_t now = pgs_time_mono_ms();
    if (now - b->last_heartbeat >= S_HEARTBEAT_MS) {
        b->last_heartbeat = now;
        s_heartbeat(b);
    }
    if (now - b->last_sweep >= 50) {
        b->last_sweep = now;
        s_sweep(b, now);
    }
    s_deliver_ready(b);
}

static void
s_on_fd(void *arg, uint32_t events)
{
    (void)events;
    edge_broker_poll(arg);
}

/* ---- public ---- */

edge_broker_t *
edge_broker_new(edge_loop_t *loop, const char *endpoints, int max_queue)
{
    edge_broker_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->loop = loop;
    b->max_queue = max_queue;
    b->scratch = malloc(S_SCRATCH);
    b->zctx = zmq_ctx_new();
    b->sock = b->zctx ? zmq_socket(b->zctx, ZMQ_ROUTER) : NULL;
    if (!b->scratch || !b->sock) {
        edge_broker_destroy(&b);
        return NULL;
    }
    int one = 1, linger = 0, hwm = 100000;
    int64_t maxmsg = (int64_t)PGS_PROTO_MAX_BODY + (1 << 20);
    zmq_setsockopt(b->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(b->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    char *list = strdup(endpoints);
    int bound = 0;
    for (char *save = NULL, *ep = strtok_r(list, " ,", &save); ep; ep = strtok_r(NULL, " ,", &save)) {
        if (strncmp(ep, "ipc://", 6) == 0)
            unlink(ep + 6); /* a stale socket file of a previous run */
        if (zmq_bind(b->sock, ep) < 0) {
            pgs_error("cannot bind the broker at %s: %s", ep, zmq_strerror(errno));
            free(list);
            edge_broker_destroy(&b);
            return NULL;
        }
        bound++;
    }
    free(list);
    size_t sz = sizeof b->fd;
    if (!bound || zmq_getsockopt(b->sock, ZMQ_FD, &b->fd, &sz) < 0 ||
        edge_loop_watch(loop, b->fd, EPOLLIN, s_on_fd, b) < 0) {
        edge_broker_destroy(&b);
        return NULL;
    }
    return b;
}

void
edge_broker_destroy(edge_broker_t **bp)
{
    if (!bp || !*bp)
        return;
    edge_broker_t *b = *bp;
    s_job_t *j, *tmp;
    HASH_ITER(hh, b->jobs, j, tmp) {
        s_fail(b, j, 503, "service_unavailable", "The edge is stopping.");
    }
    s_deliver_ready(b);
    while (b->partials) {
        s_job_t *p = b->partials;
        b->partials = p->pnext;
        s_job_free(p);
    }
    s_worker_t *w, *wtmp;
    HASH_ITER(hh, b->workers, w, wtmp) {
        HASH_DEL(b->workers, w);
        free(w);
    }
    while (b->services) {
        s_service_t *s = b->services;
        b->services = s->next;
        free(s->workers);
        free(s);
    }
    if (b->sock) {
        edge_loop_unwatch(b->loop, b->fd);
        zmq_close(b->sock);
    }
    if (b->zctx)
        zmq_ctx_term(b->zctx);
    free(b->scratch);
    free(b);
    *bp = NULL;
}

uint64_t
edge_broker_submit(edge_broker_t *b, const edge_broker_req_t *req, edge_broker_done done, void *arg)
{
    s_job_t *j = s_job_new(b, req);
    if (!j)
        return 0;
    j->done = done;
    j->on_chunk = req->on_chunk;
    j->on_end = req->on_end;
    j->arg = arg;
    uint64_t id = j->id;
    s_enqueue(b, j, req->service);
    return id;
}

void
edge_broker_cancel(edge_broker_t *b, uint64_t handle)
{
    s_job_t *j = NULL;
    HASH_FIND(hh, b->jobs, &handle, sizeof handle, j);
    if (j) {
        j->done = NULL;
        return;
    }
    for (j = b->ready_head; j; j = j->qnext)
        if (j->id == handle)
            j->done = NULL;
    /* A cancelled stream keeps its job until the worker's END: the worker
     * still holds the request, and its credit. */
}

int
edge_broker_live_workers(const edge_broker_t *b, const char *service)
{
    for (s_service_t *s = b->services; s; s = s->next)
        if (strcmp(s->name, service) == 0)
            return s_live(s);
    return 0;
}

int
edge_broker_has_ready(const edge_broker_t *b)
{
    return b->ready_head != NULL;
}
