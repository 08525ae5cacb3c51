/*
 * ctl_master — see ctl_master.h. A REQ socket with ZMQ_IMMEDIATE, send and
 * receive timeouts and no linger, so a dead or absent supervisor costs at
 * most CTL_MASTER_TIMEOUT_MS and leaves nothing behind.
 */
#include "ctl_master.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define S_MAX_REPLY (4 << 20)

json_t *
ctl_master_call(const ctl_t *c, const json_t *request, char *err, size_t errlen)
{
    char path[1100], endpoint[1200];
    int n = snprintf(path, sizeof path, "%s/master.sock", c->home);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "PEGASUS_HOME is too long");
        return NULL;
    }
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "the system is not running (no supervisor socket at %s)", path);
        return NULL;
    }
    char *text = json_dumps(request, JSON_COMPACT);
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_REQ) : NULL;
    json_t *reply = NULL;
    if (!text || !sock) {
        snprintf(err, errlen, "%s", text ? zmq_strerror(zmq_errno()) : "out of memory");
        goto out;
    }
    int zero = 0, one = 1, timeout = CTL_MASTER_TIMEOUT_MS;
    int64_t maxmsg = S_MAX_REPLY;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (zmq_connect(sock, endpoint) < 0 || zmq_send(sock, text, strlen(text), 0) < 0) {
        snprintf(err, errlen, "the system is not running (the supervisor does not answer at %s)",
                 endpoint);
        goto out;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, 0) < 0) {
        zmq_msg_close(&msg);
        snprintf(err, errlen,
                 "the system is not running (no answer from the supervisor within %d s)",
                 CTL_MASTER_TIMEOUT_MS / 1000);
        goto out;
    }
    json_error_t jerr;
    reply = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &jerr);
    zmq_msg_close(&msg);
    if (!json_is_object(reply)) {
        json_decref(reply);
        reply = NULL;
        snprintf(err, errlen, "the supervisor sent a malformed reply");
    }
out:
    free(text);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return reply;
}
