/*
 * Unit tests of common/pgs_worker: a real worker process (forked) on the
 * library, and this test as its edge (a ZeroMQ ROUTER on an ipc socket in a
 * temporary folder). It checks what an edge sees: READY, replies answered
 * now and later, that a slow request never holds up a quick one, offloaded
 * work, a call to another service answered through the edge (whole or in
 * pieces), a stream with its meta, bodies larger than one message both
 * ways, a v1 message refused, and a stop that finishes what the worker
 * holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_meta.h"
#include "pgs_proto.h"
#include "pgs_test.h"
#include "pgs_time.h"
#include "pgs_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCRATCH_LEN (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME + 64)

/* ---- the worker (child process) ---- */

typedef struct {
    pgs_worker_t *w;
} svc_t;

typedef struct {
    pgs_call_t *call; /* t.later's, answered by its timer */
    long n, sum;      /* t.offload's */
} job_t;

static pgs_handled_t
h_echo(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    pgs_res_json(res, 200, json_pack("{s:s%}", "echo", req->body, req->body_len));
    return PGS_DONE;
}

static void
s_late(void *arg)
{
    job_t *j = arg;
    pgs_res_t res = {0};
    pgs_res_json(&res, 200, json_pack("{s:s}", "said", "late"));
    pgs_call_reply(&j->call, &res);
    free(j);
}

/* Answers after the number of ms in its body. */
static pgs_handled_t
h_later(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    svc_t *s = arg;
    job_t *j = calloc(1, sizeof *j);
    (void)res;
    j->call = req->call;
    pgs_worker_after(s->w, atoi(req->body), s_late, j);
    return PGS_LATER;
}

static void
s_sum(void *arg)
{
    job_t *j = arg;
    for (long i = 1; i <= j->n; i++)
        j->sum += i;
}

static pgs_handled_t
s_summed(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)req;
    job_t *j = arg;
    pgs_res_json(res, 200, json_pack("{s:I}", "sum", (json_int_t)j->sum));
    free(j);
    return PGS_DONE;
}

/* Sums 1..n on a thread. */
static pgs_handled_t
h_offload(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    job_t *j = calloc(1, sizeof *j);
    j->n = atol(req->body);
    if (pgs_call_offload(req->call, s_sum, s_summed, j) < 0) {
        free(j);
        pgs_res_empty(res, 500);
        return PGS_DONE;
    }
    return PGS_LATER;
}

static pgs_handled_t
s_peer_answered(void *arg, const pgs_req_t *req, pgs_res_t *res, pgs_res_t *reply)
{
    (void)arg;
    (void)req;
    pgs_res_move(res, reply);
    return PGS_DONE;
}

/* Asks service "peer" and answers with its reply (or the library's 503). */
static pgs_handled_t
h_ask(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    if (pgs_call_request(req->call, "peer", "peer.x", NULL, NULL, req->body, req->body_len, 300,
                         s_peer_answered, NULL) < 0) {
        pgs_res_empty(res, 500);
        return PGS_DONE;
    }
    return PGS_LATER;
}

/* A stream made at once, from inside the handler. */
static pgs_handled_t
h_stream(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    (void)res;
    pgs_call_t *c = req->call;
    pgs_meta_t head = {0}, tail = {.messages = 1, .input_tokens = 3};
    pgs_meta_bot(&head, "bot_s1");
    pgs_call_stream_begin(c, 200, NULL, &head);
    pgs_call_stream_chunk(c, "one", 3);
    pgs_call_stream_chunk(c, "two", 3);
    pgs_call_stream_end(&c, 1, &tail);
    return PGS_DONE;
}

/* A reply of as many bytes as its body says, a pattern of 'a'..'z'. */
static pgs_handled_t
h_size(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    size_t n = (size_t)atol(req->body);
    res->status = 200;
    res->body = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        res->body[i] = (char)('a' + i % 26);
    res->body[n] = '\0';
    res->body_len = n;
    return PGS_DONE;
}

