/*
 * pgs_worker — see pgs_worker.h.
 *
 * Liveness follows the Paranoid Pirate pattern: each side heartbeats every
 * second and treats 3 silent seconds as death. A worker that hears nothing
 * from an edge for that long drops its socket and connects afresh, so an
 * edge that restarted learns about the worker through a new READY.
 */
#include "pgs_worker.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_proto.h"
#include "pgs_time.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_EDGES 8
#define S_HEARTBEAT_MS 1000
#define S_LIVENESS_MS 3000
#define S_TICK_MS 250
#define S_SCRATCH (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME + 64)

typedef struct s_queued {
    struct s_queued *next;
    int edge;
    pgs_proto_inbox_t in;
} s_queued_t;

typedef struct {
    void *sock;
    char endpoint[512];
    int64_t last_seen;
    int64_t last_sent;
} s_edge_t;

struct pgs_worker {
    const pgs_service_t *svc;
    pgs_config_t *cfg;
    char home[1024];
    char instance[64];
    void *zctx;
    s_edge_t edges[S_MAX_EDGES];
    int nedges;
    unsigned capacity;
    void *state;
    uint64_t next_call_id;
    s_queued_t *queue_head, *queue_tail;
    char *scratch;
    char *call_scratch; /* for replies read while a handler waits in a call */
    int cur_edge;       /* the edge of the request being handled */
    int cur_deferred;   /* the handler deferred its reply */
};

struct pgs_deferred {
    pgs_worker_t *w;
    int edge;
    uint64_t id;
    int streaming;
    char request_id[80];
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

void *
pgs_worker_state(const pgs_worker_t *w)
{
    return w->state;
}

void
pgs_worker_set_state(pgs_worker_t *w, void *state)
{
    w->state = state;
}

/* ---- replies ---- */

void
pgs_res_clear(pgs_res_t *res)
{
    json_decref(res->headers);
    free(res->body);
    memset(res, 0, sizeof *res);
}

static void
s_res_body(pgs_res_t *res, int status, char *body)
{
    free(res->body);
    res->status = status;
    res->body = body;
    res->body_len = body ? strlen(body) : 0;
}

void
pgs_res_json(pgs_res_t *res, int status, json_t *body)
{
    char *text = body ? pgs_json_dump(body) : NULL;
    json_decref(body);
    s_res_body(res, status, text);
    pgs_res_header(res, "Content-Type", "application/json");
}

void
pgs_res_error(pgs_res_t *res, const pgs_req_t *req, int status, const char *code,
              const char *message, const char *param)
{
    s_res_body(res, status,
               pgs_json_error_body(code, message, req ? req->request_id : "", param, NULL));
    pgs_res_header(res, "Content-Type", "application/json");
}

void
pgs_res_empty(pgs_res_t *res, int status)
{
    s_res_body(res, status, NULL);
}

void
pgs_res_header(pgs_res_t *res, const char *name, const char *value)
{
    if (!res->headers)
        res->headers = json_object();
    json_object_set_new(res->headers, name, json_string(value));
}

const char *
pgs_req_ctx(const pgs_req_t *req, const char *key)
{
    return json_string_value(json_object_get(req->ctx, key));
}

const char *
pgs_req_param(const pgs_req_t *req, const char *key)
{
    return json_string_value(json_object_get(req->params, key));
}

/* ---- deferred and streamed replies ---- */

pgs_deferred_t *
pgs_worker_defer(pgs_worker_t *w, const pgs_req_t *req)
{
    pgs_deferred_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->w = w;
    d->edge = w->cur_edge;
    d->id = req->id;
    snprintf(d->request_id, sizeof d->request_id, "%s", req->request_id);
    w->cur_deferred = 1;
    return d;
}

const char *
pgs_deferred_request_id(const pgs_deferred_t *d)
{
    return d->request_id;
}

static int s_send(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg);

static int
s_send_reply(pgs_worker_t *w, int e, uint64_t id, int status, json_t *headers, const char *body,
             size_t len)
{
    char *text = headers ? pgs_json_dump(headers) : NULL;
    pgs_proto_msg_t reply = {.cmd = PGS_PROTO_REPLY,
                             .id = id,
                             .status = status,
                             .headers = text ? text : "{}",
                             .body = body,
                             .body_len = len};
    int rc = s_send(w, e, &reply);
    free(text);
    return rc;
}

void
pgs_deferred_reply(pgs_deferred_t **dp, pgs_res_t *res)
{
    if (!dp || !*dp)
        return;
    pgs_deferred_t *d = *dp;
    if (res->status < 100 || res->status > 599)
        pgs_res_error(res, NULL, 500, "internal_error", "Internal error.", NULL);
    if (s_send_reply(d->w, d->edge, d->id, res->status, res->headers, res->body, res->body_len) < 0)
        PGS_LOG(PGS_LOG_WARN, d->request_id, "deferred reply not sent: %s", zmq_strerror(errno));
    pgs_res_clear(res);
    free(d);
    *dp = NULL;
}

int
pgs_deferred_stream_begin(pgs_deferred_t *d, int status, json_t *headers)
{
    json_t *h = headers ? json_deep_copy(headers) : json_object();
    json_object_set_new(h, "x-pgs-stream", json_string("1"));
    int rc = s_send_reply(d->w, d->edge, d->id, status, h, NULL, 0);
    json_decref(h);
    d->streaming = rc == 0;
    return rc;
}

int
pgs_deferred_stream_chunk(pgs_deferred_t *d, const void *data, size_t len)
{
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_CHUNK, .id = d->id, .body = data, .body_len = len};
    return s_send(d->w, d->edge, &m);
}

