/*
 * chat_upstream — see chat_upstream.h.
 *
 * libcurl's multi socket interface on the worker's loop: its sockets are
 * fd watches (CURLMOPT_SOCKETFUNCTION) and its timeout a one-shot timer
 * (CURLMOPT_TIMERFUNCTION); nothing polls. Callbacks run from inside the
 * loop's fd and timer callbacks; they must not cancel calls.
 *
 * The idle timer is ours, not libcurl's: any byte (headers included) resets
 * it, so a model that streams slowly is never cut, while one that stalls is.
 * One one-shot timer, armed for the earliest call's idle deadline.
 */
#include "chat_upstream.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_MAX_LINE (1u << 20)   /* one SSE event */
#define S_MAX_JSON (8u << 20)   /* one JSON completion */
#define S_MAX_ERROR (64u << 10) /* an error body, read and dropped */

enum { S_MODE_UNKNOWN = 0, S_MODE_SSE, S_MODE_JSON, S_MODE_ERROR };

struct chat_call {
    chat_call_t *next, *prev;
    chat_upstream_t *u;
    CURL *easy;
    struct curl_slist *hdrs;
    chat_call_cb_t cb;
    void *arg;
    long timeout_ms;
    int64_t last_activity;
    int mode;
    int broken; /* a protocol error: finish as CHAT_CALL_FAILED */
    int saw_error_event;
    long http_status;
    long long prompt_tokens, completion_tokens;
    char *buf; /* the current line (SSE) or the whole body (JSON) */
    size_t len, cap;
    char *data; /* the data lines of the current SSE event */
    size_t dlen, dcap;
};

struct chat_upstream {
    pgs_worker_t *w;
    CURLM *multi;
    chat_call_t *calls;
    int active;
    int curl_timer; /* libcurl's timeout (a worker timer id, or 0) */
    int idle_timer; /* the earliest idle deadline (a worker timer id, or 0) */
};

static void s_check(chat_upstream_t *u);
static void s_arm_idle(chat_upstream_t *u);

static void
s_on_fd(void *arg, int fd, int revents)
{
    chat_upstream_t *u = arg;
    int running = 0;
    int ev = ((revents & PGS_FD_IN) ? CURL_CSELECT_IN : 0) |
             ((revents & PGS_FD_OUT) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(u->multi, fd, ev, &running);
    s_check(u);
}

static int
s_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    chat_upstream_t *u = userp;
    int events = what == CURL_POLL_IN      ? PGS_FD_IN
                 : what == CURL_POLL_OUT   ? PGS_FD_OUT
                 : what == CURL_POLL_INOUT ? PGS_FD_IN | PGS_FD_OUT
                                           : 0; /* CURL_POLL_REMOVE */
    return pgs_worker_watch(u->w, fd, events, s_on_fd, u) < 0 ? -1 : 0;
}

static void
s_on_curl_timer(void *arg)
{
    chat_upstream_t *u = arg;
    u->curl_timer = 0; /* fired: gone */
    int running = 0;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check(u);
}

static int
s_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    chat_upstream_t *u = userp;
    pgs_worker_cancel(u->w, u->curl_timer);
    u->curl_timer = 0;
    if (timeout_ms >= 0) {
        u->curl_timer = pgs_worker_after(u->w, (int)timeout_ms, s_on_curl_timer, u);
        if (u->curl_timer < 0) {
            u->curl_timer = 0;
            return -1;
        }
    }
    return 0;
}

chat_upstream_t *
chat_upstream_new(pgs_worker_t *w)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    chat_upstream_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->w = w;
    u->multi = curl_multi_init();
    if (!u->multi) {
        free(u);
        return NULL;
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, s_socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    return u;
}

static void
s_free_call(chat_upstream_t *u, chat_call_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        u->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    u->active--;
    curl_multi_remove_handle(u->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->hdrs);
    free(c->buf);
    free(c->data);
    free(c);
}

void
chat_upstream_destroy(chat_upstream_t **up)
{
    if (!up || !*up)
        return;
    chat_upstream_t *u = *up;
    while (u->calls)
        s_free_call(u, u->calls);
    curl_multi_cleanup(u->multi);
    pgs_worker_cancel(u->w, u->curl_timer);
    pgs_worker_cancel(u->w, u->idle_timer);
    free(u);
    *up = NULL;
}

int
chat_upstream_active(const chat_upstream_t *u)
{
    return u ? u->active : 0;
}

void
chat_upstream_cancel(chat_upstream_t *u, chat_call_t *call)
{
    if (u && call)
        s_free_call(u, call);
}

