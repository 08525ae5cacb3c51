/*
 * edge_usage — see edge_usage.h.
 */
#include "edge_usage.h"
#include "edge_usage_queue.h"
#include "edge_usage_sum.h"
#include "pgs_id.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_copy_bot(edge_req_t *r, const char *id, size_t len)
{
    char buf[sizeof r->usage.bot];
    if (len >= sizeof buf)
        return;
    memcpy(buf, id, len);
    buf[len] = '\0';
    if (pgs_id_valid(buf, "bot"))
        memcpy(r->usage.bot, buf, len + 1);
}

void
edge_usage_note_meta(edge_req_t *r, const pgs_meta_t *m)
{
    if (m->bot[0])
        s_copy_bot(r, m->bot, strlen(m->bot));
    if (m->messages)
        r->usage.msgs = (long)m->messages;
    if (m->input_tokens)
        r->usage.in = (long)m->input_tokens;
    if (m->output_tokens)
        r->usage.out = (long)m->output_tokens;
}

/* ---- the queue and its pump ---- */

#define S_QUEUE_FILE_BYTES ((long long)256 << 20)
#define S_BATCH 256
#define S_RETRY_MS 1000
#define S_STATUS_EVERY_MS 1000
#define S_SUM_ROWS 4096 /* keys summed between two flushes (more: flushed early) */

struct edge_usage {
    edge_redis_t *redis;
    edge_usage_queue_t *queue;
    edge_usage_sum_t *sum;
    int flush_ms;
    int64_t flush_at; /* monotonic ms of the next flush while sum holds rows */
    char *status_path;
    char boot[12]; /* this process's prefix of event ids */
    unsigned long long seq;
    /* the batch being sent from the queue */
    size_t batch, batch_replies, batch_ok;
    char ok[S_BATCH];
    int64_t retry_at;
    /* what the status file says */
    size_t status_waiting;
    unsigned long long status_dropped;
    int64_t status_at;
    int status_written;
};

/* One entry sent directly: what it takes to queue it when it fails. */
typedef struct {
    edge_usage_t *u;
    char line[];
} s_direct_t;

typedef struct {
    edge_usage_t *u;
    size_t i;
} s_slot_t;

static s_slot_t s_slots[S_BATCH];

static void
s_warn(const char *why)
{
    static int64_t last_warn;
    int64_t now = pgs_time_mono_ms();
    if (now - last_warn >= 10000) {
        last_warn = now;
        pgs_warn("usage event not stored yet (queued): %s", why);
    }
}

/* Splits a line into XADD's arguments. Returns their number, 0 when the
 * line is not an event. */
