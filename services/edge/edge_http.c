/*
 * edge_http — see edge_http.h.
 *
 * Each connection is a small state machine driven by edge-triggered epoll
 * events (registered once, never modified) and by the ready list, which
 * holds the connections whose request was woken or whose stream has bytes:
 *
 *   HEAD → CHECK → BODY → WAIT → WRITE → (HEAD | DISCARD → HEAD | LINGER)
 *
 * HEAD collects a request head (edge_http_parse finds and checks it);
 * CHECK waits for the request's checks (token lookup and the rest of
 * SPEC §2), which run before any body byte is read, so a refusal — 401,
 * 413 from Content-Length and the plan — comes at once; BODY reads it,
 * bounded by the route's limit and by time; WAIT waits for the reply;
 * WRITE writes it (a stream stays here until it ends). After an answer
 * that leaves a body unread, a small declared body is read and dropped
 * (DISCARD) to keep the connection; anything else is a lingering close
 * (LINGER: the write side shut, what the client still sends read and
 * dropped for a bounded time, so it reads the answer instead of a reset —
 * nginx's lingering_close).
 *
 * Bodies up to body_buffer_bytes stay in memory; larger ones go to an
 * unlinked file in the spool folder and are mapped read-only once
 * complete, so a stalled upload costs the edge no memory whatever the plan
 * allows.
 *
 * Stopping (edge_http_drain): the listening socket is closed at once; a
 * request already taken runs on and its response says Connection: close; a
 * request that arrives later on an open connection is answered 503 with
 * Connection: close; a connection between requests is closed.
 */
#include "edge_http.h"
#include "pgs_num.h"
#include "edge_addrs.h"
#include "edge_http_parse.h"
#include "edge_response.h"
#include "pgs_id.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_space.h"
#include "pgs_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The web app's pages: scripts only from files we serve (no inline
 * script); inline styles are allowed for the API docs renderer. */
#define EDGE_HTTP_CSP                                                                              \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "         \
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

#define S_STREAM_MAX ((size_t)4 << 20) /* a stream reader this far behind is cut off */
#define S_DISCARD_MAX                                                                              \
    ((long long)1 << 20)        /* an unread body up to this is dropped to keep alive              \
                                 */
#define S_LINGER_IDLE_MS 5000   /* lingering close: at most this between reads */
#define S_LINGER_TOTAL_MS 30000 /* and this in all */
#define S_SEND_TIMEOUT_MS 60000 /* no write progress for this long: closed */
#define S_READ_CHUNK 65536
#define S_REJECT_SLACK 256 /* connections beyond max_connections being refused */

enum { C_HEAD = 0, C_CHECK, C_BODY, C_WAIT, C_WRITE, C_DISCARD, C_LINGER };

typedef struct s_conn s_conn_t;

typedef struct {
    edge_req_t req; /* first: edge_req_t * and s_http_req_t * convert */
    s_conn_t *c;
    char fwd_addr[64]; /* holds a request slot of this forwarded address */
    int64_t t0;
} s_http_req_t;

struct s_conn {
    s_conn_t *prev, *next;
    s_conn_t *ready_next;
    int on_ready;
    edge_http_t *h;
    int fd;
    char peer[64];
    int counted; /* holds a connection slot of peer */
    int trusted; /* peer is a trusted proxy */
    int state;
    unsigned readable : 1, writable : 1, eof : 1, dead : 1;
    int served;
    int64_t idle_since; /* entered HEAD with nothing read */
    int64_t head_t0;    /* first byte of the head being read (0: none yet) */
    /* input */
    char *in;
    size_t in_len, in_cap;
    edge_http_scan_t scan;
    /* the request */
    s_http_req_t *hr;
    int version;
    int keep_alive;
    int head_only;
    int expect_continue;
    int is_static;
    long long body_left; /* Content-Length bytes to come; -1: chunked */
    edge_http_chunked_t chunk;
    size_t body_seen; /* body bytes received (decoded) */
    int body_drop;    /* read and dropped: the route takes no body */
    int64_t body_t0;
    int spool_fd;
    long long discard_left; /* after the response */
    int64_t discard_t0;
    /* output */
    char *out;
    size_t out_len, out_off, out_cap;
    char *early; /* stream bytes that came before the head was written */
    size_t early_len, early_cap;
    char *body_out;
    size_t body_out_len, body_out_off;
    int file_fd;
    off_t file_off;
    size_t file_left;
    int head_queued;
    int streaming, stream_chunked, stream_ended;
    int close_after, linger;
    int64_t write_t; /* last write progress */
    int64_t linger_t0, linger_last;
};

struct edge_http {
    edge_loop_t *loop;
    edge_ctx_t *ctx;
    edge_http_opts_t opts;
    char *web_root;
    char *spool_dir;
    int lfd;
    int spare_fd; /* /dev/null, given up to answer 503 when accept says EMFILE */
    int64_t last_emfile_warn;
    s_conn_t *conns;
    int nconns;
    s_conn_t *ready, *ready_tail;
    edge_addrs_t *addrs; /* connections per peer */
    edge_addrs_t *fwd;   /* requests per forwarded address (behind a trusted proxy) */
    int64_t last_sweep;
    int draining;
    time_t date_at;
    char date[40];
};

static void s_run(s_conn_t *c);

/* ---- small things ---- */

static char *
s_dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int
s_listed(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != ',')
            p++;
        if ((size_t)(p - s) == n && memcmp(s, item, n) == 0)
            return 1;
    }
    return 0;
}

static int
s_grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    char *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static int
s_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (s_grow(buf, cap, *len + n) < 0)
        return -1;
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

static const char *
s_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 402:
        return "Payment Required";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 423:
        return "Locked";
    case 428:
        return "Precondition Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return "Status";
    }
}

