/*
 * edge_usage — see edge_usage.h.
 */
#include "edge_usage.h"
#include "edge_usage_queue.h"
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

struct edge_usage {
    edge_redis_t *redis;
    edge_usage_queue_t *queue;
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

/* One event sent directly: what it takes to queue it when it fails. */
typedef struct {
    edge_usage_t *u;
    int64_t at_ms;
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

/* Adds an event to the queue with the time it happened (t: the entry id a
 * later XADD gets is not its time). */
static void
s_enqueue(edge_usage_t *u, const char *line, int64_t at_ms)
{
    char buf[600];
    if (strstr(line, "\tt\t"))
        snprintf(buf, sizeof buf, "%s", line);
    else
        snprintf(buf, sizeof buf, "%s\tt\t%lld", line, (long long)at_ms);
    edge_usage_queue_push(u->queue, buf);
}

static void
s_on_direct(void *arg, redisReply *reply)
{
    s_direct_t *d = arg;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        s_warn(reply ? reply->str : "redis unavailable");
        if (d->u)
            s_enqueue(d->u, d->line, d->at_ms);
    }
    free(d);
}

static void
s_send(edge_redis_t *redis, edge_usage_t *u, const char *line, int64_t at_ms)
{
    if (u && (edge_usage_queue_len(u->queue) || !edge_redis_up(redis))) {
        s_enqueue(u, line, at_ms); /* behind the events already waiting */
        return;
    }
    size_t len = strlen(line);
    s_direct_t *d = malloc(sizeof *d + len + 1);
    if (!d)
        return;
    d->u = u;
    d->at_ms = at_ms;
    memcpy(d->line, line, len + 1);
    char copy[600];
    snprintf(copy, sizeof copy, "%s", line);
    const char *argv[40];
    size_t lens[40];
    int n = s_argv(copy, argv, lens, 40);
    if (n == 0 || edge_redis_command(redis, s_on_direct, d, n, argv, lens) < 0)
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

/* The status file pegasusctl status shows: written when what it says
 * changed, at most every second. */
static void
s_status(edge_usage_t *u, int force)
{
    size_t waiting = edge_usage_queue_len(u->queue);
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

edge_usage_t *
edge_usage_new(edge_redis_t *redis, const char *spool_path, size_t max_memory,
               const char *status_path)
{
    edge_usage_t *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->redis = redis;
    u->queue = edge_usage_queue_new(spool_path, max_memory, S_QUEUE_FILE_BYTES);
    u->status_path = status_path ? strdup(status_path) : NULL;
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 8; i++)
        u->boot[i] = b62[randombytes_uniform(62)];
    if (!u->queue || (status_path && !u->status_path)) {
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
    s_pump(u);
    s_status(u, 0);
}

size_t
edge_usage_waiting(const edge_usage_t *u)
{
    return u ? edge_usage_queue_len(u->queue) : 0;
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

    /* The line: field and value pairs separated by tabs (no value holds a
     * tab or a newline); fields that are empty or 0 are left out (the
     * usage service reads them as such): the event is on every request's
     * path, so it is kept small. e is the event's own id, which lets the
     * usage service count an event sent twice (after a lost reply) once. */
    char line[512];
    long long latency = r->started_ms ? (long long)(pgs_time_mono_ms() - r->started_ms) : 0;
    int n =
        snprintf(line, sizeof line, "ws\t%s\tuser\t%s\ttok\t%s\troute\t%s %s\tstatus\t%d\tms\t%lld",
                 r->tok.workspace_id, r->tok.user_id, r->tok.token_id, r->route->method,
                 r->route->pattern, status, latency < 0 ? 0 : latency);
    if (r->usage.bot[0])
        n += snprintf(line + n, sizeof line - (size_t)n, "\tbot\t%s", r->usage.bot);
    if (err)
        n += snprintf(line + n, sizeof line - (size_t)n, "\terr\t1");
    if (msgs)
        n += snprintf(line + n, sizeof line - (size_t)n, "\tmsgs\t%ld", msgs);
    if (in)
        n += snprintf(line + n, sizeof line - (size_t)n, "\tin\t%ld", in);
    if (out)
        n += snprintf(line + n, sizeof line - (size_t)n, "\tout\t%ld", out);
    edge_usage_t *u = r->ctx->usage;
    if (u)
        snprintf(line + n, sizeof line - (size_t)n, "\te\t%s.%llu", u->boot, ++u->seq);
    s_send(r->ctx->redis, u, line, pgs_time_now_ms());
}