static int
s_argv(char *line, const char **argv, size_t *lens, int max)
{
    static const char *const head[] = {"XADD", "pgs:usage", "MAXLEN", "~", "1000000", "*"};
    int n = 0;
    for (; n < 6; n++)
        argv[n] = head[n];
    for (char *p = line; *p && n < max;) {
        argv[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    if (n % 2 != 0 || n == 6)
        return 0;
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    return n;
}

static void
s_on_direct(void *arg, redisReply *reply)
{
    s_direct_t *d = arg;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        s_warn(reply ? reply->str : "redis unavailable");
        edge_usage_queue_push(d->u->queue, d->line);
    }
    free(d);
}

static void
s_send(edge_usage_t *u, const char *line)
{
    if (edge_usage_queue_len(u->queue) || !edge_redis_up(u->redis)) {
        edge_usage_queue_push(u->queue, line); /* behind the entries already waiting */
        return;
    }
    size_t len = strlen(line);
    s_direct_t *d = malloc(sizeof *d + len + 1);
    if (!d)
        return;
    d->u = u;
    memcpy(d->line, line, len + 1);
    char copy[600];
    snprintf(copy, sizeof copy, "%s", line);
    const char *argv[40];
    size_t lens[40];
    int n = s_argv(copy, argv, lens, 40);
    if (n == 0 || edge_redis_command(u->redis, s_on_direct, d, n, argv, lens) < 0)
        s_on_direct(d, NULL);
}

static void
s_on_batch(void *arg, redisReply *reply)
{
    s_slot_t *slot = arg;
    edge_usage_t *u = slot->u;
    int ok = reply && reply->type != REDIS_REPLY_ERROR;
    u->ok[slot->i] = (char)ok;
    u->batch_ok += (size_t)ok;
    if (++u->batch_replies < u->batch)
        return;
    /* The batch is done: the leading events that were stored leave the
     * queue; the rest is sent again later (the ones stored after a failure
     * are then recognised by their id). */
    size_t k = 0;
    while (k < u->batch && u->ok[k])
        k++;
    edge_usage_queue_pop(u->queue, k);
    if (k < u->batch) {
        s_warn(reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "redis unavailable");
        u->retry_at = pgs_time_mono_ms() + S_RETRY_MS;
    } else if (k) {
        pgs_debug("usage: %zu queued events stored, %zu waiting", k,
                  edge_usage_queue_len(u->queue));
    }
    u->batch = u->batch_replies = u->batch_ok = 0;
}

static void
s_pump(edge_usage_t *u)
{
    if (u->batch || !edge_usage_queue_len(u->queue) || !edge_redis_up(u->redis) ||
        pgs_time_mono_ms() < u->retry_at)
        return;
    const char *lines[S_BATCH];
    size_t k = edge_usage_queue_peek(u->queue, lines, S_BATCH);
    u->batch = k;
    u->batch_replies = u->batch_ok = 0;
    for (size_t i = 0; i < k; i++) {
        char copy[600];
        snprintf(copy, sizeof copy, "%s", lines[i]);
        const char *argv[40];
        size_t lens[40];
        int n = s_argv(copy, argv, lens, 40);
        s_slots[i] = (s_slot_t){u, i};
        if (n == 0) {
            /* not an event (a damaged spool line): stored as done */
            redisReply fake = {.type = REDIS_REPLY_STATUS};
            s_on_batch(&s_slots[i], &fake);
        } else if (edge_redis_command(u->redis, s_on_batch, &s_slots[i], n, argv, lens) < 0) {
            s_on_batch(&s_slots[i], NULL);
        }
        if (!u->batch)
            break; /* completed (all failed at once, say) */
    }
}

/* A row as a stream entry: field and value pairs separated by tabs (no
 * value holds a tab or a newline); fields that are empty or 0 are left out
 * (the usage service reads them as such). e is the entry's own id, which
 * lets the usage service count an entry sent twice (after a lost reply)
 * once; t is the time of the row's first request (its day is the row's). */
static int
s_format_row(edge_usage_t *u, const edge_usage_row_t *row, char *line, size_t size)
{
    int n = snprintf(line, size, "ws\t%s\tuser\t%s\ttok\t%s\troute\t%s %s\tn\t%lld", row->ws,
                     row->user, row->tok, row->method, row->pattern, row->requests);
    if (row->bot[0])
        n += snprintf(line + n, size - (size_t)n, "\tbot\t%s", row->bot);
    if (row->errors)
        n += snprintf(line + n, size - (size_t)n, "\terr\t%lld", row->errors);
    if (row->msgs)
        n += snprintf(line + n, size - (size_t)n, "\tmsgs\t%lld", row->msgs);
    if (row->in)
        n += snprintf(line + n, size - (size_t)n, "\tin\t%lld", row->in);
    if (row->out)
        n += snprintf(line + n, size - (size_t)n, "\tout\t%lld", row->out);
    n += snprintf(line + n, size - (size_t)n, "\tt\t%lld\te\t%s.%llu", (long long)row->first_ms,
                  u->boot, ++u->seq);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* drain callbacks: a row sent to Redis (queued when Redis does not take
 * it), or queued at once (Redis is gone: the last flush of a stop). */
static void
s_send_row(const edge_usage_row_t *row, void *arg)
{
    edge_usage_t *u = arg;
    char line[600];
    if (s_format_row(u, row, line, sizeof line) == 0)
        s_send(u, line);
}

static void
s_queue_row(const edge_usage_row_t *row, void *arg)
{
    edge_usage_t *u = arg;
    char line[600];
    if (s_format_row(u, row, line, sizeof line) == 0)
        edge_usage_queue_push(u->queue, line);
}

/* The status file pegasusctl status shows: written when what it says
 * changed, at most every second. */
static void
s_status(edge_usage_t *u, int force)
{
    size_t waiting = (size_t)edge_usage_queue_weight(u->queue);
    unsigned long long dropped = edge_usage_queue_dropped(u->queue);
    int64_t now = pgs_time_mono_ms();
    if (!u->status_path ||
        (u->status_written && waiting == u->status_waiting && dropped == u->status_dropped) ||
        (!force && now - u->status_at < S_STATUS_EVERY_MS))
        return;
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", u->status_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "{\"usage_waiting\":%zu,\"usage_dropped\":%llu}\n", waiting, dropped);
    if (fclose(f) == 0 && rename(tmp, u->status_path) == 0) {
        u->status_waiting = waiting;
        u->status_dropped = dropped;
        u->status_written = 1;
    }
    u->status_at = now;
}

/* The requests an entry counts: its n (1 when it has none, as the events
 * of one request each that an older edge spooled). */
static size_t
s_line_requests(const char *line, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++) {
        if (line[i] == '\t' && line[i + 1] == 'n' && line[i + 2] == '\t') {
            size_t v = 0;
            for (size_t j = i + 3; j < len && line[j] >= '0' && line[j] <= '9'; j++)
                v = v * 10 + (size_t)(line[j] - '0');
            return v;
        }
    }
    return 1;
}

edge_usage_t *
edge_usage_new(edge_redis_t *redis, const char *spool_path, size_t max_memory, int flush_ms,
               const char *status_path)
{
    edge_usage_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->redis = redis;
    u->flush_ms = flush_ms > 0 ? flush_ms : 100;
    u->sum = edge_usage_sum_new(S_SUM_ROWS);
    u->queue = edge_usage_queue_new(spool_path, max_memory, S_QUEUE_FILE_BYTES, s_line_requests);
    u->status_path = status_path ? strdup(status_path) : NULL;
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 8; i++)
        u->boot[i] = b62[randombytes_uniform(62)];
    if (!u->sum || !u->queue || (status_path && !u->status_path)) {
        edge_usage_destroy(&u);
        return NULL;
    }
    s_status(u, 1);
    return u;
}