static const char *
s_date(edge_http_t *h)
{
    time_t now = time(NULL);
    if (now != h->date_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(h->date, sizeof h->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        h->date_at = now;
    }
    return h->date;
}

/* ---- the ready list ---- */

static void
s_ready(s_conn_t *c)
{
    if (c->on_ready)
        return;
    c->on_ready = 1;
    c->ready_next = NULL;
    edge_http_t *h = c->h;
    if (h->ready_tail)
        h->ready_tail->ready_next = c;
    else
        h->ready = c;
    h->ready_tail = c;
}

static void
s_unready(s_conn_t *c)
{
    if (!c->on_ready)
        return;
    edge_http_t *h = c->h;
    s_conn_t **pp = &h->ready, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->ready_next;
    }
    if (*pp)
        *pp = c->ready_next;
    if (h->ready_tail == c)
        h->ready_tail = prev;
    c->on_ready = 0;
}

/* ---- requests ---- */

static void
s_release_request(s_conn_t *c)
{
    s_http_req_t *hr = c->hr;
    if (!hr)
        return;
    edge_req_t *r = &hr->req;
    PGS_LOG(PGS_LOG_DEBUG, r->request_id, "%s %s %d %lld ms", r->method[0] ? r->method : "-",
            r->path ? r->path : "-", r->status, (long long)(pgs_time_mono_ms() - hr->t0));
    if (hr->fwd_addr[0])
        edge_addrs_give(c->h->fwd, hr->fwd_addr);
    if (r->body_map_len) {
        munmap(r->body, r->body_map_len);
        r->body = NULL;
        r->body_map_len = 0;
    }
    edge_request_release(r);
    free(hr);
    c->hr = NULL;
    if (c->spool_fd >= 0) {
        close(c->spool_fd);
        c->spool_fd = -1;
    }
}

static void s_wake(void *http);
static void s_stream_push(void *http, const void *data, size_t len);
static void s_stream_end(void *http);

/* What every request is given to reach its connection. */
static const edge_http_ops_t s_ops = {
    .wake = s_wake, .stream_push = s_stream_push, .stream_end = s_stream_end};

static s_http_req_t *
s_new_request(s_conn_t *c)
{
    s_http_req_t *hr = calloc(1, sizeof *hr);
    if (!hr)
        return NULL;
    hr->c = c;
    hr->t0 = pgs_time_mono_ms();
    hr->req.ctx = c->h->ctx;
    hr->req.ops = &s_ops;
    hr->req.http = hr;
    hr->req.content_length = -1;
    snprintf(hr->req.client_ip, sizeof hr->req.client_ip, "%s", c->peer);
    c->hr = hr;
    return hr;
}

/* ---- connections ---- */

static void
s_free_buffers(s_conn_t *c)
{
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = c->out_cap = 0;
}

static void
s_close(s_conn_t *c)
{
    edge_http_t *h = c->h;
    s_unready(c);
    s_release_request(c);
    edge_loop_unwatch(h->loop, c->fd);
    close(c->fd);
    if (c->counted)
        edge_addrs_give(h->addrs, c->peer);
    if (c->file_fd >= 0)
        close(c->file_fd);
    if (c->spool_fd >= 0)
        close(c->spool_fd);
    s_free_buffers(c);
    free(c->early);
    free(c->body_out);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    free(c);
}

/* Reads what the socket has into c->in (at least room bytes of space).
 * Returns the bytes read, 0 at EOF or when nothing is there (readable
 * cleared), -1 on an error (dead set). */
static ssize_t
s_read(s_conn_t *c, size_t room)
{
    if (s_grow(&c->in, &c->in_cap, c->in_len + room) < 0) {
        c->dead = 1;
        return -1;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        return n;
    }
    if (n == 0) {
        c->eof = 1;
        c->readable = 0;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->readable = 0;
        return 0;
    }
    if (errno == EINTR)
        return 0;
    c->dead = 1;
    return -1;
}

static void
s_consume(s_conn_t *c, size_t n)
{
    if (n >= c->in_len) {
        c->in_len = 0;
        return;
    }
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* A write that failed (errno): 0 when the socket is full (writable
 * cleared), 1 to try again (EINTR), -1 when the connection is gone (dead
 * set). */
static int
s_write_error(s_conn_t *c)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->writable = 0;
        return 0;
    }
    if (errno == EINTR)
        return 1;
    c->dead = 1;
    return -1;
}

/* Writes what is queued: the head and small bodies in c->out, a handed-over
 * body, a file. Returns 1 when everything is out, 0 when the socket is full,
 * -1 on an error (dead set). */
static int
s_flush(s_conn_t *c)
{
    while (c->out_off < c->out_len || c->body_out_off < c->body_out_len) {
        if (!c->writable)
            return 0;
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < c->out_len)
            iov[n++] = (struct iovec){c->out + c->out_off, c->out_len - c->out_off};
        if (c->body_out_off < c->body_out_len)
            iov[n++] =
                (struct iovec){c->body_out + c->body_out_off, c->body_out_len - c->body_out_off};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            int rc = s_write_error(c);
            if (rc > 0)
                continue;
            return rc;
        }
        c->write_t = pgs_time_mono_ms();
        size_t left = (size_t)w;
        size_t a = c->out_len - c->out_off;
        if (left >= a) {
            c->out_off = c->out_len = 0;
            left -= a;
        } else {
            c->out_off += left;
            left = 0;
        }
        c->body_out_off += left;
    }
    if (c->body_out) {
        free(c->body_out);
        c->body_out = NULL;
        c->body_out_len = c->body_out_off = 0;
    }
    while (c->file_left) {
        if (!c->writable)
            return 0;
        ssize_t w = sendfile(c->fd, c->file_fd, &c->file_off, c->file_left);
        if (w < 0) {
            int rc = s_write_error(c);
            if (rc > 0)
                continue;
            return rc;
        }
        if (w == 0) { /* the file shrank: the length sent cannot be kept */
            c->dead = 1;
            return -1;
        }
        c->write_t = pgs_time_mono_ms();
        c->file_left -= (size_t)w;
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    return 1;
}

