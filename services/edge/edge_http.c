/*
 * edge_http — see edge_http.h.
 *
 * libmicrohttpd 0.9.75 facts this module is built around:
 * - a response queued while the request is still in its "headers processed"
 *   state makes the library close the connection afterwards; so errors for
 *   requests without a body wait for the next call, and only requests with an
 *   unread body are answered (and closed) at once;
 * - the URL it hands to the access handler is already percent-decoded, so
 *   routing uses the raw URI from the URI log callback;
 * - its connection timeout is an idle timer reset by every byte, so a
 *   slow-header deadline per connection is kept here, enforced with
 *   shutdown(2) on the socket (the library then sees EOF and closes it);
 * - MHD_stop_daemon panics (abort) while a connection is suspended, and a
 *   resumed connection is only resumed by the next MHD_run, whose access
 *   handler may suspend it again: so the daemon is stopped only once the
 *   library itself reports no connection suspended.
 *
 * Stopping (edge_http_drain): the listening socket is closed at once; a
 * request already taken runs on and its response says Connection: close; a
 * request that arrives later on an open connection is answered 503 with
 * Connection: close (its body read and dropped); a connection between
 * requests is shut down.
 */
#include "edge_http.h"
#include "edge_response.h"
#include "pgs_id.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct s_conn {
    struct s_conn *prev, *next;
    struct MHD_Connection *conn;
    int fd;
    int64_t deadline; /* headers must be complete by then */
    int in_request;
    int shut;         /* shut down while draining */
    char *uri;        /* the raw request-target of the current request */
    int uri_too_long;
    struct s_http_req *hr; /* the current request, if any */
} s_conn_t;

enum { PH_HEAD = 0, PH_BODY, PH_DONE };

/* The web app's pages: scripts only from files we serve (no inline
 * script); inline styles are allowed for the API docs renderer. */
#define EDGE_HTTP_CSP                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "         \
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

/* How much of a chunked body over its limit is read (and dropped) so that
 * the client still gets its 413. */
#define S_MAX_DISCARD ((size_t)64 << 20)

/* The bytes of a streamed reply between the broker and libmicrohttpd's
 * content reader. Shared by the request and the response object, which
 * can outlive each other: freed when both let go. */
typedef struct s_stream {
    char *data;
    size_t off, len, cap;
    int ended;
    int overflow;
    int refs;
    struct s_http_req *hr; /* NULL once the request is gone */
} s_stream_t;

#define S_STREAM_MAX ((size_t)4 << 20) /* a client this far behind is cut off */

typedef struct s_http_req {
    edge_req_t req; /* first: edge_req_t * and s_http_req_t * convert */
    edge_http_t *owner;
    s_conn_t *c;
    struct MHD_Connection *conn;
    int phase;
    int started;
    int suspended;
    int is_static;
    int forwarded;
    int has_body; /* Content-Length > 0 or chunked */
    int bad_status;
    const char *bad_code, *bad_message;
    int64_t t0;
    /* header scan */
    int nheaders;
    size_t header_bytes;
    int n_content_length, content_length_conflict, bad_content_length;
    int has_transfer_encoding, bad_transfer_encoding;
    int has_host, bad_header_name, has_nul;
    char *xff;
    char *request_id_in;
    /* where each header's key and value lie in the library's read buffer */
    struct {
        const char *p;
        size_t n;
    } spans[2 * 128];
    int nspans;
    s_stream_t *stream;
} s_http_req_t;

struct edge_http {
    edge_loop_t *loop;
    edge_ctx_t *ctx;
    edge_http_opts_t opts;
    char *web_root;
    struct MHD_Daemon *daemon;
    int epfd;
    s_conn_t *conns;
    int64_t last_sweep;
    int draining;
};

static void s_stream_unref(s_stream_t *st);

/* ---- connections ---- */

