/*
 * Fuzz target: pgs_proto_decode on frames cut from the input.
 *
 * Input layout: byte 0 chooses the scratch buffer (bit 7 set: input size +
 * 16 bytes; else bits 0-6 give its size, so that "scratch too small" is
 * explored). The rest is a sequence of frames, each a length byte L followed
 * by L bytes (L = 255: the next two bytes are a little-endian length); a
 * frame whose length runs past the end takes what is left. At most 12
 * frames. Every frame and the scratch buffer are separate heap blocks of
 * their exact size, so AddressSanitizer sees any read or write past them.
 *
 * On success the decoded message must (1) reproduce the text frames exactly,
 * (2) have its numbers, flags and outcome in range, (3) encode to frames
 * that decode to the same message (every field compared, flags, ok and meta
 * included). A failure must be -1, or PGS_PROTO_EVERSION exactly when frame
 * 0 is "PGS" and one character other than '2'.
 */
#include "pgs_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* More than the protocol allows, so that "too many frames" is explored. */
#define S_MAX_FRAMES 12
_Static_assert(S_MAX_FRAMES > PGS_PROTO_MAX_FRAMES, "fuzz_proto must exceed the frame limit");

static void
s_check_text(const char *got, const pgs_proto_frame_t *f)
{
    if (!got || strlen(got) != f->len || memcmp(got, f->data, f->len) != 0)
        abort();
}

static int
s_same_text(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void
s_check_equal(const pgs_proto_msg_t *a, const pgs_proto_msg_t *b)
{
    if (a->cmd != b->cmd || a->id != b->id || a->status != b->status ||
        a->capacity != b->capacity || !s_same_text(a->service, b->service) ||
        !s_same_text(a->instance, b->instance) || !s_same_text(a->route, b->route) ||
        !s_same_text(a->context, b->context) || !s_same_text(a->params, b->params) ||
        !s_same_text(a->headers, b->headers) || !s_same_text(a->meta, b->meta) ||
        a->flags != b->flags || a->ok != b->ok || a->body_len != b->body_len ||
        (a->body_len && memcmp(a->body, b->body, a->body_len) != 0))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t scratch_len = (data[0] & 0x80) ? size + 16 : (size_t)(data[0] & 0x7f);
    size_t pos = 1;
    pgs_proto_frame_t frames[S_MAX_FRAMES];
    void *owned[S_MAX_FRAMES];
    size_t n = 0;
    while (pos < size && n < S_MAX_FRAMES) {
        size_t len = data[pos++];
        if (len == 255) {
            len = 0;
            if (pos < size)
                len = data[pos++];
            if (pos < size)
                len |= (size_t)data[pos++] << 8;
        }
        if (len > size - pos)
            len = size - pos;
        owned[n] = malloc(len ? len : 1);
        if (!owned[n])
            abort();
        memcpy(owned[n], data + pos, len);
        frames[n].data = owned[n];
        frames[n].len = len;
        pos += len;
        n++;
    }
    char *scratch = scratch_len ? malloc(scratch_len) : NULL;
    pgs_proto_msg_t msg;
    int rc = pgs_proto_decode(frames, n, scratch, scratch_len, &msg);
    int other_version = n >= 1 && frames[0].len == 4 && memcmp(frames[0].data, "PGS", 3) == 0 &&
                        ((const char *)frames[0].data)[3] != '2';
    if (rc != 0 && rc != -1 && rc != PGS_PROTO_EVERSION)
        abort();
    if ((rc == PGS_PROTO_EVERSION) != other_version)
        abort();
    if (rc == 0) {
        const pgs_proto_frame_t *f = frames + 2;
        if (n > PGS_PROTO_MAX_FRAMES)
            abort();
        switch (msg.cmd) {
        case PGS_PROTO_READY:
            s_check_text(msg.service, &f[0]);
            s_check_text(msg.instance, &f[1]);
            if (msg.capacity < 1 || msg.capacity > PGS_PROTO_MAX_CAPACITY)
                abort();
            break;
        case PGS_PROTO_REQUEST:
            s_check_text(msg.service, &f[1]);
            s_check_text(msg.route, &f[2]);
            s_check_text(msg.context, &f[3]);
            s_check_text(msg.params, &f[4]);
            if (msg.flags > PGS_PROTO_MORE || msg.body_len != f[6].len)
                abort();
            break;
        case PGS_PROTO_BODY:
            if (msg.flags > PGS_PROTO_MORE || msg.body_len != f[2].len)
                abort();
            break;
        case PGS_PROTO_REPLY:
            s_check_text(msg.headers, &f[3]);
            s_check_text(msg.meta, &f[4]);
            if (msg.status < 100 || msg.status > 599 || msg.body_len != f[5].len ||
                msg.flags > PGS_PROTO_STREAM)
                abort();
            break;
        case PGS_PROTO_END:
            s_check_text(msg.meta, &f[2]);
            if (msg.ok != 0 && msg.ok != 1)
                abort();
            break;
        default:
            break;
        }
        /* Encode what was decoded and decode it again. */
        pgs_proto_frame_t again[PGS_PROTO_MAX_FRAMES];
        char numbuf[64];
        int m = pgs_proto_encode(&msg, numbuf, again);
        if (m < 0 || (size_t)m != n)
            abort();
        size_t big = PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME;
        static char *s_big;
        if (!s_big && !(s_big = malloc(big)))
            abort();
        pgs_proto_msg_t back;
        if (pgs_proto_decode(again, (size_t)m, s_big, big, &back) != 0)
            abort();
        s_check_equal(&msg, &back);
        (void)pgs_proto_cmd_name((int)msg.cmd);
    }
    free(scratch);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    return 0;
}