void
pgs_deferred_stream_end(pgs_deferred_t **dp)
{
    if (!dp || !*dp)
        return;
    pgs_deferred_t *d = *dp;
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_END, .id = d->id};
    s_send(d->w, d->edge, &m);
    free(d);
    *dp = NULL;
}

/* ---- connections ---- */

static int
s_send(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg)
{
    if (!w->edges[e].sock)
        return -1;
    int rc = pgs_proto_send(w->edges[e].sock, NULL, 0, msg);
    if (rc == 0)
        w->edges[e].last_sent = pgs_time_mono_ms();
    return rc;
}

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
    pgs_proto_msg_t ready = {.cmd = PGS_PROTO_READY,
                             .service = w->svc->name,
                             .instance = w->instance,
                             .capacity = w->capacity};
    s_send(w, e, &ready);
    edge->last_seen = pgs_time_mono_ms();
}

static int
s_parse_endpoints(pgs_worker_t *w)
{
    char dflt[1100];
    snprintf(dflt, sizeof dflt, "ipc://%s/broker.sock", w->home);
    const char *list = pgs_config_str(w->cfg, "broker", "endpoints", "");
    if (!*list)
        list = dflt;
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

/* ---- dispatch ---- */

static void
s_dispatch(pgs_worker_t *w, int e, const pgs_proto_msg_t *msg)
{
    pgs_req_t req = {.id = msg->id,
                     .route = msg->route,
                     .body = msg->body,
                     .body_len = msg->body_len,
                     .request_id = ""};
    pgs_res_t res = {0};
    req.ctx = json_loads(msg->context, 0, NULL);
    req.params = json_loads(msg->params, 0, NULL);
    if (!json_is_object(req.ctx) || !json_is_object(req.params)) {
        pgs_res_error(&res, &req, 400, "invalid_request", "Malformed internal request.", NULL);
    } else {
        const char *rid = json_string_value(json_object_get(req.ctx, "request_id"));
        req.request_id = rid ? rid : "";
        const pgs_route_t *r = w->svc->routes;
        while (r->route && strcmp(r->route, msg->route) != 0)
            r++;
        w->cur_edge = e;
        w->cur_deferred = 0;
        if (r->fn)
            r->fn(w, &req, &res);
        else
            pgs_res_error(&res, &req, 404, "not_found", "No such route.", NULL);
        if (w->cur_deferred) {
            w->cur_deferred = 0;
            pgs_res_clear(&res);
            json_decref(req.ctx);
            json_decref(req.params);
            return;
        }
        if (res.status < 100 || res.status > 599) {
            pgs_error("handler %s returned no status", msg->route);
            pgs_res_error(&res, &req, 500, "internal_error", "Internal error.", NULL);
        }
    }
    char *headers = res.headers ? pgs_json_dump(res.headers) : NULL;
    pgs_proto_msg_t reply = {.cmd = PGS_PROTO_REPLY,
                             .id = msg->id,
                             .status = res.status,
                             .headers = headers ? headers : "{}",
                             .body = res.body,
                             .body_len = res.body_len};
    if (s_send(w, e, &reply) < 0)
        PGS_LOG(PGS_LOG_WARN, req.request_id, "reply not sent: %s", zmq_strerror(errno));
    free(headers);
    pgs_res_clear(&res);
    json_decref(req.ctx);
    json_decref(req.params);
}

static void
s_handle_inbox(pgs_worker_t *w, int e, pgs_proto_inbox_t *in)
{
    pgs_proto_msg_t msg;
    if (pgs_proto_decode(in->frames, in->nframes, w->scratch, S_SCRATCH, &msg) < 0) {
        pgs_warn("malformed message from edge %s dropped", w->edges[e].endpoint);
        return;
    }
    switch (msg.cmd) {
    case PGS_PROTO_REQUEST:
        s_dispatch(w, e, &msg);
        break;
    case PGS_PROTO_DISCONNECT:
        /* The edge does not know us (it restarted): introduce ourselves. */
        s_edge_connect(w, e);
        break;
    default:
        break; /* HEARTBEAT (liveness already noted), stale REPLY */
    }
}

static void
s_enqueue(pgs_worker_t *w, int e, pgs_proto_inbox_t *in)
{
    s_queued_t *q = malloc(sizeof *q);
    if (!q) {
        pgs_proto_inbox_close(in);
        return;
    }
    q->next = NULL;
    q->edge = e;
    /* zmq_msg_t may be moved bitwise only through zmq_msg_move. */
    q->in.nparts = in->nparts;
    for (int i = 0; i < in->nparts; i++) {
        zmq_msg_init(&q->in.parts[i]);
        zmq_msg_move(&q->in.parts[i], &in->parts[i]);
        zmq_msg_close(&in->parts[i]);
    }
    in->nparts = 0;
    q->in.nframes = in->nframes;
    for (size_t i = 0; i < in->nframes; i++) {
        q->in.frames[i].data = zmq_msg_data(&q->in.parts[i]);
        q->in.frames[i].len = zmq_msg_size(&q->in.parts[i]);
    }
    if (w->queue_tail)
        w->queue_tail->next = q;
    else
        w->queue_head = q;
    w->queue_tail = q;
}

static void
s_run_queue(pgs_worker_t *w)
{
    while (w->queue_head) {
        s_queued_t *q = w->queue_head;
        w->queue_head = q->next;
        if (!w->queue_head)
            w->queue_tail = NULL;
        s_handle_inbox(w, q->edge, &q->in);
        pgs_proto_inbox_close(&q->in);
        free(q);
    }
}

static void
s_heartbeat(pgs_worker_t *w)
{
    int64_t now = pgs_time_mono_ms();
    for (int e = 0; e < w->nedges; e++) {
        if (now - w->edges[e].last_seen > S_LIVENESS_MS) {
            pgs_warn("edge %s silent for %d ms; reconnecting", w->edges[e].endpoint, S_LIVENESS_MS);
            s_edge_connect(w, e);
            continue;
        }
        if (now - w->edges[e].last_sent >= S_HEARTBEAT_MS) {
            pgs_proto_msg_t hb = {.cmd = PGS_PROTO_HEARTBEAT};
            s_send(w, e, &hb);
        }
    }
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

/* Polls every edge for up to timeout_ms and reads what arrived. Requests are
 * queued; when want_id is non-zero, a REPLY with that id is copied into out
 * and 1 is returned. */
static int
s_poll(pgs_worker_t *w, int timeout_ms, uint64_t want_id, pgs_res_t *out)
{
    zmq_pollitem_t items[S_MAX_EDGES];
    for (int e = 0; e < w->nedges; e++)
        items[e] = (zmq_pollitem_t){w->edges[e].sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(items, w->nedges, timeout_ms) <= 0)
        return 0;
    int got = 0;
    for (int e = 0; e < w->nedges; e++) {
        if (!(items[e].revents & ZMQ_POLLIN))
            continue;
        for (int n = 0; n < 1000; n++) {
            pgs_proto_inbox_t in;
            int rc = pgs_proto_recv(w->edges[e].sock, 0, &in);
            if (rc == 0)
                break;
            w->edges[e].last_seen = pgs_time_mono_ms();
            if (rc < 0)
                continue;
            pgs_proto_msg_t msg;
            if (want_id && !got &&
                pgs_proto_decode(in.frames, in.nframes, w->call_scratch, S_SCRATCH, &msg) == 0 &&
                msg.cmd == PGS_PROTO_REPLY && msg.id == want_id) {
                out->status = msg.status;
                out->headers = json_loads(msg.headers, 0, NULL);
                out->body = malloc(msg.body_len + 1);
                if (out->body) {
                    memcpy(out->body, msg.body, msg.body_len);
                    out->body[msg.body_len] = '\0';
                    out->body_len = msg.body_len;
                }
                got = 1;
                pgs_proto_inbox_close(&in);
                continue;
            }
            s_enqueue(w, e, &in);
        }
    }
    return got;
}

int
pgs_worker_call(pgs_worker_t *w, const char *service, const char *route, json_t *ctx,
                json_t *params, const char *body, size_t body_len, int timeout_ms, pgs_res_t *out)
{
    memset(out, 0, sizeof *out);
    char *ctx_text = ctx ? pgs_json_dump(ctx) : NULL;
    char *params_text = params ? pgs_json_dump(params) : NULL;
    uint64_t id = ++w->next_call_id;
    pgs_proto_msg_t msg = {.cmd = PGS_PROTO_REQUEST,
                           .id = id,
                           .service = service,
                           .route = route,
                           .context = ctx_text ? ctx_text : "{}",
                           .params = params_text ? params_text : "{}",
                           .body = body,
                           .body_len = body_len};
    int sent = -1;
    for (int e = 0; e < w->nedges && sent < 0; e++)
        sent = s_send(w, e, &msg);
    free(ctx_text);
    free(params_text);
    if (sent == 0) {
        int64_t deadline = pgs_time_mono_ms() + timeout_ms;
        for (;;) {
            int64_t left = deadline - pgs_time_mono_ms();
            if (left <= 0)
                break;
            if (s_poll(w, left > 100 ? 100 : (int)left, id, out))
                return 0;
            s_heartbeat(w);
        }
    }
    pgs_res_error(out, NULL, 503, "service_unavailable", "The service is unavailable.", NULL);
    return -1;
}

/* ---- main ---- */

static int
s_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-c CONFIG] [-i INSTANCE] [-n]\n", argv0);
    return 2;
}