static void
s_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                enum MHD_ConnectionNotificationCode toe)
{
    edge_http_t *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        s_conn_t *c = calloc(1, sizeof *c);
        if (!c)
            return;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->conn = conn;
        c->fd = ci ? ci->connect_fd : -1;
        c->deadline = pgs_time_mono_ms() + (int64_t)h->opts.header_timeout_s * 1000;
        c->next = h->conns;
        if (h->conns)
            h->conns->prev = c;
        h->conns = c;
        *socket_context = c;
        return;
    }
    s_conn_t *c = *socket_context;
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->uri);
    free(c);
    *socket_context = NULL;
}

static s_conn_t *
s_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *
s_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    edge_http_t *h = cls;
    s_conn_t *c = s_conn_of(conn);
    if (!c)
        return NULL;
    free(c->uri);
    c->uri = NULL;
    c->uri_too_long = strlen(uri) > h->opts.max_uri_bytes;
    if (!c->uri_too_long)
        c->uri = strdup(uri);
    return NULL;
}

static void
s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    edge_http_t *h = cls;
    (void)toe;
    s_http_req_t *hr = *con_cls;
    s_conn_t *c = s_conn_of(conn);
    if (c) {
        c->in_request = 0;
        c->hr = NULL;
        c->deadline = pgs_time_mono_ms() + (int64_t)h->opts.keepalive_timeout_s * 1000;
    }
    if (!hr)
        return;
    PGS_LOG(PGS_LOG_DEBUG, hr->req.request_id, "%s %s %d %lld ms", hr->req.method,
            hr->req.path ? hr->req.path : "-", hr->req.status,
            (long long)(pgs_time_mono_ms() - hr->t0));
    edge_request_release(&hr->req);
    if (hr->stream) {
        hr->stream->hr = NULL;
        s_stream_unref(hr->stream);
    }
    free(hr->xff);
    free(hr->request_id_in);
    free(hr);
    *con_cls = NULL;
}

/* ---- header scan ---- */

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

static void
s_keep(char **slot, const char *v, size_t n)
{
    if (!*slot)
        *slot = s_dup_n(v, n);
}

static void
s_session_cookie(edge_req_t *r, const char *v)
{
    const char *p = v;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, "pegasus_session=", 16) == 0) {
            const char *s = p + 16;
            size_t n = strcspn(s, "; ");
            free(r->session_cookie);
            r->session_cookie = s_dup_n(s, n);
            return;
        }
        p = strchr(p, ';');
    }
}

static enum MHD_Result
s_scan_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
              const char *value, size_t value_size)
{
    (void)kind;
    s_http_req_t *hr = cls;
    edge_req_t *r = &hr->req;
    hr->nheaders++;
    hr->header_bytes += key_size + value_size + 4;
    if (!key || !value)
        return MHD_YES;
    if (hr->nspans + 2 <= (int)(sizeof hr->spans / sizeof hr->spans[0])) {
        hr->spans[hr->nspans].p = key;
        hr->spans[hr->nspans++].n = key_size;
        hr->spans[hr->nspans].p = value;
        hr->spans[hr->nspans++].n = value_size;
    }
    for (size_t i = 0; i < key_size; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch <= 32 || ch >= 127 || ch == ':')
            hr->bad_header_name = 1;
    }
    if (strcasecmp(key, "authorization") == 0) {
        r->n_authorization++;
        s_keep(&r->authorization, value, value_size);
    } else if (strcasecmp(key, "content-length") == 0) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(value, &end, 10);
        if (errno || end == value || *end || n < 0 || value[0] == '-' || value[0] == '+')
            hr->bad_content_length = 1;
        if (hr->n_content_length && n != r->content_length)
            hr->content_length_conflict = 1;
        hr->n_content_length++;
        r->content_length = n;
    } else if (strcasecmp(key, "transfer-encoding") == 0) {
        hr->has_transfer_encoding++;
        if (strcasecmp(value, "chunked") != 0)
            hr->bad_transfer_encoding = 1;
    } else if (strcasecmp(key, "host") == 0) {
        hr->has_host = 1;
    } else if (strcasecmp(key, "content-type") == 0) {
        s_keep(&r->content_type, value, value_size);
    } else if (strcasecmp(key, "accept") == 0) {
        s_keep(&r->accept, value, value_size);
    } else if (strcasecmp(key, "idempotency-key") == 0) {
        s_keep(&r->idempotency_key, value, value_size);
    } else if (strcasecmp(key, "x-csrf-token") == 0) {
        s_keep(&r->csrf, value, value_size);
    } else if (strcasecmp(key, "user-agent") == 0) {
        s_keep(&r->user_agent, value, value_size);
    } else if (strcasecmp(key, "origin") == 0) {
        s_keep(&r->origin, value, value_size);
    } else if (strcasecmp(key, "cookie") == 0) {
        s_session_cookie(r, value);
    } else if (strcasecmp(key, "x-request-id") == 0) {
        s_keep(&hr->request_id_in, value, value_size);
    } else if (strcasecmp(key, "x-forwarded-for") == 0) {
        s_keep(&hr->xff, value, value_size);
    }
    return MHD_YES;
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