/* ---- responses ---- */

static int
s_puts(s_conn_t *c, const char *s)
{
    return s_append(&c->out, &c->out_len, &c->out_cap, s, strlen(s));
}

static int
s_header(s_conn_t *c, const char *name, const char *value)
{
    return s_puts(c, name) | s_puts(c, ": ") | s_puts(c, value) | s_puts(c, "\r\n");
}

/* The status line and the headers every response has. */
static void
s_head_start(s_conn_t *c, int status)
{
    char num[PGS_NUM_MAX];
    pgs_num_i64(status, num);
    s_puts(c, "HTTP/1.1 ");
    s_puts(c, num);
    s_puts(c, " ");
    s_puts(c, s_reason(status));
    s_puts(c, "\r\n");
    s_header(c, "Date", s_date(c->h));
    s_header(c, "X-Content-Type-Options", "nosniff");
}

static void
s_head_end(s_conn_t *c)
{
    if (c->close_after)
        s_header(c, "Connection", "close");
    else if (c->version == 10)
        s_header(c, "Connection", "keep-alive");
    s_puts(c, "\r\n");
    c->head_queued = 1;
    c->write_t = pgs_time_mono_ms();
}

/* Queues the response set on c's request; the connection goes to WRITE. */
static void
s_respond(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    if (!r->resp_ready) /* never hang: a request that ended without an answer */
        edge_response_unavailable(r);
    if (r->close || c->h->draining || !c->keep_alive || c->body_left != 0)
        c->close_after = 1; /* a body left unread ends the connection */
    if (c->close_after && (r->close || c->body_left != 0))
        c->linger = 1;
    c->out_len = c->out_off = 0;
    s_head_start(c, r->status);
    for (int i = 0; i < r->nheaders; i++)
        s_header(c, r->headers[i].name, r->headers[i].value);
    if (r->streaming) {
        c->streaming = 1;
        s_header(c, "X-Accel-Buffering", "no");
        if (c->version == 11)
            s_header(c, "Transfer-Encoding", "chunked");
        else
            c->close_after = 1; /* HTTP/1.0: the end of the stream is the close */
        c->stream_chunked = c->version == 11;
        s_head_end(c);
        if (c->early_len)
            s_append(&c->out, &c->out_len, &c->out_cap, c->early, c->early_len);
        free(c->early);
        c->early = NULL;
        c->early_len = c->early_cap = 0;
    } else {
        if (r->status != 204 && r->status != 304) {
            char n[PGS_NUM_MAX];
            pgs_num_u64(r->resp_len, n);
            s_header(c, "Content-Length", n);
        }
        s_head_end(c);
        if (!c->head_only && r->resp_len && r->status != 204 && r->status != 304) {
            c->body_out = r->resp_body; /* handed over, not copied */
            c->body_out_len = r->resp_len;
            c->body_out_off = 0;
            r->resp_body = NULL;
        }
    }
    c->state = C_WRITE;
}

static const char *
s_mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".mjs", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".json", "application/json"},
                 {".svg", "image/svg+xml"},
                 {".png", "image/png"},
                 {".ico", "image/x-icon"},
                 {".woff2", "font/woff2"},
                 {".map", "application/json"},
                 {".txt", "text/plain; charset=utf-8"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Serves a file of the web app, index.html for "/" and for extension-less
 * paths (client-side routes). */
static void
s_respond_static(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    edge_http_t *h = c->h;
    const char *p = r->path;
    int bad = strstr(p, "..") != NULL || strchr(p, '%') != NULL || strchr(p, '\\') != NULL;
    const char *last = strrchr(p, '/');
    const char *rel =
        (!bad && (strcmp(p, "/") == 0 || (last && !strchr(last, '.')))) ? "/index.html" : p;
    char full[4096];
    int fd = -1;
    struct stat st;
    if (!bad && snprintf(full, sizeof full, "%s%s", h->web_root, rel) < (int)sizeof full)
        fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        edge_response_error(r, 404, "not_found", "No such page.");
        s_respond(c);
        return;
    }
    r->status = 200;
    r->resp_ready = 1;
    if (h->draining || !c->keep_alive || c->body_left != 0)
        c->close_after = 1;
    c->linger = c->close_after && c->body_left != 0;
    c->out_len = c->out_off = 0;
    s_head_start(c, 200);
    const char *type = s_mime(rel);
    s_header(c, "Content-Type", type);
    s_header(c, "Content-Security-Policy", EDGE_HTTP_CSP);
    s_header(c, "Referrer-Policy", "no-referrer");
    s_header(c, "X-Frame-Options", "DENY");
    s_header(c, "X-Request-Id", r->request_id);
    /* Pages are never stored (the tokens page among them); assets are
     * revalidated. */
    s_header(c, "Cache-Control", strstr(type, "text/html") ? "no-store" : "no-cache");
    char n[32];
    snprintf(n, sizeof n, "%lld", (long long)st.st_size);
    s_header(c, "Content-Length", n);
    s_head_end(c);
    if (c->head_only) {
        close(fd);
    } else {
        c->file_fd = fd;
        c->file_off = 0;
        c->file_left = (size_t)st.st_size;
    }
    c->state = C_WRITE;
}

/* An answer before (or instead of) the request: a refusal of its framing,
 * a timeout. The connection closes after it (lingering). */
