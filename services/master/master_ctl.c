/*
 * master_ctl — see master_ctl.h.
 */
#include "master_ctl.h"

#include "pgs_log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static char *
s_error(const char *message)
{
    json_t *o = json_pack("{s:s}", "error", message);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static char *
s_ok(void)
{
    return strdup("{\"ok\":true}");
}

char *
master_ctl_answer(master_proc_t *procs, const char *req, size_t len, int64_t now)
{
    json_error_t jerr;
    json_t *o = json_loadb(req, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return s_error("request is not a JSON object");
    }
    const char *cmd = json_string_value(json_object_get(o, "cmd"));
    const char *service = json_string_value(json_object_get(o, "service"));
    char err[256];
    char *out = NULL;
    if (!cmd) {
        out = s_error("missing \"cmd\"");
    } else if (strcmp(cmd, "status") == 0) {
        json_t *st = master_proc_status(procs, now);
        out = st ? json_dumps(st, JSON_COMPACT) : NULL;
        json_decref(st);
    } else if (strcmp(cmd, "restart") == 0) {
        if (!service)
            out = s_error("missing \"service\"");
        else if (master_proc_restart(procs, service, now, err, sizeof err) < 0)
            out = s_error(err);
        else
            out = s_ok();
    } else if (strcmp(cmd, "scale") == 0) {
        json_t *count = json_object_get(o, "count");
        if (!service)
            out = s_error("missing \"service\"");
        else if (!json_is_integer(count))
            out = s_error("\"count\" must be an integer");
        else if (master_proc_scale(procs, service, json_integer_value(count), now, err,
                                   sizeof err) < 0)
            out = s_error(err);
        else
            out = s_ok();
    } else {
        out = s_error("unknown cmd (status, restart or scale)");
    }
    json_decref(o);
    return out;
}

/* 1 when something answers a status request at endpoint within 500 ms. */
static int
s_someone_answers(void *ctx, const char *endpoint)
{
    void *req = zmq_socket(ctx, ZMQ_REQ);
    if (!req)
        return 0;
    int zero = 0, timeout = 500;
    zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(req, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    int answered = 0;
    char buf[16];
    if (zmq_connect(req, endpoint) == 0 && zmq_send(req, "{\"cmd\":\"status\"}", 16, 0) == 16 &&
        zmq_recv(req, buf, sizeof buf, 0) >= 0)
        answered = 1;
    zmq_close(req);
    return answered;
}

void *
master_ctl_bind(void *ctx, const char *endpoint, char *err, size_t errlen)
{
    const char *path = strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    int exists = path && (f || errno != ENOENT);
    if (f)
        fclose(f);
    if (exists && s_someone_answers(ctx, endpoint)) {
        snprintf(err, errlen, "another pegasus-master is running (it answers at %s)", endpoint);
        return NULL;
    }
    void *sock = zmq_socket(ctx, ZMQ_REP);
    if (!sock) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    int zero = 0;
    int64_t maxmsg = MASTER_CTL_MAX_REQUEST;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_bind(sock, endpoint) < 0) {
        snprintf(err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

void
master_ctl_serve(void *sock, master_proc_t *procs, int64_t now)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(&msg);
            /* A reply that could not be sent leaves REP waiting to send:
             * send one now, or the socket would refuse every request. */
            if (e == EFSM)
                zmq_send(sock, "{\"error\":\"internal error\"}", 26, ZMQ_DONTWAIT);
            return;
        }
        /* A request is one frame; extra frames are read and ignored so the
         * socket is ready to send the one reply. */
        int more = zmq_msg_more(&msg);
        while (more) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            if (zmq_msg_recv(&extra, sock, 0) < 0) {
                zmq_msg_close(&extra);
                break;
            }
            more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
        }
        char *reply = master_ctl_answer(procs, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
        zmq_msg_close(&msg);
        const char *text = reply ? reply : "{\"error\":\"out of memory\"}";
        if (zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
            pgs_warn("control reply not sent: %s", zmq_strerror(zmq_errno()));
        free(reply);
    }
}
