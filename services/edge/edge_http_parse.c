/*
 * edge_http_parse — see edge_http_parse.h.
 */
#include "edge_http_parse.h"

#include <string.h>
#include <strings.h>

static int
s_fail(edge_http_err_t *err, int status, const char *message)
{
    err->status = status;
    err->message = message;
    return -1;
}

/* RFC 9110 §5.6.2 tchar. */
static int
s_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ---- the end of the head ---- */

long
edge_http_head_end(const char *buf, size_t len, edge_http_scan_t *s, size_t max_line,
                   size_t max_fields_bytes, edge_http_err_t *err)
{
    for (size_t i = s->pos; i < len; i++) {
        char c = buf[i];
        if (c == '\0')
            return s_fail(err, 400, "The request contains a NUL byte.");
        if (c == '\r') {
            if (i + 1 == len) {
                s->pos = i; /* look at it again with the next byte */
                return 0;
            }
            if (buf[i + 1] != '\n')
                return s_fail(err, 400, "A bare CR in the request head.");
            continue;
        }
        if (c != '\n')
            continue;
        if (i == 0 || buf[i - 1] != '\r')
            return s_fail(err, 400, "Lines of the request head must end in CRLF.");
        int empty = i - s->line_start == 1;
        if (!s->req_end) {
            if (empty) {
                /* RFC 9112 §2.2: empty lines before the request line are
                 * ignored (a few; beyond that it is not HTTP). */
                if (i + 1 > 8)
                    return s_fail(err, 400, "The request line is missing.");
                s->req_start = i + 1;
            } else {
                if (i - 1 - s->req_start > max_line) /* the line without its CRLF */
                    return s_fail(err, 414, "The request URI is too long.");
                s->req_end = i + 1;
            }
        } else if (empty) {
            s->pos = i + 1;
            return (long)(i + 1);
        }
        s->line_start = i + 1;
        if (s->req_end && i + 1 - s->req_end > max_fields_bytes + 2)
            return s_fail(err, 431, "The request headers are too large.");
    }
    s->pos = len;
    if (!s->req_end && len - s->req_start > max_line)
        return s_fail(err, 414, "The request URI is too long.");
    if (s->req_end && len - s->req_end > max_fields_bytes + 2)
        return s_fail(err, 431, "The request headers are too large.");
    return 0;
}

/* ---- the request line ---- */

/* Target: origin-form, or absolute-form (RFC 9112 §3.2.2: routed by its
 * path; the authority is not used). */
static int
s_target(const char *t, size_t n, edge_http_head_t *h, edge_http_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f)
            return s_fail(err, 400, "The request target contains a byte it may not.");
    }
    if (memchr(t, '#', n))
        return s_fail(err, 400, "The request target may not contain a fragment.");
    const char *p = t;
    size_t m = n;
    size_t scheme = 0;
    if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
        scheme = 7;
    else if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
        scheme = 8;
    if (scheme) {
        size_t a = scheme;
        while (a < n && t[a] != '/' && t[a] != '?' && t[a] != '#')
            a++;
        if (a == scheme)
            return s_fail(err, 400, "The absolute request target has no host.");
        p = t + a;
        m = n - a;
        if (m == 0 || *p != '/') {
            /* "http://host" or "http://host?q": the path is "/". */
            static const char root[] = "/";
            h->path = root;
            h->path_len = 1;
            if (m && *p == '?') {
                h->query = p + 1;
                h->query_len = m - 1;
            }
            return 0;
        }
    } else if (n == 0 || t[0] != '/') {
        return s_fail(err, 400, "The request target must be an absolute path.");
    }
    const char *q = memchr(p, '?', m);
    h->path = p;
    h->path_len = q ? (size_t)(q - p) : m;
    if (q) {
        h->query = q + 1;
        h->query_len = m - (size_t)(q - p) - 1;
    }
    return 0;
}

