/*
 * usage_consume — see usage_consume.h.
 */
#include "usage_consume.h"
#include "pgs_log.h"
#include "pgs_time.h"
#include "usage_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_STREAM "pgs:usage"
#define S_GROUP "usage"
#define S_BATCH 200 /* a pass: one batch, ~0.1 s at worst (every row new), so queries wait little */
#define S_CLAIM_EVERY_MS 10000 /* how often stale entries of others are claimed */
#define S_CLAIM_IDLE_MS 30000  /* pending this long on another consumer: take it over */
#define S_SEEN_KEEP_MS (7LL * 86400 * 1000)
#define S_MAX_BATCHES 1 /* per pass; a backlog gets the next pass on the next loop turn */

static int
s_is_error(const redisReply *r, const char *prefix)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0;
}

static int
s_ensure_group(usage_t *u)
{
    if (u->group_ready)
        return 0;
    /* From the stream's start: entries added before the group existed (a
     * first start, or after a FLUSHALL) are counted too. */
    redisReply *r =
        pgs_redis_command(u->redis, "XGROUP CREATE " S_STREAM " " S_GROUP " 0 MKSTREAM");
    int ok = r && (r->type == REDIS_REPLY_STATUS || s_is_error(r, "BUSYGROUP"));
    if (r && !ok)
        pgs_warn("usage: XGROUP CREATE: %s", r->type == REDIS_REPLY_ERROR ? r->str : "?");
    freeReplyObject(r);
    if (!ok)
        return -1;
    u->group_ready = 1;
    u->own_pending = 1;
    return 0;
}

static const redisReply *
s_field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

static void
s_copy(char *dst, size_t len, const redisReply *v)
{
    snprintf(dst, len, "%s", v && v->type == REDIS_REPLY_STRING ? v->str : "");
}

static long long
s_num(const redisReply *v)
{
    if (!v || v->type != REDIS_REPLY_STRING)
        return 0;
    long long n = strtoll(v->str, NULL, 10);
    return n > 0 ? n : 0;
}

/* Fills e from one stream entry [id, [field, value, …]]. 0, or -1 when the
 * entry is not an event (it is acknowledged and skipped). */
static int
s_event(const redisReply *entry, usage_event_t *e)
{
    memset(e, 0, sizeof *e);
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    s_copy(e->id, sizeof e->id, entry->element[0]);
    const redisReply *f = entry->element[1];
    if (f->type != REDIS_REPLY_ARRAY) /* an entry deleted meanwhile: nil */
        return -1;
    s_copy(e->ws, sizeof e->ws, s_field(f, "ws"));
    s_copy(e->user, sizeof e->user, s_field(f, "user"));
    s_copy(e->tok, sizeof e->tok, s_field(f, "tok"));
    s_copy(e->bot, sizeof e->bot, s_field(f, "bot"));
    s_copy(e->route, sizeof e->route, s_field(f, "route"));
    /* An event sent again after a Redis outage has its own id (e) and time
     * (t); the others are known by their entry id "<unix ms>-<seq>". */
    const redisReply *key = s_field(f, "e");
    if (key && key->type == REDIS_REPLY_STRING && key->len > 0 && key->len < sizeof e->key - 2)
        snprintf(e->key, sizeof e->key, "e:%s", key->str);
    else
        snprintf(e->key, sizeof e->key, "%s", e->id);
    const redisReply *t = s_field(f, "t");
    e->ts_ms = t ? s_num(t) : strtoll(e->id, NULL, 10);
    /* n: the requests the entry sums (1 for an older edge's event of one
     * request); err: how many of them failed (at most n). */
    const redisReply *n = s_field(f, "n");
    e->requests = n ? s_num(n) : 1;
    e->errors = s_num(s_field(f, "err"));
    if (e->errors > e->requests)
        e->errors = e->requests;
    e->msgs = s_num(s_field(f, "msgs"));
    e->in = s_num(s_field(f, "in"));
    e->out = s_num(s_field(f, "out"));
    return e->ws[0] && e->user[0] && e->tok[0] && e->route[0] && e->ts_ms > 0 && e->requests > 0
               ? 0
               : -1;
}

/* Counts the entries (an array of [id, fields]) and acknowledges them.
 * Returns how many entries there were, or -1 (nothing acknowledged: they
 * stay pending and are read again). */
static int
s_apply(usage_t *u, const redisReply *entries)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
        return 0;
    size_t n = entries->elements;
    usage_event_t *ev = calloc(n, sizeof *ev);
    const char **argv = calloc(n + 3, sizeof *argv);
    if (!ev || !argv) {
        free(ev);
        free(argv);
        return -1;
    }
    int nev = 0, nids = 0, skipped = 0;
    argv[nids++] = "XACK";
    argv[nids++] = S_STREAM;
    argv[nids++] = S_GROUP;
    for (size_t i = 0; i < n; i++) {
        const redisReply *entry = entries->element[i];
        if (s_event(entry, &ev[nev]) == 0) {
            argv[nids++] = ev[nev].id;
            nev++;
        } else if (entry->type == REDIS_REPLY_ARRAY && entry->elements >= 1 &&
                   entry->element[0]->type == REDIS_REPLY_STRING) {
            argv[nids++] = entry->element[0]->str;
            skipped++;
        }
    }
    int fresh = usage_store_apply(u->db, ev, nev, pgs_time_now_ms());
    int rc = -1;
    if (fresh >= 0) {
        u->consumed += fresh;
        if (skipped)
            pgs_warn("usage: skipped %d stream entries that are not usage events", skipped);
        redisReply *r = nids > 3 ? pgs_redis_argv(u->redis, nids, argv, NULL) : NULL;
        if (nids > 3 && (!r || r->type == REDIS_REPLY_ERROR))
            u->own_pending = 1; /* read them again; usage_seen skips them */
        freeReplyObject(r);
        rc = (int)n;
    }
    free(ev);
    free(argv);
    return rc;
}