/* libmicrohttpd 0.9.75 cuts a header value at a NUL byte and keeps going,
 * so the edge never sees the NUL in the value. It parses headers in place,
 * though: every byte of the header block (after the request line, which it
 * rewrites) is part of a key or value it handed us, a separator it replaced
 * with NUL, or white space. Anything else is what a NUL cut off. When the
 * layout is not as expected (folded lines live elsewhere), say nothing. */
static int
s_nul_in_headers(const s_http_req_t *hr, const char *method)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(hr->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!ci || hr->nspans == 0 || hr->nspans >= (int)(sizeof hr->spans / sizeof hr->spans[0]))
        return 0;
    const char *end = method + ci->header_size;
    const char *p = hr->spans[0].p;
    for (int i = 0; i < hr->nspans; i++) {
        const char *s = hr->spans[i].p;
        if (s < method || s + hr->spans[i].n > end || (i && s < hr->spans[i - 1].p))
            return 1; /* not in place: a folded line, refused as well */
    }
    int i = 0;
    while (p < end) {
        while (i < hr->nspans && hr->spans[i].p + hr->spans[i].n <= p)
            i++;
        if (i < hr->nspans && p >= hr->spans[i].p) {
            p = hr->spans[i].p + hr->spans[i].n;
            continue;
        }
        if (*p != '\0' && *p != ' ' && *p != '\t')
            return 1;
        p++;
    }
    return 0;
}

/* The client address: the peer, or — when the peer is a trusted proxy —
 * the right-most X-Forwarded-For entry that is not a trusted proxy. */
static void
s_client_ip(s_http_req_t *hr)
{
    edge_req_t *r = &hr->req;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(hr->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->client_ip, sizeof r->client_ip, "unknown");
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      r->client_ip, sizeof r->client_ip);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      r->client_ip, sizeof r->client_ip);
    }
    const char *trusted = r->ctx->trusted_proxies;
    if (!hr->xff || !*trusted || !s_listed(trusted, r->client_ip))
        return;
    char *list = strdup(hr->xff);
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