static int
s_request_line(const char *l, size_t n, edge_http_head_t *h, edge_http_err_t *err)
{
    const char *sp1 = memchr(l, ' ', n);
    if (!sp1 || sp1 == l)
        return s_fail(err, 400, "The request line is malformed.");
    for (const char *c = l; c < sp1; c++)
        if (!s_tchar((unsigned char)*c))
            return s_fail(err, 400, "The request method is malformed.");
    if (sp1 - l > 15)
        return s_fail(err, 400, "The request method is too long.");
    h->method = l;
    h->method_len = (size_t)(sp1 - l);
    const char *t = sp1 + 1;
    const char *end = l + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2) {
        /* "GET /path": HTTP/0.9, which has no status line to answer with. */
        return s_fail(err, -1, "HTTP/0.9");
    }
    if (s_target(t, (size_t)(sp2 - t), h, err) < 0)
        return -1;
    const char *v = sp2 + 1;
    size_t vn = (size_t)(end - v);
    if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return s_fail(err, 400, "The HTTP version is malformed.");
    if (v[5] != '1')
        return s_fail(err, 505, "This server speaks HTTP/1.1 (and HTTP/1.0).");
    h->version = v[7] == '0' ? 10 : 11;
    return 0;
}

/* ---- fields ---- */

static int
s_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Connection: a comma-separated list of options. */
static void
s_connection(const char *v, size_t n, edge_http_head_t *h)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (s_eq(v + s, i - s, "close"))
            h->connection_close = 1;
        else if (s_eq(v + s, i - s, "keep-alive"))
            h->connection_keep_alive = 1;
    }
}

typedef struct {
    int hosts, n_content_length, transfer_encodings;
} s_framing_t;

static int
s_field(const char *name, size_t nn, const char *v, size_t vn, edge_http_head_t *h, s_framing_t *f,
        edge_http_err_t *err)
{
    if (s_eq(name, nn, "content-length")) {
        if (vn == 0 || vn > 18)
            return s_fail(err, 400, "Content-Length is malformed.");
        long long x = 0;
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9')
                return s_fail(err, 400, "Content-Length is malformed.");
            x = x * 10 + (v[i] - '0');
        }
        if (f->n_content_length++ && x != h->content_length)
            return s_fail(err, 400, "Conflicting Content-Length headers.");
        h->content_length = x;
    } else if (s_eq(name, nn, "transfer-encoding")) {
        if (f->transfer_encodings++ || !s_eq(v, vn, "chunked"))
            return s_fail(err, 400, "Unsupported Transfer-Encoding.");
        h->chunked = 1;
    } else if (s_eq(name, nn, "host")) {
        if (f->hosts++)
            return s_fail(err, 400, "More than one Host header.");
    } else if (s_eq(name, nn, "connection")) {
        s_connection(v, vn, h);
    } else if (s_eq(name, nn, "expect")) {
        if (s_eq(v, vn, "100-continue"))
            h->expect_continue = 1;
    }
    return 0;
}

/* The CR of the CRLF ending the line at p, or NULL (a head from
 * edge_http_head_end has only CRLF pairs; anything else is refused). */
static const char *
s_eol(const char *p, const char *end)
{
    const char *cr = memchr(p, '\r', (size_t)(end - p));
    return cr && cr + 1 < end && cr[1] == '\n' ? cr : NULL;
}

int
edge_http_parse_head(const char *head, size_t len, int max_fields, edge_http_field_fn on_field,
                     void *arg, edge_http_head_t *h, edge_http_err_t *err)
{
    memset(h, 0, sizeof *h);
    h->content_length = -1;
    const char *p = head, *end = head + len;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2; /* empty lines before the request line */
    const char *eol = s_eol(p, end);
    if (!eol)
        return s_fail(err, 400, "The request line is malformed.");
    if (s_request_line(p, (size_t)(eol - p), h, err) < 0)
        return -1;
    p = eol + 2;
    s_framing_t f = {0};
    for (;;) {
        eol = s_eol(p, end);
        if (!eol)
            return s_fail(err, 400, "The request head is malformed.");
        if (eol == p)
            break; /* the empty line */
        if (*p == ' ' || *p == '\t')
            return s_fail(err, 400, "Folded header lines are not allowed.");
        if (++h->nfields > max_fields)
            return s_fail(err, 431, "The request has too many headers.");
        const char *colon = p;
        while (colon < eol && s_tchar((unsigned char)*colon))
            colon++;
        if (colon == eol || *colon != ':' || colon == p)
            return s_fail(err, 400, "A header name is malformed.");
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = v; c < ve; c++) {
            unsigned char ch = (unsigned char)*c;
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return s_fail(err, 400, "A header value contains a control character.");
        }
        size_t nn = (size_t)(colon - p), vn = (size_t)(ve - v);
        if (s_field(p, nn, v, vn, h, &f, err) < 0)
            return -1;
        if (on_field)
            on_field(arg, p, nn, v, vn);
        p = eol + 2;
    }
    if (h->chunked && f.n_content_length)
        return s_fail(err, 400, "Content-Length together with Transfer-Encoding.");
    if (h->chunked && h->version == 10)
        return s_fail(err, 400, "Transfer-Encoding is not allowed in HTTP/1.0.");
    if (h->version == 11 && !f.hosts)
        return s_fail(err, 400, "HTTP/1.1 requests need a Host header.");
    return 0;
}

