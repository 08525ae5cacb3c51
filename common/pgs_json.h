/*
 * pgs_json — strict JSON input on top of jansson, and the error body.
 *
 * Request bodies are checked the same way everywhere: valid UTF-8, a JSON
 * object, no unknown fields, every field of the declared type ("30" is not a
 * number, 1 is not a boolean). Failures are described by a pgs_json_err_t
 * that maps straight to the SPEC's error object (code, message, param).
 */
#ifndef PGS_JSON_H
#define PGS_JSON_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *code; /* "invalid_json" or "invalid_request" */
    char message[256];
    char param[64]; /* "" when no single field is at fault */
} pgs_json_err_t;

typedef enum {
    PGS_JSON_STRING = 1,
    PGS_JSON_INTEGER,
    PGS_JSON_BOOLEAN,
    PGS_JSON_ARRAY,
    PGS_JSON_OBJECT,
} pgs_json_type_t;

typedef struct {
    const char *name;
    pgs_json_type_t type;
    int required;
} pgs_json_field_t;

/* Parses body (len bytes) as one JSON object. An empty body is refused.
 * Returns an owned object or NULL with err filled ("invalid_json"). */
json_t *pgs_json_parse_object(const char *body, size_t len, pgs_json_err_t *err);

/* Checks obj against fields (terminated by a {NULL} entry): no unknown
 * field, every present field of its type (null counts as absent for
 * optional fields), every required field present. Returns 0, or -1 with err
 * filled ("invalid_request", param = the field). */
int pgs_json_check_fields(json_t *obj, const pgs_json_field_t *fields, pgs_json_err_t *err);

/* Fills err with an invalid_request for one field. Returns -1. */
int pgs_json_fail(pgs_json_err_t *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of Unicode code points in valid UTF-8 s (len bytes), or -1 when s
 * is not valid UTF-8 (overlongs, surrogates and NUL are invalid). */
long pgs_json_utf8_length(const char *s, size_t len);

/* A client's text quoted in an error message: at most 32 bytes of
 * printable ASCII, anything else as '?', "..." when cut. Messages never
 * echo raw input (it may hold control, bidi or invisible characters, or
 * be long). out must hold PGS_JSON_EXCERPT_MAX bytes. Returns out. */
#define PGS_JSON_EXCERPT_MAX 40
char *pgs_json_excerpt(const char *in, char out[PGS_JSON_EXCERPT_MAX]);

/* 1 when s has a control character (C0, DEL or C1), else 0. s is valid UTF-8. */
int pgs_json_has_control(const char *s);

/* 1 when valid UTF-8 s (len bytes) has a character that hides or reorders
 * text: the bidi controls U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069, the invisible U+200B, U+2060, U+FEFF, and the separators
 * U+2028, U+2029. Names refuse them, so that one name cannot be made to
 * look like another; ZWJ and ZWNJ (U+200D, U+200C) are allowed, as scripts
 * and emoji need them. */
int pgs_json_has_invisible(const char *s, size_t len);

#define PGS_JSON_INVISIBLE_MESSAGE "must not contain invisible or direction-changing characters"

/* Builds {"error":{"code","message","request_id"[,"param"][, extra…]}} as
 * an owned JSON text. extra may be NULL; its members are merged into the
 * error object. */
char *pgs_json_error_body(const char *code, const char *message, const char *request_id,
                          const char *param, json_t *extra);

/* A JSON text being written by hand, for hot paths where building a jansson
 * tree costs more than the work it describes. Start with {0}. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed; /* out of memory: the text is lost */
} pgs_jbuf_t;

/* Appends n raw bytes (already JSON). */
void pgs_jbuf_raw(pgs_jbuf_t *b, const char *s, size_t n);

/* Appends s (valid UTF-8) as a quoted, escaped JSON string. */
void pgs_jbuf_str(pgs_jbuf_t *b, const char *s);

/* Appends "key": "value" with a leading comma when comma is non-zero. */
void pgs_jbuf_member(pgs_jbuf_t *b, int comma, const char *key, const char *value);

/* The text (owned by the caller), or NULL when writing failed. Leaves b empty. */
char *pgs_jbuf_take(pgs_jbuf_t *b);

/* Dumps compactly (owned text, NULL on failure). */
char *pgs_json_dump(const json_t *v);

#endif
