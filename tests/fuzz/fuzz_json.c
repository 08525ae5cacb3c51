/*
 * Fuzz target: request bodies through pgs_json_parse_object and
 * pgs_json_check_fields, the way every handler reads them, plus the error
 * body built from the resulting error and pgs_json_utf8_length checked
 * against jansson's own UTF-8 validation.
 *
 * Properties: a parsed body is an object; every error has its code and a
 * message, and pgs_json_error_body turns it into valid JSON of the SPEC's
 * shape; utf8_length accepts exactly what jansson accepts as UTF-8 (for
 * input without NUL) and counts the bytes that start a code point.
 */
#include "pgs_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const pgs_json_field_t s_fields[] = {
    {"name", PGS_JSON_STRING, 1},
    {"scopes", PGS_JSON_ARRAY, 0},
    {"preset", PGS_JSON_STRING, 0},
    {"expires_in_days", PGS_JSON_INTEGER, 1},
    {"stream", PGS_JSON_BOOLEAN, 0},
    {"metadata", PGS_JSON_OBJECT, 0},
    {NULL, 0, 0},
};

static void
s_check_error_body(const pgs_json_err_t *err)
{
    if (!err->code || !memchr(err->message, '\0', sizeof err->message) ||
        !memchr(err->param, '\0', sizeof err->param) || err->message[0] == '\0')
        abort();
    char *body = pgs_json_error_body(err->code, err->message, "req_fuzz", err->param, NULL);
    if (!body)
        abort();
    json_error_t je;
    json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &je);
    json_t *e = json_object_get(root, "error");
    if (!json_is_object(e) || !json_is_string(json_object_get(e, "code")) ||
        !json_is_string(json_object_get(e, "message")) ||
        !json_is_string(json_object_get(e, "request_id")) ||
        strcmp(json_string_value(json_object_get(e, "message")), err->message) != 0)
        abort();
    json_decref(root);
    free(body);
}

static void
s_walk(json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (pgs_json_utf8_length(s, len) < 0)
            abort(); /* jansson gave us a string that is not valid UTF-8 */
        (void)pgs_json_has_control(s);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            if (pgs_json_utf8_length(k, strlen(k)) < 0)
                abort();
            s_walk(m);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) s_walk(m);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    if (!body)
        abort();
    memcpy(body, data, size);

    /* utf8_length against jansson's validation and a byte count. */
    long n = pgs_json_utf8_length(body, size);
    if (!memchr(body, '\0', size)) {
        json_t *s = json_stringn(body, size);
        if ((n >= 0) != (s != NULL))
            abort();
        json_decref(s);
    }
    if (n >= 0) {
        long starts = 0;
        for (size_t i = 0; i < size; i++)
            starts += ((unsigned char)body[i] & 0xC0) != 0x80;
        if (starts != n)
            abort();
    }

    pgs_json_err_t err;
    memset(&err, 0, sizeof err);
    json_t *obj = pgs_json_parse_object(body, size, &err);
    if (!obj) {
        if (!err.code || strcmp(err.code, "invalid_json") != 0 || err.param[0])
            abort();
        s_check_error_body(&err);
    } else {
        if (!json_is_object(obj) || n < 0)
            abort();
        s_walk(obj);
        memset(&err, 0, sizeof err);
        if (pgs_json_check_fields(obj, s_fields, &err) < 0) {
            /* param names the field; it is empty only for the key "". */
            if (!err.code || strcmp(err.code, "invalid_request") != 0 ||
                (err.param[0] == '\0' && !json_object_get(obj, "")))
                abort();
            s_check_error_body(&err);
        } else {
            /* Everything required is there with its type. */
            if (!json_is_string(json_object_get(obj, "name")) ||
                !json_is_integer(json_object_get(obj, "expires_in_days")))
                abort();
        }
        char *dump = pgs_json_dump(obj);
        if (!dump)
            abort();
        free(dump);
        json_decref(obj);
    }
    free(body);
    return 0;
}
