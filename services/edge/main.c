/*
 * pegasus-edge — the only process that speaks HTTP, and the ZeroMQ broker
 * every worker connects to. One event loop: the HTTP connections (the
 * edge's own HTTP/1.1 layer, edge_http), the broker's ZMQ_FD and the Redis
 * connections, with no blocking call.
 *
 *   pegasus-edge [-c CONFIG] [-i INSTANCE] [-n]
 *
 * SIGTERM or SIGINT: a clean stop within [service.edge] stop_timeout_ms
 * (default 8,000, below the master's 10 s). The edge stops accepting, lets
 * every request it took finish (the workers and Redis are still up: the
 * master stops them after the edge), closes idle connections and answers
 * new requests on open ones 503; at 7/8 of the time what still waits on a
 * worker is answered 503 and a stream still running ends with an error
 * event; then the HTTP daemon stops (with no connection suspended), the
 * usage events of the last requests are flushed to Redis, and it exits 0.
 */
#include "edge_broker.h"
#include "edge_http.h"
#include "edge_local.h"
#include "edge_loop.h"
#include "edge_ratelimit.h"
#include "edge_redis.h"
#include "edge_req.h"
#include "edge_tokens.h"
#include "edge_usage.h"
#include "pgs_conf.h"
#include "pgs_edges.h"
#include "pgs_log.h"
#include "pgs_time.h"
#include "pgs_token.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop;

typedef struct {
    edge_loop_t *loop;
    edge_ctx_t *ctx;
    edge_tokens_t *tokens;
    edge_http_t *http; /* NULL once the daemon stopped */
} s_edge_t;

/* One pass of the loop: wait up to timeout_ms, then everything's timers and
 * pending work. */
static int
s_turn(s_edge_t *e, int timeout_ms)
{
    if (edge_broker_has_ready(e->ctx->broker))
        timeout_ms = 0;
    else if (e->http)
        timeout_ms = edge_http_timeout_ms(e->http, timeout_ms);
    timeout_ms = edge_usage_timeout_ms(e->ctx->usage, timeout_ms);
    if (edge_loop_run_once(e->loop, timeout_ms) < 0) {
        pgs_error("event loop failed");
        return -1;
    }
    edge_redis_tick(e->ctx->redis);
    edge_tokens_tick(e->tokens);
    edge_ratelimit_tick(e->ctx->ratelimit);
    edge_usage_tick(e->ctx->usage);
    edge_broker_poll(e->ctx->broker); /* replies: resumes their connections */
    if (e->http)
        edge_http_tick(e->http); /* writes them; reads and forwards new requests */
    /* ZMQ_FD is edge-triggered: a reply that arrived while the sends
     * above ran may not wake epoll again, so drain before sleeping. */
    edge_broker_poll(e->ctx->broker);
    edge_redis_flush(e->ctx->redis); /* everything this turn asked of Redis */
    return 0;
}

/* The clean stop (see the file header). */
static void
s_stop_cleanly(s_edge_t *e, int timeout_ms)
{
    int64_t start = pgs_time_mono_ms();
    int64_t abort_at = start + timeout_ms - timeout_ms / 8;
    int64_t close_at = start + timeout_ms - timeout_ms / 16;
    int64_t deadline = start + timeout_ms;
    edge_http_drain(e->http);
    pgs_info("stopping: finishing %d request%s (at most %d ms)", edge_http_requests(e->http),
             edge_http_requests(e->http) == 1 ? "" : "s", timeout_ms);
    int aborted = 0;
    for (;;) {
        int64_t now = pgs_time_mono_ms();
        if (edge_http_requests(e->http) == 0 || now >= close_at)
            break;
        if (!aborted && now >= abort_at) {
            aborted = 1;
            edge_http_abort(e->http);
        }
        if (s_turn(e, 20) < 0)
            break;
    }
    int left = edge_http_requests(e->http);
    if (left)
        pgs_warn("stopping: %d request%s not finished in time", left, left == 1 ? "" : "s");
    /* Completing a request counts it; the flush puts every count on its
     * way to Redis. */
    edge_http_destroy(&e->http);
    edge_usage_flush(e->ctx->usage);
    /* ... and the waiting ones are sent while Redis takes them (what is
     * left stays in the spool file for the next start). */
    while ((edge_redis_pending(e->ctx->redis) > 0 ||
            (edge_usage_waiting(e->ctx->usage) && edge_redis_up(e->ctx->redis))) &&
           pgs_time_mono_ms() < deadline)
        if (s_turn(e, 10) < 0)
            break;
    int unsent = edge_redis_pending(e->ctx->redis);
    if (unsent)
        pgs_warn("stopping: %d redis command%s unanswered (usage events may be lost)", unsent,
                 unsent == 1 ? "" : "s");
    pgs_info("stopped in %lld ms", (long long)(pgs_time_mono_ms() - start));
}