/* Fills hr->req from the connection; returns 0, or -1 with bad_status set. */
static int
s_collect(s_http_req_t *hr, const char *method, const char *version)
{
    edge_req_t *r = &hr->req;
    edge_http_t *h = hr->owner;
    r->content_length = -1;
    snprintf(r->method, sizeof r->method, "%s", method);
    MHD_get_connection_values_n(hr->conn, MHD_HEADER_KIND, s_scan_header, hr);
    hr->has_nul = s_nul_in_headers(hr, method);
    s_client_ip(hr);
    if (hr->request_id_in && pgs_id_request_id_valid(hr->request_id_in))
        snprintf(r->request_id, sizeof r->request_id, "%s", hr->request_id_in);
    else
        pgs_id_request(r->request_id);
    if (hr->c && hr->c->uri_too_long) {
        hr->bad_status = 414;
        hr->bad_code = "invalid_request";
        hr->bad_message = "The request URI is too long.";
        return -1;
    }
    const char *uri = hr->c && hr->c->uri ? hr->c->uri : "/";
    const char *q = strchr(uri, '?');
    r->path = q ? s_dup_n(uri, (size_t)(q - uri)) : strdup(uri);
    r->query = q ? strdup(q + 1) : NULL;
    if (hr->nheaders > h->opts.max_headers || hr->header_bytes > h->opts.max_header_bytes) {
        hr->bad_status = 431;
        hr->bad_code = "invalid_request";
        hr->bad_message = "The request headers are too large.";
        return -1;
    }
    const char *why = NULL;
    if (hr->has_nul)
        why = "A header contains a NUL byte or a folded line.";
    else if (hr->bad_header_name)
        why = "A header name is malformed.";
    else if (hr->bad_content_length)
        why = "Content-Length is malformed.";
    else if (hr->content_length_conflict)
        why = "Conflicting Content-Length headers.";
    else if (hr->has_transfer_encoding && hr->n_content_length)
        why = "Content-Length together with Transfer-Encoding.";
    else if (hr->has_transfer_encoding > 1 || hr->bad_transfer_encoding)
        why = "Unsupported Transfer-Encoding.";
    else if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && !hr->has_host)
        why = "HTTP/1.1 requests need a Host header.";
    else if (!r->path || r->path[0] != '/')
        why = "The request target must be an absolute path.";
    if (why) {
        hr->bad_status = 400;
        hr->bad_code = "invalid_request";
        hr->bad_message = why;
        return -1;
    }
    hr->has_body = r->content_length > 0 || hr->has_transfer_encoding;
    return 0;
}

/* ---- responses ---- */

static enum MHD_Result
s_queue_buffer(s_http_req_t *hr)
{
    edge_req_t *r = &hr->req;
    /* The body is handed over, not copied (a document read can be tens of
     * megabytes). */
    struct MHD_Response *resp =
        r->resp_body ? MHD_create_response_from_buffer(r->resp_len, r->resp_body,
                                                       MHD_RESPMEM_MUST_FREE)
                     : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    r->resp_body = NULL;
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->close || hr->owner->draining)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(hr->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    hr->phase = PH_DONE;
    return rc;
}


/* ---- streamed replies ---- */

static void
s_stream_unref(s_stream_t *st)
{
    if (--st->refs > 0)
        return;
    free(st->data);
    free(st);
}

static s_stream_t *
s_stream_of(s_http_req_t *hr)
{
    if (!hr->stream) {
        hr->stream = calloc(1, sizeof *hr->stream);
        if (hr->stream) {
            hr->stream->refs = 1;
            hr->stream->hr = hr;
        }
    }
    return hr->stream;
}

/* Resumes a connection whose content reader waits for bytes. */
static void
s_stream_kick(s_http_req_t *hr)
{
    if (hr->phase == PH_DONE && hr->suspended) {
        hr->suspended = 0;
        MHD_resume_connection(hr->conn);
    }
}

static void
s_stream_push(void *http, const void *data, size_t len)
{
    s_http_req_t *hr = http;
    s_stream_t *st = s_stream_of(hr);
    if (!st || st->ended || st->overflow)
        return;
    if (st->len - st->off + len > S_STREAM_MAX) {
        st->overflow = 1;
        s_stream_kick(hr);
        return;
    }
    if (st->off && st->off == st->len)
        st->off = st->len = 0;
    if (st->len + len > st->cap) {
        if (st->off) {
            memmove(st->data, st->data + st->off, st->len - st->off);
            st->len -= st->off;
            st->off = 0;
        }
        size_t cap = st->cap ? st->cap : 4096;
        while (cap < st->len + len)
            cap *= 2;
        char *p = realloc(st->data, cap);
        if (!p) {
            st->overflow = 1;
            s_stream_kick(hr);
            return;
        }
        st->data = p;
        st->cap = cap;
    }
    memcpy(st->data + st->len, data, len);
    st->len += len;
    s_stream_kick(hr);
}

