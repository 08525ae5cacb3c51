/*
 * Fuzz target: the edge's HTTP/1.1 parser (services/edge/edge_http_parse).
 * The input is a request as a client would send it: a head, then (for a
 * chunked body) the body.
 *
 * Properties: edge_http_head_end gives the same verdict — the same length,
 * or the same refusal — whether the bytes come at once or one at a time;
 * an accepted head has a 1–15 character method of token characters, a path
 * starting with '/' inside the head, version 10 or 11, and never both
 * Content-Length and chunked; the chunked decoder gives the same data and
 * the same verdict for the body at once and byte by byte, never consumes
 * more than it was given, and what it decodes is no longer than its input.
 */
#include "edge/edge_http_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_LINE 8224
#define S_MAX_FIELDS_BYTES 16384

static void
s_field(void *arg, const char *name, size_t nn, const char *value, size_t vn)
{
    const char **head = arg; /* [start, end) of the head */
    if (nn == 0 || name < head[0] || name + nn > head[1] || value < head[0] ||
        value + vn > head[1])
        abort();
}

/* Decodes in[0..n) in steps of at most step bytes into out; returns the
 * verdict (1 done, 0 more needed, -1 refused) and sets *outlen, *consumed. */
static int
s_chunked(const char *in, size_t n, size_t step, char *out, size_t *outlen, size_t *consumed,
          int *status)
{
    edge_http_chunked_t d = {0};
    size_t off = 0, have = 0, o = 0;
    int rc = 0;
    while (rc == 0 && have < n) {
        have += step;
        if (have > n)
            have = n;
        while (off < have) {
            size_t used = 0, dlen = 0;
            const char *data = NULL;
            edge_http_err_t err = {0};
            rc = edge_http_chunked(&d, in + off, have - off, &used, &data, &dlen, &err);
            if (rc < 0) {
                *status = err.status;
                if (err.status != 400 && err.status != 431)
                    abort();
                break;
            }
            if (used > have - off || (dlen && (data < in + off || data + dlen > in + off + used)))
                abort();
            if (dlen)
                memcpy(out + o, data, dlen);
            o += dlen;
            off += used;
            if (rc == 1 || used == 0)
                break;
        }
    }
    *outlen = o;
    *consumed = off;
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);

    edge_http_scan_t scan = {0};
    edge_http_err_t err = {0};
    long whole = edge_http_head_end(buf, size, &scan, S_MAX_LINE, S_MAX_FIELDS_BYTES, &err);
    int whole_status = whole < 0 ? err.status : 0;
    if (whole > (long)size)
        abort();

    edge_http_scan_t inc = {0};
    long step = 0;
    edge_http_err_t ierr = {0};
    for (size_t n = 1; n <= size && step == 0; n++)
        step = edge_http_head_end(buf, n, &inc, S_MAX_LINE, S_MAX_FIELDS_BYTES, &ierr);
    if (size && (step != whole || (step < 0 && ierr.status != whole_status)))
        abort();

    if (whole > 0) {
        edge_http_head_t h;
        const char *bounds[2] = {buf, buf + whole};
        if (edge_http_parse_head(buf, (size_t)whole, 100, s_field, bounds, &h, &err) == 0) {
            if (h.method_len < 1 || h.method_len > 15 || h.path_len < 1 || h.path[0] != '/' ||
                (h.version != 10 && h.version != 11) || (h.chunked && h.content_length >= 0) ||
                h.content_length < -1)
                abort();
            if (h.chunked) {
                const char *body = buf + whole;
                size_t n = size - (size_t)whole;
                char *a = malloc(n + 1), *b = malloc(n + 1);
                if (!a || !b)
                    abort();
                size_t alen, blen, aused, bused;
                int as = 0, bs = 0;
                int ra = s_chunked(body, n, n ? n : 1, a, &alen, &aused, &as);
                int rb = s_chunked(body, n, 1, b, &blen, &bused, &bs);
                if (ra != rb || as != bs || alen != blen || memcmp(a, b, alen) != 0 ||
                    alen > n || aused > n)
                    abort();
                if (ra == 1 && aused != bused)
                    abort();
                free(a);
                free(b);
            }
        } else if (err.status != -1 && err.status != 400 && err.status != 431 &&
                   err.status != 505) {
            abort();
        }
    }
    free(buf);
    return 0;
}
