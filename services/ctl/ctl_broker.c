/*
 * ctl_broker — see ctl_broker.h.
 *
 * ZMQ_IMMEDIATE makes the DEALER report "not writable" until a connection
 * to the broker exists, which is how an absent or dead edge is told apart
 * from a slow one within CTL_BROKER_CONNECT_MS.
 */
#include "ctl_broker.h"
#include "ctl_out.h"

#include "pgs_conf.h"
#include "pgs_edges.h"
#include "pgs_proto.h"
#include "pgs_time.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define S_SCRATCH (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME)

/* Copies the first endpoint of a comma/space separated list. */
static int
s_first(const char *list, char *out, size_t len)
{
    while (*list == ' ' || *list == ',')
        list++;
    size_t n = strcspn(list, ", ");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, list, n);
    out[n] = '\0';
    return 0;
}

static int
s_endpoint(const ctl_t *c, char *out, size_t len, char *err, size_t errlen)
{
    const char *list = getenv("PEGASUS_BROKER_ENDPOINTS");
    pgs_config_t *cfg = NULL;
    if ((!list || !*list) && c->config) {
        char cerr[512];
        cfg = pgs_config_load(c->config, cerr, sizeof cerr);
        if (!cfg) {
            snprintf(err, errlen, "config: %s", cerr);
            return -1;
        }
    }
    char all[PGS_CONF_MAX_EDGES * 1100];
    if ((!list || !*list) && cfg && pgs_edges_endpoints(cfg, c->home, all, sizeof all) == 0)
        list = all;
    /* Without a config: edge 1 at its default bind. */
    if ((!list || !*list) && snprintf(all, sizeof all, "ipc://%s/broker-1.sock", c->home) > 0)
        list = all;
    int rc = s_first(list, out, len);
    pgs_config_destroy(&cfg);
    if (rc < 0)
        snprintf(err, errlen, "PEGASUS_HOME is too long");
    return rc;
}

static int
s_not_running(const char *endpoint, char *err, size_t errlen)
{
    snprintf(err, errlen, "the system is not running (nothing answers at %s)", endpoint);
    return -1;
}

/* Waits for events on sock until deadline. Returns 1, 0 on timeout, -1. */
static int
s_wait(void *sock, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - pgs_time_mono_ms();
        if (left <= 0)
            return 0;
        zmq_pollitem_t it = {sock, 0, events, 0};
        int rc = zmq_poll(&it, 1, (long)left);
        if (rc < 0 && zmq_errno() == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc > 0)
            return 1;
    }
}

/* Waits for the REPLY to id. Returns 0 with out filled, or -1 with err. */
static int
s_await(void *sock, uint64_t id, const char *service, ctl_reply_t *out, char *err, size_t errlen)
{
    char *scratch = malloc(S_SCRATCH);
    if (!scratch) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int64_t deadline = pgs_time_mono_ms() + CTL_BROKER_REPLY_MS;
    int rc = -1, started = 0;
    pgs_proto_body_t body = {0};
    for (;;) {
        int w = s_wait(sock, ZMQ_POLLIN, deadline);
        if (w <= 0) {
            snprintf(err, errlen, "no reply from the %s service within %d s", service,
                     CTL_BROKER_REPLY_MS / 1000);
            break;
        }
        pgs_proto_inbox_t in;
        int got;
        while ((got = pgs_proto_recv(sock, 0, &in)) != 0) {
            if (got < 0)
                continue;
            pgs_proto_msg_t msg;
            int ok = pgs_proto_decode(in.frames, in.nframes, scratch, S_SCRATCH, &msg) == 0;
            if (ok && msg.cmd == PGS_PROTO_REPLY && msg.id == id && !started) {
                /* Whole, or the first piece of a body in CHUNKs. */
                started = 1;
                out->status = msg.status;
                if (pgs_proto_body_add(&body, msg.body, msg.body_len) < 0) {
                    snprintf(err, errlen, "the reply is too large");
                    pgs_proto_inbox_close(&in);
                    goto done;
                }
                if (!(msg.flags & (PGS_PROTO_MORE | PGS_PROTO_STREAM))) {
                    pgs_proto_inbox_close(&in);
                    goto whole;
                }
                pgs_proto_inbox_close(&in);
                continue;
            }
            if (ok && started && msg.id == id &&
                (msg.cmd == PGS_PROTO_CHUNK || msg.cmd == PGS_PROTO_END)) {
                int end = msg.cmd == PGS_PROTO_END, cut = end && !msg.ok;
                if ((!end && pgs_proto_body_add(&body, msg.body, msg.body_len) < 0) || cut) {
                    snprintf(err, errlen, cut ? "the %s service could not finish its reply"
                                              : "the reply is too large",
                             service);
                    pgs_proto_inbox_close(&in);
                    goto done;
                }
                pgs_proto_inbox_close(&in);
                if (end)
                    goto whole;
                continue;
            }
            if (ok && msg.cmd == PGS_PROTO_DISCONNECT) {
                snprintf(err, errlen, "the system is shutting down");
                pgs_proto_inbox_close(&in);
                goto done;
            }
            pgs_proto_inbox_close(&in);
        }
    }
done:
    pgs_proto_body_free(&body);
    free(scratch);
    return rc;
whole:
    out->body = body.data ? body.data : strdup("");
    out->body_len = body.len;
    body = (pgs_proto_body_t){0};
    if (out->body)
        rc = 0;
    else
        snprintf(err, errlen, "out of memory");
    goto done;
}