void
edge_usage_destroy(edge_usage_t **up)
{
    if (!up || !*up)
        return;
    edge_usage_t *u = *up;
    if (u->sum && u->queue)
        edge_usage_sum_drain(u->sum, s_queue_row, u); /* Redis is gone by now */
    edge_usage_sum_destroy(&u->sum);
    edge_usage_queue_destroy(&u->queue); /* what waits is kept in its file */
    if (u->status_path)
        unlink(u->status_path);
    free(u->status_path);
    free(u);
    *up = NULL;
}

void
edge_usage_tick(edge_usage_t *u)
{
    if (!u)
        return;
    if (edge_usage_sum_len(u->sum) && pgs_time_mono_ms() >= u->flush_at)
        edge_usage_flush(u);
    s_pump(u);
    s_status(u, 0);
}

void
edge_usage_flush(edge_usage_t *u)
{
    if (u)
        edge_usage_sum_drain(u->sum, s_send_row, u);
}

int
edge_usage_timeout_ms(const edge_usage_t *u, int timeout_ms)
{
    if (!u || !edge_usage_sum_len(u->sum))
        return timeout_ms;
    int64_t left = u->flush_at - pgs_time_mono_ms();
    if (left < 0)
        left = 0;
    return left < timeout_ms ? (int)left : timeout_ms;
}

size_t
edge_usage_waiting(const edge_usage_t *u)
{
    return u ? (size_t)edge_usage_queue_weight(u->queue) : 0;
}

int
edge_usage_sending(const edge_usage_t *u)
{
    return u && u->batch;
}

void
edge_usage_emit(edge_req_t *r, int status)
{
    if (r->usage.sent || !r->route || r->route->auth != EDGE_AUTH_TOKEN || !r->past_check4)
        return;
    r->usage.sent = 1;
    int err = status >= 400 || r->stream_failed;
    if (!r->usage.bot[0] && !err) {
        for (int i = 0; i < r->nparams; i++) {
            const edge_route_param_t *p = &r->params[i];
            if (p->name_len == 6 && memcmp(p->name, "bot_id", 6) == 0)
                s_copy_bot(r, p->value, p->value_len);
        }
    }
    long msgs = r->usage.msgs, in = r->usage.in, out = r->usage.out;
    if (err || r->usage.replayed)
        msgs = in = out = 0; /* nothing was done, or it was done before */
    edge_usage_t *u = r->ctx->usage;
    if (!u)
        return;
    edge_usage_row_t one = {.method = r->route->method,
                            .pattern = r->route->pattern,
                            .first_ms = pgs_time_now_ms(),
                            .requests = 1,
                            .errors = err,
                            .msgs = msgs,
                            .in = in,
                            .out = out};
    memcpy(one.ws, r->tok.workspace_id, sizeof one.ws);
    memcpy(one.user, r->tok.user_id, sizeof one.user);
    memcpy(one.tok, r->tok.token_id, sizeof one.tok);
    memcpy(one.bot, r->usage.bot, sizeof one.bot);
    if (!edge_usage_sum_len(u->sum))
        u->flush_at = pgs_time_mono_ms() + u->flush_ms;
    if (edge_usage_sum_add(u->sum, &one) < 0) {
        edge_usage_flush(u); /* every row is taken: out they go, early */
        u->flush_at = pgs_time_mono_ms() + u->flush_ms;
        edge_usage_sum_add(u->sum, &one);
    }
}