/* ---- chunked bodies ---- */

enum {
    CH_SIZE = 0, /* hex digits */
    CH_SIZE_WS,  /* white space after them (RFC 9112 §7.1.1 BWS) */
    CH_EXT,      /* after ';': extensions up to CR */
    CH_SIZE_LF,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER,      /* at the start of a trailer line */
    CH_TRAILER_NAME, /* in its field name */
    CH_TRAILER_IN,   /* in its value */
    CH_TRAILER_LF,
    CH_END_LF,
    CH_DONE
};

#define S_MAX_SIZE_LINE 1024
#define S_MAX_TRAILERS 8192

int
edge_http_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
edge_http_chunked(edge_http_chunked_t *d, const char *in, size_t n, size_t *used, const char **data,
                  size_t *dlen, edge_http_err_t *err)
{
    *data = NULL;
    *dlen = 0;
    size_t i = 0;
    while (i < n) {
        char c = in[i];
        switch (d->state) {
        case CH_SIZE: {
            int x = edge_http_hex(c);
            if (x >= 0) {
                if (++d->digits > 15)
                    return s_fail(err, 400, "A chunk size is too large.");
                d->left = d->left * 16 + (uint64_t)x;
            } else if (!d->digits) {
                return s_fail(err, 400, "A chunk size is malformed.");
            } else if (c == '\r') {
                d->state = CH_SIZE_LF;
            } else if (c == ';') {
                d->state = CH_EXT;
            } else if (c == ' ' || c == '\t') {
                d->state = CH_SIZE_WS;
            } else {
                return s_fail(err, 400, "A chunk size is malformed.");
            }
            break;
        }
        case CH_SIZE_WS:
            if (c == ';')
                d->state = CH_EXT;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c != ' ' && c != '\t')
                return s_fail(err, 400, "A chunk size is malformed.");
            break;
        case CH_EXT:
            if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f)
                return s_fail(err, 400, "A chunk line is malformed (lines end in CRLF).");
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return s_fail(err, 400, "A chunk line is malformed (lines end in CRLF).");
            d->digits = 0;
            d->line = 0;
            d->state = d->left ? CH_DATA : CH_TRAILER;
            i++;
            continue;
        case CH_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > d->left)
                take = (size_t)d->left;
            *data = in + i;
            *dlen = take;
            d->left -= take;
            if (!d->left)
                d->state = CH_DATA_CR;
            *used = i + take;
            return 0;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return s_fail(err, 400, "A chunk is longer than its size.");
            d->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return s_fail(err, 400, "A chunk must end in CRLF.");
            d->state = CH_SIZE;
            d->line = 0;
            i++;
            continue;
        case CH_TRAILER:
            if (c == '\r') {
                d->state = CH_END_LF;
            } else if (s_tchar((unsigned char)c)) {
                d->state = CH_TRAILER_NAME;
            } else {
                return s_fail(err, 400, "A trailer line is malformed.");
            }
            break;
        case CH_TRAILER_NAME:
            if (c == ':')
                d->state = CH_TRAILER_IN;
            else if (!s_tchar((unsigned char)c))
                return s_fail(err, 400, "A trailer line is malformed.");
            break;
        case CH_TRAILER_IN:
            if (c == '\r')
                d->state = CH_TRAILER_LF;
            else if (((unsigned char)c < 0x20 && c != '\t') || c == 0x7f)
                return s_fail(err, 400, "A trailer line is malformed.");
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return s_fail(err, 400, "A trailer line is malformed.");
            d->state = CH_TRAILER;
            break;
        case CH_END_LF:
            if (c != '\n')
                return s_fail(err, 400, "The chunked body must end in CRLF.");
            d->state = CH_DONE;
            *used = i + 1;
            return 1;
        default:
            *used = i;
            return 1;
        }
        if (d->state <= CH_SIZE_LF && ++d->line > S_MAX_SIZE_LINE)
            return s_fail(err, 400, "A chunk line is too long.");
        if (d->state >= CH_TRAILER && ++d->line > S_MAX_TRAILERS)
            return s_fail(err, 431, "The trailers are too large.");
        i++;
    }
    *used = i;
    return d->state == CH_DONE;
}