int
pgs_worker_main(const pgs_service_t *svc, int argc, char **argv)
{
    const char *config_path = getenv("PEGASUS_CONFIG");
    const char *instance = "0";
    int check_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:i:n")) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'i':
            instance = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        default:
            return s_usage(argv[0]);
        }
    }
    if (!config_path)
        config_path = "config/pegasus.conf";
    pgs_log_init(svc->name, instance);
    if (sodium_init() < 0) {
        pgs_error("libsodium failed to initialise");
        return 1;
    }
    char err[512];
    pgs_worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return 1;
    w->svc = svc;
    w->scratch = malloc(S_SCRATCH);
    w->call_scratch = malloc(S_SCRATCH);
    w->cfg = pgs_config_load(config_path, err, sizeof err);
    if (!w->cfg || !w->scratch || !w->call_scratch) {
        pgs_error("config: %s", w->cfg ? "out of memory" : err);
        return 1;
    }
    pgs_log_set_level(pgs_config_str(w->cfg, "log", "level", "info"));
    const char *home = getenv("PEGASUS_HOME");
    snprintf(w->home, sizeof w->home, "%s", home && *home ? home : "./var");
    snprintf(w->instance, sizeof w->instance, "%s", instance);
    char section[96];
    snprintf(section, sizeof section, "service.%s", svc->name);
    long long capacity = 8;
    if (pgs_config_int(w->cfg, section, "capacity", 8, 1, PGS_PROTO_MAX_CAPACITY, &capacity) < 0 ||
        s_parse_endpoints(w) < 0)
        return 1;
    w->capacity = (unsigned)capacity;
    if (check_only) {
        pgs_info("config %s is valid", config_path);
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (svc->init && svc->init(w) < 0) {
        pgs_error("service failed to start");
        return 1;
    }
    w->zctx = zmq_ctx_new();
    for (int e = 0; e < w->nedges; e++)
        s_edge_connect(w, e);
    pgs_info("started capacity=%u edges=%d", w->capacity, w->nedges);

    int64_t last_tick = 0;
    while (!s_stop) {
        int wait = svc->wait_ms ? svc->wait_ms(w) : -1;
        s_poll(w, wait >= 0 && wait < S_TICK_MS ? wait : S_TICK_MS, 0, NULL);
        s_run_queue(w);
        if (svc->pump)
            svc->pump(w);
        s_heartbeat(w);
        int64_t now = pgs_time_mono_ms();
        if (svc->tick && now - last_tick >= S_TICK_MS) {
            last_tick = now;
            svc->tick(w);
        }
    }

    /* Leave gracefully: no new work, then finish what already arrived. */
    pgs_info("stopping");
    pgs_proto_msg_t bye = {.cmd = PGS_PROTO_DISCONNECT};
    for (int e = 0; e < w->nedges; e++)
        s_send(w, e, &bye);
    int64_t until = pgs_time_mono_ms() + 300;
    while (pgs_time_mono_ms() < until) {
        s_poll(w, 50, 0, NULL);
        s_run_queue(w);
    }
    if (svc->fini)
        svc->fini(w);
    for (int e = 0; e < w->nedges; e++)
        zmq_close(w->edges[e].sock);
    zmq_ctx_term(w->zctx);
    pgs_config_destroy(&w->cfg);
    free(w->scratch);
    free(w->call_scratch);
    free(w);
    pgs_info("stopped");
    return 0;
}

void
pgs_res_usage_bot(pgs_res_t *res, const char *bot_id)
{
    char v[80];
    snprintf(v, sizeof v, "bot=%s", bot_id);
    pgs_res_header(res, "x-pgs-usage", v);
}

void
pgs_worker_db_path(const pgs_worker_t *w, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/data", pgs_worker_home(w));
    mkdir(out, 0700);
    snprintf(out, len, "%s/data/%s.db", pgs_worker_home(w), name);
}

pgs_redis_t *
pgs_worker_redis(const pgs_worker_t *w)
{
    const pgs_config_t *cfg = pgs_worker_config(w);
    long long timeout_ms = 500;
    if (pgs_config_int(cfg, "redis", "timeout_ms", 500, 10, 60000, &timeout_ms) < 0)
        return NULL;
    char where[1200];
    const char *addr = pgs_config_str(cfg, "redis", "address", "");
    if (*addr)
        snprintf(where, sizeof where, "%s", addr);
    else
        snprintf(where, sizeof where, "%s/redis.sock", pgs_worker_home(w));
    return pgs_redis_new(where, (int)timeout_ms);
}

int
pgs_worker_keepalive_fn(void *worker)
{
    pgs_worker_keepalive(worker);
    return 0;
}