static int
s_grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void
s_usage(chat_call_t *c, json_t *usage)
{
    json_t *pt = json_object_get(usage, "prompt_tokens");
    json_t *ct = json_object_get(usage, "completion_tokens");
    if (json_is_integer(pt))
        c->prompt_tokens = json_integer_value(pt);
    if (json_is_integer(ct))
        c->completion_tokens = json_integer_value(ct);
}

/* One event of the stream, or the whole JSON completion. */
static void
s_object(chat_call_t *c, json_t *o, int whole)
{
    if (!json_is_object(o)) {
        c->broken = 1;
        return;
    }
    if (json_object_get(o, "error")) {
        c->saw_error_event = 1;
        return;
    }
    json_t *choice = json_array_get(json_object_get(o, "choices"), 0);
    json_t *part = json_object_get(choice, whole ? "message" : "delta");
    if (!part && !whole)
        part = json_object_get(choice, "message");
    json_t *content = json_object_get(part, "content");
    if (json_is_string(content) && json_string_length(content) > 0)
        c->cb.on_delta(c->arg, json_string_value(content), json_string_length(content));
    json_t *usage = json_object_get(o, "usage");
    if (json_is_object(usage))
        s_usage(c, usage);
}

static void
s_sse_line(chat_call_t *c, const char *line, size_t len)
{
    if (len == 0) {
        if (c->dlen == 0)
            return;
        c->data[c->dlen] = '\0';
        if (strcmp(c->data, "[DONE]") != 0) {
            json_t *o = json_loadb(c->data, c->dlen, 0, NULL);
            s_object(c, o, 0);
            json_decref(o);
        }
        c->dlen = 0;
        return;
    }
    if (len < 5 || memcmp(line, "data:", 5) != 0)
        return; /* comments, event:, id:, retry: */
    line += 5;
    len -= 5;
    if (len && *line == ' ')
        line++, len--;
    if (s_grow(&c->data, &c->dcap, c->dlen + len + 2) < 0 || c->dlen + len > S_MAX_LINE) {
        c->broken = 1;
        return;
    }
    if (c->dlen)
        c->data[c->dlen++] = '\n';
    memcpy(c->data + c->dlen, line, len);
    c->dlen += len;
}

static void s_headers_done(chat_call_t *c);

static size_t
s_on_header(char *p, size_t size, size_t n, void *arg)
{
    chat_call_t *c = arg;
    c->last_activity = pgs_time_mono_ms();
    /* The blank line that ends a header block: a final (non-1xx) status
     * starts the client's stream before any byte of the answer. */
    if (size * n <= 2 && (size * n == 0 || p[0] == '\r' || p[0] == '\n') &&
        c->mode == S_MODE_UNKNOWN) {
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200)
            s_headers_done(c);
    }
    return size * n;
}

static void
s_headers_done(chat_call_t *c)
{
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->http_status);
    if (c->http_status < 200 || c->http_status >= 300) {
        c->mode = S_MODE_ERROR;
        return;
    }
    char *ct = NULL;
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ct);
    c->mode = ct && strncasecmp(ct, "text/event-stream", 17) == 0 ? S_MODE_SSE : S_MODE_JSON;
    c->cb.on_start(c->arg);
}

static size_t
s_on_body(char *p, size_t size, size_t n, void *arg)
{
    chat_call_t *c = arg;
    size_t len = size * n;
    c->last_activity = pgs_time_mono_ms();
    if (c->mode == S_MODE_UNKNOWN)
        s_headers_done(c);
    switch (c->mode) {
    case S_MODE_ERROR:
        c->len += len;
        return c->len > S_MAX_ERROR ? 0 : len;
    case S_MODE_JSON:
        if (c->len + len > S_MAX_JSON || s_grow(&c->buf, &c->cap, c->len + len + 1) < 0) {
            c->broken = 1;
            return 0;
        }
        memcpy(c->buf + c->len, p, len);
        c->len += len;
        return len;
    default:
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '\n') {
                size_t l = c->len;
                if (l && c->buf[l - 1] == '\r')
                    l--;
                s_sse_line(c, c->buf ? c->buf : "", l);
                c->len = 0;
            } else {
                if (c->len >= S_MAX_LINE || s_grow(&c->buf, &c->cap, c->len + 2) < 0) {
                    c->broken = 1;
                    return 0;
                }
                c->buf[c->len++] = p[i];
            }
        }
        return c->broken ? 0 : len;
    }
}

