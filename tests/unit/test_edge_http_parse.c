/*
 * Unit tests of services/edge/edge_http_parse, the strict HTTP/1.1 parser
 * (RFC 9112): edge_http_head_end finds the end of a head the same whether
 * the bytes come all at once, one at a time or split anywhere, leaves
 * pipelined bytes alone, allows up to 4 empty lines first, and refuses bare
 * LF, bare CR and NUL (400), a long request line (414) and a large field
 * block (431); edge_http_parse_head parses the request line (origin- and
 * absolute-form targets, methods, versions: HTTP/0.9 is -1, 2.0 is 505),
 * Host, Content-Length and Transfer-Encoding framing, field syntax, the
 * field count (431), Connection and Expect, and calls on_field in order
 * with trimmed names and values; edge_http_chunked decodes chunked bodies
 * (extensions, trailers, any hex case, fed whole or byte by byte), refuses
 * malformed sizes and line endings (400) and large trailers (431), and
 * consumes nothing past the body's final CRLF.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "edge/edge_http_parse.h"
#include "pgs_test.h"

/* A string literal and its length (it may hold NUL bytes). */
#define LIT(s) (s), (sizeof(s) - 1)

/* ---- edge_http_head_end ---- */

/* Runs edge_http_head_end on buf[0..len) all at once, one byte at a time
 * with the same scan state, and split in two at every point: all must give
 * the same answer. Returns it, with *status the refusal's status (0 when
 * none). */
static long
s_head_end(const char *what, const char *buf, size_t len, size_t max_line, size_t max_fields,
           int *status)
{
    edge_http_scan_t s = {0};
    edge_http_err_t e = {0, NULL};
    long all = edge_http_head_end(buf, len, &s, max_line, max_fields, &e);
    int all_status = all < 0 ? e.status : 0;
    if (all < 0 && !e.message)
        fail_msg("%s: refused %d without a message", what, e.status);

    edge_http_scan_t s1 = {0};
    edge_http_err_t e1 = {0, NULL};
    long one = 0;
    for (size_t k = 1; k <= len && one == 0; k++)
        one = edge_http_head_end(buf, k, &s1, max_line, max_fields, &e1);
    if (one != all || (one < 0 ? e1.status : 0) != all_status)
        fail_msg("%s: byte by byte gave %ld (status %d), all at once %ld (status %d)", what, one,
                 one < 0 ? e1.status : 0, all, all_status);

    for (size_t k = 1; k < len; k++) {
        edge_http_scan_t s2 = {0};
        edge_http_err_t e2 = {0, NULL};
        long two = edge_http_head_end(buf, k, &s2, max_line, max_fields, &e2);
        if (two == 0)
            two = edge_http_head_end(buf, len, &s2, max_line, max_fields, &e2);
        if (two != all || (two < 0 ? e2.status : 0) != all_status)
            fail_msg("%s: split at %zu gave %ld (status %d), all at once %ld (status %d)", what, k,
                     two, two < 0 ? e2.status : 0, all, all_status);
    }
    *status = all_status;
    return all;
}

/* Expects buf to be refused with want. */
static void
s_head_end_refused(const char *what, const char *buf, size_t len, size_t max_line,
                   size_t max_fields, int want)
{
    int status = 0;
    long r = s_head_end(what, buf, len, max_line, max_fields, &status);
    PGS_EXPECT_INT(what, r, -1);
    PGS_EXPECT_INT(what, status, want);
}

static void
test_head_end_complete(void **state)
{
    (void)state;
    static const char head[] = "GET /v1/bots?limit=2 HTTP/1.1\r\n"
                               "Host: example.com\r\n"
                               "Accept: */*\r\n"
                               "\r\n";
    int status = -2;
    PGS_EXPECT_INT("complete head", s_head_end("complete head", LIT(head), 8192, 16384, &status),
                   sizeof head - 1);
    PGS_EXPECT_INT("complete head status", status, 0);

    /* No fields at all: the request line and the empty line. */
    static const char bare[] = "GET / HTTP/1.0\r\n\r\n";
    PGS_EXPECT_INT("head without fields", s_head_end("no fields", LIT(bare), 8192, 16384, &status),
                   sizeof bare - 1);

    /* Byte by byte, 0 until the last byte, then the length. */
    edge_http_scan_t s = {0};
    edge_http_err_t e = {0, NULL};
    for (size_t k = 1; k < sizeof head - 1; k++) {
        char what[64];
        snprintf(what, sizeof what, "byte by byte, %zu of %zu bytes", k, sizeof head - 1);
        PGS_EXPECT_INT(what, edge_http_head_end(head, k, &s, 8192, 16384, &e), 0);
    }
    PGS_EXPECT_INT("byte by byte, last byte",
                   edge_http_head_end(head, sizeof head - 1, &s, 8192, 16384, &e), sizeof head - 1);

    /* Incomplete heads. */
    static const char *const incomplete[] = {
        "G",
        "GET / HTTP/1.1",
        "GET / HTTP/1.1\r",
        "GET / HTTP/1.1\r\n",
        "GET / HTTP/1.1\r\nHost: a",
        "GET / HTTP/1.1\r\nHost: a\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r",
        "\r\n",
        "\r\n\r\n\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof incomplete / sizeof incomplete[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "incomplete head #%zu", i);
        PGS_EXPECT_INT(
            what, s_head_end(what, incomplete[i], strlen(incomplete[i]), 8192, 16384, &status), 0);
    }
}