static void
s_stream_end(void *http)
{
    s_http_req_t *hr = http;
    s_stream_t *st = s_stream_of(hr);
    if (st)
        st->ended = 1;
    s_stream_kick(hr);
}

/* libmicrohttpd's content reader: returning 0 would make it call again at
 * once, so with nothing to send the connection is suspended until the next
 * chunk (or the end) resumes it. */
static ssize_t
s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream_t *st = cls;
    if (st->overflow)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t avail = st->len - st->off;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(buf, st->data + st->off, n);
        st->off += n;
        return (ssize_t)n;
    }
    if (st->ended || !st->hr)
        return MHD_CONTENT_READER_END_OF_STREAM;
    st->hr->suspended = 1;
    MHD_suspend_connection(st->hr->conn);
    return 0;
}

static void
s_stream_free(void *cls)
{
    s_stream_unref(cls);
}

static enum MHD_Result
s_queue_stream(s_http_req_t *hr)
{
    edge_req_t *r = &hr->req;
    s_stream_t *st = s_stream_of(hr);
    if (!st)
        return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, s_stream_read, st,
                                          s_stream_free);
    if (!resp)
        return MHD_NO;
    st->refs++;
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    if (hr->owner->draining)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rc = MHD_queue_response(hr->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    hr->phase = PH_DONE;
    return rc;
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
static enum MHD_Result
s_queue_static(s_http_req_t *hr)
{
    edge_req_t *r = &hr->req;
    edge_http_t *h = hr->owner;
    const char *p = r->path;
    int bad = strstr(p, "..") != NULL || strchr(p, '%') != NULL || strchr(p, '\\') != NULL;
    const char *last = strrchr(p, '/');
    const char *rel = (!bad && (strcmp(p, "/") == 0 || (last && !strchr(last, '.'))))
                          ? "/index.html"
                          : p;
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
        return s_queue_buffer(hr);
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", s_mime(rel));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy", EDGE_HTTP_CSP);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    /* Pages are never stored (the tokens page among them); assets are
     * revalidated. */
    MHD_add_response_header(resp, "Cache-Control",
                            strstr(s_mime(rel), "text/html") ? "no-store" : "no-cache");
    if (h->draining)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->status = 200;
    enum MHD_Result rc = MHD_queue_response(hr->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    hr->phase = PH_DONE;
    return rc;
}

static void
s_suspend(s_http_req_t *hr)
{
    hr->suspended = 1;
    MHD_suspend_connection(hr->conn);
}

static void
s_wake(void *http)
{
    s_http_req_t *hr = http;
    if (!hr->suspended)
        return; /* finished before we suspended: the caller continues */
    hr->suspended = 0;
    MHD_resume_connection(hr->conn);
}

/* What every request is given to reach its connection. */
static const edge_http_ops_t s_ops = {
    .wake = s_wake, .stream_push = s_stream_push, .stream_end = s_stream_end};

/* ---- the access handler ---- */

static enum MHD_Result
s_head(s_http_req_t *hr, const char *method, const char *version)
{
    edge_req_t *r = &hr->req;
    if (!hr->started) {
        hr->started = 1;
        if (hr->c)
            hr->c->in_request = 1;
        if (s_collect(hr, method, version) < 0) {
            r->close = 1;
            edge_response_error(r, hr->bad_status, hr->bad_code, hr->bad_message);
            return s_queue_buffer(hr);
        }
        if (hr->owner->draining) {
            /* Not taken: the edge is stopping. Answered once the body (if
             * any) is read and dropped, so the client reads the 503. */
            r->close = 1;
            edge_response_header(r, "Retry-After", "1");
            edge_response_error(r, 503, "service_unavailable",
                                "The service is restarting. Try again shortly.");
            hr->phase = PH_BODY;
            return MHD_YES;
        }
        if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) &&
            !edge_routes_is_api_path(r->path)) {
            hr->is_static = 1;
            hr->phase = PH_BODY;
            return MHD_YES;
        }
        edge_request_headers_done(r);
    }
    if (r->pending) {
        s_suspend(hr);
        return MHD_YES;
    }
    if (r->resp_ready) {
        if (!hr->has_body) {
            hr->phase = PH_BODY; /* answer on the next call: keeps keep-alive */
            return MHD_YES;
        }
        r->close = 1;
        return s_queue_buffer(hr);
    }
    if (edge_request_wants_body(r) && r->content_length > 0 &&
        (size_t)r->content_length > edge_request_max_body(r)) {
        /* Known too large before reading it: answer now, never read it. */
        r->body_too_large = 1;
        edge_request_body_done(r);
        if (r->resp_ready) {
            r->close = 1;
            return s_queue_buffer(hr);
        }
    }
    hr->phase = PH_BODY;
    return MHD_YES;
}