/* The length of the request body, and whether it is the 'a'..'z' pattern. */
static pgs_handled_t
h_len(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    (void)arg;
    int pattern = 1;
    for (size_t i = 0; i < req->body_len && pattern; i++)
        pattern = req->body[i] == (char)('a' + i % 26);
    pgs_res_json(res, 200,
                 json_pack("{s:I,s:b}", "len", (json_int_t)req->body_len, "pattern", pattern));
    return PGS_DONE;
}

static const pgs_route_t s_routes[] = {
    {"t.echo", h_echo},     {"t.later", h_later},   {"t.offload", h_offload},
    {"t.ask", h_ask},       {"t.stream", h_stream}, {"t.size", h_size},
    {"t.len", h_len},       {NULL, NULL},
};

static int
s_worker_main(const char *config)
{
    char *argv[] = {"pegasus-test", "-c", (char *)config, "-i", "7", NULL};
    optind = 1;
    pgs_worker_settings_t settings = {.capacity = 16, .threads = 2};
    int rc;
    pgs_worker_t *w = pgs_worker_new("test", 5, argv, &settings, &rc);
    if (!w)
        return 10 + rc;
    svc_t s = {w};
    if (pgs_worker_routes(w, s_routes, &s) < 0)
        return 20;
    rc = pgs_worker_run(w);
    pgs_worker_destroy(&w);
    return rc;
}

/* ---- the edge (this process) ---- */

typedef struct {
    char dir[64], config[128], endpoint[160];
    void *zctx, *router;
    pid_t pid;
    unsigned char identity[256];
    size_t identity_len;
    char *scratch;
    pgs_proto_inbox_t in;
} edge_t;

/* Receives one message within ms; its decoded form in *m. 1, or 0. */
static int
s_recv(edge_t *e, int ms, pgs_proto_msg_t *m)
{
    pgs_proto_inbox_close(&e->in);
    int64_t until = pgs_time_mono_ms() + ms;
    while (pgs_time_mono_ms() < until) {
        zmq_pollitem_t it = {e->router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        if (pgs_proto_recv(e->router, 1, &e->in) != 1)
            continue;
        if (pgs_proto_decode(e->in.frames, e->in.nframes, e->scratch, SCRATCH_LEN, m) < 0)
            continue;
        if (m->cmd == PGS_PROTO_HEARTBEAT)
            continue;
        memcpy(e->identity, e->in.identity, e->in.identity_len);
        e->identity_len = e->in.identity_len;
        return 1;
    }
    return 0;
}

static void
s_request(edge_t *e, uint64_t id, const char *route, const char *body)
{
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_REQUEST,
                         .id = id,
                         .service = "test",
                         .route = route,
                         .context = "request_id=req_t\n",
                         .params = "{}",
                         .body = body,
                         .body_len = strlen(body)};
    assert_int_equal(pgs_proto_send(e->router, e->identity, e->identity_len, &m), 0);
}

/* The next REPLY's id, status and body (NUL-terminated, into body). */
static uint64_t
s_reply(edge_t *e, int *status, char *body, size_t len)
{
    pgs_proto_msg_t m;
    while (s_recv(e, 3000, &m)) {
        if (m.cmd != PGS_PROTO_REPLY)
            continue;
        *status = m.status;
        snprintf(body, len, "%.*s", (int)m.body_len, (const char *)m.body);
        return m.id;
    }
    fail_msg("no REPLY within 3 s");
    return 0;
}