/* Raises the soft limit on file descriptors to what max_connections needs
 * (and the spool, Redis, ZeroMQ: a margin), as far as the hard limit
 * allows; says so when that is not enough (LimitNOFILE, ulimit -Hn). */
static void
s_fd_limit(long long max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)max_connections + 1024;
    if (rl.rlim_cur >= want)
        return;
    rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    struct rlimit nl = {cur, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
        rl.rlim_cur = cur;
    if (rl.rlim_cur < want)
        pgs_warn("file descriptor limit %llu is below max_connections %lld + 1024: connections "
                 "past it are refused with 503 (raise LimitNOFILE or ulimit -n)",
                 (unsigned long long)rl.rlim_cur, max_connections);
}

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/* pgs_conf_check has refused more plans or services than the arrays hold
 * (PGS_CONF_MAX_PLANS, PGS_CONF_MAX_SERVICES); the bounds stay as guards. */
static void
s_plan(const char *section, const char *suffix, void *arg)
{
    (void)section;
    edge_ctx_t *c = arg;
    if (c->nplans == EDGE_MAX_PLANS)
        return;
    edge_plan_t *p = &c->plans[c->nplans++];
    snprintf(p->name, sizeof p->name, "%s", suffix);
    p->api_access = pgs_conf_bool_in(c->cfg, PGS_KEY_PLAN_API_ACCESS, suffix);
    p->requests_per_minute =
        (long)pgs_conf_int_in(c->cfg, PGS_KEY_PLAN_REQUESTS_PER_MINUTE, suffix);
    p->messages_per_month = (long)pgs_conf_int_in(c->cfg, PGS_KEY_PLAN_MESSAGES_PER_MONTH, suffix);
    p->max_document_bytes = pgs_conf_int_in(c->cfg, PGS_KEY_PLAN_MAX_DOCUMENT_BYTES, suffix);
}

/* home/sub, created when missing. */
static void
s_mkdir(const char *home, const char *sub)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", home, sub);
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        pgs_warn("cannot create %s: %s", path, strerror(errno));
}

static void
s_service(const char *section, const char *suffix, void *arg)
{
    (void)section;
    edge_ctx_t *c = arg;
    if (pgs_conf_int_in(c->cfg, PGS_KEY_SERVICE_PROCESSES, suffix) < 1 ||
        strcmp(suffix, "edge") == 0 || c->nservices == EDGE_MAX_SERVICES)
        return;
    snprintf(c->services[c->nservices++], sizeof c->services[0], "%s", suffix);
}

static char *
s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void
s_on_invalidate(void *arg, const char *message)
{
    edge_tokens_t **t = arg;
    if (*t)
        edge_tokens_invalidate(*t, message);
}

static void
s_on_reset(void *arg)
{
    edge_tokens_t **t = arg;
    if (*t)
        edge_tokens_clear(*t);
}

