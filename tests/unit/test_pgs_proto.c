/*
 * Unit tests of common/pgs_proto: encode/decode of every command, rejection
 * of malformed messages, and a real exchange over ZeroMQ inproc sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_proto.h"
#include "pgs_test.h"

#include <errno.h>

#define SCRATCH_LEN (PGS_PROTO_MAX_JSON * 3 + 4 * PGS_PROTO_MAX_NAME)

static char *s_scratch;

static int
s_setup(void **state)
{
    (void)state;
    s_scratch = malloc(SCRATCH_LEN);
    return s_scratch ? 0 : -1;
}

static int
s_teardown(void **state)
{
    (void)state;
    free(s_scratch);
    s_scratch = NULL;
    return 0;
}

/* Compares a text field: both NULL, or equal strings. */
static void
s_expect_text(const char *what, const char *got, const char *want)
{
    if (!want) {
        if (got)
            fail_msg("%s: got \"%s\", want NULL", what, got);
        return;
    }
    PGS_EXPECT_STR(what, got, want);
}

static void
s_expect_body(const char *what, const void *got, size_t got_len, const void *want, size_t want_len)
{
    PGS_EXPECT_INT(what, got_len, want_len);
    if (want_len && (!got || memcmp(got, want, want_len) != 0))
        fail_msg("%s: body bytes differ", what);
}

static const char s_bin_body[] = {'a', '\0', 'b', '\xff', '\n', '\0'};

