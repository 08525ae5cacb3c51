/*
 * edge_usage — see edge_usage.h.
 */
#include "edge_usage.h"
#include "pgs_id.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void
s_on_xadd(void *arg, redisReply *reply)
{
    (void)arg;
    static int64_t last_warn;
    if (reply && reply->type != REDIS_REPLY_ERROR)
        return;
    int64_t now = pgs_time_mono_ms();
    if (now - last_warn >= 10000) {
        last_warn = now;
        pgs_warn("usage event not stored: %s", reply ? reply->str : "redis unavailable");
    }
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

    /* The entry's id is its time; fields that are empty or 0 are left out
     * (the usage service reads them as such): the event is on every
     * request's path, so it is kept small. */
    char st[8], ms[24], nmsgs[24], nin[24], nout[24], route[96];
    snprintf(st, sizeof st, "%d", status);
    long long latency = r->started_ms ? (long long)(pgs_time_mono_ms() - r->started_ms) : 0;
    snprintf(ms, sizeof ms, "%lld", latency < 0 ? 0 : latency);
    snprintf(route, sizeof route, "%s %s", r->route->method, r->route->pattern);
    const char *argv[32] = {"XADD",    "pgs:usage",
                            "MAXLEN",  "~",
                            "1000000", "*",
                            "ws",      r->tok.workspace_id,
                            "user",    r->tok.user_id,
                            "tok",     r->tok.token_id,
                            "route",   route,
                            "status",  st,
                            "ms",      ms};
    int n = 18;
    if (r->usage.bot[0]) {
        argv[n++] = "bot";
        argv[n++] = r->usage.bot;
    }
    if (err) {
        argv[n++] = "err";
        argv[n++] = "1";
    }
    if (msgs) {
        snprintf(nmsgs, sizeof nmsgs, "%ld", msgs);
        argv[n++] = "msgs";
        argv[n++] = nmsgs;
    }
    if (in) {
        snprintf(nin, sizeof nin, "%ld", in);
        argv[n++] = "in";
        argv[n++] = nin;
    }
    if (out) {
        snprintf(nout, sizeof nout, "%ld", out);
        argv[n++] = "out";
        argv[n++] = nout;
    }
    size_t lens[32];
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    if (edge_redis_command(r->ctx->redis, s_on_xadd, NULL, n, argv, lens) < 0)
        s_on_xadd(NULL, NULL);
}