int
main(int argc, char **argv)
{
    const char *config_path = NULL;
    const char *instance = "0";
    int check_only = 0, opt;
    while ((opt = getopt(argc, argv, "c:i:n")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'i': instance = optarg; break;
        case 'n': check_only = 1; break;
        default: fprintf(stderr, "usage: %s [-c CONFIG] [-i INSTANCE] [-n]\n", argv[0]); return 2;
        }
    }
    pgs_log_init("edge", instance);
    if (sodium_init() < 0)
        return 1;
    /* The whole file is checked, as every binary does (one verdict). */
    pgs_config_t *cfg = pgs_conf_open(config_path);
    if (!cfg)
        return 1;
    const char *home_env = getenv("PEGASUS_HOME");
    char home[1024];
    snprintf(home, sizeof home, "%s", home_env && *home_env ? home_env : "./var");

    static edge_ctx_t ctx;
    ctx.cfg = cfg;
    ctx.home = home;
    pgs_config_each_section(cfg, "plan.", s_plan, &ctx);
    pgs_config_each_section(cfg, "service.", s_service, &ctx);
    ctx.max_body = (size_t)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_BODY_BYTES);
    ctx.deadline_ms = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_DEADLINE_MS);
    ctx.touch_interval_ms = (int)pgs_conf_int(cfg, PGS_KEY_AUTH_TOUCH_INTERVAL_S) * 1000;
    ctx.max_streams_per_token = (int)pgs_conf_int(cfg, PGS_KEY_CHAT_MAX_STREAMS_PER_TOKEN);
    ctx.stream_idle_ms = (int)pgs_conf_int(cfg, PGS_KEY_CHAT_STREAM_IDLE_S) * 1000;
    ctx.edges = pgs_edges_count(cfg);
    snprintf(ctx.cors_origins, sizeof ctx.cors_origins, "%s",
             pgs_conf_str(cfg, PGS_KEY_EDGE_CORS_ORIGINS));
    snprintf(ctx.trusted_proxies, sizeof ctx.trusted_proxies, "%s",
             pgs_conf_str(cfg, PGS_KEY_EDGE_TRUSTED_PROXIES));
    const char *openapi_path = pgs_conf_str(cfg, PGS_KEY_EDGE_OPENAPI);
    size_t openapi_len = 0;
    char *openapi = s_read_file(openapi_path, &openapi_len);
    if (!openapi) {
        pgs_error("cannot read the OpenAPI document %s", openapi_path);
        return 1;
    }
    int openapi_rc = edge_local_openapi_load(&ctx, openapi, openapi_len);
    free(openapi);
    if (openapi_rc < 0) {
        pgs_error("cannot serve the OpenAPI document %s", openapi_path);
        return 1;
    }
    snprintf(ctx.public_url, sizeof ctx.public_url, "%s",
             pgs_conf_str(cfg, PGS_KEY_EDGE_PUBLIC_URL));
    for (size_t n = strlen(ctx.public_url); n && ctx.public_url[n - 1] == '/'; n--)
        ctx.public_url[n - 1] = '\0'; /* paths follow the server URL */
    if (check_only) {
        pgs_info("config %s is valid", pgs_conf_path(config_path));
        return 0;
    }
    if (pgs_token_pepper_load(home, ctx.pepper) < 0)
        return 1;

    struct sigaction sa = {0};
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    char redis_default[1100], broker_bind[1100];
    snprintf(redis_default, sizeof redis_default, "%s/redis.sock", home);
    const char *redis_addr = pgs_conf_str(cfg, PGS_KEY_REDIS_ADDRESS);
    if (pgs_edges_bind(cfg, home, atoi(instance), broker_bind, sizeof broker_bind) < 0) {
        pgs_error("config [broker] bind: too long");
        return 1;
    }

    edge_loop_t *loop = edge_loop_new();
    edge_tokens_t *tokens = NULL;
    edge_redis_hooks_t hooks = {s_on_invalidate, s_on_reset, &tokens};
    ctx.broker = loop ? edge_broker_new(loop, broker_bind,
                                        (int)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_QUEUE))
                      : NULL;
    ctx.redis = ctx.broker
                    ? edge_redis_new(loop, *redis_addr ? redis_addr : redis_default,
                                     (int)pgs_conf_int(cfg, PGS_KEY_REDIS_TIMEOUT_MS), &hooks)
                    : NULL;
    tokens = ctx.redis ? edge_tokens_new(ctx.redis, ctx.broker,
                                         (int)pgs_conf_int(cfg, PGS_KEY_EDGE_CACHE_TTL_MS),
                                         (int)pgs_conf_int(cfg, PGS_KEY_EDGE_NEGATIVE_TTL_MS))
                       : NULL;
    ctx.tokens = tokens;
    char edge_id[64];
    snprintf(edge_id, sizeof edge_id, "edge-%s", instance);
    ctx.ratelimit = tokens ? edge_ratelimit_new(ctx.redis, ctx.edges > 1, edge_id) : NULL;
    char usage_spool[1200], usage_status[1200];
    snprintf(usage_spool, sizeof usage_spool, "%s/spool/usage-%s.events", home, instance);
    snprintf(usage_status, sizeof usage_status, "%s/run/edge-%s.json", home, instance);
    s_mkdir(home, "spool");
    s_mkdir(home, "run");
    ctx.usage = ctx.ratelimit ? edge_usage_new(ctx.redis, usage_spool,
                                               (size_t)pgs_conf_int(cfg, PGS_KEY_EDGE_USAGE_QUEUE_EVENTS),
                                               (int)pgs_conf_int(cfg, PGS_KEY_EDGE_USAGE_FLUSH_MS),
                                               usage_status)
                              : NULL;
    char spool_dir[1100];
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", home);
    edge_http_opts_t hopts = {
        .address = pgs_conf_str(cfg, PGS_KEY_EDGE_ADDRESS),
        .port = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_PORT),
        .web_root = pgs_conf_str(cfg, PGS_KEY_EDGE_WEB_ROOT),
        .max_header_bytes = (size_t)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_HEADER_BYTES),
        .max_headers = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_HEADERS),
        .max_uri_bytes = (size_t)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_URI_BYTES),
        .header_timeout_s = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_HEADER_TIMEOUT_S),
        .keepalive_timeout_s = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_KEEPALIVE_TIMEOUT_S),
        .max_connections = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_CONNECTIONS),
        .max_connections_per_address =
            (int)pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_CONNECTIONS_PER_ADDRESS),
        .body_timeout_s = (int)pgs_conf_int(cfg, PGS_KEY_EDGE_BODY_TIMEOUT_S),
        .min_body_rate = (long long)pgs_conf_int(cfg, PGS_KEY_EDGE_MIN_BODY_RATE),
        .body_buffer_bytes = (size_t)pgs_conf_int(cfg, PGS_KEY_EDGE_BODY_BUFFER_BYTES),
        .spool_dir = spool_dir,
        .reuse_port = pgs_edges_count(cfg) > 1};
    s_fd_limit(pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_CONNECTIONS));
    edge_http_t *http = ctx.usage ? edge_http_new(loop, &ctx, &hopts) : NULL;
    if (!http) {
        pgs_error("edge failed to start");
        return 1;
    }
    s_edge_t e = {loop, &ctx, tokens, http};
    int failed = 0;
    while (!s_stop && !failed)
        failed = s_turn(&e, 50) < 0;
    if (!failed)
        s_stop_cleanly(&e, (int)pgs_conf_int_in(cfg, PGS_KEY_SERVICE_STOP_TIMEOUT_MS, "edge"));
    edge_http_destroy(&e.http);
    edge_redis_destroy(&ctx.redis);
    edge_broker_destroy(&ctx.broker);
    edge_usage_destroy(&ctx.usage); /* what still waits stays in its spool file */
    edge_ratelimit_destroy(&ctx.ratelimit);
    edge_tokens_destroy(&tokens);
    edge_loop_destroy(&loop);
    free(ctx.openapi);
    sodium_memzero(ctx.pepper, sizeof ctx.pepper);
    pgs_config_destroy(&cfg);
    return failed;
}