static void
test_round_trip(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        pgs_proto_msg_t msg;
        int nframes;
        int wire_at;      /* a frame whose exact text is checked, or 0 */
        const char *wire; /* (flags as decimal text, END's outcome word) */
    } cases[] = {
        {"READY",
         {.cmd = PGS_PROTO_READY, .service = "auth", .instance = "3", .capacity = 8},
         5,
         4,
         "8"},
        {"READY max capacity",
         {.cmd = PGS_PROTO_READY, .service = "auth", .instance = "", .capacity = 1024},
         5,
         4,
         "1024"},
        {"HEARTBEAT", {.cmd = PGS_PROTO_HEARTBEAT}, 2, 0, NULL},
        {"REQUEST",
         {.cmd = PGS_PROTO_REQUEST,
          .id = 42,
          .service = "auth",
          .route = "token.get",
          .context = "{\"request_id\":\"r1\"}",
          .params = "{\"method\":\"GET\"}",
          .body = "{\"x\":1}",
          .body_len = 7},
         9,
         7,
         "0"},
        {"REQUEST binary body, max id",
         {.cmd = PGS_PROTO_REQUEST,
          .id = UINT64_MAX,
          .service = "s",
          .route = "r",
          .context = "{}",
          .params = "{}",
          .body = s_bin_body,
          .body_len = sizeof s_bin_body},
         9,
         2,
         "18446744073709551615"},
        {"REPLY",
         {.cmd = PGS_PROTO_REPLY,
          .id = 7,
          .status = 201,
          .headers = "{\"content-type\":\"application/json\"}",
          .body = "{}",
          .body_len = 2},
         8,
         4,
         "0"},
        {"REPLY 100 empty body",
         {.cmd = PGS_PROTO_REPLY, .id = 0, .status = 100, .headers = "{}"},
         8,
         3,
         "100"},
        {"REPLY 599",
         {.cmd = PGS_PROTO_REPLY, .id = 1, .status = 599, .headers = "{}"},
         8,
         3,
         "599"},
        {"REPLY MORE with meta",
         {.cmd = PGS_PROTO_REPLY,
          .id = 3,
          .status = 200,
          .flags = PGS_PROTO_MORE,
          .headers = "{}",
          .meta = "bot=bot_1\nmessages=1\n",
          .body = "abc",
          .body_len = 3},
         8,
         4,
         "1"},
        {"REPLY STREAM",
         {.cmd = PGS_PROTO_REPLY,
          .id = 4,
          .status = 200,
          .flags = PGS_PROTO_STREAM,
          .headers = "{}"},
         8,
         4,
         "2"},
        {"REPLY STREAM with meta and a first piece",
         {.cmd = PGS_PROTO_REPLY,
          .id = 11,
          .status = 200,
          .flags = PGS_PROTO_STREAM,
          .headers = "{\"content-type\":\"text/event-stream\"}",
          .meta = "bot=bot_2\nreplayed=1\n",
          .body = "data: x\n\n",
          .body_len = 9},
         8,
         6,
         "bot=bot_2\nreplayed=1\n"},
        {"REQUEST MORE",
         {.cmd = PGS_PROTO_REQUEST,
          .id = 5,
          .service = "s",
          .route = "r",
          .context = "{}",
          .params = "{}",
          .flags = PGS_PROTO_MORE,
          .body = "x",
          .body_len = 1},
         9,
         7,
         "1"},
        {"BODY MORE",
         {.cmd = PGS_PROTO_BODY, .id = 6, .flags = PGS_PROTO_MORE, .body = "yz", .body_len = 2},
         5,
         3,
         "1"},
        {"BODY last", {.cmd = PGS_PROTO_BODY, .id = 6}, 5, 3, "0"},
        {"BODY binary bytes, max id",
         {.cmd = PGS_PROTO_BODY,
          .id = UINT64_MAX,
          .body = s_bin_body,
          .body_len = sizeof s_bin_body},
         5,
         2,
         "18446744073709551615"},
        {"CHUNK",
         {.cmd = PGS_PROTO_CHUNK, .id = 9, .body = s_bin_body, .body_len = sizeof s_bin_body},
         4,
         2,
         "9"},
        {"CHUNK empty", {.cmd = PGS_PROTO_CHUNK, .id = 10}, 4, 3, ""},
        {"END failed", {.cmd = PGS_PROTO_END, .id = 12345678901234ULL}, 5, 3, "failed"},
        {"END failed with meta",
         {.cmd = PGS_PROTO_END, .id = 13, .meta = "messages=1\noutput_tokens=2\n"},
         5,
         3,
         "failed"},
        {"END ok with meta",
         {.cmd = PGS_PROTO_END, .id = 8, .ok = 1, .meta = "input_tokens=5\n"},
         5,
         3,
         "ok"},
        {"DISCONNECT", {.cmd = PGS_PROTO_DISCONNECT}, 2, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pgs_proto_msg_t *m = &cases[i].msg;
        pgs_proto_frame_t frames[PGS_PROTO_MAX_FRAMES];
        char numbuf[64], what[96];
        int n = pgs_proto_encode(m, numbuf, frames);
        snprintf(what, sizeof what, "%s: encode frame count", cases[i].name);
        PGS_EXPECT_INT(what, n, cases[i].nframes);
        snprintf(what, sizeof what, "%s: frame 0", cases[i].name);
        PGS_EXPECT_INT(what, frames[0].len == 4 && memcmp(frames[0].data, "PGS3", 4) == 0, 1);
        snprintf(what, sizeof what, "%s: command byte", cases[i].name);
        PGS_EXPECT_INT(what, frames[1].len == 1 ? *(const unsigned char *)frames[1].data : -1,
                       m->cmd);
        if (cases[i].wire) {
            snprintf(what, sizeof what, "%s: frame %d", cases[i].name, cases[i].wire_at);
            const pgs_proto_frame_t *w = &frames[cases[i].wire_at];
            if (w->len != strlen(cases[i].wire) || memcmp(w->data, cases[i].wire, w->len) != 0)
                fail_msg("%s: got \"%.*s\", want \"%s\"", what, (int)w->len, (const char *)w->data,
                         cases[i].wire);
        }

        pgs_proto_msg_t d;
        snprintf(what, sizeof what, "%s: decode", cases[i].name);
        PGS_EXPECT_INT(what, pgs_proto_decode(frames, (size_t)n, s_scratch, SCRATCH_LEN, &d), 0);
        snprintf(what, sizeof what, "%s: cmd", cases[i].name);
        PGS_EXPECT_INT(what, d.cmd, m->cmd);
        const char *nm = cases[i].name;
        switch (m->cmd) {
        case PGS_PROTO_READY:
            snprintf(what, sizeof what, "%s: service", nm);
            s_expect_text(what, d.service, m->service);
            snprintf(what, sizeof what, "%s: instance", nm);
            s_expect_text(what, d.instance, m->instance);
            snprintf(what, sizeof what, "%s: capacity", nm);
            PGS_EXPECT_INT(what, d.capacity, m->capacity);
            break;
        case PGS_PROTO_REQUEST:
            snprintf(what, sizeof what, "%s: id", nm);
            if (d.id != m->id)
                fail_msg("%s: got %llu, want %llu", what, (unsigned long long)d.id,
                         (unsigned long long)m->id);
            snprintf(what, sizeof what, "%s: service", nm);
            s_expect_text(what, d.service, m->service);
            snprintf(what, sizeof what, "%s: route", nm);
            s_expect_text(what, d.route, m->route);
            snprintf(what, sizeof what, "%s: context", nm);
            s_expect_text(what, d.context, m->context);
            snprintf(what, sizeof what, "%s: params", nm);
            s_expect_text(what, d.params, m->params);
            snprintf(what, sizeof what, "%s: flags", nm);
            PGS_EXPECT_INT(what, d.flags, m->flags);
            snprintf(what, sizeof what, "%s: body", nm);
            s_expect_body(what, d.body, d.body_len, m->body, m->body_len);
            break;
        case PGS_PROTO_REPLY:
            snprintf(what, sizeof what, "%s: id", nm);
            PGS_EXPECT_INT(what, d.id, m->id);
            snprintf(what, sizeof what, "%s: status", nm);
            PGS_EXPECT_INT(what, d.status, m->status);
            snprintf(what, sizeof what, "%s: headers", nm);
            s_expect_text(what, d.headers, m->headers);
            snprintf(what, sizeof what, "%s: flags", nm);
            PGS_EXPECT_INT(what, d.flags, m->flags);
            snprintf(what, sizeof what, "%s: meta", nm);
            s_expect_text(what, d.meta, m->meta ? m->meta : "");
            snprintf(what, sizeof what, "%s: body", nm);
            s_expect_body(what, d.body, d.body_len, m->body, m->body_len);
            break;
        case PGS_PROTO_CHUNK:
            snprintf(what, sizeof what, "%s: id", nm);
            PGS_EXPECT_INT(what, d.id, m->id);
            snprintf(what, sizeof what, "%s: bytes", nm);
            s_expect_body(what, d.body, d.body_len, m->body, m->body_len);
            break;
        case PGS_PROTO_BODY:
            snprintf(what, sizeof what, "%s: id", nm);
            PGS_EXPECT_INT(what, d.id, m->id);
            snprintf(what, sizeof what, "%s: flags", nm);
            PGS_EXPECT_INT(what, d.flags, m->flags);
            snprintf(what, sizeof what, "%s: bytes", nm);
            s_expect_body(what, d.body, d.body_len, m->body, m->body_len);
            break;
        case PGS_PROTO_END:
            snprintf(what, sizeof what, "%s: id", nm);
            PGS_EXPECT_INT(what, d.id == m->id, 1);
            snprintf(what, sizeof what, "%s: outcome", nm);
            PGS_EXPECT_INT(what, d.ok, m->ok);
            snprintf(what, sizeof what, "%s: meta", nm);
            s_expect_text(what, d.meta, m->meta ? m->meta : "");
            break;
        default:
            snprintf(what, sizeof what, "%s: no fields", nm);
            PGS_EXPECT_INT(what, d.service == NULL && d.body == NULL && d.id == 0, 1);
            break;
        }
    }

    /* Missing JSON texts are sent as "{}". */
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_REQUEST, .id = 1, .service = "a", .route = "b"};
    pgs_proto_frame_t frames[PGS_PROTO_MAX_FRAMES];
    char numbuf[64];
    int n = pgs_proto_encode(&m, numbuf, frames);
    pgs_proto_msg_t d;
    PGS_EXPECT_INT("decode(REQUEST without JSON)",
                   pgs_proto_decode(frames, (size_t)n, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_STR("REQUEST without context", d.context, "");
    PGS_EXPECT_STR("REQUEST without params", d.params, "{}");
    PGS_EXPECT_INT("REQUEST without body", d.body_len, 0);
    pgs_proto_msg_t r = {.cmd = PGS_PROTO_REPLY, .id = 1, .status = 204};
    n = pgs_proto_encode(&r, numbuf, frames);
    PGS_EXPECT_INT("decode(REPLY without headers)",
                   pgs_proto_decode(frames, (size_t)n, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_STR("REPLY without headers", d.headers, "");

    /* Unknown commands cannot be encoded. */
    static const int bad_cmds[] = {0, 9, 255};
    for (size_t i = 0; i < sizeof bad_cmds / sizeof bad_cmds[0]; i++) {
        pgs_proto_msg_t b = {.cmd = (pgs_proto_cmd_t)bad_cmds[i]};
        char what[64];
        snprintf(what, sizeof what, "encode(command %d)", bad_cmds[i]);
        PGS_EXPECT_INT(what, pgs_proto_encode(&b, numbuf, frames), -1);
    }
    PGS_EXPECT_STR("cmd_name(READY)", pgs_proto_cmd_name(PGS_PROTO_READY), "READY");
    PGS_EXPECT_STR("cmd_name(DISCONNECT)", pgs_proto_cmd_name(PGS_PROTO_DISCONNECT), "DISCONNECT");
    PGS_EXPECT_STR("cmd_name(0)", pgs_proto_cmd_name(0), "?");
    PGS_EXPECT_STR("cmd_name(BODY)", pgs_proto_cmd_name(PGS_PROTO_BODY), "BODY");
    PGS_EXPECT_STR("cmd_name(9)", pgs_proto_cmd_name(9), "?");
    PGS_EXPECT_STR("cmd_name(-1)", pgs_proto_cmd_name(-1), "?");
}

/* A frame in a table: text (len -1 = strlen) or explicit bytes. */
typedef struct {
    const char *data;
    int len;
} s_frame_t;

#define F(s)                                                                                       \
    {                                                                                              \
        (s), -1                                                                                    \
    }
#define FB(s, n)                                                                                   \
    {                                                                                              \
        (s), (n)                                                                                   \
    }

typedef struct {
    const char *name;
    int rc;
    int n;
    s_frame_t f[13];
} s_case_t;

static char s_name64[PGS_PROTO_MAX_NAME + 1];
static char s_name65[PGS_PROTO_MAX_NAME + 2];

static void
s_run_cases(const s_case_t *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        pgs_proto_frame_t frames[13];
        for (int k = 0; k < cases[i].n; k++) {
            frames[k].data = cases[i].f[k].data;
            frames[k].len =
                cases[i].f[k].len < 0 ? strlen(cases[i].f[k].data) : (size_t)cases[i].f[k].len;
        }
        pgs_proto_msg_t d;
        char what[128];
        snprintf(what, sizeof what, "decode(%s)", cases[i].name);
        PGS_EXPECT_INT(what,
                       pgs_proto_decode(frames, (size_t)cases[i].n, s_scratch, SCRATCH_LEN, &d),
                       cases[i].rc);
    }
}

static void
test_decode_table(void **state)
{
    (void)state;
    memset(s_name64, 'n', PGS_PROTO_MAX_NAME);
    memset(s_name65, 'n', PGS_PROTO_MAX_NAME + 1);
    const s_case_t cases[] = {
        /* Version and command frames. */
        {"HEARTBEAT ok", 0, 2, {F("PGS3"), F("\x02")}},
        {"version PGS1: an older release", PGS_PROTO_EVERSION, 2, {F("PGS1"), F("\x02")}},
        {"version pgs1", -1, 2, {F("pgs1"), F("\x02")}},
        {"version PGS", -1, 2, {F("PGS"), F("\x02")}},
        {"version PGS1x", -1, 2, {F("PGS1x"), F("\x02")}},
        {"empty version", -1, 2, {F(""), F("\x02")}},
        {"command 0", -1, 2, {F("PGS3"), FB("\0", 1)}},
        {"command 9", -1, 2, {F("PGS3"), F("\x09")}},
        {"command 255", -1, 2, {F("PGS3"), F("\xff")}},
        {"command '2' as text", -1, 2, {F("PGS3"), F("2")}},
        {"command frame empty", -1, 2, {F("PGS3"), F("")}},
        {"command frame 2 bytes", -1, 2, {F("PGS3"), F("\x02\x02")}},
        {"command frame 2 bytes (valid first)", -1, 3, {F("PGS3"), FB("\x06\0", 2), F("1")}},
        {"no frames", -1, 0, {{NULL, 0}}},
        {"version only", -1, 1, {F("PGS3")}},
        /* Frame counts. */
        {"HEARTBEAT extra frame", -1, 3, {F("PGS3"), F("\x02"), F("")}},
        {"DISCONNECT ok", 0, 2, {F("PGS3"), F("\x07")}},
        {"DISCONNECT extra frame", -1, 3, {F("PGS3"), F("\x07"), F("x")}},
        {"READY ok", 0, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("8")}},
        {"READY too few", -1, 4, {F("PGS3"), F("\x01"), F("auth"), F("0")}},
        {"READY too many", -1, 6, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("8"), F("")}},
        {"REQUEST ok",
         0,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("auth"), F("me.get"), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST too few",
         -1,
         8,
         {F("PGS3"), F("\x03"), F("1"), F("auth"), F("me.get"), F("{}"), F("{}"), F("0")}},
        {"REQUEST too many",
         -1,
         10,
         {F("PGS3"), F("\x03"), F("1"), F("auth"), F("me.get"), F("{}"), F("{}"), F(""), F("0"),
          F("")}},
        {"REQUEST with 12 frames",
         -1,
         12,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("b"), F("{}"), F("{}"), F(""), F(""), F(""),
          F("0"), F("")}},
        {"REPLY ok", 0, 8, {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), F(""), F("")}},
        {"REPLY too few", -1, 7, {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), F("")}},
        {"CHUNK ok", 0, 4, {F("PGS3"), F("\x05"), F("1"), F("abc")}},
        {"CHUNK too few", -1, 3, {F("PGS3"), F("\x05"), F("1")}},
        {"END ok", 0, 5, {F("PGS3"), F("\x06"), F("1"), F("ok"), F("")}},
        {"END too few", -1, 4, {F("PGS3"), F("\x06"), F("ok"), F("")}},
        {"END too many", -1, 6, {F("PGS3"), F("\x06"), F("1"), F(""), F("ok"), F("")}},
        /* Ids. */
        {"id 0", 0, 5, {F("PGS3"), F("\x06"), F("0"), F("ok"), F("")}},
        {"id leading zeros", 0, 5, {F("PGS3"), F("\x06"), F("0007"), F("ok"), F("")}},
        {"id UINT64_MAX", 0, 5, {F("PGS3"), F("\x06"), F("18446744073709551615"), F("ok"), F("")}},
        {"id UINT64_MAX+1",
         -1,
         5,
         {F("PGS3"), F("\x06"), F("18446744073709551616"), F("ok"), F("")}},
        {"id 20 nines", -1, 5, {F("PGS3"), F("\x06"), F("99999999999999999999"), F("ok"), F("")}},
        {"id 21 digits", -1, 5, {F("PGS3"), F("\x06"), F("000000000000000000001"), F("ok"), F("")}},
        {"id empty", -1, 5, {F("PGS3"), F("\x06"), F(""), F("ok"), F("")}},
        {"id 12a", -1, 5, {F("PGS3"), F("\x06"), F("12a"), F("ok"), F("")}},
        {"id -1", -1, 5, {F("PGS3"), F("\x06"), F("-1"), F("ok"), F("")}},
        {"id +1", -1, 5, {F("PGS3"), F("\x06"), F("+1"), F("ok"), F("")}},
        {"id ' 1'", -1, 5, {F("PGS3"), F("\x06"), F(" 1"), F("ok"), F("")}},
        {"id '1 '", -1, 5, {F("PGS3"), F("\x06"), F("1 "), F("ok"), F("")}},
        {"id 0x10", -1, 5, {F("PGS3"), F("\x06"), F("0x10"), F("ok"), F("")}},
        {"id with NUL", -1, 5, {F("PGS3"), F("\x06"), FB("1\0", 2), F("ok"), F("")}},
        {"REQUEST id abc",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("abc"), F("auth"), F("me.get"), F("{}"), F("{}"), F("0"), F("")}},
        {"REPLY id overflow",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("18446744073709551616"), F("200"), F("0"), F("{}"), F(""),
          F("")}},
        {"CHUNK id x", -1, 4, {F("PGS3"), F("\x05"), F("x"), F("abc")}},
        /* Status. */
        {"status 100",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("100"), F("0"), F("{}"), F(""), F("")}},
        {"status 599",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("599"), F("0"), F("{}"), F(""), F("")}},
        {"status 99",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("99"), F("0"), F("{}"), F(""), F("")}},
        {"status 600",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("600"), F("0"), F("{}"), F(""), F("")}},
        {"status 0", -1, 8, {F("PGS3"), F("\x04"), F("1"), F("0"), F("0"), F("{}"), F(""), F("")}},
        {"status 1000",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("1000"), F("0"), F("{}"), F(""), F("")}},
        {"status huge",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("18446744073709551815"), F("0"), F("{}"), F(""), F("")}},
        {"status empty",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F(""), F("0"), F("{}"), F(""), F("")}},
        {"status 2OO",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("2OO"), F("0"), F("{}"), F(""), F("")}},
        {"status -200",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("-200"), F("0"), F("{}"), F(""), F("")}},
        /* Capacity. */
        {"capacity 1", 0, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("1")}},
        {"capacity 1024", 0, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("1024")}},
        {"capacity 0", -1, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("0")}},
        {"capacity 1025", -1, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("1025")}},
        {"capacity 4294967297", -1, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("4294967297")}},
        {"capacity empty", -1, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("")}},
        {"capacity eight", -1, 5, {F("PGS3"), F("\x01"), F("auth"), F("0"), F("eight")}},
        /* Text frames. */
        {"READY empty service", -1, 5, {F("PGS3"), F("\x01"), F(""), F("0"), F("8")}},
        {"READY NUL in service", -1, 5, {F("PGS3"), F("\x01"), FB("au\0th", 5), F("0"), F("8")}},
        {"READY NUL in instance", -1, 5, {F("PGS3"), F("\x01"), F("auth"), FB("0\0", 2), F("8")}},
        {"READY 64-byte service", 0, 5, {F("PGS3"), F("\x01"), F(s_name64), F("0"), F("8")}},
        {"READY 65-byte service", -1, 5, {F("PGS3"), F("\x01"), F(s_name65), F("0"), F("8")}},
        {"READY 65-byte instance", -1, 5, {F("PGS3"), F("\x01"), F("a"), F(s_name65), F("8")}},
        {"REQUEST NUL in service",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), FB("a\0", 2), F("r"), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST NUL in route",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), FB("\0r", 2), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST NUL in context",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), FB("{}\0", 3), F("{}"), F("0"), F("")}},
        {"REQUEST NUL in params",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), FB("{\"a\":\"\0\"}", 9), F("0"),
          F("")}},
        {"REQUEST NUL in body is fine",
         0,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("0"), FB("\0\0", 2)}},
        {"REQUEST empty service",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F(""), F("r"), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST empty route",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F(""), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST empty context and params are text",
         0,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F(""), F(""), F("0"), F("")}},
        {"REQUEST 64-byte route",
         0,
         9,
         {F("PGS3"), F("\x03"), F("1"), F(s_name64), F(s_name64), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST 65-byte service",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F(s_name65), F("r"), F("{}"), F("{}"), F("0"), F("")}},
        {"REQUEST 65-byte route",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F(s_name65), F("{}"), F("{}"), F("0"), F("")}},
        {"REPLY NUL in headers",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), FB("{\0}", 3), F(""), F("")}},
        {"REPLY NUL in body is fine",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), F(""), FB("\0", 1)}},
        /* v2 additions: flags, BODY, END outcomes, meta. */
        {"REQUEST flags 1",
         0,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("1"), F("")}},
        {"REQUEST flags 2",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("2"), F("")}},
        {"REQUEST flags x",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("x"), F("")}},
        {"REQUEST flags empty",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F(""), F("")}},
        {"REPLY flags 1",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("1"), F("{}"), F(""), F("")}},
        {"REPLY flags 2",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("2"), F("{}"), F(""), F("")}},
        {"REPLY flags 3",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("3"), F("{}"), F(""), F("")}},
        {"REPLY flags 4",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("4"), F("{}"), F(""), F("")}},
        {"REPLY meta text",
         0,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), F("bot=bot_1\n"), F("")}},
        {"REPLY NUL in meta",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), FB("a\0", 2), F("")}},
        {"BODY ok", 0, 5, {F("PGS3"), F("\x08"), F("1"), F("0"), F("abc")}},
        {"BODY more", 0, 5, {F("PGS3"), F("\x08"), F("1"), F("1"), F("")}},
        {"BODY flags 2", -1, 5, {F("PGS3"), F("\x08"), F("1"), F("2"), F("")}},
        {"BODY too few", -1, 4, {F("PGS3"), F("\x08"), F("1"), F("0")}},
        {"BODY too many", -1, 6, {F("PGS3"), F("\x08"), F("1"), F("0"), F(""), F("")}},
        {"END failed", 0, 5, {F("PGS3"), F("\x06"), F("1"), F("failed"), F("")}},
        {"END OK", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("OK"), F("")}},
        {"END fail", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("fail"), F("")}},
        {"END empty outcome", -1, 5, {F("PGS3"), F("\x06"), F("1"), F(""), F("")}},
        {"END NUL in meta", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("ok"), FB("x\0", 2)}},
        {"REPLY flags x",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("x"), F("{}"), F(""), F("")}},
        {"REPLY flags empty",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F(""), F("{}"), F(""), F("")}},
        {"REPLY flags -1",
         -1,
         8,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("-1"), F("{}"), F(""), F("")}},
        {"REPLY too many",
         -1,
         9,
         {F("PGS3"), F("\x04"), F("1"), F("200"), F("0"), F("{}"), F(""), F(""), F("")}},
        {"REQUEST flags 3",
         -1,
         9,
         {F("PGS3"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("3"), F("")}},
        {"BODY flags x", -1, 5, {F("PGS3"), F("\x08"), F("1"), F("x"), F("")}},
        {"BODY flags empty", -1, 5, {F("PGS3"), F("\x08"), F("1"), F(""), F("")}},
        {"BODY flags 1 with a space", -1, 5, {F("PGS3"), F("\x08"), F("1"), F("1 "), F("")}},
        {"BODY id x", -1, 5, {F("PGS3"), F("\x08"), F("x"), F("0"), F("")}},
        {"BODY id empty", -1, 5, {F("PGS3"), F("\x08"), F(""), F("0"), F("")}},
        {"BODY command only", -1, 2, {F("PGS3"), F("\x08")}},
        {"BODY NUL in bytes is fine", 0, 5, {F("PGS3"), F("\x08"), F("1"), F("0"), FB("\0", 1)}},
        {"END FAILED", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("FAILED"), F("")}},
        {"END okay", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("okay"), F("")}},
        {"END 'ok '", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("ok "), F("")}},
        {"END ok NUL", -1, 5, {F("PGS3"), F("\x06"), F("1"), FB("ok\0", 3), F("")}},
        {"END failed NUL", -1, 5, {F("PGS3"), F("\x06"), F("1"), FB("failed\0", 7), F("")}},
        {"END outcome 1", -1, 5, {F("PGS3"), F("\x06"), F("1"), F("1"), F("")}},
        {"END meta text", 0, 5, {F("PGS3"), F("\x06"), F("1"), F("ok"), F("messages=1\n")}},
        /* Another version is told apart from garbage, whatever follows it. */
        {"version PGS2: the release before", PGS_PROTO_EVERSION, 2, {F("PGS2"), F("\x02")}},
        {"version PGS0", PGS_PROTO_EVERSION, 2, {F("PGS0"), F("\x02")}},
        {"version PGS1 alone", PGS_PROTO_EVERSION, 1, {F("PGS1")}},
        {"version PGS1, a v1 REQUEST (8 frames)",
         PGS_PROTO_EVERSION,
         8,
         {F("PGS1"), F("\x03"), F("1"), F("a"), F("r"), F("{}"), F("{}"), F("")}},
        {"version PGS1, a v1 END (3 frames)",
         PGS_PROTO_EVERSION,
         3,
         {F("PGS1"), F("\x06"), F("1")}},
        {"version PGs2", -1, 2, {F("PGs2"), F("\x02")}},
        {"version PGS2 NUL", -1, 2, {FB("PGS2\0", 5), F("\x02")}},
        {"version PGS22", -1, 2, {F("PGS22"), F("\x02")}},
    };
    s_run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void