static void
test_head_end_pipelined(void **state)
{
    (void)state;
    static const char first[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char two[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                              "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    static const char body[] = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n"
                               "\r\n\r\n";
    int status = 0;
    PGS_EXPECT_INT("two pipelined heads", s_head_end("two heads", LIT(two), 8192, 16384, &status),
                   sizeof first - 1);
    PGS_EXPECT_INT("head and a body of CRLFs",
                   s_head_end("head and body", LIT(body), 8192, 16384, &status),
                   sizeof body - 1 - 4);
    /* The start of the next request, however partial or malformed, is not
     * looked at. */
    static const char junk[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n\n\r\0";
    PGS_EXPECT_INT("head and junk", s_head_end("head and junk", LIT(junk), 8192, 16384, &status),
                   sizeof first - 1);
}

static void
test_head_end_leading_empty_lines(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *prefixes[] = {"", "\r\n", "\r\n\r\n", "\r\n\r\n\r\n", "\r\n\r\n\r\n\r\n"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char buf[128], what[64];
        int n = snprintf(buf, sizeof buf, "%s%s", prefixes[i], req);
        snprintf(what, sizeof what, "%zu empty lines first", i);
        int status = 0;
        PGS_EXPECT_INT(what, s_head_end(what, buf, (size_t)n, 8192, 16384, &status), n);
    }
    s_head_end_refused("5 empty lines first",
                       LIT("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 8192, 16384,
                       400);
    s_head_end_refused("8 empty lines", LIT("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"), 8192, 16384, 400);
}

static void
test_head_end_bare_lf(void **state)
{
    (void)state;
    s_head_end_refused("LF first", LIT("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 8192, 16384, 400);
    s_head_end_refused("LF empty line first", LIT("\r\n\nGET / HTTP/1.1\r\n\r\n"), 8192, 16384,
                       400);
    s_head_end_refused("LF after the request line", LIT("GET / HTTP/1.1\nHost: a\r\n\r\n"), 8192,
                       16384, 400);
    s_head_end_refused("LF after a field", LIT("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), 8192,
                       16384, 400);
    s_head_end_refused("LF as the empty line", LIT("GET / HTTP/1.1\r\nHost: a\r\n\n"), 8192, 16384,
                       400);
    s_head_end_refused("LF only", LIT("GET / HTTP/1.1\n\n"), 8192, 16384, 400);
}

static void
test_head_end_bare_cr(void **state)
{
    (void)state;
    s_head_end_refused("CR in the request line", LIT("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), 8192,
                       16384, 400);
    s_head_end_refused("CR in a field value", LIT("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 8192,
                       16384, 400);
    s_head_end_refused("CR CR LF", LIT("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), 8192, 16384, 400);
    s_head_end_refused("CR as the empty line", LIT("GET / HTTP/1.1\r\nHost: a\r\n\rX"), 8192, 16384,
                       400);
    s_head_end_refused("CR first", LIT("\rGET / HTTP/1.1\r\n\r\n"), 8192, 16384, 400);
}

static void
test_head_end_nul(void **state)
{
    (void)state;
    s_head_end_refused("NUL in the request line", LIT("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"), 8192,
                       16384, 400);
    s_head_end_refused("NUL in a field", LIT("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), 8192, 16384,
                       400);
    s_head_end_refused("NUL first", LIT("\0GET / HTTP/1.1\r\n\r\n"), 8192, 16384, 400);
    s_head_end_refused("NUL before the LF", LIT("GET / HTTP/1.1\r\nHost: a\r\n\r\0"), 8192, 16384,
                       400);
}

/* "GET /aaa… HTTP/1.1": a request line of exactly n bytes (without CRLF),
 * then Host and the empty line, into buf. Returns the length. */
static size_t
s_long_line(char *buf, size_t size, size_t n)
{
    assert_true(n >= 14 && n + 32 < size);
    size_t k = 0;
    memcpy(buf, "GET /", 5);
    k = 5;
    while (k < n - 9)
        buf[k++] = 'a';
    static const char tail[] = " HTTP/1.1\r\nHost: a\r\n\r\n";
    memcpy(buf + k, tail, sizeof tail - 1);
    return k + sizeof tail - 1;
}

static void
test_head_end_request_line_too_long(void **state)
{
    (void)state;
    char buf[512];
    int status = 0;
    size_t n = s_long_line(buf, sizeof buf, 40);
    PGS_EXPECT_INT("40-byte request line, max 64",
                   s_head_end("40 of 64", buf, n, 64, 16384, &status), n);
    n = s_long_line(buf, sizeof buf, 100);
    s_head_end_refused("100-byte request line, max 64", buf, n, 64, 16384, 414);
    n = s_long_line(buf, sizeof buf, 400);
    s_head_end_refused("400-byte request line, max 64", buf, n, 64, 16384, 414);
    /* Refused as soon as the line is known to be too long, without its end. */
    n = s_long_line(buf, sizeof buf, 400);
    edge_http_scan_t s = {0};
    edge_http_err_t e = {0, NULL};
    PGS_EXPECT_INT("partial 200 bytes of a too long line",
                   edge_http_head_end(buf, 200, &s, 64, 16384, &e), -1);
    PGS_EXPECT_INT("partial too long line status", e.status, 414);
    /* After empty lines, the line is measured from its own start. */
    char buf2[600];
    n = s_long_line(buf, sizeof buf, 60);
    memcpy(buf2, "\r\n\r\n\r\n\r\n", 8);
    memcpy(buf2 + 8, buf, n);
    PGS_EXPECT_INT("60-byte request line after 4 empty lines, max 64",
                   s_head_end("60 after empty lines", buf2, n + 8, 64, 16384, &status), n + 8);
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version,
 * without its CRLF; the header: "A request line longer than max_line bytes
 * is 414". */
static void
test_head_end_request_line_limit_boundary(void **state)
{
    (void)state;
    char buf[512];
    int status = 0;
    size_t n = s_long_line(buf, sizeof buf, 64);
    PGS_EXPECT_INT("request line of exactly max_line (64) bytes",
                   s_head_end("64 of 64", buf, n, 64, 16384, &status), n);
    n = s_long_line(buf, sizeof buf, 65);
    s_head_end_refused("request line of max_line + 1 (65) bytes", buf, n, 64, 16384, 414);
}

/* A head whose field lines (each with its CRLF) take exactly n bytes:
 * "Host: a\r\n" and "X: bbb…\r\n". Returns the length. */
static size_t
s_fields(char *buf, size_t size, size_t n)
{
    static const char line[] = "GET / HTTP/1.1\r\nHost: a\r\n";
    assert_true(n >= 9 + 5 && n + 32 < size);
    size_t k = sizeof line - 1;
    memcpy(buf, line, k);
    memcpy(buf + k, "X: ", 3);
    k += 3;
    size_t end = 16 + n - 2;
    while (k < end)
        buf[k++] = 'b';
    memcpy(buf + k, "\r\n\r\n", 4);
    return k + 4;
}

static void
test_head_end_fields_too_large(void **state)
{
    (void)state;
    char buf[512];
    int status = 0;
    size_t n = s_fields(buf, sizeof buf, 40);
    PGS_EXPECT_INT("40 bytes of fields, max 64", s_head_end("40 of 64", buf, n, 8192, 64, &status),
                   n);
    n = s_fields(buf, sizeof buf, 200);
    s_head_end_refused("200 bytes of fields, max 64", buf, n, 8192, 64, 431);
    s_head_end_refused(
        "many small fields, max 16",
        LIT("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"), 8192, 16,
        431);
    /* The boundary: the block may be max_fields_bytes long plus its final
     * CRLF. */
    n = s_fields(buf, sizeof buf, 66);
    PGS_EXPECT_INT("66 bytes of fields (64 + CRLF), max 64",
                   s_head_end("66 of 64", buf, n, 8192, 64, &status), n);
    n = s_fields(buf, sizeof buf, 67);
    s_head_end_refused("67 bytes of fields, max 64", buf, n, 8192, 64, 431);
    /* Refused without the end of the head. */
    n = s_fields(buf, sizeof buf, 200);
    edge_http_scan_t s = {0};
    edge_http_err_t e = {0, NULL};
    PGS_EXPECT_INT("partial fields past the limit", edge_http_head_end(buf, 120, &s, 8192, 64, &e),
                   -1);
    PGS_EXPECT_INT("partial fields past the limit status", e.status, 431);
    /* The request line does not count toward the fields. */
    char big[512];
    n = s_long_line(big, sizeof big, 200);
    PGS_EXPECT_INT("long request line, small fields",
                   s_head_end("long line", big, n, 8192, 16, &status), n);
}

/* ---- edge_http_parse_head ---- */

#define MAX_SEEN 16

typedef struct {
    int n;
    char name[MAX_SEEN][64];
    char value[MAX_SEEN][256];
} s_seen_t;

static void
s_on_field(void *arg, const char *name, size_t name_len, const char *value, size_t value_len)
{
    s_seen_t *seen = arg;
    if (seen->n >= MAX_SEEN || name_len >= sizeof seen->name[0] ||
        value_len >= sizeof seen->value[0])
        fail_msg("on_field: too many or too long fields");
    memcpy(seen->name[seen->n], name, name_len);
    seen->name[seen->n][name_len] = '\0';
    memcpy(seen->value[seen->n], value, value_len);
    seen->value[seen->n][value_len] = '\0';
    seen->n++;
}

/* A span as a string, in buf; NULL for NULL. */
static const char *
s_str(char *buf, size_t size, const char *p, size_t n)
{
    if (!p)
        return NULL;
    if (n >= size)
        fail_msg("span of %zu bytes too long", n);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static s_seen_t s_seen;

/* Parses head (a NUL-free string) with max_fields. Returns 0 or -1. */
static int
s_parse_n(const char *head, int max_fields, edge_http_head_t *h, edge_http_err_t *e)
{
    memset(&s_seen, 0, sizeof s_seen);
    e->status = 0;
    e->message = NULL;
    int rc = edge_http_parse_head(head, strlen(head), max_fields, s_on_field, &s_seen, h, e);
    if (rc < 0 && !e->message)
        fail_msg("refused %d without a message", e->status);
    return rc;
}

/* Parses head, which must be accepted. */
static void
s_ok(const char *what, const char *head, edge_http_head_t *h)
{
    edge_http_err_t e;
    if (s_parse_n(head, 100, h, &e) != 0)
        fail_msg("%s: refused with %d (%s), want accepted", what, e.status,
                 e.message ? e.message : "");
}

/* Parses head, which must be refused with want. */
static void
s_refused(const char *what, const char *head, int want)
{
    edge_http_head_t h;
    edge_http_err_t e;
    int rc = s_parse_n(head, 100, &h, &e);
    if (rc == 0)
        fail_msg("%s: accepted, want refused with %d", what, want);
    PGS_EXPECT_INT(what, rc, -1);
    PGS_EXPECT_INT(what, e.status, want);
}

static void
test_parse_request_line(void **state)
{
    (void)state;
    char b[256];
    edge_http_head_t h;
    s_ok("GET with query", "GET /v1/bots?limit=2 HTTP/1.1\r\nHost: example.com\r\n\r\n", &h);
    PGS_EXPECT_STR("method", s_str(b, sizeof b, h.method, h.method_len), "GET");
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/v1/bots");
    PGS_EXPECT_STR("query", s_str(b, sizeof b, h.query, h.query_len), "limit=2");
    PGS_EXPECT_INT("version", h.version, 11);
    PGS_EXPECT_INT("content_length", h.content_length, -1);
    PGS_EXPECT_INT("chunked", h.chunked, 0);
    PGS_EXPECT_INT("connection_close", h.connection_close, 0);
    PGS_EXPECT_INT("connection_keep_alive", h.connection_keep_alive, 0);
    PGS_EXPECT_INT("expect_continue", h.expect_continue, 0);
    PGS_EXPECT_INT("nfields", h.nfields, 1);

    s_ok("no query", "DELETE /v1/bots/bot_1 HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("method", s_str(b, sizeof b, h.method, h.method_len), "DELETE");
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/v1/bots/bot_1");
    PGS_EXPECT_NULL("query", h.query);

    s_ok("empty query", "GET /v1/bots? HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/v1/bots");
    PGS_EXPECT_STR("empty query", s_str(b, sizeof b, h.query, h.query_len), "");

    s_ok("query with '?' and '/'", "GET /a?b=/c?d HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/a");
    PGS_EXPECT_STR("query", s_str(b, sizeof b, h.query, h.query_len), "b=/c?d");

    s_ok("HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", &h);
    PGS_EXPECT_INT("version", h.version, 10);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/healthz");
    PGS_EXPECT_INT("nfields", h.nfields, 0);

    s_ok("empty lines first", "\r\n\r\nPOST /v1/x HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("method after empty lines", s_str(b, sizeof b, h.method, h.method_len), "POST");
    PGS_EXPECT_STR("path after empty lines", s_str(b, sizeof b, h.path, h.path_len), "/v1/x");

    s_ok("percent-encoded path", "GET /v1/a%20b HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("path kept encoded", s_str(b, sizeof b, h.path, h.path_len), "/v1/a%20b");

    s_refused("no target", "GET  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("two spaces", "GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("no method", " /x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("one word", "GET\r\nHost: a\r\n\r\n", 400);
    s_refused("extra word", "GET /x HTTP/1.1 x\r\nHost: a\r\n\r\n", 400);
    s_refused("trailing space", "GET /x HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
}

static void
test_parse_host(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_refused("HTTP/1.1 without Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
    s_refused("HTTP/1.1 without any field", "GET / HTTP/1.1\r\n\r\n", 400);
    s_refused("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    s_refused("two identical Host fields", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
    s_refused("two Host fields in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    s_ok("lowercase host", "GET / HTTP/1.1\r\nhost: a\r\n\r\n", &h);
    s_ok("HOST", "GET / HTTP/1.1\r\nHOST: a\r\n\r\n", &h);
    s_ok("HTTP/1.0 with Host", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_INT("version", h.version, 10);
    s_refused("absolute form still needs Host", "GET http://example.com/ HTTP/1.1\r\n\r\n", 400);
    s_refused("a Host-like name", "GET / HTTP/1.1\r\nHosts: a\r\n\r\n", 400);
}

static void
test_parse_absolute_form(void **state)
{
    (void)state;
    char b[256];
    edge_http_head_t h;
    s_ok("absolute form", "GET http://example.com/v1/me?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
         &h);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/v1/me");
    PGS_EXPECT_STR("query", s_str(b, sizeof b, h.query, h.query_len), "x=1");

    s_ok("absolute form, no path", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
         &h);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/");
    PGS_EXPECT_NULL("query", h.query);

    s_ok("absolute form, no path, query",
         "GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", &h);
    PGS_EXPECT_STR("path", s_str(b, sizeof b, h.path, h.path_len), "/");
    PGS_EXPECT_STR("query", s_str(b, sizeof b, h.query, h.query_len), "x=1");

    s_ok("https", "POST https://example.com:8443/v1/bots HTTP/1.1\r\nHost: x\r\n\r\n", &h);
    PGS_EXPECT_STR("https path", s_str(b, sizeof b, h.path, h.path_len), "/v1/bots");
    PGS_EXPECT_NULL("https query", h.query);

    s_ok("upper-case scheme", "GET HTTP://example.com/v1/me HTTP/1.1\r\nHost: x\r\n\r\n", &h);
    PGS_EXPECT_STR("upper-case scheme path", s_str(b, sizeof b, h.path, h.path_len), "/v1/me");

    s_ok("root", "GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", &h);
    PGS_EXPECT_STR("root path", s_str(b, sizeof b, h.path, h.path_len), "/");

    s_refused("no host", "GET http:///v1/me HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    s_refused("no host, nothing else", "GET http:// HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    s_refused("another scheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    s_refused("relative path", "GET v1/me HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    s_refused("asterisk form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    s_refused("authority form", "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

static void
test_parse_fragment(void **state)
{
    (void)state;
    s_refused("fragment", "GET /v1/me#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("fragment after a query", "GET /v1/me?a=1#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("bare '#'", "GET /# HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("absolute form with a fragment",
              "GET http://example.com/v1/me#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

/* RFC 9112 §3.2.2: absolute-form = absolute-URI, which (RFC 3986 §4.3) has
 * no fragment, whether or not the URI has a path. */
static void
test_parse_absolute_form_fragment_without_path(void **state)
{
    (void)state;
    s_refused("absolute form, no path, fragment",
              "GET http://example.com#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("absolute form, no path, query and fragment",
              "GET http://example.com?a=1#top HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_parse_bad_target(void **state)
{
    (void)state;
    s_refused("space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("tab in the target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("control byte in the target",
              "GET /a\x01"
              "b HTTP/1.1\r\nHost: a\r\n\r\n",
              400);
    s_refused("DEL in the target",
              "GET /a\x7f"
              "b HTTP/1.1\r\nHost: a\r\n\r\n",
              400);
    s_refused("0x80 in the target",
              "GET /a\x80"
              "b HTTP/1.1\r\nHost: a\r\n\r\n",
              400);
    s_refused("UTF-8 in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("0xff in the query", "GET /a?q=\xff HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("control byte in an absolute target",
              "GET http://exa\x02mple.com/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_parse_method(void **state)
{
    (void)state;
    char b[64];
    edge_http_head_t h;
    s_ok("15-character method", "ABCDEFGHIJKLMNO / HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("15-character method", s_str(b, sizeof b, h.method, h.method_len),
                   "ABCDEFGHIJKLMNO");
    s_ok("token characters", "!#$%&'*+-.^_`|~ / HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_STR("token characters", s_str(b, sizeof b, h.method, h.method_len),
                   "!#$%&'*+-.^_`|~");
    s_ok("digits and letters", "M-1.x / HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_INT("M-1.x length", h.method_len, 5);
    s_refused("16-character method", "ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("long method", "GETGETGETGETGETGETGETGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("'@' in the method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("'(' in the method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("':' in the method", "GET: / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("tab in the method", "G\tT / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("0x80 in the method", "G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_parse_version(void **state)
{
    (void)state;
    edge_http_head_t h;
    edge_http_err_t e;
    int rc = s_parse_n("GET /x\r\n\r\n", 100, &h, &e);
    PGS_EXPECT_INT("HTTP/0.9 request line", rc, -1);
    PGS_EXPECT_INT("HTTP/0.9 status (close without a reply)", e.status, -1);
    rc = s_parse_n("GET /x\r\nHost: a\r\n\r\n", 100, &h, &e);
    PGS_EXPECT_INT("HTTP/0.9 status with a field", e.status, -1);

    s_refused("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    s_refused("HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
    s_refused("HTTP/0.9 with a version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
    s_refused("HTTP/9.9", "GET / HTTP/9.9\r\nHost: a\r\n\r\n", 505);

    /* RFC 9110 §2.5/§6.2: a 1.x minor version beyond what the server
     * implements is treated as the highest it does, 1.1. */
    s_ok("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_INT("HTTP/1.2 treated as", h.version, 11);
    s_ok("HTTP/1.9", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_INT("HTTP/1.9 treated as", h.version, 11);
    s_refused("HTTP/1.2 without Host (as 1.1)", "GET / HTTP/1.2\r\n\r\n", 400);

    s_refused("lower-case http", "GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/1", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/11", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/1,1", "GET / HTTP/1,1\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/1.x", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
    s_refused("HTTP/x.1", "GET / HTTP/x.1\r\nHost: a\r\n\r\n", 400);
    s_refused("FOO/1.1", "GET / FOO/1.1\r\nHost: a\r\n\r\n", 400);
}

static void
test_parse_content_length(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_ok("Content-Length: 117", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 117\r\n\r\n", &h);
    PGS_EXPECT_INT("Content-Length", h.content_length, 117);
    PGS_EXPECT_INT("not chunked", h.chunked, 0);
    s_ok("Content-Length: 0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &h);
    PGS_EXPECT_INT("Content-Length 0", h.content_length, 0);
    s_ok("content-length, spaces around",
         "POST / HTTP/1.1\r\nHost: a\r\ncontent-length:  \t117 \t\r\n\r\n", &h);
    PGS_EXPECT_INT("trimmed Content-Length", h.content_length, 117);
    s_ok("no space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:117\r\n\r\n", &h);
    PGS_EXPECT_INT("Content-Length without a space", h.content_length, 117);
    s_ok("leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", &h);
    PGS_EXPECT_INT("Content-Length 007", h.content_length, 7);
    s_ok("18 digits", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999\r\n\r\n",
         &h);
    PGS_EXPECT_INT("18-digit Content-Length", h.content_length, 999999999999999999LL);
    s_ok("HTTP/1.0", "POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\n", &h);
    PGS_EXPECT_INT("HTTP/1.0 Content-Length", h.content_length, 5);

    static const char *const bad[] = {
        "+117",
        "-1",
        "0x10",
        "1e3",
        "117, 117",
        "117,117",
        "",
        "1 17",
        "1\t17",
        "117;",
        "11a7",
        "1234567890123456789",
        "9999999999999999999",
        "99999999999999999999999999",
        "\xd9\xa1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char head[256], what[96];
        snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 bad[i]);
        snprintf(what, sizeof what, "Content-Length: \"%s\"", bad[i]);
        s_refused(what, head, 400);
    }

    /* RFC 9110 §8.6: identical values may be taken as one. */
    s_ok("two identical Content-Length fields",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 117\r\nContent-Length: 117\r\n\r\n", &h);
    PGS_EXPECT_INT("identical Content-Length fields", h.content_length, 117);
    s_refused("two different Content-Length fields",
              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 117\r\nContent-Length: 118\r\n\r\n",
              400);
    s_refused("Content-Length 0 then 5",
              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n", 400);
    s_refused("a good then a bad Content-Length",
              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n", 400);
}

static void
test_parse_transfer_encoding(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_ok("chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &h);
    PGS_EXPECT_INT("chunked", h.chunked, 1);
    PGS_EXPECT_INT("no Content-Length", h.content_length, -1);
    s_ok("Chunked, any case", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  Chunked \r\n\r\n",
         &h);
    PGS_EXPECT_INT("Chunked", h.chunked, 1);

    s_refused("chunked, chunked",
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    s_refused("gzip, chunked",
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400);
    s_refused("identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400);
    s_refused("gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    s_refused("empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400);
    s_refused("chunked;x=1", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
              400);
    s_refused("two Transfer-Encoding fields",
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              400);
    s_refused("gzip then chunked in two fields",
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              400);
    s_refused("Content-Length then Transfer-Encoding",
              "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
              "Transfer-Encoding: chunked\r\n\r\n",
              400);
    s_refused("Transfer-Encoding then Content-Length",
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
              "Content-Length: 5\r\n\r\n",
              400);
    s_refused("Transfer-Encoding in HTTP/1.0",
              "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    s_refused("Transfer-Encoding in HTTP/1.0 with Host",
              "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

static void
test_parse_field_syntax(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_refused("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
    s_refused("tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
    s_refused("space before the colon of another field",
              "GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", 400);
    s_refused("obs-fold with a space", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400);
    s_refused("obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400);
    s_refused("space before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
    s_refused("\\x01 in a value",
              "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01"
              "c\r\n\r\n",
              400);
    s_refused("\\x7f in a value",
              "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f"
              "c\r\n\r\n",
              400);
    s_refused("\\x1f at the end of a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: bc\x1f\r\n\r\n",
              400);
    s_refused("\\x0b in the Host value", "GET / HTTP/1.1\r\nHost: a\x0b\r\n\r\n", 400);
    s_refused("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400);
    s_refused("no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A b\r\n\r\n", 400);
    s_refused("'(' in a name", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400);
    s_refused("'/' in a name", "GET / HTTP/1.1\r\nHost: a\r\nX/A: b\r\n\r\n", 400);
    s_refused("0x80 in a name",
              "GET / HTTP/1.1\r\nHost: a\r\nX\x80"
              "A: b\r\n\r\n",
              400);
    s_refused("space in a name", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n", 400);

    /* What a value may hold. */
    s_ok("tab inside a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\tc\r\n\r\n", &h);
    PGS_EXPECT_STR("tab inside a value", s_seen.value[1], "b\tc");
    s_ok("obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n", &h);
    PGS_EXPECT_STR("obs-text in a value", s_seen.value[1], "caf\xc3\xa9");
    s_ok("empty value", "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n\r\n", &h);
    PGS_EXPECT_STR("empty value", s_seen.value[1], "");
    s_ok("colon in a value", "GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n", &h);
    PGS_EXPECT_STR("colon in a value", s_seen.value[0], "a:8080");
}

static void
test_parse_max_fields(void **state)
{
    (void)state;
    edge_http_head_t h;
    edge_http_err_t e;
    static const char three[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    static const char four[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    PGS_EXPECT_INT("3 fields, max 3", s_parse_n(three, 3, &h, &e), 0);
    PGS_EXPECT_INT("nfields", h.nfields, 3);
    PGS_EXPECT_INT("4 fields, max 3", s_parse_n(four, 3, &h, &e), -1);
    PGS_EXPECT_INT("4 fields, max 3 status", e.status, 431);
    PGS_EXPECT_INT("4 fields, max 4", s_parse_n(four, 4, &h, &e), 0);
    PGS_EXPECT_INT("nfields", h.nfields, 4);
    PGS_EXPECT_INT("1 field, max 0", s_parse_n("GET / HTTP/1.0\r\nA: 1\r\n\r\n", 0, &h, &e), -1);
    PGS_EXPECT_INT("1 field, max 0 status", e.status, 431);
    PGS_EXPECT_INT("no field, max 0", s_parse_n("GET / HTTP/1.0\r\n\r\n", 0, &h, &e), 0);
}

static void
test_parse_connection(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_ok("Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &h);
    PGS_EXPECT_INT("close", h.connection_close, 1);
    PGS_EXPECT_INT("close: keep_alive", h.connection_keep_alive, 0);
    s_ok("Connection: Close", "GET / HTTP/1.1\r\nHost: a\r\nconnection: Close\r\n\r\n", &h);
    PGS_EXPECT_INT("Close", h.connection_close, 1);
    s_ok("keep-alive in 1.0", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &h);
    PGS_EXPECT_INT("keep-alive", h.connection_keep_alive, 1);
    PGS_EXPECT_INT("keep-alive: close", h.connection_close, 0);
    PGS_EXPECT_INT("keep-alive: version", h.version, 10);
    s_ok("Keep-Alive, Upgrade", "GET / HTTP/1.0\r\nConnection: Keep-Alive, Upgrade\r\n\r\n", &h);
    PGS_EXPECT_INT("Keep-Alive, Upgrade: keep_alive", h.connection_keep_alive, 1);
    PGS_EXPECT_INT("Keep-Alive, Upgrade: close", h.connection_close, 0);
    s_ok("upgrade,close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade,close\r\n\r\n", &h);
    PGS_EXPECT_INT("upgrade,close: close", h.connection_close, 1);
    PGS_EXPECT_INT("upgrade,close: keep_alive", h.connection_keep_alive, 0);
    s_ok("two Connection fields",
         "GET / HTTP/1.1\r\nHost: a\r\nConnection: TE\r\nConnection: close\r\n\r\n", &h);
    PGS_EXPECT_INT("two Connection fields: close", h.connection_close, 1);
    s_ok("closed is not close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, xclose\r\n\r\n",
         &h);
    PGS_EXPECT_INT("closed: close", h.connection_close, 0);
    s_ok("keep-alives is not keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alives, keep\r\n\r\n",
         &h);
    PGS_EXPECT_INT("keep-alives: keep_alive", h.connection_keep_alive, 0);
    s_ok("no Connection", "GET / HTTP/1.0\r\n\r\n", &h);
    PGS_EXPECT_INT("no Connection: close", h.connection_close, 0);
    PGS_EXPECT_INT("no Connection: keep_alive", h.connection_keep_alive, 0);
    s_ok("close in another field", "GET / HTTP/1.1\r\nHost: a\r\nX-Connection: close\r\n\r\n", &h);
    PGS_EXPECT_INT("X-Connection: close", h.connection_close, 0);
}

static void
test_parse_expect(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_ok("Expect: 100-continue",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", &h);
    PGS_EXPECT_INT("100-continue", h.expect_continue, 1);
    PGS_EXPECT_INT("100-continue: Content-Length", h.content_length, 5);
    s_ok("expect: 100-Continue", "POST / HTTP/1.1\r\nHost: a\r\nexpect:  100-Continue \r\n\r\n",
         &h);
    PGS_EXPECT_INT("100-Continue", h.expect_continue, 1);
    s_ok("Expect: 200-ok", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", &h);
    PGS_EXPECT_INT("200-ok", h.expect_continue, 0);
    s_ok("no Expect", "POST / HTTP/1.1\r\nHost: a\r\n\r\n", &h);
    PGS_EXPECT_INT("no Expect", h.expect_continue, 0);
}

static void
test_parse_on_field(void **state)
{
    (void)state;
    edge_http_head_t h;
    s_ok("fields",
         "POST /v1/bots HTTP/1.1\r\n"
         "Host: example.com\r\n"
         "X-Request-Id:  \t abc 123 \t \r\n"
         "content-type:application/json\r\n"
         "X-Empty: \r\n"
         "Authorization: Bearer t.k\r\n"
         "Content-Length: 2\r\n"
         "\r\n",
         &h);
    static const char *const want[][2] = {
        {"Host", "example.com"},
        {"X-Request-Id", "abc 123"},
        {"content-type", "application/json"},
        {"X-Empty", ""},
        {"Authorization", "Bearer t.k"},
        {"Content-Length", "2"},
    };
    size_t n = sizeof want / sizeof want[0];
    PGS_EXPECT_INT("fields seen", s_seen.n, n);
    PGS_EXPECT_INT("nfields", h.nfields, n);
    for (size_t i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "field %zu name", i);
        PGS_EXPECT_STR(what, s_seen.name[i], want[i][0]);
        snprintf(what, sizeof what, "field %zu value", i);
        PGS_EXPECT_STR(what, s_seen.value[i], want[i][1]);
    }
    PGS_EXPECT_INT("Content-Length", h.content_length, 2);

    /* Without a callback. */
    static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\n\r\n";
    edge_http_err_t e;
    PGS_EXPECT_INT("no on_field",
                   edge_http_parse_head(head, sizeof head - 1, 100, NULL, NULL, &h, &e), 0);
    PGS_EXPECT_INT("no on_field: nfields", h.nfields, 2);
}

/* ---- edge_http_chunked ---- */

/* Decodes in[0..n), made available step bytes at a time (0: all at once),
 * calling again with the rest after each return of 0. Collects the data
 * into out (NUL-terminated), the bytes consumed into *consumed. Returns 1
 * (the body ended), 0 (more needed) or -1 with *status. */
static int
s_chunk_run(const char *in, size_t n, size_t step, char *out, size_t out_size, size_t *out_len,
            size_t *consumed, int *status)
{
    edge_http_chunked_t d;
    memset(&d, 0, sizeof d);
    size_t off = 0, avail = step && step < n ? step : n;
    *out_len = 0;
    *status = 0;
    out[0] = '\0';
    for (;;) {
        while (off < avail) {
            size_t used = (size_t)-1;
            const char *data = (const char *)1;
            size_t dlen = (size_t)-1;
            edge_http_err_t e = {0, NULL};
            int rc = edge_http_chunked(&d, in + off, avail - off, &used, &data, &dlen, &e);
            if (rc < 0) {
                if (!e.message)
                    fail_msg("chunked refused %d without a message", e.status);
                *status = e.status;
                *consumed = off;
                return -1;
            }
            if (used > avail - off)
                fail_msg("chunked used %zu of %zu bytes", used, avail - off);
            if (dlen) {
                if (data < in + off || data + dlen > in + off + used)
                    fail_msg("chunked data outside the bytes it consumed");
                if (*out_len + dlen >= out_size)
                    fail_msg("chunked data too long");
                memcpy(out + *out_len, data, dlen);
                *out_len += dlen;
                out[*out_len] = '\0';
            } else if (data != NULL) {
                fail_msg("chunked: no data but data is not NULL");
            }
            off += used;
            if (rc == 1) {
                *consumed = off;
                return 1;
            }
            if (rc != 0)
                fail_msg("chunked returned %d", rc);
            if (!used)
                fail_msg("chunked consumed nothing and returned 0");
        }
        if (avail == n)
            break;
        avail = avail + step < n ? avail + step : n;
    }
    *consumed = off;
    return 0;
}

/* s_chunk_ok for a literal that is all body. */
#define CHUNK_OK(what, lit, want) s_chunk_ok((what), LIT(lit), (want), sizeof(lit) - 1)

static const size_t s_steps[] = {0, 1, 2, 3, 7};

/* Expects in[0..n) to decode (all at once and in pieces) to want, the
 * body ending after want_used bytes. */
static void
s_chunk_ok(const char *what, const char *in, size_t n, const char *want, size_t want_used)
{
    for (size_t i = 0; i < sizeof s_steps / sizeof s_steps[0]; i++) {
        char out[16384], w[160];
        size_t out_len = 0, consumed = 0;
        int status = 0;
        int rc = s_chunk_run(in, n, s_steps[i], out, sizeof out, &out_len, &consumed, &status);
        snprintf(w, sizeof w, "%s (by %zu bytes): result", what, s_steps[i]);
        if (rc < 0)
            fail_msg("%s: refused with %d, want 1", w, status);
        PGS_EXPECT_INT(w, rc, 1);
        snprintf(w, sizeof w, "%s (by %zu bytes): data", what, s_steps[i]);
        PGS_EXPECT_STR(w, out, want);
        PGS_EXPECT_INT(w, out_len, strlen(want));
        snprintf(w, sizeof w, "%s (by %zu bytes): consumed", what, s_steps[i]);
        PGS_EXPECT_INT(w, consumed, want_used);
    }
}

/* Expects in[0..n) to be refused with want, all at once and in pieces. */
static void
s_chunk_refused(const char *what, const char *in, size_t n, int want)
{
    for (size_t i = 0; i < sizeof s_steps / sizeof s_steps[0]; i++) {
        char out[16384], w[160];
        size_t out_len = 0, consumed = 0;
        int status = 0;
        int rc = s_chunk_run(in, n, s_steps[i], out, sizeof out, &out_len, &consumed, &status);
        snprintf(w, sizeof w, "%s (by %zu bytes)", what, s_steps[i]);
        if (rc >= 0)
            fail_msg("%s: got %d, want refused with %d", w, rc, want);
        PGS_EXPECT_INT(w, status, want);
    }
}

static void
test_chunked_simple(void **state)
{
    (void)state;
    CHUNK_OK("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello");
    CHUNK_OK("two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
    CHUNK_OK("no chunk", "0\r\n\r\n", "");
    CHUNK_OK("000 ends too", "3\r\nabc\r\n000\r\n\r\n", "abc");
    CHUNK_OK("data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n");

    /* Incomplete: 0, with what data there is. */
    static const char *const partial[] = {
        "5",
        "5\r",
        "5\r\n",
        "5\r\nhel",
        "5\r\nhello",
        "5\r\nhello\r",
        "5\r\nhello\r\n0",
        "5\r\nhello\r\n0\r\n",
        "5\r\nhello\r\n0\r\n\r",
        "5;a=b",
        "0\r\nX-T: 1\r\n",
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        char out[64], what[64];
        size_t out_len, consumed;
        int status;
        snprintf(what, sizeof what, "partial body #%zu", i);
        PGS_EXPECT_INT(what,
                       s_chunk_run(partial[i], strlen(partial[i]), 0, out, sizeof out, &out_len,
                                   &consumed, &status),
                       0);
        PGS_EXPECT_INT(what, consumed, strlen(partial[i]));
    }
    char out[64];
    size_t out_len, consumed;
    int status;
    s_chunk_run(LIT("5\r\nhel"), 0, out, sizeof out, &out_len, &consumed, &status);
    PGS_EXPECT_STR("partial data", out, "hel");
}

static void
test_chunked_byte_at_a_time(void **state)
{
    (void)state;
    static const char body[] = "5\r\nhello\r\n0\r\n\r\n";
    edge_http_chunked_t d;
    memset(&d, 0, sizeof d);
    char out[32] = "";
    size_t out_len = 0;
    int rc = 0;
    for (size_t i = 0; i < sizeof body - 1; i++) {
        size_t used = 0, dlen = 0;
        const char *data = NULL;
        edge_http_err_t e = {0, NULL};
        rc = edge_http_chunked(&d, body + i, 1, &used, &data, &dlen, &e);
        char what[64];
        snprintf(what, sizeof what, "byte %zu: result", i);
        PGS_EXPECT_INT(what, rc, i + 1 == sizeof body - 1 ? 1 : 0);
        snprintf(what, sizeof what, "byte %zu: used", i);
        PGS_EXPECT_INT(what, used, 1);
        if (dlen) {
            memcpy(out + out_len, data, dlen);
            out_len += dlen;
            out[out_len] = '\0';
        }
    }
    PGS_EXPECT_STR("data byte by byte", out, "hello");
    PGS_EXPECT_INT("last result", rc, 1);
    /* Called again once done: 1, nothing consumed. */
    size_t used = 99, dlen = 99;
    const char *data = NULL;
    edge_http_err_t e = {0, NULL};
    PGS_EXPECT_INT("after the end", edge_http_chunked(&d, "5\r\n", 3, &used, &data, &dlen, &e), 1);
    PGS_EXPECT_INT("after the end: used", used, 0);
    PGS_EXPECT_INT("after the end: dlen", dlen, 0);
}

static void
test_chunked_extensions(void **state)
{
    (void)state;
    CHUNK_OK("extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello");
    CHUNK_OK("extension without value", "5;name\r\nhello\r\n0\r\n\r\n", "hello");
    CHUNK_OK("quoted extension", "5;n=\"a b;c\"\r\nhello\r\n0;last\r\n\r\n", "hello");
    CHUNK_OK("two extensions", "5;a=1;b=2\r\nhello\r\n0\r\n\r\n", "hello");
    CHUNK_OK("BWS before ';'", "5 ;a=1\r\nhello\r\n0\r\n\r\n", "hello");
    CHUNK_OK("extension on the last chunk", "5\r\nhello\r\n0;x=y\r\n\r\n", "hello");
    s_chunk_refused("control byte in an extension", LIT("5;a=\x01\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("DEL in an extension", LIT("5;a=\x7f\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("bare LF in an extension", LIT("5;a=1\nhello\r\n0\r\n\r\n"), 400);
}

static void
test_chunked_trailers(void **state)
{
    (void)state;
    CHUNK_OK("one trailer", "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello");
    CHUNK_OK("two trailers", "0\r\nX-T: 1\r\nX-U: 2\r\n\r\n", "");
    CHUNK_OK("trailer with tab", "0\r\nX-T:\ta b\r\n\r\n", "");
    s_chunk_refused("bare LF after a trailer", LIT("0\r\nX-T: 1\n\r\n"), 400);
    s_chunk_refused("bare LF ending the body", LIT("0\r\n\n"), 400);
    s_chunk_refused("CR CR ending the body", LIT("0\r\n\r\r"), 400);
    s_chunk_refused("control byte in a trailer", LIT("0\r\nX-T: \x01\r\n\r\n"), 400);
    s_chunk_refused("folded trailer", LIT("0\r\nX-T: 1\r\n 2\r\n\r\n"), 400);
    s_chunk_refused("trailer without a colon", LIT("0\r\nfoo\r\n\r\n"), 400);
    s_chunk_refused("trailer name with a space", LIT("0\r\nX T: 1\r\n\r\n"), 400);
    s_chunk_refused("trailer with an empty name", LIT("0\r\n: 1\r\n\r\n"), 400);
}

static void
test_chunked_hex_case(void **state)
{
    (void)state;
    CHUNK_OK("A", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789");
    CHUNK_OK("a", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789");
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz01234";
    CHUNK_OK("1F", "1F\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n", alpha);
    CHUNK_OK("1f", "1f\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n", alpha);
    CHUNK_OK("0001f", "0001f\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n", alpha);
    /* 15 digits is the most. */
    CHUNK_OK("15 digits", "000000000000005\r\nhello\r\n0\r\n\r\n", "hello");
}

static void
test_chunked_bad_line_endings(void **state)
{
    (void)state;
    s_chunk_refused("bare LF after the size", LIT("5\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("CR CR after the size", LIT("5\r\rhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("no CRLF after the data", LIT("5\r\nhelloX\r\n0\r\n\r\n"), 400);
    s_chunk_refused("bare LF after the data", LIT("5\r\nhello\n0\r\n\r\n"), 400);
    s_chunk_refused("X LF after the data", LIT("5\r\nhelloX\n0\r\n\r\n"), 400);
    s_chunk_refused("CR X after the data", LIT("5\r\nhello\rX0\r\n\r\n"), 400);
    s_chunk_refused("bare LF after the last size", LIT("5\r\nhello\r\n0\n\r\n"), 400);
}

static void
test_chunked_bad_size(void **state)
{
    (void)state;
    s_chunk_refused("non-hex size", LIT("g\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("non-hex after digits", LIT("5g\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("0x prefix", LIT("0x5\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("sign", LIT("+5\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("negative", LIT("-5\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("space first", LIT(" 5\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("';' first", LIT(";a\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("empty size line", LIT("\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("empty size line after a chunk", LIT("5\r\nhello\r\n\r\n0\r\n\r\n"), 400);
    s_chunk_refused("NUL size", LIT("\0\r\n"), 400);
    /* after the digits only white space, then ';' or CRLF */
    s_chunk_refused("a word after the size", LIT("5 x\r\nhello\r\n0\r\n\r\n"), 400);
    s_chunk_refused("two sizes", LIT("5 6\r\nhello\r\n0\r\n\r\n"), 400);
    CHUNK_OK("white space before CRLF", "5 \t\r\nhello\r\n0\r\n\r\n", "hello");
}

static void
test_chunked_size_overflow(void **state)
{
    (void)state;
    s_chunk_refused("16 hex digits", LIT("ffffffffffffffff\r\n"), 400);
    s_chunk_refused("16 digits with leading zeros", LIT("0000000000000005\r\nhello\r\n0\r\n\r\n"),
                    400);
    s_chunk_refused("17 hex digits", LIT("10000000000000000\r\n"), 400);
    s_chunk_refused("40 hex digits", LIT("1234567890abcdef1234567890abcdef12345678\r\n"), 400);
    /* 15 digits are fine (the data is then just not there yet). */
    char out[16];
    size_t out_len, consumed;
    int status;
    PGS_EXPECT_INT("15 hex digits",
                   s_chunk_run(LIT("fffffffffffffff\r\nabc"), 0, out, sizeof out, &out_len,
                               &consumed, &status),
                   0);
    PGS_EXPECT_STR("15 hex digits: data", out, "abc");
}

/* "0\r\n", trailer lines of 100 bytes up to about n bytes, "\r\n", into buf.
 * Returns the length. */
static size_t
s_trailers(char *buf, size_t size, size_t n)
{
    size_t k = 0;
    memcpy(buf, "0\r\n", 3);
    k = 3;
    while (k - 3 + 100 <= n) {
        assert_true(k + 100 + 2 < size);
        memcpy(buf + k, "X-Pad: ", 7);
        memset(buf + k + 7, 'a', 91);
        memcpy(buf + k + 98, "\r\n", 2);
        k += 100;
    }
    memcpy(buf + k, "\r\n", 2);
    return k + 2;
}

static void
test_chunked_trailers_too_large(void **state)
{
    (void)state;
    static char buf[20000];
    size_t n = s_trailers(buf, sizeof buf, 8000);
    s_chunk_ok("8000 bytes of trailers", buf, n, "", n);
    n = s_trailers(buf, sizeof buf, 8300);
    s_chunk_refused("8300 bytes of trailers", buf, n, 431);
    n = s_trailers(buf, sizeof buf, 16000);
    s_chunk_refused("16000 bytes of trailers", buf, n, 431);
}

/* size, ';', an extension of ext bytes, CRLF, data, and the last chunk. */
static size_t
s_long_ext(char *buf, size_t size, size_t ext)
{
    assert_true(ext + 32 < size);
    memcpy(buf, "5;", 2);
    memset(buf + 2, 'e', ext);
    memcpy(buf + 2 + ext, "\r\nhello\r\n0\r\n\r\n", 14);
    return 2 + ext + 14;
}

static void
test_chunked_size_line_too_long(void **state)
{
    (void)state;
    static char buf[4096];
    size_t n = s_long_ext(buf, sizeof buf, 1000);
    s_chunk_ok("1000-byte extension", buf, n, "hello", n);
    n = s_long_ext(buf, sizeof buf, 1100);
    s_chunk_refused("1100-byte extension", buf, n, 400);
    n = s_long_ext(buf, sizeof buf, 3000);
    s_chunk_refused("3000-byte extension", buf, n, 400);
    /* Each size line counts on its own. */
    static char two[4096];
    size_t k = 0;
    memcpy(two, "1;", 2);
    memset(two + 2, 'e', 900);
    memcpy(two + 902, "\r\nx\r\n1;", 7);
    memset(two + 909, 'e', 900);
    memcpy(two + 1809, "\r\ny\r\n0\r\n\r\n", 10);
    k = 1819;
    s_chunk_ok("two 900-byte extensions", two, k, "xy", k);
}

static void
test_chunked_pipelined(void **state)
{
    (void)state;
    static const char in[] = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    s_chunk_ok("body then a request", LIT(in), "hello", 15);
    s_chunk_ok("trailers then a request", LIT("0\r\nX-T: 1\r\n\r\n5\r\nhello\r\n"), "", 13);
    s_chunk_ok("body then CRLFs", LIT("1\r\na\r\n0\r\n\r\n\r\n\r\n"), "a", 11);

    /* All at once: the first call stops after the data, the second at the
     * end of the body, leaving the next request. */
    edge_http_chunked_t d;
    memset(&d, 0, sizeof d);
    size_t used = 0, dlen = 0;
    const char *data = NULL;
    edge_http_err_t e = {0, NULL};
    PGS_EXPECT_INT("first call", edge_http_chunked(&d, in, sizeof in - 1, &used, &data, &dlen, &e),
                   0);
    PGS_EXPECT_INT("first call: used", used, 8);
    PGS_EXPECT_INT("first call: data offset", data - in, 3);
    PGS_EXPECT_INT("first call: dlen", dlen, 5);
    size_t off = used;
    PGS_EXPECT_INT("second call",
                   edge_http_chunked(&d, in + off, sizeof in - 1 - off, &used, &data, &dlen, &e),
                   1);
    PGS_EXPECT_INT("second call: used", used, 7);
    PGS_EXPECT_INT("second call: dlen", dlen, 0);
    PGS_EXPECT_STR("left over", in + off + used, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_end_complete),
        cmocka_unit_test(test_head_end_pipelined),
        cmocka_unit_test(test_head_end_leading_empty_lines),
        cmocka_unit_test(test_head_end_bare_lf),
        cmocka_unit_test(test_head_end_bare_cr),
        cmocka_unit_test(test_head_end_nul),
        cmocka_unit_test(test_head_end_request_line_too_long),
        cmocka_unit_test(test_head_end_request_line_limit_boundary),
        cmocka_unit_test(test_head_end_fields_too_large),
        cmocka_unit_test(test_parse_request_line),
        cmocka_unit_test(test_parse_host),
        cmocka_unit_test(test_parse_absolute_form),
        cmocka_unit_test(test_parse_fragment),
        cmocka_unit_test(test_parse_absolute_form_fragment_without_path),
        cmocka_unit_test(test_parse_bad_target),
        cmocka_unit_test(test_parse_method),
        cmocka_unit_test(test_parse_version),
        cmocka_unit_test(test_parse_content_length),
        cmocka_unit_test(test_parse_transfer_encoding),
        cmocka_unit_test(test_parse_field_syntax),
        cmocka_unit_test(test_parse_max_fields),
        cmocka_unit_test(test_parse_connection),
        cmocka_unit_test(test_parse_expect),
        cmocka_unit_test(test_parse_on_field),
        cmocka_unit_test(test_chunked_simple),
        cmocka_unit_test(test_chunked_byte_at_a_time),
        cmocka_unit_test(test_chunked_extensions),
        cmocka_unit_test(test_chunked_trailers),
        cmocka_unit_test(test_chunked_hex_case),
        cmocka_unit_test(test_chunked_bad_line_endings),
        cmocka_unit_test(test_chunked_bad_size),
        cmocka_unit_test(test_chunked_size_overflow),
        cmocka_unit_test(test_chunked_trailers_too_large),
        cmocka_unit_test(test_chunked_size_line_too_long),
        cmocka_unit_test(test_chunked_pipelined),
    };
    return cmocka_run_group_tests_name("edge_http_parse", tests, NULL, NULL);
}