static int
s_setup(void **state)
{
    edge_t *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/pgs-worker-XXXXXX");
    if (!e || !mkdtemp(e->dir))
        return -1;
    snprintf(e->config, sizeof e->config, "%s/test.conf", e->dir);
    snprintf(e->endpoint, sizeof e->endpoint, "ipc://%s/broker.sock", e->dir);
    FILE *f = fopen(e->config, "w");
    fprintf(f, "[broker]\nendpoints = %s\n[log]\nlevel = warn\n", e->endpoint);
    fclose(f);
    e->scratch = malloc(SCRATCH_LEN);
    /* The worker first (ZeroMQ contexts do not survive a fork); it
     * reconnects until the edge binds. */
    fflush(NULL);
    e->pid = fork();
    if (e->pid == 0)
        _exit(s_worker_main(e->config));
    e->zctx = zmq_ctx_new();
    e->router = zmq_socket(e->zctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(e->router, ZMQ_LINGER, &linger, sizeof linger);
    *state = e;
    if (zmq_bind(e->router, e->endpoint) < 0)
        return -1;
    return 0;
}

static int
s_teardown(void **state)
{
    edge_t *e = *state;
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
    }
    pgs_proto_inbox_close(&e->in);
    zmq_close(e->router);
    zmq_ctx_term(e->zctx);
    char path[200];
    snprintf(path, sizeof path, "%s/broker.sock", e->dir);
    unlink(path);
    unlink(e->config);
    rmdir(e->dir);
    free(e->scratch);
    free(e);
    return 0;
}