test_decode_limits(void **state)
{
    (void)state;
    /* JSON frames at and over PGS_PROTO_MAX_JSON. */
    size_t big = PGS_PROTO_MAX_JSON + 1;
    char *json = malloc(big);
    assert_non_null(json);
    memset(json, ' ', big);
    pgs_proto_frame_t f[9] = {
        {"PGS3", 4}, {"\x03", 1}, {"1", 1}, {"a", 1}, {"r", 1},
        {"{}", 2},   {"{}", 2},   {"0", 1}, {"", 0},
    };
    pgs_proto_msg_t d;
    static const int which[] = {5, 6};
    for (size_t i = 0; i < 2; i++) {
        int k = which[i];
        char what[64];
        f[k] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
        snprintf(what, sizeof what, "decode(REQUEST frame %d at max JSON)", k);
        PGS_EXPECT_INT(what, pgs_proto_decode(f, 9, s_scratch, SCRATCH_LEN, &d), 0);
        PGS_EXPECT_INT(what, strlen(k == 5 ? d.context : d.params), PGS_PROTO_MAX_JSON);
        f[k] = (pgs_proto_frame_t){json, big};
        snprintf(what, sizeof what, "decode(REQUEST frame %d over max JSON)", k);
        PGS_EXPECT_INT(what, pgs_proto_decode(f, 9, s_scratch, SCRATCH_LEN, &d), -1);
        f[k] = (pgs_proto_frame_t){"{}", 2};
    }
    pgs_proto_frame_t r[8] = {{"PGS3", 4}, {"\x04", 1}, {"1", 1}, {"200", 3},
                              {"0", 1},    {json, big}, {"", 0},  {"", 0}};
    PGS_EXPECT_INT("decode(REPLY headers over max JSON)",
                   pgs_proto_decode(r, 8, s_scratch, SCRATCH_LEN, &d), -1);
    r[5] = (pgs_proto_frame_t){"{}", 2};
    r[6] = (pgs_proto_frame_t){json, big};
    PGS_EXPECT_INT("decode(REPLY meta over max JSON)",
                   pgs_proto_decode(r, 8, s_scratch, SCRATCH_LEN, &d), -1);
    r[6] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
    PGS_EXPECT_INT("decode(REPLY meta at max JSON)",
                   pgs_proto_decode(r, 8, s_scratch, SCRATCH_LEN, &d), 0);
    /* headers and meta both at the maximum fit the documented scratch size. */
    r[5] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
    PGS_EXPECT_INT("decode(REPLY headers and meta at max JSON)",
                   pgs_proto_decode(r, 8, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_INT("REPLY meta length", strlen(d.meta), PGS_PROTO_MAX_JSON);
    r[5] = (pgs_proto_frame_t){"{}", 2};
    r[6] = (pgs_proto_frame_t){"", 0};
    /* END's meta has the same limit. */
    pgs_proto_frame_t e[5] = {{"PGS3", 4}, {"\x06", 1}, {"1", 1}, {"ok", 2}, {json, big}};
    PGS_EXPECT_INT("decode(END meta over max JSON)",
                   pgs_proto_decode(e, 5, s_scratch, SCRATCH_LEN, &d), -1);
    e[4] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
    PGS_EXPECT_INT("decode(END meta at max JSON)",
                   pgs_proto_decode(e, 5, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_INT("END meta length", strlen(d.meta), PGS_PROTO_MAX_JSON);
    /* Every JSON frame of a REQUEST at the maximum fits the documented scratch size. */
    f[5] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
    f[6] = (pgs_proto_frame_t){json, PGS_PROTO_MAX_JSON};
    f[3] = (pgs_proto_frame_t){s_name64, PGS_PROTO_MAX_NAME};
    f[4] = (pgs_proto_frame_t){s_name64, PGS_PROTO_MAX_NAME};
    PGS_EXPECT_INT("decode(REQUEST, every text frame at its maximum)",
                   pgs_proto_decode(f, 9, s_scratch, SCRATCH_LEN, &d), 0);
    free(json);

    /* Bodies: the length is checked, not the bytes (a fake huge length). */
    pgs_proto_frame_t c[4] = {{"PGS3", 4}, {"\x05", 1}, {"1", 1}, {"x", PGS_PROTO_MAX_BODY + 1}};
    PGS_EXPECT_INT("decode(CHUNK over max body)", pgs_proto_decode(c, 4, s_scratch, 64, &d), -1);
    pgs_proto_frame_t bd[5] = {
        {"PGS3", 4}, {"\x08", 1}, {"1", 1}, {"0", 1}, {"x", PGS_PROTO_MAX_BODY + 1}};
    PGS_EXPECT_INT("decode(BODY over max body)", pgs_proto_decode(bd, 5, s_scratch, 64, &d), -1);
    pgs_proto_frame_t q[9] = {{"PGS3", 4}, {"\x03", 1}, {"1", 1},
                              {"a", 1},    {"r", 1},    {"{}", 2},
                              {"{}", 2},   {"0", 1},    {"x", PGS_PROTO_MAX_BODY + 1}};
    PGS_EXPECT_INT("decode(REQUEST over max body)", pgs_proto_decode(q, 9, s_scratch, 64, &d), -1);
    r[5] = (pgs_proto_frame_t){"{}", 2};
    r[7] = (pgs_proto_frame_t){"x", PGS_PROTO_MAX_BODY + 1};
    PGS_EXPECT_INT("decode(REPLY over max body)", pgs_proto_decode(r, 8, s_scratch, 64, &d), -1);

    /* A scratch buffer too small is a failure, never an overflow: exactly
     * the needed size on the heap so AddressSanitizer would see a write past it.
     * v2 added text frames to REPLY (meta) and END (meta): each is counted. */
    static const pgs_proto_frame_t q_ok[9] = {{"PGS3", 4},      {"\x03", 1}, {"1", 1},
                                              {"svc", 3},       {"rt", 2},   {"{}", 2},
                                              {"{\"a\":1}", 7}, {"1", 1},    {"", 0}};
    static const pgs_proto_frame_t r_ok[8] = {{"PGS3", 4}, {"\x04", 1}, {"1", 1},       {"200", 3},
                                              {"2", 1},    {"{}", 2},   {"bot=b\n", 6}, {"xy", 2}};
    static const pgs_proto_frame_t e_ok[5] = {
        {"PGS3", 4}, {"\x06", 1}, {"1", 1}, {"failed", 6}, {"messages=1\n", 11}};
    static const struct {
        const char *name;
        const pgs_proto_frame_t *f;
        size_t n, need; /* each text frame + its NUL */
    } fits[] = {
        {"REQUEST", q_ok, 9, 4 + 3 + 3 + 8},
        {"REPLY", r_ok, 8, 3 + 7},
        {"END", e_ok, 5, 12},
    };
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        for (size_t len = 0; len <= fits[i].need; len++) {
            char *small = len ? malloc(len) : NULL;
            char what[64];
            snprintf(what, sizeof what, "decode(%s, scratch %zu of %zu bytes)", fits[i].name, len,
                     fits[i].need);
            PGS_EXPECT_INT(what, pgs_proto_decode(fits[i].f, fits[i].n, small, len, &d),
                           len == fits[i].need ? 0 : -1);
            if (len == fits[i].need && i == 0)
                PGS_EXPECT_STR(what, d.params, "{\"a\":1}");
            if (len == fits[i].need && i > 0)
                PGS_EXPECT_STR(what, d.meta, i == 1 ? "bot=b\n" : "messages=1\n");
            free(small);
        }
    }
}

/* Waits up to 2 s for something to read on socket. */
static void
s_wait_readable(void *socket)
{
    zmq_pollitem_t it = {.socket = socket, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, 2000) != 1)
        fail_msg("zmq_poll: got nothing within 2 s, want a message");
}

static void
s_send_raw(void *socket, int nparts)
{
    for (int i = 0; i < nparts; i++) {
        char part[16];
        int len = snprintf(part, sizeof part, "part%d", i);
        if (zmq_send(socket, part, (size_t)len, i + 1 < nparts ? ZMQ_SNDMORE : 0) != len)
            fail_msg("zmq_send part %d: %s", i, zmq_strerror(zmq_errno()));
    }
}

/* A frame over the limit is refused before anything is sent: the peer
 * would drop the connection for it (ZMQ_MAXMSGSIZE). */
static void
test_send_refuses_oversized_frames(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    void *peer = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(peer, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(peer, "inproc://pgs-test-big"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://pgs-test-big"), 0);
    size_t big = (size_t)PGS_PROTO_MAX_BODY + 1;
    char *body = calloc(1, big);
    assert_non_null(body);
    pgs_proto_msg_t m = {.cmd = PGS_PROTO_REPLY,
                         .id = 1,
                         .status = 200,
                         .headers = "{}",
                         .body = body,
                         .body_len = big};
    /* (pgs_proto_send_whole would send it in pieces; pgs_proto_send sends
     * one message.) */
    errno = 0;
    PGS_EXPECT_INT("send of a body over the limit", pgs_proto_send(dealer, NULL, 0, &m), -1);
    PGS_EXPECT_INT("errno", errno, EMSGSIZE);
    m.body_len = PGS_PROTO_MAX_BODY;
    PGS_EXPECT_INT("send of a body at the limit", pgs_proto_send(dealer, NULL, 0, &m), 0);
    pgs_proto_inbox_t *in = calloc(1, sizeof *in);
    zmq_pollitem_t it = {peer, 0, ZMQ_POLLIN, 0};
    assert_true(zmq_poll(&it, 1, 2000) == 1);
    PGS_EXPECT_INT("only the one at the limit arrives", pgs_proto_recv(peer, 0, in), 1);
    PGS_EXPECT_INT("its body frame", (int)in->frames[in->nframes - 1].len, (int)PGS_PROTO_MAX_BODY);
    pgs_proto_inbox_close(in);
    PGS_EXPECT_INT("nothing else", pgs_proto_recv(peer, 0, in), 0);
    free(in);
    free(body);
    zmq_close(dealer);
    zmq_close(peer);
    zmq_ctx_term(ctx);
}

/* Receives the next message on peer (within 2 s), decoded into d. */
static void
s_next(void *peer, pgs_proto_inbox_t *in, pgs_proto_msg_t *d, const char *what)
{
    pgs_proto_inbox_close(in);
    s_wait_readable(peer);
    PGS_EXPECT_INT(what, pgs_proto_recv(peer, 0, in), 1);
    PGS_EXPECT_INT(what, pgs_proto_decode(in->frames, in->nframes, s_scratch, SCRATCH_LEN, d), 0);
}

/* Fails when anything arrives on socket within 100 ms. */
static void
s_expect_nothing(void *socket, const char *what)
{
    zmq_pollitem_t it = {.socket = socket, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, 100) != 0)
        fail_msg("%s: a message arrived, want none", what);
}

/* Two DEALERs on inproc://name, lingering 0. */
static void
s_pair(void *ctx, const char *name, void **sender, void **peer)
{
    int zero = 0;
    *sender = zmq_socket(ctx, ZMQ_DEALER);
    *peer = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(*sender);
    assert_non_null(*peer);
    zmq_setsockopt(*sender, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(*peer, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(*peer, name), 0);
    assert_int_equal(zmq_connect(*sender, name), 0);
}

/* A REQUEST larger than one piece goes as REQUEST(MORE) + BODY(MORE)… +
 * BODY(0), every message at most one piece, whose bytes put together are
 * the original; one that fits goes alone, whatever flags the caller left. */
static void
test_send_whole_request(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *dealer, *peer;
    s_pair(ctx, "inproc://pgs-test-whole-req", &dealer, &peer);
    size_t n = (size_t)PGS_PROTO_PIECE * 5 / 2;
    char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 7 + i / 1000);
    pgs_proto_inbox_t *in = calloc(1, sizeof *in);
    assert_non_null(in);
    pgs_proto_msg_t d;

    pgs_proto_msg_t req = {.cmd = PGS_PROTO_REQUEST,
                           .id = 9,
                           .service = "s",
                           .route = "r",
                           .context = "{\"c\":1}",
                           .body = body,
                           .body_len = n};
    PGS_EXPECT_INT("send a 2.5 MiB REQUEST", pgs_proto_send_whole(dealer, NULL, 0, &req), 0);
    pgs_proto_body_t got = {0};
    s_next(peer, in, &d, "REQUEST");
    PGS_EXPECT_INT("first: REQUEST", d.cmd, PGS_PROTO_REQUEST);
    PGS_EXPECT_INT("REQUEST id", d.id, 9);
    PGS_EXPECT_STR("REQUEST route", d.route, "r");
    PGS_EXPECT_STR("REQUEST context", d.context, "{\"c\":1}");
    PGS_EXPECT_INT("REQUEST with MORE", d.flags, PGS_PROTO_MORE);
    PGS_EXPECT_INT("REQUEST: one piece", d.body_len, PGS_PROTO_PIECE);
    assert_int_equal(pgs_proto_body_add(&got, d.body, d.body_len), 0);
    s_next(peer, in, &d, "BODY 1");
    PGS_EXPECT_INT("then BODY", d.cmd, PGS_PROTO_BODY);
    PGS_EXPECT_INT("BODY 1 id", d.id, 9);
    PGS_EXPECT_INT("BODY 1 has MORE", d.flags, PGS_PROTO_MORE);
    PGS_EXPECT_INT("BODY 1: one piece", d.body_len, PGS_PROTO_PIECE);
    assert_int_equal(pgs_proto_body_add(&got, d.body, d.body_len), 0);
    s_next(peer, in, &d, "BODY 2");
    PGS_EXPECT_INT("the last BODY", d.cmd, PGS_PROTO_BODY);
    PGS_EXPECT_INT("BODY 2 id", d.id, 9);
    PGS_EXPECT_INT("BODY 2 without MORE", d.flags, 0);
    PGS_EXPECT_INT("BODY 2: half a piece", d.body_len, PGS_PROTO_PIECE / 2);
    assert_int_equal(pgs_proto_body_add(&got, d.body, d.body_len), 0);
    PGS_EXPECT_INT("every byte", got.len, n);
    PGS_EXPECT_INT("in order", memcmp(got.data, body, n), 0);
    pgs_proto_body_free(&got);
    pgs_proto_inbox_close(in);
    s_expect_nothing(peer, "after the last BODY");

    /* Exactly two pieces: no empty third BODY. */
    req.body_len = 2 * (size_t)PGS_PROTO_PIECE;
    PGS_EXPECT_INT("send a 2-piece REQUEST", pgs_proto_send_whole(dealer, NULL, 0, &req), 0);
    s_next(peer, in, &d, "2-piece REQUEST");
    PGS_EXPECT_INT("2 pieces: REQUEST with MORE", d.flags, PGS_PROTO_MORE);
    s_next(peer, in, &d, "2-piece BODY");
    PGS_EXPECT_INT("2 pieces: BODY", d.cmd, PGS_PROTO_BODY);
    PGS_EXPECT_INT("2 pieces: the BODY is the last", d.flags, 0);
    PGS_EXPECT_INT("2 pieces: the BODY is whole", d.body_len, PGS_PROTO_PIECE);
    s_expect_body("2 pieces: second piece", d.body, d.body_len, body + PGS_PROTO_PIECE,
                  PGS_PROTO_PIECE);
    pgs_proto_inbox_close(in);
    s_expect_nothing(peer, "after a 2-piece REQUEST");

    /* One piece, and a MORE left by the caller: one complete REQUEST. */
    req.body_len = PGS_PROTO_PIECE;
    req.flags = PGS_PROTO_MORE;
    PGS_EXPECT_INT("send a 1-piece REQUEST", pgs_proto_send_whole(dealer, NULL, 0, &req), 0);
    s_next(peer, in, &d, "1-piece REQUEST");
    PGS_EXPECT_INT("1 piece: REQUEST", d.cmd, PGS_PROTO_REQUEST);
    PGS_EXPECT_INT("1 piece: the caller's MORE is ignored", d.flags, 0);
    PGS_EXPECT_INT("1 piece: the whole body", d.body_len, PGS_PROTO_PIECE);
    pgs_proto_inbox_close(in);
    s_expect_nothing(peer, "after a 1-piece REQUEST");

    /* Over the total: refused before anything is sent. send_whole checks
     * body_len before it reads the body, so a 16-byte buffer with a huge
     * length is never read past (ASan would say so). */
    char small[16] = {0};
    static const size_t over[] = {PGS_PROTO_MAX_TOTAL + 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
        pgs_proto_msg_t huge = {.cmd = PGS_PROTO_REQUEST,
                                .id = 10,
                                .service = "s",
                                .route = "r",
                                .body = small,
                                .body_len = over[i]};
        errno = 0;
        PGS_EXPECT_INT("a REQUEST over the total", pgs_proto_send_whole(dealer, NULL, 0, &huge),
                       -1);
        PGS_EXPECT_INT("a REQUEST over the total: EMSGSIZE", errno, EMSGSIZE);
    }
    s_expect_nothing(peer, "after a REQUEST over the total");

    free(in);
    free(body);
    zmq_close(dealer);
    zmq_close(peer);
    zmq_ctx_term(ctx);
}

/* A REPLY larger than one piece goes as REPLY(MORE) + CHUNK… + END "ok";
 * one of exactly one piece goes alone; a stream, a REPLY over the total
 * and other commands are refused with nothing sent. */
static void
test_send_whole_reply(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *dealer, *peer;
    s_pair(ctx, "inproc://pgs-test-whole-rep", &dealer, &peer);
    size_t n = (size_t)PGS_PROTO_PIECE + 1;
    char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i * 13 + i / 777);
    pgs_proto_inbox_t *in = calloc(1, sizeof *in);
    assert_non_null(in);
    pgs_proto_msg_t d;

    pgs_proto_msg_t rep = {.cmd = PGS_PROTO_REPLY,
                           .id = 4,
                           .status = 201,
                           .headers = "{\"x-a\":\"b\"}",
                           .meta = "bot=bot_1\n",
                           .body = body,
                           .body_len = PGS_PROTO_PIECE};
    PGS_EXPECT_INT("send a reply of one piece", pgs_proto_send_whole(dealer, NULL, 0, &rep), 0);
    s_next(peer, in, &d, "one-piece REPLY");
    PGS_EXPECT_INT("one piece: REPLY", d.cmd, PGS_PROTO_REPLY);
    PGS_EXPECT_INT("one piece: without flags", d.flags, 0);
    PGS_EXPECT_INT("one piece: status", d.status, 201);
    PGS_EXPECT_STR("one piece: meta", d.meta, "bot=bot_1\n");
    s_expect_body("one piece: body", d.body, d.body_len, body, PGS_PROTO_PIECE);
    pgs_proto_inbox_close(in);
    s_expect_nothing(peer, "after a one-piece REPLY (no END)");

    rep.body_len = n;
    PGS_EXPECT_INT("send a reply one byte larger", pgs_proto_send_whole(dealer, NULL, 0, &rep), 0);
    s_next(peer, in, &d, "REPLY");
    PGS_EXPECT_INT("first: REPLY", d.cmd, PGS_PROTO_REPLY);
    PGS_EXPECT_INT("REPLY with MORE", d.flags, PGS_PROTO_MORE);
    PGS_EXPECT_INT("REPLY id", d.id, 4);
    PGS_EXPECT_INT("REPLY status", d.status, 201);
    PGS_EXPECT_STR("REPLY headers", d.headers, "{\"x-a\":\"b\"}");
    PGS_EXPECT_STR("REPLY meta", d.meta, "bot=bot_1\n");
    s_expect_body("REPLY: the first piece", d.body, d.body_len, body, PGS_PROTO_PIECE);
    s_next(peer, in, &d, "CHUNK");
    PGS_EXPECT_INT("then a CHUNK", d.cmd, PGS_PROTO_CHUNK);
    PGS_EXPECT_INT("CHUNK id", d.id, 4);
    s_expect_body("CHUNK: the last byte", d.body, d.body_len, body + PGS_PROTO_PIECE, 1);
    s_next(peer, in, &d, "END");
    PGS_EXPECT_INT("then END", d.cmd, PGS_PROTO_END);
    PGS_EXPECT_INT("END id", d.id, 4);
    PGS_EXPECT_INT("END ok", d.ok, 1);
    pgs_proto_inbox_close(in);
    s_expect_nothing(peer, "after END");

    /* Refused, nothing sent: over the total (the length is checked before
     * the 16-byte buffer would be read), a stream, MORE|STREAM, and
     * commands that have no body to split. */
    char small[16] = {0};
    pgs_proto_msg_t huge = {.cmd = PGS_PROTO_REPLY,
                            .id = 5,
                            .status = 200,
                            .body = small,
                            .body_len = PGS_PROTO_MAX_TOTAL + 1};
    errno = 0;
    PGS_EXPECT_INT("a reply over the total", pgs_proto_send_whole(dealer, NULL, 0, &huge), -1);
    PGS_EXPECT_INT("a reply over the total: EMSGSIZE", errno, EMSGSIZE);
    static const struct {
        const char *name;
        pgs_proto_msg_t msg;
    } bad[] = {
        {"a STREAM reply",
         {.cmd = PGS_PROTO_REPLY, .id = 6, .status = 200, .flags = PGS_PROTO_STREAM}},
        {"a MORE|STREAM reply",
         {.cmd = PGS_PROTO_REPLY,
          .id = 6,
          .status = 200,
          .flags = PGS_PROTO_MORE | PGS_PROTO_STREAM}},
        {"a CHUNK", {.cmd = PGS_PROTO_CHUNK, .id = 6, .body = "x", .body_len = 1}},
        {"a BODY", {.cmd = PGS_PROTO_BODY, .id = 6, .body = "x", .body_len = 1}},
        {"an END", {.cmd = PGS_PROTO_END, .id = 6, .ok = 1}},
        {"a HEARTBEAT", {.cmd = PGS_PROTO_HEARTBEAT}},
        {"command 9", {.cmd = (pgs_proto_cmd_t)9}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        errno = 0;
        snprintf(what, sizeof what, "send_whole(%s)", bad[i].name);
        PGS_EXPECT_INT(what, pgs_proto_send_whole(dealer, NULL, 0, &bad[i].msg), -1);
        snprintf(what, sizeof what, "send_whole(%s): EINVAL", bad[i].name);
        PGS_EXPECT_INT(what, errno, EINVAL);
    }
    s_expect_nothing(peer, "after refused send_whole calls");

    free(in);
    free(body);
    zmq_close(dealer);
    zmq_close(peer);
    zmq_ctx_term(ctx);
}

/* On a ROUTER every piece is addressed: all of a reply in pieces reaches
 * the one peer named. */
static void
test_send_whole_routed(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, zero = 0;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "client-1", 8);
    assert_int_equal(zmq_bind(router, "inproc://pgs-test-whole-routed"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://pgs-test-whole-routed"), 0);
    /* The router learns the identity from a first message. */
    pgs_proto_msg_t hb = {.cmd = PGS_PROTO_HEARTBEAT};
    assert_int_equal(pgs_proto_send(dealer, NULL, 0, &hb), 0);
    pgs_proto_inbox_t *in = calloc(1, sizeof *in);
    assert_non_null(in);
    s_wait_readable(router);
    assert_int_equal(pgs_proto_recv(router, 1, in), 1);
    pgs_proto_inbox_close(in);

    size_t n = 2 * (size_t)PGS_PROTO_PIECE + 3;
    char *body = malloc(n);
    assert_non_null(body);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(i % 251);
    pgs_proto_msg_t rep = {
        .cmd = PGS_PROTO_REPLY, .id = 21, .status = 200, .body = body, .body_len = n};
    PGS_EXPECT_INT("send_whole through the router",
                   pgs_proto_send_whole(router, "client-1", 8, &rep), 0);
    static const int want[] = {PGS_PROTO_REPLY, PGS_PROTO_CHUNK, PGS_PROTO_CHUNK, PGS_PROTO_END};
    pgs_proto_body_t got = {0};
    pgs_proto_msg_t d;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "routed message %zu", i);
        s_next(dealer, in, &d, what);
        PGS_EXPECT_INT(what, d.cmd, want[i]);
        PGS_EXPECT_INT(what, d.id, 21);
        if (d.cmd != PGS_PROTO_END)
            assert_int_equal(pgs_proto_body_add(&got, d.body, d.body_len), 0);
    }
    PGS_EXPECT_INT("routed: every byte", got.len, n);
    PGS_EXPECT_INT("routed: in order", memcmp(got.data, body, n), 0);
    pgs_proto_body_free(&got);
    pgs_proto_inbox_close(in);
    s_expect_nothing(dealer, "after the routed END");
    errno = 0;
    PGS_EXPECT_INT("send_whole to an unknown identity",
                   pgs_proto_send_whole(router, "nobody", 6, &rep), -1);
    PGS_EXPECT_INT("send_whole to an unknown identity: errno", errno, EHOSTUNREACH);

    free(in);
    free(body);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

/* A body put together from pieces: it grows, stays NUL-terminated (a text
 * body can be used as a string), and refuses passing the total, after
 * which it is empty and usable again. The refusal is tested with lengths
 * only: body_add compares the length before it allocates or reads, so the
 * small source buffer is never read past. */
static void
test_body_add(void **state)
{
    (void)state;
    pgs_proto_body_t b = {0};
    PGS_EXPECT_INT("add nothing", pgs_proto_body_add(&b, NULL, 0), 0);
    PGS_EXPECT_INT("nothing: length", b.len, 0);
    PGS_EXPECT_INT("nothing: NUL-terminated", b.data != NULL && b.data[0] == '\0', 1);
    PGS_EXPECT_INT("add abc", pgs_proto_body_add(&b, "abc", 3), 0);
    PGS_EXPECT_STR("abc", b.data, "abc");
    size_t big = 3 * 4096 + 5;
    char *src = malloc(big);
    assert_non_null(src);
    for (size_t i = 0; i < big; i++)
        src[i] = (char)('a' + i % 26);
    PGS_EXPECT_INT("add past the first allocation", pgs_proto_body_add(&b, src, big), 0);
    PGS_EXPECT_INT("grown: length", b.len, 3 + big);
    PGS_EXPECT_INT("grown: room for the NUL", b.cap >= b.len + 1, 1);
    PGS_EXPECT_INT("grown: the first piece kept", memcmp(b.data, "abc", 3), 0);
    PGS_EXPECT_INT("grown: the second appended", memcmp(b.data + 3, src, big), 0);
    PGS_EXPECT_INT("grown: NUL-terminated", b.data[b.len], '\0');
    size_t cap = b.cap;
    PGS_EXPECT_INT("add one byte", pgs_proto_body_add(&b, "Z", 1), 0);
    PGS_EXPECT_INT("one byte: length", b.len, 4 + big);
    PGS_EXPECT_INT("one byte: last", b.data[b.len - 1], 'Z');
    PGS_EXPECT_INT("one byte: NUL-terminated", b.data[b.len], '\0');
    PGS_EXPECT_INT("capacity never shrinks", b.cap >= cap, 1);
    free(src);

    /* One byte past the total: refused, freed and emptied. */
    size_t len = b.len;
    PGS_EXPECT_INT("one byte past the total",
                   pgs_proto_body_add(&b, "x", PGS_PROTO_MAX_TOTAL - len + 1), -1);
    PGS_EXPECT_INT("refused: emptied", b.data == NULL && b.len == 0 && b.cap == 0, 1);
    /* Usable again; refusal also from empty, and for a length that would
     * wrap around if it were added first. */
    PGS_EXPECT_INT("add after a refusal", pgs_proto_body_add(&b, "ok", 2), 0);
    PGS_EXPECT_STR("after a refusal", b.data, "ok");
    PGS_EXPECT_INT("SIZE_MAX", pgs_proto_body_add(&b, "x", SIZE_MAX), -1);
    PGS_EXPECT_INT("SIZE_MAX: emptied", b.data == NULL && b.len == 0, 1);
    PGS_EXPECT_INT("the total + 1 from empty", pgs_proto_body_add(&b, "x", PGS_PROTO_MAX_TOTAL + 1),
                   -1);
    PGS_EXPECT_INT("from empty: still empty", b.data == NULL && b.len == 0 && b.cap == 0, 1);
    pgs_proto_body_free(&b); /* freeing an empty body is harmless (ASan: no double free) */
}

static void
test_zmq_round_trip(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(router);
    assert_non_null(dealer);
    int one = 1, zero = 0;
    assert_int_equal(zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero), 0);
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "worker-1", 8), 0);
    assert_int_equal(zmq_bind(router, "inproc://pgs-test-proto"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://pgs-test-proto"), 0);

    pgs_proto_inbox_t *in = calloc(1, sizeof *in);
    assert_non_null(in);
    pgs_proto_msg_t d;

    /* Nothing waiting. */
    PGS_EXPECT_INT("recv on an empty router", pgs_proto_recv(router, 1, in), 0);
    PGS_EXPECT_INT("recv on an empty dealer", pgs_proto_recv(dealer, 0, in), 0);

    /* DEALER → ROUTER: READY, with the dealer's identity. */
    pgs_proto_msg_t ready = {
        .cmd = PGS_PROTO_READY, .service = "auth", .instance = "2", .capacity = 8};
    PGS_EXPECT_INT("send READY", pgs_proto_send(dealer, NULL, 0, &ready), 0);
    s_wait_readable(router);
    PGS_EXPECT_INT("recv READY", pgs_proto_recv(router, 1, in), 1);
    PGS_EXPECT_INT("READY identity length", in->identity_len, 8);
    PGS_EXPECT_INT("READY identity", memcmp(in->identity, "worker-1", 8), 0);
    PGS_EXPECT_INT("READY frames (without identity)", in->nframes, 5);
    PGS_EXPECT_INT("decode READY",
                   pgs_proto_decode(in->frames, in->nframes, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_INT("READY cmd", d.cmd, PGS_PROTO_READY);
    PGS_EXPECT_STR("READY service", d.service, "auth");
    PGS_EXPECT_STR("READY instance", d.instance, "2");
    PGS_EXPECT_INT("READY capacity", d.capacity, 8);
    pgs_proto_inbox_close(in);
    PGS_EXPECT_INT("inbox parts after close", in->nparts, 0);
    pgs_proto_inbox_close(in); /* a second close is a no-op */

    /* ROUTER → DEALER: REQUEST addressed by identity. */
    pgs_proto_msg_t req = {.cmd = PGS_PROTO_REQUEST,
                           .id = 77,
                           .service = "auth",
                           .route = "me.get",
                           .context = "{\"request_id\":\"r\"}",
                           .params = "{}",
                           .body = s_bin_body,
                           .body_len = sizeof s_bin_body};
    PGS_EXPECT_INT("send REQUEST to worker-1", pgs_proto_send(router, "worker-1", 8, &req), 0);
    s_wait_readable(dealer);
    PGS_EXPECT_INT("recv REQUEST", pgs_proto_recv(dealer, 0, in), 1);
    PGS_EXPECT_INT("REQUEST identity length on a dealer", in->identity_len, 0);
    PGS_EXPECT_INT("REQUEST frames", in->nframes, 9);
    PGS_EXPECT_INT("decode REQUEST",
                   pgs_proto_decode(in->frames, in->nframes, s_scratch, SCRATCH_LEN, &d), 0);
    PGS_EXPECT_INT("REQUEST id", d.id, 77);
    PGS_EXPECT_STR("REQUEST route", d.route, "me.get");
    PGS_EXPECT_STR("REQUEST context", d.context, "{\"request_id\":\"r\"}");
    s_expect_body("REQUEST body", d.body, d.body_len, s_bin_body, sizeof s_bin_body);
    pgs_proto_inbox_close(in);

    /* An unknown identity under ROUTER_MANDATORY. */
    errno = 0;
    PGS_EXPECT_INT("send to an unknown identity", pgs_proto_send(router, "nobody", 6, &req), -1);
    PGS_EXPECT_INT("send to an unknown identity errno", errno, EHOSTUNREACH);
    pgs_proto_msg_t bad = {.cmd = (pgs_proto_cmd_t)9};
    PGS_EXPECT_INT("send an unknown command", pgs_proto_send(dealer, NULL, 0, &bad), -1);
    PGS_EXPECT_INT("send an unknown command errno", errno, EINVAL);

    /* Too many parts: rejected, drained, and the next message reads fine. */
    static const struct {
        int parts;
        int rc;
    } sizes[] = {{9, 1}, {10, -1}, {11, -1}, {40, -1}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char what[64];
        s_send_raw(dealer, sizes[i].parts);
        pgs_proto_msg_t hb = {.cmd = PGS_PROTO_HEARTBEAT};
        PGS_EXPECT_INT("send HEARTBEAT", pgs_proto_send(dealer, NULL, 0, &hb), 0);
        s_wait_readable(router);
        /* On the router, identity + parts. */
        snprintf(what, sizeof what, "router recv of identity + %d parts", sizes[i].parts);
        PGS_EXPECT_INT(what, pgs_proto_recv(router, 1, in), sizes[i].rc);
        if (sizes[i].rc == 1) {
            PGS_EXPECT_INT(what, in->nframes, sizes[i].parts);
            pgs_proto_inbox_close(in);
        } else {
            PGS_EXPECT_INT("parts held after a rejected message", in->nparts, 0);
        }
        s_wait_readable(router);
        snprintf(what, sizeof what, "recv after %d parts", sizes[i].parts);
        PGS_EXPECT_INT(what, pgs_proto_recv(router, 1, in), 1);
        PGS_EXPECT_INT(what, pgs_proto_decode(in->frames, in->nframes, s_scratch, SCRATCH_LEN, &d),
                       0);
        PGS_EXPECT_INT(what, d.cmd, PGS_PROTO_HEARTBEAT);
        PGS_EXPECT_INT("identity after a drained message", memcmp(in->identity, "worker-1", 8), 0);
        pgs_proto_inbox_close(in);
        PGS_EXPECT_INT("router queue empty", pgs_proto_recv(router, 1, in), 0);
    }
    /* The same on the dealer side (no identity): 9 parts fit, 10 do not. */
    static const struct {
        int parts;
        int rc;
    } dsizes[] = {{9, 1}, {10, -1}, {11, -1}, {25, -1}};
    for (size_t i = 0; i < sizeof dsizes / sizeof dsizes[0]; i++) {
        char what[64];
        /* The router prepends the identity frame for routing only. */
        assert_int_equal(zmq_send(router, "worker-1", 8, ZMQ_SNDMORE), 8);
        s_send_raw(router, dsizes[i].parts);
        pgs_proto_msg_t end = {.cmd = PGS_PROTO_END, .id = 5};
        PGS_EXPECT_INT("send END", pgs_proto_send(router, "worker-1", 8, &end), 0);
        s_wait_readable(dealer);
        snprintf(what, sizeof what, "dealer recv of %d parts", dsizes[i].parts);
        PGS_EXPECT_INT(what, pgs_proto_recv(dealer, 0, in), dsizes[i].rc);
        if (dsizes[i].rc == 1) {
            PGS_EXPECT_INT(what, in->nframes, dsizes[i].parts);
            pgs_proto_inbox_close(in);
        }
        s_wait_readable(dealer);
        snprintf(what, sizeof what, "dealer recv after %d parts", dsizes[i].parts);
        PGS_EXPECT_INT(what, pgs_proto_recv(dealer, 0, in), 1);
        PGS_EXPECT_INT(what, pgs_proto_decode(in->frames, in->nframes, s_scratch, SCRATCH_LEN, &d),
                       0);
        PGS_EXPECT_INT(what, d.cmd, PGS_PROTO_END);
        PGS_EXPECT_INT(what, d.id, 5);
        pgs_proto_inbox_close(in);
    }

    free(in);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_decode_limits),
        cmocka_unit_test(test_zmq_round_trip),
        cmocka_unit_test(test_send_refuses_oversized_frames),
        cmocka_unit_test(test_send_whole_request),
        cmocka_unit_test(test_send_whole_reply),
        cmocka_unit_test(test_send_whole_routed),
        cmocka_unit_test(test_body_add),
    };
    return cmocka_run_group_tests_name("pgs_proto", tests, s_setup, s_teardown);
}