chat_call_t *
chat_upstream_start(chat_upstream_t *u, const char *base_url, const char *api_key, const char *body,
                    long timeout_ms, const chat_call_cb_t *cb, void *arg)
{
    chat_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->u = u;
    c->cb = *cb;
    c->arg = arg;
    c->timeout_ms = timeout_ms;
    c->prompt_tokens = c->completion_tokens = -1;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    char url[2048];
    size_t bl = strlen(base_url);
    while (bl && base_url[bl - 1] == '/')
        bl--;
    int has_v1 = bl >= 3 && memcmp(base_url + bl - 3, "/v1", 3) == 0;
    snprintf(url, sizeof url, "%.*s%s/chat/completions", (int)bl, base_url, has_v1 ? "" : "/v1");
    c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    c->hdrs = curl_slist_append(c->hdrs, "Accept: text/event-stream, application/json");
    if (api_key && *api_key) {
        size_t kl = strlen(api_key) + 32;
        char *h = malloc(kl);
        if (h) {
            snprintf(h, kl, "Authorization: Bearer %s", api_key);
            c->hdrs = curl_slist_append(c->hdrs, h);
            memset(h, 0, kl);
            free(h);
        }
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "pegasus-chat");
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        curl_slist_free_all(c->hdrs);
        free(c);
        return NULL;
    }
    c->last_activity = pgs_time_mono_ms();
    c->next = u->calls;
    if (u->calls)
        u->calls->prev = c;
    u->calls = c;
    u->active++;
    if (!u->idle_timer)
        s_arm_idle(u);
    return c;
}

static void
s_finish(chat_upstream_t *u, chat_call_t *c, CURLcode code, int timed_out)
{
    chat_call_result_t r = {.status = CHAT_CALL_OK,
                            .prompt_tokens = c->prompt_tokens,
                            .completion_tokens = c->completion_tokens};
    if (!timed_out && code == CURLE_OK && c->mode == S_MODE_UNKNOWN) {
        /* An answer without a body (e.g. 204, or an error with none). */
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->http_status);
        c->mode = c->http_status >= 200 && c->http_status < 300 ? S_MODE_JSON : S_MODE_ERROR;
    }
    r.http_status = c->http_status;
    if (timed_out || code == CURLE_OPERATION_TIMEDOUT) {
        r.status = CHAT_CALL_TIMEOUT;
    } else if (c->mode == S_MODE_ERROR) {
        r.status = CHAT_CALL_HTTP_ERROR;
    } else if (code != CURLE_OK || c->broken || c->saw_error_event) {
        r.status = CHAT_CALL_FAILED;
    } else if (c->mode == S_MODE_JSON) {
        json_t *o = c->len ? json_loadb(c->buf, c->len, 0, NULL) : NULL;
        s_object(c, o, 1);
        json_decref(o);
        r.prompt_tokens = c->prompt_tokens;
        r.completion_tokens = c->completion_tokens;
        if (c->broken || c->saw_error_event)
            r.status = CHAT_CALL_FAILED;
    } else if (c->len || c->dlen) {
        /* A stream cut without its final blank line: use what is complete. */
        if (c->len)
            s_sse_line(c, c->buf, c->len);
        s_sse_line(c, "", 0);
        r.prompt_tokens = c->prompt_tokens;
        r.completion_tokens = c->completion_tokens;
    }
    if (r.status != CHAT_CALL_OK)
        pgs_info("upstream call ended status=%d http=%ld curl=%d", (int)r.status, r.http_status,
                 (int)code);
    chat_call_cb_t cb = c->cb;
    void *arg = c->arg;
    s_free_call(u, c);
    cb.on_done(arg, &r);
}

/* Finishes the transfers libcurl says are done. */
static void
s_check(chat_upstream_t *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        chat_call_t *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c)
            s_finish(u, c, m->data.result, 0);
    }
}

static void
s_on_idle(void *arg)
{
    chat_upstream_t *u = arg;
    u->idle_timer = 0; /* fired: gone */
    int64_t now = pgs_time_mono_ms();
    for (chat_call_t *c = u->calls, *next; c; c = next) {
        next = c->next;
        if (now - c->last_activity > c->timeout_ms)
            s_finish(u, c, CURLE_OK, 1);
    }
    s_arm_idle(u);
}

/* Arms the idle timer for the earliest deadline of the calls in flight. */
static void
s_arm_idle(chat_upstream_t *u)
{
    pgs_worker_cancel(u->w, u->idle_timer);
    u->idle_timer = 0;
    if (!u->calls)
        return;
    int64_t now = pgs_time_mono_ms(), first = INT64_MAX;
    for (chat_call_t *c = u->calls; c; c = c->next)
        if (c->last_activity + c->timeout_ms < first)
            first = c->last_activity + c->timeout_ms;
    int64_t ms = first - now + 1;
    u->idle_timer = pgs_worker_after(u->w, (int)(ms < 0 ? 0 : ms), s_on_idle, u);
    if (u->idle_timer < 0)
        u->idle_timer = 0;
}