static void
s_refuse(s_conn_t *c, int status, const char *code, const char *message, const char *retry_after)
{
    if (!c->hr && !s_new_request(c)) {
        c->dead = 1;
        return;
    }
    edge_req_t *r = &c->hr->req;
    if (!r->request_id[0])
        pgs_id_request(r->request_id);
    /* Whatever the request had set is replaced. */
    edge_response_headers_clear(r);
    r->streaming = 0;
    r->close = 1;
    if (retry_after)
        edge_response_header(r, "Retry-After", retry_after);
    edge_response_error(r, status, code, message);
    c->close_after = 1;
    c->linger = 1;
    s_respond(c);
}

/* ---- the head ---- */

static void
s_keep(char **slot, const char *v, size_t n)
{
    if (!*slot)
        *slot = s_dup_n(v, n);
}

static void
s_session_cookie(edge_req_t *r, const char *v, size_t n)
{
    char *copy = s_dup_n(v, n);
    const char *p = copy;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, "pegasus_session=", 16) == 0) {
            const char *s = p + 16;
            free(r->session_cookie);
            r->session_cookie = s_dup_n(s, strcspn(s, "; "));
            break;
        }
        p = strchr(p, ';');
    }
    free(copy);
}

typedef struct {
    s_http_req_t *hr;
    char *xff, *xfp;
    char *request_id;
} s_fields_t;

static int
s_is(const char *name, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(name, lit, n) == 0;
}

static void
s_on_field(void *arg, const char *name, size_t nn, const char *v, size_t vn)
{
    s_fields_t *f = arg;
    edge_req_t *r = &f->hr->req;
    if (s_is(name, nn, "authorization")) {
        r->n_authorization++;
        s_keep(&r->authorization, v, vn);
    } else if (s_is(name, nn, "content-type")) {
        s_keep(&r->content_type, v, vn);
    } else if (s_is(name, nn, "accept")) {
        s_keep(&r->accept, v, vn);
    } else if (s_is(name, nn, "idempotency-key")) {
        s_keep(&r->idempotency_key, v, vn);
    } else if (s_is(name, nn, "x-csrf-token")) {
        s_keep(&r->csrf, v, vn);
    } else if (s_is(name, nn, "user-agent")) {
        s_keep(&r->user_agent, v, vn);
    } else if (s_is(name, nn, "origin")) {
        s_keep(&r->origin, v, vn);
    } else if (s_is(name, nn, "cookie")) {
        s_session_cookie(r, v, vn);
    } else if (s_is(name, nn, "x-request-id")) {
        s_keep(&f->request_id, v, vn);
    } else if (s_is(name, nn, "x-forwarded-for")) {
        s_keep(&f->xff, v, vn);
    } else if (s_is(name, nn, "x-forwarded-proto")) {
        s_keep(&f->xfp, v, vn);
    } else if (s_is(name, nn, "host")) {
        s_keep(&r->host, v, vn);
    }
}

/* The client address: the peer, or — when the peer is a trusted proxy —
 * the right-most X-Forwarded-For entry that is not a trusted proxy. */
static void
s_client_ip(edge_req_t *r, const char *xff)
{
    const char *trusted = r->ctx->trusted_proxies;
    if (!xff || !*trusted || !s_listed(trusted, r->client_ip))
        return;
    char *list = strdup(xff);
    if (!list)
        return;
    for (;;) {
        char *comma = strrchr(list, ',');
        char *item = comma ? comma + 1 : list;
        while (*item == ' ')
            item++;
        char *end = item + strlen(item);
        while (end > item && end[-1] == ' ')
            *--end = '\0';
        if (!*item)
            break;
        snprintf(r->client_ip, sizeof r->client_ip, "%s", item);
        if (!s_listed(trusted, item) || !comma)
            break;
        *comma = '\0';
    }
    free(list);
}

/* 1 when the first entry of an X-Forwarded-Proto value is https. */
static int
s_proto_https(const char *xfp)
{
    if (!xfp)
        return 0;
    while (*xfp == ' ' || *xfp == '\t')
        xfp++;
    size_t n = strcspn(xfp, ", \t");
    return n == 5 && strncasecmp(xfp, "https", 5) == 0;
}

/* A complete head of head_len bytes is at the start of c->in. */
static void
s_begin(s_conn_t *c, size_t head_len)
{
    edge_http_t *h = c->h;
    s_http_req_t *hr = s_new_request(c);
    if (!hr) {
        c->dead = 1;
        return;
    }
    edge_req_t *r = &hr->req;
    edge_http_head_t head;
    edge_http_err_t err = {0};
    s_fields_t f = {hr, NULL, NULL, NULL};
    int rc =
        edge_http_parse_head(c->in, head_len, h->opts.max_headers, s_on_field, &f, &head, &err);
    if (f.request_id && pgs_id_request_id_valid(f.request_id))
        snprintf(r->request_id, sizeof r->request_id, "%s", f.request_id);
    else
        pgs_id_request(r->request_id);
    free(f.request_id);
    c->version = rc == 0 ? head.version : 11;
    if (rc == 0) {
        snprintf(r->method, sizeof r->method, "%.*s", (int)head.method_len, head.method);
        r->path = s_dup_n(head.path, head.path_len);
        r->query = head.query ? s_dup_n(head.query, head.query_len) : NULL;
        r->content_length = head.content_length;
        s_client_ip(r, f.xff);
        r->forwarded_https = c->trusted && s_proto_https(f.xfp);
    }
    free(f.xff);
    free(f.xfp);
    s_consume(c, head_len);
    c->scan = (edge_http_scan_t){0};
    c->head_t0 = 0;
    if (rc < 0) {
        if (err.status < 0) {
            c->dead = 1; /* HTTP/0.9: nothing to answer with */
            return;
        }
        c->body_left = 0;
        s_refuse(c, err.status,
                 err.status == 505 ? "http_version_not_supported" : "invalid_request", err.message,
                 NULL);
        return;
    }
    if (!r->path) {
        c->dead = 1;
        return;
    }
    c->keep_alive = head.version == 11 ? !head.connection_close
                                       : head.connection_keep_alive && !head.connection_close;
    c->head_only = strcmp(r->method, "HEAD") == 0;
    c->expect_continue = head.expect_continue && head.version == 11;
    c->body_left = head.chunked ? -1 : head.content_length > 0 ? head.content_length : 0;
    c->chunk = (edge_http_chunked_t){0};
    c->body_seen = 0;
    c->body_drop = 0;
    if (h->draining) {
        /* Not taken: the edge is stopping. */
        edge_response_header(r, "Retry-After", "1");
        r->close = 1;
        edge_response_error(r, 503, "service_unavailable",
                            "The service is restarting. Try again shortly.");
        c->state = C_CHECK;
        return;
    }
    if (c->trusted && strcmp(r->client_ip, c->peer) != 0) {
        /* Behind a trusted proxy: the cap is on each forwarded address's
         * requests in flight. */
        if (!edge_addrs_take(h->fwd, r->client_ip, h->opts.max_connections_per_address)) {
            edge_response_header(r, "Retry-After", "1");
            edge_response_error(r, 503, "service_unavailable",
                                "Too many concurrent requests from this address.");
            c->state = C_CHECK;
            return;
        }
        snprintf(hr->fwd_addr, sizeof hr->fwd_addr, "%s", r->client_ip);
    }
    if ((strcmp(r->method, "GET") == 0 || c->head_only) && !edge_routes_is_api_path(r->path)) {
        c->is_static = 1;
        c->state = C_CHECK;
        return;
    }
    c->state = C_CHECK;
    edge_request_headers_done(r);
}