static void
test_worker_as_an_edge_sees_it(void **state)
{
    edge_t *e = *state;
    pgs_proto_msg_t m;
    char body[256];
    int status;

    /* READY with the service, the instance and the settings' capacity. */
    assert_true(s_recv(e, 5000, &m));
    PGS_EXPECT_INT("first message is READY", m.cmd, PGS_PROTO_READY);
    PGS_EXPECT_STR("READY service", m.service, "test");
    PGS_EXPECT_STR("READY instance", m.instance, "7");
    PGS_EXPECT_INT("READY capacity", (int)m.capacity, 16);

    /* Answered now. */
    s_request(e, 1, "t.echo", "hello");
    PGS_EXPECT_INT("echo id", (int)s_reply(e, &status, body, sizeof body), 1);
    PGS_EXPECT_INT("echo status", status, 200);
    PGS_EXPECT_STR("echo body", body, "{\"echo\":\"hello\"}");

    /* A slow request does not hold up a quick one sent after it. */
    s_request(e, 2, "t.later", "400");
    s_request(e, 3, "t.echo", "quick");
    PGS_EXPECT_INT("the quick one first", (int)s_reply(e, &status, body, sizeof body), 3);
    PGS_EXPECT_INT("then the slow one", (int)s_reply(e, &status, body, sizeof body), 2);
    PGS_EXPECT_STR("slow body", body, "{\"said\":\"late\"}");

    /* Work on a thread, answered on the loop. */
    s_request(e, 4, "t.offload", "100000");
    PGS_EXPECT_INT("offload id", (int)s_reply(e, &status, body, sizeof body), 4);
    PGS_EXPECT_STR("offload sum", body, "{\"sum\":5000050000}");

    /* A call to another service goes through the edge and comes back. */
    s_request(e, 5, "t.ask", "question");
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("the worker asks the edge", m.cmd, PGS_PROTO_REQUEST);
    PGS_EXPECT_STR("for service peer", m.service, "peer");
    PGS_EXPECT_STR("route", m.route, "peer.x");
    pgs_proto_msg_t r = {.cmd = PGS_PROTO_REPLY,
                         .id = m.id,
                         .status = 201,
                         .headers = "{}",
                         .body = "answer",
                         .body_len = 6};
    assert_int_equal(pgs_proto_send(e->router, e->identity, e->identity_len, &r), 0);
    PGS_EXPECT_INT("ask id", (int)s_reply(e, &status, body, sizeof body), 5);
    PGS_EXPECT_INT("the peer's status", status, 201);
    PGS_EXPECT_STR("the peer's body", body, "answer");

    /* Unanswered: the library's 503 after the call's timeout. */
    s_request(e, 6, "t.ask", "nobody");
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("asked again", m.cmd, PGS_PROTO_REQUEST);
    PGS_EXPECT_INT("timeout id", (int)s_reply(e, &status, body, sizeof body), 6);
    PGS_EXPECT_INT("timeout status", status, 503);

    /* The peer's reply in pieces reaches the continuation whole. */
    s_request(e, 51, "t.ask", "in pieces");
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("asked for pieces", m.cmd, PGS_PROTO_REQUEST);
    uint64_t peer_id = m.id;
    pgs_proto_msg_t head = {.cmd = PGS_PROTO_REPLY,
                            .id = peer_id,
                            .status = 200,
                            .flags = PGS_PROTO_MORE,
                            .headers = "{}",
                            .body = "ans",
                            .body_len = 3};
    pgs_proto_msg_t piece = {.cmd = PGS_PROTO_CHUNK, .id = peer_id, .body = "wer", .body_len = 3};
    pgs_proto_msg_t fin = {.cmd = PGS_PROTO_END, .id = peer_id, .ok = 1};
    assert_int_equal(pgs_proto_send(e->router, e->identity, e->identity_len, &head), 0);
    assert_int_equal(pgs_proto_send(e->router, e->identity, e->identity_len, &piece), 0);
    assert_int_equal(pgs_proto_send(e->router, e->identity, e->identity_len, &fin), 0);
    PGS_EXPECT_INT("pieces id", (int)s_reply(e, &status, body, sizeof body), 51);
    PGS_EXPECT_STR("the pieces put together", body, "answer");

    /* A stream: REPLY flagged as a stream with its meta, CHUNKs, END with
     * the outcome and the counts. */
    s_request(e, 7, "t.stream", "");
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("stream starts with REPLY", m.cmd, PGS_PROTO_REPLY);
    PGS_EXPECT_INT("stream flag", (int)m.flags, PGS_PROTO_STREAM);
    PGS_EXPECT_STR("stream meta", m.meta, "bot=bot_s1\n");
    PGS_EXPECT_INT("no x-pgs header", strstr(m.headers, "x-pgs") == NULL, 1);
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("chunk", m.cmd, PGS_PROTO_CHUNK);
    assert_true(m.body_len == 3 && memcmp(m.body, "one", 3) == 0);
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("chunk 2", m.cmd, PGS_PROTO_CHUNK);
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("end", m.cmd, PGS_PROTO_END);
    PGS_EXPECT_INT("end id", (int)m.id, 7);
    PGS_EXPECT_INT("end ok", m.ok, 1);
    PGS_EXPECT_STR("end meta", m.meta, "messages=1\ninput_tokens=3\n");

    /* A reply larger than one piece: REPLY with MORE, CHUNKs, END ok, and
     * the bytes in order. */
    size_t big = (size_t)PGS_PROTO_PIECE * 5 / 2;
    char num[32];
    snprintf(num, sizeof num, "%zu", big);
    s_request(e, 71, "t.size", num);
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("big reply starts with REPLY", m.cmd, PGS_PROTO_REPLY);
    PGS_EXPECT_INT("with MORE", (int)m.flags, PGS_PROTO_MORE);
    PGS_EXPECT_INT("first piece", (int)m.body_len, (int)PGS_PROTO_PIECE);
    size_t got = m.body_len, pieces = 1;
    int in_order = 1;
    for (;;) {
        assert_true(s_recv(e, 3000, &m));
        if (m.cmd == PGS_PROTO_END)
            break;
        PGS_EXPECT_INT("then CHUNKs", m.cmd, PGS_PROTO_CHUNK);
        PGS_EXPECT_INT("of the same reply", (int)m.id, 71);
        for (size_t i = 0; i < m.body_len; i++)
            in_order &= ((const char *)m.body)[i] == (char)('a' + (got + i) % 26);
        got += m.body_len;
        pieces++;
    }
    PGS_EXPECT_INT("END ok", m.ok, 1);
    PGS_EXPECT_INT("every byte", (int)got, (int)big);
    PGS_EXPECT_INT("in three pieces", (int)pieces, 3);
    PGS_EXPECT_INT("in order", in_order, 1);

    /* A request body in BODY pieces reaches the handler whole. */
    char *upload = malloc(big);
    for (size_t i = 0; i < big; i++)
        upload[i] = (char)('a' + i % 26);
    pgs_proto_msg_t up = {.cmd = PGS_PROTO_REQUEST,
                          .id = 72,
                          .service = "test",
                          .route = "t.len",
                          .context = "request_id=req_up\n",
                          .params = "{}",
                          .body = upload,
                          .body_len = big};
    assert_int_equal(pgs_proto_send_whole(e->router, e->identity, e->identity_len, &up), 0);
    free(upload);
    PGS_EXPECT_INT("upload id", (int)s_reply(e, &status, body, sizeof body), 72);
    char want[96];
    snprintf(want, sizeof want, "{\"len\":%zu,\"pattern\":true}", big);
    PGS_EXPECT_STR("the handler saw it whole", body, want);

    /* A message of protocol v1 is refused, and nothing else is harmed. */
    assert_int_equal(zmq_send(e->router, e->identity, e->identity_len, ZMQ_SNDMORE),
                     (int)e->identity_len);
    assert_int_equal(zmq_send(e->router, "PGS1", 4, ZMQ_SNDMORE), 4);
    assert_int_equal(zmq_send(e->router, "\x02", 1, 0), 1);
    s_request(e, 73, "t.echo", "after v1");
    PGS_EXPECT_INT("still answering", (int)s_reply(e, &status, body, sizeof body), 73);
    PGS_EXPECT_STR("after v1 body", body, "{\"echo\":\"after v1\"}");

    /* Unknown route: 404. */
    s_request(e, 8, "t.nope", "");
    PGS_EXPECT_INT("404 id", (int)s_reply(e, &status, body, sizeof body), 8);
    PGS_EXPECT_INT("404 status", status, 404);

    /* SIGTERM with a request in flight: DISCONNECT, the answer, exit 0. */
    s_request(e, 9, "t.later", "600");
    usleep(100 * 1000);
    kill(e->pid, SIGTERM);
    assert_true(s_recv(e, 3000, &m));
    PGS_EXPECT_INT("leaving: DISCONNECT", m.cmd, PGS_PROTO_DISCONNECT);
    PGS_EXPECT_INT("then the held answer", (int)s_reply(e, &status, body, sizeof body), 9);
    PGS_EXPECT_STR("held body", body, "{\"said\":\"late\"}");
    int ws = 0;
    assert_int_equal(waitpid(e->pid, &ws, 0), e->pid);
    e->pid = 0;
    assert_true(WIFEXITED(ws));
    PGS_EXPECT_INT("exit code", WEXITSTATUS(ws), 0);
}

static void
test_check_only_and_missing_config(void **state)
{
    edge_t *e = *state;
    int rc = -1;
    char *ok[] = {"pegasus-test", "-n", "-c", e->config, NULL};
    optind = 1;
    assert_null(pgs_worker_new("test", 4, ok, NULL, &rc));
    PGS_EXPECT_INT("-n on a valid file", rc, 0);
    char *missing[] = {"pegasus-test", "-n", "-c", "/nonexistent/pegasus.conf", NULL};
    optind = 1;
    assert_null(pgs_worker_new("test", 4, missing, NULL, &rc));
    PGS_EXPECT_INT("-n on a missing file", rc, 1);
    char *bad[] = {"pegasus-test", "-x", NULL};
    optind = 1;
    opterr = 0;
    assert_null(pgs_worker_new("test", 2, bad, NULL, &rc));
    PGS_EXPECT_INT("unknown option", rc, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worker_as_an_edge_sees_it, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_check_only_and_missing_config, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