static enum MHD_Result
s_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
         const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)url;
    edge_http_t *h = cls;
    s_http_req_t *hr = *con_cls;
    if (!hr) {
        hr = calloc(1, sizeof *hr);
        if (!hr)
            return MHD_NO;
        hr->owner = h;
        hr->conn = conn;
        hr->c = s_conn_of(conn);
        if (hr->c)
            hr->c->hr = hr;
        hr->req.ctx = h->ctx;
        hr->req.ops = &s_ops;
        hr->req.http = hr;
        hr->t0 = pgs_time_mono_ms();
        *con_cls = hr;
    }
    edge_req_t *r = &hr->req;
    if (hr->phase == PH_HEAD)
        return s_head(hr, method, version);
    if (hr->phase == PH_DONE)
        return MHD_YES;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->resp_ready || hr->is_static || !edge_request_wants_body(r))
            return MHD_YES; /* read and dropped */
        size_t limit = edge_request_max_body(r);
        if (r->body_too_large || r->body_len + n > limit) {
            r->body_too_large = 1;
            /* A chunked body over the limit: the library lets us answer
             * only once the request is complete, so read and drop it up
             * to a bound, then give up on the connection rather than read
             * without end. */
            r->body_len += n;
            return r->body_len > limit + S_MAX_DISCARD ? MHD_NO : MHD_YES;
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n)
                cap *= 2;
            if (cap > limit)
                cap = limit;
            char *p = realloc(r->body, cap + 1);
            if (!p)
                return MHD_NO;
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    /* The final call: the whole request is in. */
    if (hr->is_static)
        return s_queue_static(hr);
    if (!r->resp_ready && !hr->forwarded) {
        hr->forwarded = 1;
        if (r->body_too_large)
            r->body_len = 0;
        edge_request_body_done(r);
        if (r->pending) {
            s_suspend(hr);
            return MHD_YES;
        }
    }
    if (!r->resp_ready)
        return MHD_YES; /* resumed early; cannot happen, but never hang */
    return r->streaming ? s_queue_stream(hr) : s_queue_buffer(hr);
}

/* ---- daemon ---- */

static void
s_on_epoll(void *arg, uint32_t events)
{
    (void)events;
    edge_http_t *h = arg;
    MHD_run(h->daemon);
}

static void
s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!pgs_log_enabled(PGS_LOG_DEBUG))
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    pgs_debug("microhttpd: %s", line);
}

