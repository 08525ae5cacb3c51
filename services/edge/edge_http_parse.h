/*
 * edge_http_parse — a strict HTTP/1.1 request parser (RFC 9112) with no
 * I/O: where a request head ends in a buffer, the head's request line and
 * fields, and the chunked transfer coding decoded piece by piece. Strict
 * where the RFC lets a server be: every line ends in CRLF (a bare LF or a
 * bare CR is refused), no NUL, no white space before a field's colon, no
 * obsolete line folding, no control character in a field value, and one
 * framing only (Content-Length digits, or Transfer-Encoding: chunked).
 * Every refusal comes with the status and message the edge answers with;
 * status -1 means "close without a reply" (an HTTP/0.9 request line).
 */
#ifndef EDGE_HTTP_PARSE_H
#define EDGE_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int status; /* 400, 413, 414, 431, 505, or -1: close without a reply */
    const char *message;
} edge_http_err_t;

/* Where the scan for the end of a head got to; zero it for a new head. */
typedef struct {
    size_t pos;        /* next byte to look at */
    size_t line_start; /* start of the line being scanned */
    size_t req_start;  /* start of the request line (after empty lines) */
    size_t req_end;    /* end of the request line (after its CRLF), 0 until seen */
} edge_http_scan_t;

/* Looks for the end of a request head in buf[0..len), carrying on from
 * *scan. A request line longer than max_line bytes is 414; a field block
 * longer than max_fields_bytes (+ its final CRLF) is 431. Returns the
 * head's length (through its empty line), 0 when more bytes are needed, or
 * -1 with *err set. */
long edge_http_head_end(const char *buf, size_t len, edge_http_scan_t *scan, size_t max_line,
                        size_t max_fields_bytes, edge_http_err_t *err);

typedef struct {
    const char *method;
    size_t method_len;
    const char *path; /* of an origin-form or absolute-form target */
    size_t path_len;
    const char *query; /* without '?', NULL when none */
    size_t query_len;
    int version;              /* 10 or 11 */
    long long content_length; /* -1 when absent */
    int chunked;
    int connection_close, connection_keep_alive;
    int expect_continue;
    int nfields;
} edge_http_head_t;

/* Called for each field of a head, in order: name and value (trimmed of
 * surrounding white space) point into the head. */
typedef void (*edge_http_field_fn)(void *arg, const char *name, size_t name_len, const char *value,
                                   size_t value_len);

/* Parses a complete head (as found by edge_http_head_end). max_fields
 * bounds the number of fields (431 beyond it). Returns 0, or -1 with *err
 * set. on_field may be called for some fields before a refusal. */
int edge_http_parse_head(const char *head, size_t len, int max_fields, edge_http_field_fn on_field,
                         void *arg, edge_http_head_t *out, edge_http_err_t *err);

/* The chunked transfer coding; zero it for a new body. */
typedef struct {
    int state;
    uint64_t left; /* data bytes left in the chunk */
    size_t line;   /* bytes of the current size line or trailer section */
    int digits;
} edge_http_chunked_t;

/* Decodes from in[0..n): sets *used to the bytes consumed, and (*data,
 * *dlen) to the data found (a span of in; *dlen 0 when none). Returns 1
 * once the body and its trailers ended, 0 to go on (call again with the
 * rest, or with more input), or -1 with *err set. */
int edge_http_chunked(edge_http_chunked_t *d, const char *in, size_t n, size_t *used,
                      const char **data, size_t *dlen, edge_http_err_t *err);

/* The value of a hex digit (either case), -1 for any other byte. */
int edge_http_hex(int c);

#endif