/* ---- bodies ---- */

static int
s_spool_open(s_conn_t *c)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/body.XXXXXX", c->h->spool_dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    unlink(path); /* gone when closed, whatever happens */
    c->spool_fd = fd;
    return 0;
}

static int
s_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Answers a body that cannot be stored (no space, or an I/O error). */
static void
s_body_store_failed(s_conn_t *c, int err)
{
    if (pgs_space_note(err)) {
        pgs_warn("no space left to spool a request body in %s", c->h->spool_dir);
        s_refuse(c, 507, "insufficient_storage", PGS_SPACE_MESSAGE, PGS_SPACE_RETRY_AFTER);
    } else {
        pgs_error("cannot spool a request body in %s: %s", c->h->spool_dir, strerror(err));
        s_refuse(c, 500, "internal_error", "The request body could not be stored.", NULL);
    }
}

/* Adds n body bytes. Returns 0, or -1 when the request was answered. */
static int
s_body_put(s_conn_t *c, const char *p, size_t n)
{
    edge_req_t *r = &c->hr->req;
    c->body_seen += n;
    if (r->body_too_large)
        return 0;
    if (c->body_seen > edge_request_max_body(r)) {
        /* A chunked body past the limit: answered now, the rest not read. */
        r->body_too_large = 1;
        return 0;
    }
    if (c->body_drop)
        return 0; /* the route reads no body: counted, not kept */
    if (c->spool_fd < 0 && r->body_len + n > c->h->opts.body_buffer_bytes) {
        if (s_spool_open(c) < 0 || s_write_all(c->spool_fd, r->body, r->body_len) < 0) {
            s_body_store_failed(c, errno);
            return -1;
        }
        free(r->body);
        r->body = NULL;
        r->body_cap = 0;
    }
    if (c->spool_fd >= 0) {
        if (s_write_all(c->spool_fd, p, n) < 0) {
            s_body_store_failed(c, errno);
            return -1;
        }
        r->body_len += n;
        return 0;
    }
    if (r->body_len + n + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *q = realloc(r->body, cap);
        if (!q) {
            s_refuse(c, 500, "internal_error", "Out of memory.", NULL);
            return -1;
        }
        r->body = q;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

/* The whole body is in: a spooled one is mapped (with a NUL after it, as
 * a body in memory has). Returns 0, or -1 when the request was answered. */
static int
s_body_finish(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    if (c->spool_fd < 0)
        return 0;
    if (s_write_all(c->spool_fd, "", 1) < 0) {
        s_body_store_failed(c, errno);
        return -1;
    }
    void *m = mmap(NULL, r->body_len + 1, PROT_READ, MAP_PRIVATE, c->spool_fd, 0);
    if (m == MAP_FAILED) {
        s_body_store_failed(c, errno);
        return -1;
    }
    close(c->spool_fd);
    c->spool_fd = -1;
    r->body = m;
    r->body_map_len = r->body_len + 1;
    return 0;
}

/* The checks are done and the body is next: decides what to do with it. */
static void
s_after_checks(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    if (c->is_static) {
        s_respond_static(c);
        return;
    }
    if (r->resp_ready) {
        /* Answered before the body: a small declared one is read and
         * dropped after the answer, anything else ends the connection. */
        if (c->body_left > 0 && c->body_left <= S_DISCARD_MAX && !r->close)
            c->discard_left = c->body_left, c->body_left = 0;
        s_respond(c);
        return;
    }
    if (c->body_left == 0) {
        edge_request_body_done(r);
        c->state = C_WAIT;
        return;
    }
    c->body_drop = !edge_request_wants_body(r);
    if (r->content_length > 0 && (size_t)r->content_length > edge_request_max_body(r)) {
        /* Known too large before reading it: answered now, never read. */
        r->body_too_large = 1;
        edge_request_body_done(r);
        r->close = 1;
        c->state = C_WAIT;
        return;
    }
    if (c->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
            (ssize_t)(sizeof cont - 1)) {
            c->dead = 1;
            return;
        }
    }
    c->body_t0 = pgs_time_mono_ms();
    c->state = C_BODY;
}

/* Moves body bytes from c->in to the request. Returns 1 when the body is
 * complete, 0 when more is needed, -1 when the request was answered (or
 * the connection is to close). */
static int
s_body_take(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    if (c->body_left > 0) {
        size_t n = c->in_len < (unsigned long long)c->body_left ? c->in_len : (size_t)c->body_left;
        if (n && s_body_put(c, c->in, n) < 0)
            return -1;
        s_consume(c, n);
        c->body_left -= (long long)n;
        if (!r->body_too_large)
            return c->body_left == 0;
    }
    size_t off = 0;
    int done = 0;
    while (off < c->in_len && !done) {
        size_t used = 0, dlen = 0;
        const char *data = NULL;
        edge_http_err_t err = {0};
        int rc =
            edge_http_chunked(&c->chunk, c->in + off, c->in_len - off, &used, &data, &dlen, &err);
        if (rc < 0) {
            s_consume(c, c->in_len);
            s_refuse(c, err.status, "invalid_request", err.message, NULL);
            return -1;
        }
        if (dlen && s_body_put(c, data, dlen) < 0)
            return -1;
        off += used;
        done = rc == 1;
        if (r->body_too_large)
            break;
    }
    s_consume(c, off);
    if (done)
        c->body_left = 0;
    if (r->body_too_large) {
        edge_request_body_done(r); /* the 413, with close */
        r->close = 1;
        c->state = C_WAIT;
        return -1;
    }
    return done;
}

static void
s_body_done(s_conn_t *c)
{
    edge_req_t *r = &c->hr->req;
    if (s_body_finish(c) < 0)
        return;
    c->state = C_WAIT;
    edge_request_body_done(r);
}

/* ---- after a response ---- */

static void
s_next_request(s_conn_t *c)
{
    c->state = C_HEAD;
    c->idle_since = pgs_time_mono_ms();
    c->head_t0 = c->in_len ? c->idle_since : 0;
    c->scan = (edge_http_scan_t){0};
    if (!c->in_len)
        s_free_buffers(c); /* an idle connection holds no buffer */
}

static void
s_finish(s_conn_t *c)
{
    s_release_request(c);
    c->served++;
    c->streaming = c->stream_chunked = c->stream_ended = 0;
    c->head_queued = 0;
    c->is_static = 0;
    if (c->close_after) {
        if (!c->linger) {
            c->dead = 1;
            return;
        }
        shutdown(c->fd, SHUT_WR);
        c->in_len = 0;
        c->state = C_LINGER;
        c->linger_t0 = c->linger_last = pgs_time_mono_ms();
        return;
    }
    if (c->discard_left > 0) {
        c->state = C_DISCARD;
        c->discard_t0 = pgs_time_mono_ms();
        return;
    }
    s_next_request(c);
}

/* ---- the state machine ---- */

/* More input is needed: reads what is there. Returns 1 when the socket is
 * drained (wait for the next event), 0 to go on (bytes came, or the
 * connection ended: dead is set). */
static int
s_await_input(s_conn_t *c)
{
    if (c->eof) {
        c->dead = 1;
        return 0;
    }
    if (!c->readable)
        return 1;
    s_read(c, S_READ_CHUNK);
    return 0;
}

static void
s_run(s_conn_t *c)
{
    edge_http_t *h = c->h;
    for (;;) {
        if (c->dead) {
            s_close(c);
            return;
        }
        switch (c->state) {
        case C_HEAD: {
            edge_http_err_t err = {0};
            long end = c->in_len ? edge_http_head_end(c->in, c->in_len, &c->scan,
                                                      h->opts.max_uri_bytes + 32,
                                                      h->opts.max_header_bytes, &err)
                                 : 0;
            if (end < 0) {
                c->body_left = 0;
                c->in_len = 0;
                s_refuse(c, err.status, "invalid_request", err.message, NULL);
                continue;
            }
            if (end > 0) {
                s_begin(c, (size_t)end);
                continue;
            }
            if (c->eof || (h->draining && !c->in_len)) {
                c->dead = 1;
                continue;
            }
            if (!c->readable)
                return;
            size_t before = c->in_len;
            if (s_read(c, 4096) > 0 && before == 0 && !c->head_t0)
                c->head_t0 = pgs_time_mono_ms();
            continue;
        }
        case C_CHECK:
            if (c->hr->req.pending)
                return;
            s_after_checks(c);
            continue;
        case C_BODY: {
            int rc = s_body_take(c);
            if (rc < 0)
                continue;
            if (rc == 1) {
                s_body_done(c);
                continue;
            }
            if (s_await_input(c))
                return;
            continue;
        }
        case C_WAIT:
            if (c->hr->req.pending)
                return;
            s_respond(c);
            continue;
        case C_WRITE: {
            int rc = s_flush(c);
            if (rc <= 0)
                return; /* full (EPOLLOUT resumes it) or dead (closed below) */
            if (c->streaming && !c->stream_ended)
                return; /* more to come */
            s_finish(c);
            continue;
        }
        case C_DISCARD: {
            size_t n = c->in_len < (unsigned long long)c->discard_left ? c->in_len
                                                                       : (size_t)c->discard_left;
            s_consume(c, n);
            c->discard_left -= (long long)n;
            if (c->discard_left == 0) {
                s_next_request(c);
                continue;
            }
            if (s_await_input(c))
                return;
            continue;
        }
        case C_LINGER:
            c->in_len = 0;
            if (s_await_input(c))
                return;
            if (c->in_len)
                c->linger_last = pgs_time_mono_ms();
            continue;
        }
    }
}

static void
s_on_conn(void *arg, uint32_t events)
{
    s_conn_t *c = arg;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = 1;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->writable = 1;
    s_run(c);
}

/* ---- what requests call ---- */

static void
s_wake(void *http)
{
    s_http_req_t *hr = http;
    s_ready(hr->c);
}

static void
s_stream_push(void *http, const void *data, size_t len)
{
    s_http_req_t *hr = http;
    s_conn_t *c = hr->c;
    if (c->stream_ended || c->dead || !len)
        return;
    char **buf = c->head_queued ? &c->out : &c->early;
    size_t *blen = c->head_queued ? &c->out_len : &c->early_len;
    size_t *bcap = c->head_queued ? &c->out_cap : &c->early_cap;
    size_t pending = *blen - (c->head_queued ? c->out_off : 0);
    if (pending + len > S_STREAM_MAX) {
        c->dead = 1; /* a reader this far behind is cut off */
        s_ready(c);
        return;
    }
    int chunked = c->head_queued ? c->stream_chunked : c->version == 11;
    char size[24];
    int ok = 0;
    if (chunked) {
        snprintf(size, sizeof size, "%zx\r\n", len);
        ok |= s_append(buf, blen, bcap, size, strlen(size));
    }
    ok |= s_append(buf, blen, bcap, data, len);
    if (chunked)
        ok |= s_append(buf, blen, bcap, "\r\n", 2);
    if (ok < 0)
        c->dead = 1;
    if (c->head_queued)
        s_ready(c);
}

static void
s_stream_end(void *http)
{
    s_http_req_t *hr = http;
    s_conn_t *c = hr->c;
    if (c->stream_ended)
        return;
    int chunked = c->head_queued ? c->stream_chunked : c->version == 11;
    if (chunked) {
        if (c->head_queued)
            s_append(&c->out, &c->out_len, &c->out_cap, "0\r\n\r\n", 5);
        else
            s_append(&c->early, &c->early_len, &c->early_cap, "0\r\n\r\n", 5);
    }
    c->stream_ended = 1;
    s_ready(c);
}

/* ---- accepting ---- */

/* Refuses a connection at once (over a cap): what the client already sent
 * is read, so the close carries the answer rather than a reset. */
static void
s_reject(edge_http_t *h, int fd, const char *message)
{
    char rid[PGS_ID_MAX];
    pgs_id_request(rid);
    char drop[4096];
    while (recv(fd, drop, sizeof drop, MSG_DONTWAIT) > 0) {
    }
    char *body = pgs_json_error_body("service_unavailable", message, rid, NULL, NULL);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\n"
                     "Content-Type: application/json\r\nX-Request-Id: %s\r\n"
                     "X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     s_date(h), rid, body ? strlen(body) : 0);
    struct iovec iov[2] = {{head, (size_t)n}, {body, body ? strlen(body) : 0}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* nothing more to do for it */
    }
    free(body);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void
s_accept_one(edge_http_t *h, int fd, const struct sockaddr_storage *ss)
{
    char peer[64] = "unknown";
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, peer,
                  sizeof peer);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, peer,
                  sizeof peer);
    int trusted = h->ctx->trusted_proxies[0] && s_listed(h->ctx->trusted_proxies, peer);
    if (h->nconns >= h->opts.max_connections) {
        s_reject(h, fd, "The server is at its connection limit. Try again shortly.");
        return;
    }
    if (!trusted && !edge_addrs_take(h->addrs, peer, h->opts.max_connections_per_address)) {
        s_reject(h, fd, "Too many connections from this address.");
        return;
    }
    s_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        if (!trusted)
            edge_addrs_give(h->addrs, peer);
        close(fd);
        return;
    }
    c->h = h;
    c->fd = fd;
    c->spool_fd = -1;
    c->file_fd = -1;
    c->counted = !trusted;
    c->trusted = trusted;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->writable = 1;
    c->idle_since = pgs_time_mono_ms();
    c->head_t0 = c->idle_since; /* the first head's clock starts at accept */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (edge_loop_watch(h->loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, s_on_conn, c) < 0) {
        if (c->counted)
            edge_addrs_give(h->addrs, peer);
        close(fd);
        free(c);
        return;
    }
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->nconns++;
}