edge_http_t *
edge_http_new(edge_loop_t *loop, edge_ctx_t *ctx, const edge_http_opts_t *opts)
{
    edge_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->loop = loop;
    h->ctx = ctx;
    h->opts = *opts;
    h->web_root = strdup(opts->web_root ? opts->web_root : "web");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
    if (inet_pton(AF_INET, opts->address, &sa.sin_addr) != 1) {
        pgs_error("[edge] address %s is not an IPv4 address", opts->address);
        edge_http_destroy(&h);
        return NULL;
    }
    /* The pool holds the request line and headers: room for the largest
     * allowed URI and header block, so our own limits answer first. */
    size_t pool = opts->max_uri_bytes + opts->max_header_bytes + 32768;
    h->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_access, h,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)opts->keepalive_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_connections,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, h, MHD_OPTION_NOTIFY_COMPLETED,
        s_on_completed, h, MHD_OPTION_URI_LOG_CALLBACK, s_on_uri, h,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, h, MHD_OPTION_END);
    if (!h->daemon) {
        pgs_error("cannot listen on %s:%d: %s", opts->address, opts->port, strerror(errno));
        edge_http_destroy(&h);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    h->epfd = di ? di->epoll_fd : -1;
    if (edge_loop_watch(loop, h->epfd, EPOLLIN, s_on_epoll, h) < 0) {
        edge_http_destroy(&h);
        return NULL;
    }
    pgs_info("listening on http://%s:%d", opts->address, opts->port);
    return h;
}

/* Resumes every connection the library holds suspended and runs it, until
 * none is (a stream is ended first, so its reader does not suspend again).
 * Returns the number still suspended. */
static int
s_resume_all(edge_http_t *h)
{
    int left = 0;
    for (int round = 0; round < 20; round++) {
        left = 0;
        for (s_conn_t *c = h->conns; c; c = c->next) {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_SUSPENDED);
            int suspended = ci ? ci->suspended : (c->hr && c->hr->suspended);
            if (!suspended)
                continue;
            left++;
            if (c->hr) {
                if (c->hr->req.pending)
                    edge_request_abort(&c->hr->req);
                c->hr->suspended = 0;
                if (c->hr->stream)
                    c->hr->stream->ended = 1;
            }
            MHD_resume_connection(c->conn);
        }
        if (!left)
            return 0;
        MHD_run(h->daemon);
    }
    return left;
}

void
edge_http_destroy(edge_http_t **hp)
{
    if (!hp || !*hp)
        return;
    edge_http_t *h = *hp;
    if (h->daemon) {
        edge_loop_unwatch(h->loop, h->epfd);
        int left = s_resume_all(h);
        if (left) {
            /* Stopping the daemon now would abort the process: leave it to
             * the exit, which closes its sockets. */
            pgs_error("%d connection%s still suspended; not stopping the HTTP daemon", left,
                      left == 1 ? "" : "s");
        } else {
            MHD_stop_daemon(h->daemon);
        }
    }
    free(h->web_root);
    free(h);
    *hp = NULL;
}

void
edge_http_drain(edge_http_t *h)
{
    if (h->draining)
        return;
    h->draining = 1;
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* external polling: nothing else uses it */
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

void
edge_http_tick(edge_http_t *h)
{
    MHD_run(h->daemon);
    int64_t now = pgs_time_mono_ms();
    if (now - h->last_sweep < 100)
        return;
    h->last_sweep = now;
    for (s_conn_t *c = h->conns; c; c = c->next) {
        if (h->draining && !c->in_request && c->fd >= 0 && !c->shut) {
            /* Between requests: nothing taken on it. */
            shutdown(c->fd, SHUT_RDWR);
            c->shut = 1;
            continue;
        }
        if (!c->in_request && c->fd >= 0 && now > c->deadline) {
            /* Slow headers or an idle keep-alive connection. */
            shutdown(c->fd, SHUT_RDWR);
            c->deadline = now + 1000000;
        }
    }
}

int
edge_http_timeout_ms(edge_http_t *h, int cap_ms)
{
    MHD_UNSIGNED_LONG_LONG t = 0;
    if (MHD_get_timeout(h->daemon, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)cap_ms)
        return (int)t;
    return cap_ms;
}