/* XREADGROUP from id ("0": our own pending entries, ">": new ones). Returns
 * the number of entries handled, or -1. */
static int
s_read(usage_t *u, const char *id)
{
    redisReply *r = pgs_redis_command(
        u->redis, "XREADGROUP GROUP " S_GROUP " %s COUNT %d STREAMS " S_STREAM " %s", u->consumer,
        S_BATCH, id);
    if (!r)
        return -1;
    if (s_is_error(r, "NOGROUP")) {
        u->group_ready = 0; /* Redis lost it (a FLUSHALL): make it again */
        freeReplyObject(r);
        return -1;
    }
    int n = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1) {
        const redisReply *stream = r->element[0];
        if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2)
            n = s_apply(u, stream->element[1]);
    } else if (r->type == REDIS_REPLY_ERROR) {
        pgs_warn("usage: XREADGROUP: %s", r->str);
        n = -1;
    }
    freeReplyObject(r);
    if (n < 0)
        u->own_pending = 1; /* what was delivered and not counted is pending on us */
    return n;
}

/* Takes over entries that other consumers (a dead or removed process) left
 * pending. */
static void
s_claim(usage_t *u)
{
    char idle[24];
    snprintf(idle, sizeof idle, "%d", S_CLAIM_IDLE_MS);
    for (int i = 0; i < S_MAX_BATCHES; i++) {
        redisReply *r =
            pgs_redis_command(u->redis, "XAUTOCLAIM " S_STREAM " " S_GROUP " %s %s 0-0 COUNT %d",
                              u->consumer, idle, S_BATCH);
        if (!r)
            return;
        int n = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
            n = s_apply(u, r->element[1]);
        else if (s_is_error(r, "NOGROUP"))
            u->group_ready = 0;
        freeReplyObject(r);
        if (n < S_BATCH)
            return;
    }
}

/* Drops the entries every consumer is done with (older than both the
 * group's last delivered entry and its oldest pending one), so the stream
 * holds only what is still to count — exactly (MINID without ~): the
 * edges' entries are few, one per key per flush; the edges' MAXLEN caps it while no
 * usage process runs. */
static void
s_trim(usage_t *u)
{
    char min_id[64] = "";
    redisReply *g = pgs_redis_command(u->redis, "XINFO GROUPS " S_STREAM);
    for (size_t i = 0; g && g->type == REDIS_REPLY_ARRAY && i < g->elements; i++) {
        const redisReply *info = g->element[i];
        if (info->type != REDIS_REPLY_ARRAY)
            continue;
        const redisReply *name = s_field(info, "name");
        const redisReply *last = s_field(info, "last-delivered-id");
        if (name && name->type == REDIS_REPLY_STRING && strcmp(name->str, S_GROUP) == 0 && last &&
            last->type == REDIS_REPLY_STRING)
            snprintf(min_id, sizeof min_id, "%s", last->str);
    }
    freeReplyObject(g);
    if (!min_id[0] || strcmp(min_id, "0-0") == 0)
        return;
    redisReply *p = pgs_redis_command(u->redis, "XPENDING " S_STREAM " " S_GROUP);
    int ok = p && p->type == REDIS_REPLY_ARRAY && p->elements >= 2;
    if (ok && p->element[1]->type == REDIS_REPLY_STRING) {
        /* Entry ids compare as (ms, seq) pairs, not as strings. */
        unsigned long long pm = 0, ps = 0, lm = 0, ls = 0;
        sscanf(p->element[1]->str, "%llu-%llu", &pm, &ps);
        sscanf(min_id, "%llu-%llu", &lm, &ls);
        if (pm < lm || (pm == lm && ps < ls))
            snprintf(min_id, sizeof min_id, "%s", p->element[1]->str);
    }
    freeReplyObject(p);
    if (!ok)
        return;
    redisReply *t = pgs_redis_command(u->redis, "XTRIM " S_STREAM " MINID %s", min_id);
    freeReplyObject(t);
}

static void
s_again(void *arg)
{
    usage_t *u = arg;
    u->again = 0;
    usage_consume_timer(u);
}

void
usage_consume_timer(void *arg)
{
    usage_t *u = arg;
    int64_t now = pgs_time_mono_ms();
    if (s_ensure_group(u) < 0)
        return;
    int counted = 0;
    if (now >= u->next_claim) {
        u->next_claim = now + S_CLAIM_EVERY_MS;
        s_claim(u);
        counted = 1;
    }
    for (int i = 0; i < S_MAX_BATCHES; i++) {
        int own = u->own_pending;
        int n = s_read(u, own ? "0" : ">");
        if (n < 0)
            break;
        counted |= n > 0;
        if (own && n == 0)
            u->own_pending = 0; /* none left: on to new entries */
        else if (!own && n < S_BATCH)
            break;
        /* More waits: the next batch on the next loop turn, after what
         * the loop has to serve meanwhile (not in this one). */
        if (!u->again && pgs_worker_after(u->w, 0, s_again, u) > 0)
            u->again = 1;
        pgs_worker_keepalive(u->w);
    }
    /* What every consumer is done with leaves Redis at once, not in the
     * next claim round. */
    if (counted)
        s_trim(u);
    if (now >= u->next_prune) {
        u->next_prune = now + 60000;
        usage_store_prune_seen(u->db, pgs_time_now_ms() - S_SEEN_KEEP_MS, 5000);
    }
}