int
ctl_broker_call(const ctl_t *c, const char *service, const char *route, const char *body,
                ctl_reply_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char endpoint[1200];
    if (s_endpoint(c, endpoint, sizeof endpoint, err, errlen) < 0)
        return -1;
    struct stat st;
    if (strncmp(endpoint, "ipc://", 6) == 0 && stat(endpoint + 6, &st) < 0)
        return s_not_running(endpoint, err, errlen);

    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
    if (!sock) {
        snprintf(err, errlen, "zmq: %s", zmq_strerror(zmq_errno()));
        if (ctx)
            zmq_ctx_term(ctx);
        return -1;
    }
    int zero = 0, one = 1;
    int64_t maxmsg = (int64_t)PGS_PROTO_MAX_BODY + PGS_PROTO_MAX_JSON;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);

    int rc = -1;
    uint64_t id = ((uint64_t)randombytes_random() << 20) ^ randombytes_random();
    char rid[32], context[96];
    snprintf(rid, sizeof rid, "ctl-%08" PRIx32 "%08" PRIx32, randombytes_random(),
             randombytes_random());
    snprintf(context, sizeof context, "request_id=%s\nactor=pegasusctl\n", rid);
    pgs_proto_msg_t req = {.cmd = PGS_PROTO_REQUEST,
                           .id = id ? id : 1,
                           .service = service,
                           .route = route,
                           .context = context,
                           .params = "{}",
                           .body = body,
                           .body_len = body ? strlen(body) : 0};
    if (zmq_connect(sock, endpoint) < 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
    } else if (s_wait(sock, ZMQ_POLLOUT, pgs_time_mono_ms() + CTL_BROKER_CONNECT_MS) <= 0) {
        s_not_running(endpoint, err, errlen);
    } else if (pgs_proto_send_whole(sock, NULL, 0, &req) < 0) {
        snprintf(err, errlen, "cannot send to %s: %s", endpoint, zmq_strerror(zmq_errno()));
    } else {
        rc = s_await(sock, req.id, service, out, err, errlen);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return rc;
}

void
ctl_reply_clear(ctl_reply_t *out)
{
    if (out->body) {
        sodium_memzero(out->body, out->body_len);
        free(out->body);
    }
    memset(out, 0, sizeof *out);
}

const char *
ctl_reply_error(const ctl_reply_t *r, char *buf, size_t len)
{
    json_t *o = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const json_t *e = json_object_get(o, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (!msg)
        msg = json_string_value(e);
    if (msg)
        snprintf(buf, len, "%s", msg);
    else
        snprintf(buf, len, "the request failed with status %d", r->status);
    json_decref(o);
    return buf;
}

int
ctl_broker_request(const ctl_t *c, const char *service, const char *route, json_t *body,
                   json_t **reply_out)
{
    if (reply_out)
        *reply_out = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return ctl_out_fail("out of memory");
    ctl_reply_t r;
    char err[512];
    int rc = ctl_broker_call(c, service, route, text, &r, err, sizeof err);
    sodium_memzero(text, strlen(text));
    free(text);
    if (rc < 0)
        return ctl_out_fail("%s", err);
    if (c->json)
        ctl_out_raw(r.body, r.body_len);
    if (r.status >= 400) {
        char msg[512];
        ctl_out_fail("%s", ctl_reply_error(&r, msg, sizeof msg));
        ctl_reply_clear(&r);
        return 1;
    }
    if (reply_out && r.body_len)
        *reply_out = json_loadb(r.body, r.body_len, 0, NULL);
    ctl_reply_clear(&r);
    return 0;
}
