/*
 * pgs_proto — see pgs_proto.h. Decoding never trusts a peer: every frame
 * count, length and number is checked, and a bad message is dropped whole.
 */
#include "pgs_proto.h"
#include "pgs_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_cmd_names[] = {"?",     "READY", "HEARTBEAT", "REQUEST",   "REPLY",
                                          "CHUNK", "END",   "DISCONNECT", "BODY"};

const char *
pgs_proto_cmd_name(int cmd)
{
    return cmd >= 1 && cmd <= 8 ? s_cmd_names[cmd] : "?";
}

/* Frames each command carries after the version and command frames. */
static int
s_arity(int cmd)
{
    switch (cmd) {
    case PGS_PROTO_READY: return 3;
    case PGS_PROTO_HEARTBEAT: return 0;
    case PGS_PROTO_REQUEST: return 7;
    case PGS_PROTO_REPLY: return 6;
    case PGS_PROTO_CHUNK: return 2;
    case PGS_PROTO_END: return 3;
    case PGS_PROTO_BODY: return 3;
    case PGS_PROTO_DISCONNECT: return 0;
    default: return -1;
    }
}

static int
s_number(const pgs_proto_frame_t *f, uint64_t max, uint64_t *out)
{
    if (f->len == 0 || f->len > 20)
        return -1;
    const char *p = f->data;
    uint64_t v = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Copies a text frame into scratch, NUL-terminated. */
static const char *
s_text(const pgs_proto_frame_t *f, size_t max, char **scratch, size_t *left)
{
    if (f->len > max || f->len + 1 > *left)
        return NULL;
    if (f->len && memchr(f->data, '\0', f->len))
        return NULL;
    char *dst = *scratch;
    if (f->len)
        memcpy(dst, f->data, f->len);
    dst[f->len] = '\0';
    *scratch += f->len + 1;
    *left -= f->len + 1;
    return dst;
}

int
pgs_proto_decode(const pgs_proto_frame_t *frames, size_t n, char *scratch, size_t scratch_len,
                 pgs_proto_msg_t *out)
{
    memset(out, 0, sizeof *out);
    if (n < 1 || frames[0].len != 4 || memcmp(frames[0].data, PGS_PROTO_VERSION, 3) != 0)
        return -1;
    if (memcmp(frames[0].data, PGS_PROTO_VERSION, 4) != 0)
        return PGS_PROTO_EVERSION;
    if (n < 2)
        return -1;
    if (frames[1].len != 1)
        return -1;
    int cmd = ((const unsigned char *)frames[1].data)[0];
    int arity = s_arity(cmd);
    if (arity < 0 || n != (size_t)arity + 2)
        return -1;
    out->cmd = (pgs_proto_cmd_t)cmd;
    const pgs_proto_frame_t *f = frames + 2;
    char *sp = scratch;
    size_t left = scratch_len;
    uint64_t num = 0;
    switch (cmd) {
    case PGS_PROTO_READY:
        out->service = s_text(&f[0], PGS_PROTO_MAX_NAME, &sp, &left);
        out->instance = s_text(&f[1], PGS_PROTO_MAX_NAME, &sp, &left);
        if (!out->service || !out->instance || !*out->service ||
            s_number(&f[2], PGS_PROTO_MAX_CAPACITY, &num) < 0 || num == 0)
            return -1;
        out->capacity = (unsigned)num;
        return 0;
    case PGS_PROTO_REQUEST:
        if (s_number(&f[0], UINT64_MAX, &out->id) < 0)
            return -1;
        out->service = s_text(&f[1], PGS_PROTO_MAX_NAME, &sp, &left);
        out->route = s_text(&f[2], PGS_PROTO_MAX_NAME, &sp, &left);
        out->context = s_text(&f[3], PGS_PROTO_MAX_JSON, &sp, &left);
        out->params = s_text(&f[4], PGS_PROTO_MAX_JSON, &sp, &left);
        if (!out->service || !out->route || !out->context || !out->params || !*out->service ||
            !*out->route || s_number(&f[5], PGS_PROTO_MORE, &num) < 0 ||
            f[6].len > PGS_PROTO_MAX_BODY)
            return -1;
        out->flags = (unsigned)num;
        out->body = f[6].data;
        out->body_len = f[6].len;
        return 0;
    case PGS_PROTO_BODY:
        if (s_number(&f[0], UINT64_MAX, &out->id) < 0 ||
            s_number(&f[1], PGS_PROTO_MORE, &num) < 0 || f[2].len > PGS_PROTO_MAX_BODY)
            return -1;
        out->flags = (unsigned)num;
        out->body = f[2].data;
        out->body_len = f[2].len;
        return 0;
    case PGS_PROTO_REPLY:
        if (s_number(&f[0], UINT64_MAX, &out->id) < 0 || s_number(&f[1], 599, &num) < 0 ||
            num < 100)
            return -1;
        out->status = (int)num;
        /* MORE and STREAM together mean nothing: refused. */
        if (s_number(&f[2], PGS_PROTO_STREAM, &num) < 0 || num == 3)
            return -1;
        out->flags = (unsigned)num;
        out->headers = s_text(&f[3], PGS_PROTO_MAX_JSON, &sp, &left);
        out->meta = s_text(&f[4], PGS_PROTO_MAX_JSON, &sp, &left);
        if (!out->headers || !out->meta || f[5].len > PGS_PROTO_MAX_BODY)
            return -1;
        out->body = f[5].data;
        out->body_len = f[5].len;
        return 0;
    case PGS_PROTO_CHUNK:
        if (s_number(&f[0], UINT64_MAX, &out->id) < 0 || f[1].len > PGS_PROTO_MAX_BODY)
            return -1;
        out->body = f[1].data;
        out->body_len = f[1].len;
        return 0;
    case PGS_PROTO_END:
        if (s_number(&f[0], UINT64_MAX, &out->id) < 0)
            return -1;
        if (f[1].len == 2 && memcmp(f[1].data, "ok", 2) == 0)
            out->ok = 1;
        else if (!(f[1].len == 6 && memcmp(f[1].data, "failed", 6) == 0))
            return -1;
        out->meta = s_text(&f[2], PGS_PROTO_MAX_JSON, &sp, &left);
        return out->meta ? 0 : -1;
    default:
        return 0;
    }
}

static pgs_proto_frame_t
s_str(const char *s)
{
    pgs_proto_frame_t f = {s ? s : "", s ? strlen(s) : 0};
    return f;
}

int
pgs_proto_encode(const pgs_proto_msg_t *m, char numbuf[64], pgs_proto_frame_t *out)
{
    static const unsigned char cmds[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    static const char flag_text[4][2] = {"0", "1", "2", "3"};
    int arity = s_arity((int)m->cmd);
    if (arity < 0)
        return -1;
    out[0] = (pgs_proto_frame_t){PGS_PROTO_VERSION, 4};
    out[1] = (pgs_proto_frame_t){&cmds[m->cmd], 1};
    char *id = numbuf, *num = numbuf + 32;
    int idlen = (int)pgs_num_u64(m->id, id);
    pgs_proto_frame_t flags = {flag_text[m->flags & 3], 1};
    switch (m->cmd) {
    case PGS_PROTO_READY:
        out[2] = s_str(m->service);
        out[3] = s_str(m->instance);
        out[4] = (pgs_proto_frame_t){num, pgs_num_u64(m->capacity, num)};
        break;
    case PGS_PROTO_REQUEST:
        out[2] = (pgs_proto_frame_t){id, (size_t)idlen};
        out[3] = s_str(m->service);
        out[4] = s_str(m->route);
        out[5] = s_str(m->context ? m->context : "");
        out[6] = s_str(m->params ? m->params : "{}");
        out[7] = flags;
        out[8] = (pgs_proto_frame_t){m->body ? m->body : "", m->body_len};
        break;
    case PGS_PROTO_BODY:
        out[2] = (pgs_proto_frame_t){id, (size_t)idlen};
        out[3] = flags;
        out[4] = (pgs_proto_frame_t){m->body ? m->body : "", m->body_len};
        break;
    case PGS_PROTO_REPLY:
        out[2] = (pgs_proto_frame_t){id, (size_t)idlen};
        out[3] = (pgs_proto_frame_t){num, pgs_num_i64(m->status, num)};
        out[4] = flags;
        out[5] = s_str(m->headers ? m->headers : "");
        out[6] = s_str(m->meta);
        out[7] = (pgs_proto_frame_t){m->body ? m->body : "", m->body_len};
        break;
    case PGS_PROTO_CHUNK:
        out[2] = (pgs_proto_frame_t){id, (size_t)idlen};
        out[3] = (pgs_proto_frame_t){m->body ? m->body : "", m->body_len};
        break;
    case PGS_PROTO_END:
        out[2] = (pgs_proto_frame_t){id, (size_t)idlen};
        out[3] = m->ok ? (pgs_proto_frame_t){"ok", 2} : (pgs_proto_frame_t){"failed", 6};
        out[4] = s_str(m->meta);
        break;
    default:
        break;
    }
    return arity + 2;
}

int
pgs_proto_send(void *socket, const void *identity, size_t identity_len, const pgs_proto_msg_t *msg)
{
    pgs_proto_frame_t frames[PGS_PROTO_MAX_FRAMES];
    char numbuf[64];
    int n = pgs_proto_encode(msg, numbuf, frames);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    /* A frame over the limit would make the peer drop the connection
     * (ZMQ_MAXMSGSIZE) and everything in flight on it: refused here. */
    for (int i = 0; i < n; i++) {
        if (frames[i].len > PGS_PROTO_MAX_BODY) {
            errno = EMSGSIZE;
            return -1;
        }
    }
    if (identity) {
        /* The first send decides routing; under ZMQ_ROUTER_MANDATORY it fails
         * with EHOSTUNREACH, and nothing of the message has been queued. */
        if (zmq_send(socket, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
            return -1;
    }
    for (int i = 0; i < n; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(socket, frames[i].data, frames[i].len, flags) < 0)
            return -1;
    }
    return 0;
}

int
pgs_proto_send_whole(void *socket, const void *identity, size_t identity_len,
                     const pgs_proto_msg_t *msg)
{
    if ((msg->cmd != PGS_PROTO_REQUEST && msg->cmd != PGS_PROTO_REPLY) ||
        (msg->cmd == PGS_PROTO_REPLY && (msg->flags & PGS_PROTO_STREAM))) {
        errno = EINVAL;
        return -1;
    }
    if (msg->body_len > PGS_PROTO_MAX_TOTAL) {
        errno = EMSGSIZE;
        return -1;
    }
    pgs_proto_msg_t first = *msg;
    first.flags = msg->body_len > PGS_PROTO_PIECE ? PGS_PROTO_MORE : 0;
    if (first.flags)
        first.body_len = PGS_PROTO_PIECE;
    if (pgs_proto_send(socket, identity, identity_len, &first) < 0)
        return -1;
    const char *p = msg->body;
    for (size_t off = first.body_len; first.flags && off < msg->body_len;) {
        size_t n = msg->body_len - off < PGS_PROTO_PIECE ? msg->body_len - off : PGS_PROTO_PIECE;
        int last = off + n == msg->body_len;
        pgs_proto_msg_t piece = {.id = msg->id, .body = p + off, .body_len = n};
        if (msg->cmd == PGS_PROTO_REQUEST) {
            piece.cmd = PGS_PROTO_BODY;
            piece.flags = last ? 0 : PGS_PROTO_MORE;
        } else {
            piece.cmd = PGS_PROTO_CHUNK;
        }
        if (pgs_proto_send(socket, identity, identity_len, &piece) < 0)
            return -1;
        off += n;
    }
    if (first.flags && msg->cmd == PGS_PROTO_REPLY) {
        pgs_proto_msg_t end = {.cmd = PGS_PROTO_END, .id = msg->id, .ok = 1};
        if (pgs_proto_send(socket, identity, identity_len, &end) < 0)
            return -1;
    }
    return 0;
}

int
pgs_proto_body_add(pgs_proto_body_t *b, const void *data, size_t len)
{
    if (len > PGS_PROTO_MAX_TOTAL - b->len) {
        pgs_proto_body_free(b);
        return -1;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            pgs_proto_body_free(b);
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

void
pgs_proto_body_free(pgs_proto_body_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void
s_drain(void *socket)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, socket, 0);
        zmq_msg_close(&m);
    }
}

int
pgs_proto_recv(void *socket, int with_identity, pgs_proto_inbox_t *in)
{
    in->nparts = 0;
    in->nframes = 0;
    in->identity_len = 0;
    int bad = 0;
    for (;;) {
        if (in->nparts == PGS_PROTO_MAX_FRAMES + 1) {
            s_drain(socket);
            bad = 1;
            break;
        }
        zmq_msg_t *part = &in->parts[in->nparts];
        zmq_msg_init(part);
        if (zmq_msg_recv(part, socket, in->nparts ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(part);
            if (in->nparts == 0)
                return 0;
            bad = 1;
            break;
        }
        in->nparts++;
        if (!zmq_msg_more(part))
            break;
    }
    int first = 0;
    if (!bad && with_identity) {
        size_t len = zmq_msg_size(&in->parts[0]);
        if (len == 0 || len > sizeof in->identity)
            bad = 1;
        else {
            memcpy(in->identity, zmq_msg_data(&in->parts[0]), len);
            in->identity_len = len;
            first = 1;
        }
    }
    if (bad || in->nparts - first > PGS_PROTO_MAX_FRAMES) {
        pgs_proto_inbox_close(in);
        return -1;
    }
    for (int i = first; i < in->nparts; i++) {
        in->frames[in->nframes].data = zmq_msg_data(&in->parts[i]);
        in->frames[in->nframes].len = zmq_msg_size(&in->parts[i]);
        in->nframes++;
    }
    return 1;
}

void
pgs_proto_inbox_close(pgs_proto_inbox_t *in)
{
    for (int i = 0; i < in->nparts; i++)
        zmq_msg_close(&in->parts[i]);
    in->nparts = 0;
    in->nframes = 0;
}