/* The process is out of file descriptors: a waiting connection would sit
 * in the backlog (and the listening socket stay readable) until one is
 * closed. The spare descriptor is given up for a moment so that it gets
 * its 503 and is closed, then taken again. */
static void
s_out_of_fds(edge_http_t *h)
{
    int64_t now = pgs_time_mono_ms();
    if (now - h->last_emfile_warn >= 10000) {
        h->last_emfile_warn = now;
        pgs_warn("accept: out of file descriptors at %d connections: refusing with 503 (raise "
                 "the limit: LimitNOFILE, ulimit -n)",
                 h->nconns);
    }
    if (h->spare_fd >= 0) {
        close(h->spare_fd);
        h->spare_fd = -1;
        int fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            s_reject(h, fd, "The server is at its connection limit. Try again shortly.");
        h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
}

static void
s_on_listen(void *arg, uint32_t events)
{
    (void)events;
    edge_http_t *h = arg;
    for (int i = 0; i < 64 && h->lfd >= 0; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(h->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
            s_out_of_fds(h);
            continue;
        }
        if (fd < 0)
            return;
        if (h->nconns >= h->opts.max_connections + S_REJECT_SLACK) {
            close(fd); /* a flood: not even a refusal */
            continue;
        }
        s_accept_one(h, fd, &ss);
    }
}

/* ---- the layer ---- */

edge_http_t *
edge_http_new(edge_loop_t *loop, edge_ctx_t *ctx, const edge_http_opts_t *opts)
{
    edge_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->loop = loop;
    h->ctx = ctx;
    h->opts = *opts;
    h->lfd = -1;
    h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    h->web_root = strdup(opts->web_root ? opts->web_root : "web");
    h->spool_dir = strdup(opts->spool_dir ? opts->spool_dir : ".");
    h->addrs = edge_addrs_new();
    h->fwd = edge_addrs_new();
    if (!h->web_root || !h->spool_dir || !h->addrs || !h->fwd) {
        edge_http_destroy(&h);
        return NULL;
    }
    if (mkdir(h->spool_dir, 0700) < 0 && errno != EEXIST) {
        pgs_error("cannot create the body spool folder %s: %s", h->spool_dir, strerror(errno));
        edge_http_destroy(&h);
        return NULL;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
    if (inet_pton(AF_INET, opts->address, &sa.sin_addr) != 1) {
        pgs_error("[edge] address %s is not an IPv4 address", opts->address);
        edge_http_destroy(&h);
        return NULL;
    }
    h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (h->lfd < 0 || setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (opts->reuse_port && setsockopt(h->lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(h->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(h->lfd, 4096) < 0) {
        pgs_error("cannot listen on %s:%d: %s", opts->address, opts->port, strerror(errno));
        edge_http_destroy(&h);
        return NULL;
    }
    if (edge_loop_watch(loop, h->lfd, EPOLLIN, s_on_listen, h) < 0) {
        edge_http_destroy(&h);
        return NULL;
    }
    pgs_info("listening on http://%s:%d", opts->address, opts->port);
    return h;
}

void
edge_http_destroy(edge_http_t **hp)
{
    if (!hp || !*hp)
        return;
    edge_http_t *h = *hp;
    while (h->conns)
        s_close(h->conns);
    if (h->lfd >= 0) {
        edge_loop_unwatch(h->loop, h->lfd);
        close(h->lfd);
    }
    if (h->spare_fd >= 0)
        close(h->spare_fd);
    edge_addrs_destroy(&h->addrs);
    edge_addrs_destroy(&h->fwd);
    free(h->web_root);
    free(h->spool_dir);
    free(h);
    *hp = NULL;
}

void
edge_http_drain(edge_http_t *h)
{
    if (h->draining)
        return;
    h->draining = 1;
    if (h->lfd >= 0) {
        edge_loop_unwatch(h->loop, h->lfd);
        close(h->lfd);
        h->lfd = -1;
    }
    h->last_sweep = 0; /* the next tick closes idle connections */
}

int
edge_http_requests(const edge_http_t *h)
{
    int n = 0;
    for (const s_conn_t *c = h->conns; c; c = c->next)
        if (c->hr)
            n++;
    return n;
}

void
edge_http_abort(edge_http_t *h)
{
    int n = 0;
    for (s_conn_t *c = h->conns; c; c = c->next)
        if (c->hr)
            n += edge_request_abort(&c->hr->req);
    if (n)
        pgs_warn("stop deadline: %d request%s ended with service_unavailable", n,
                 n == 1 ? "" : "s");
}

/* How long a body may take: body_timeout_s, or longer for a large body
 * arriving at min_body_rate. */
static int64_t
s_body_deadline(const s_conn_t *c)
{
    const edge_http_opts_t *o = &c->h->opts;
    long long expect = c->hr && c->hr->req.content_length > 0 ? c->hr->req.content_length
                                                              : (long long)c->body_seen;
    int64_t ms = (int64_t)o->body_timeout_s * 1000;
    if (o->min_body_rate > 0) {
        int64_t by_rate = (int64_t)(expect / o->min_body_rate) * 1000;
        if (by_rate > ms)
            ms = by_rate;
    }
    return ms;
}

/* One connection's timers. */
static void
s_timers(s_conn_t *c, int64_t now)
{
    edge_http_t *h = c->h;
    const edge_http_opts_t *o = &h->opts;
    int state = c->state;
    switch (c->state) {
    case C_HEAD:
        if (h->draining && !c->in_len) {
            c->dead = 1;
        } else if (c->head_t0) {
            if (now - c->head_t0 > (int64_t)o->header_timeout_s * 1000)
                c->dead = 1; /* slow headers */
        } else if (now - c->idle_since > (int64_t)o->keepalive_timeout_s * 1000) {
            c->dead = 1; /* idle keep-alive */
        }
        break;
    case C_BODY:
        if (now - c->body_t0 > s_body_deadline(c)) {
            pgs_info("a request body from %s was too slow (%zu bytes in %lld ms): 408", c->peer,
                     c->body_seen, (long long)(now - c->body_t0));
            s_refuse(c, 408, "request_timeout", "The request body did not arrive in time.", NULL);
        }
        break;
    case C_DISCARD:
        if (now - c->discard_t0 > (int64_t)o->body_timeout_s * 1000)
            c->dead = 1;
        break;
    case C_WRITE:
        if ((c->out_off < c->out_len || c->body_out_len || c->file_left) &&
            now - c->write_t > S_SEND_TIMEOUT_MS)
            c->dead = 1; /* a client that stopped reading */
        break;
    case C_LINGER:
        if (now - c->linger_last > S_LINGER_IDLE_MS || now - c->linger_t0 > S_LINGER_TOTAL_MS)
            c->dead = 1;
        break;
    default:
        break;
    }
    if (c->dead || c->state != state)
        s_ready(c); /* closed, or answered (408), on the next turn */
}

void
edge_http_tick(edge_http_t *h)
{
    int64_t now = pgs_time_mono_ms();
    if (now - h->last_sweep >= 100) {
        h->last_sweep = now;
        for (s_conn_t *c = h->conns; c; c = c->next)
            s_timers(c, now);
    }
    /* Connections that became ready while these run wait for the next
     * tick (a stream's bytes are batched that way). */
    s_conn_t *list = h->ready;
    h->ready = h->ready_tail = NULL;
    while (list) {
        s_conn_t *c = list;
        list = c->ready_next;
        c->on_ready = 0;
        s_run(c);
    }
}

int
edge_http_timeout_ms(edge_http_t *h, int cap_ms)
{
    return h->ready ? 0 : cap_ms < 100 ? cap_ms : 100;
}
