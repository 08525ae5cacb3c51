/*
 * ctl_out — see ctl_out.h.
 */
#include "ctl_out.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_table {
    const char *const *headers;
    int ncols;
    char **cells; /* nrows * ncols */
    size_t nrows;
    size_t cap;
};

ctl_table_t *
ctl_table_new(const char *const *headers)
{
    ctl_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->headers = headers;
    while (t->ncols < CTL_OUT_MAX_COLS && headers[t->ncols])
        t->ncols++;
    if (t->ncols == 0) {
        /* A table needs a column: realloc of 0 bytes would free the rows. */
        free(t);
        return NULL;
    }
    return t;
}

int
ctl_table_row(ctl_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **grown = realloc(t->cells, cap * (size_t)t->ncols * sizeof *grown);
        if (!grown)
            return -1;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "-");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

void
ctl_table_destroy(ctl_table_t **t)
{
    if (!t || !*t)
        return;
    for (size_t i = 0; i < (*t)->nrows * (size_t)(*t)->ncols; i++)
        free((*t)->cells[i]);
    free((*t)->cells);
    free(*t);
    *t = NULL;
}

static void
s_print_row(const ctl_table_t *t, const char *const *cells, const size_t *width)
{
    for (int i = 0; i < t->ncols; i++) {
        if (i + 1 < t->ncols)
            printf("%-*s  ", (int)width[i], cells[i]);
        else
            printf("%s\n", cells[i]);
    }
}

void
ctl_table_print(ctl_table_t **tp)
{
    if (!tp || !*tp)
        return;
    ctl_table_t *t = *tp;
    size_t width[CTL_OUT_MAX_COLS] = {0};
    for (int i = 0; i < t->ncols; i++)
        width[i] = strlen(t->headers[i]);
    for (size_t r = 0; r < t->nrows; r++)
        for (int i = 0; i < t->ncols; i++) {
            size_t w = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);
            if (w > width[i])
                width[i] = w;
        }
    s_print_row(t, t->headers, width);
    for (size_t r = 0; r < t->nrows; r++)
        s_print_row(t, (const char *const *)t->cells + r * (size_t)t->ncols, width);
    ctl_table_destroy(tp);
}

int
ctl_out_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pegasusctl: %s\n", msg);
    return 1;
}

void
ctl_out_raw(const char *body, size_t len)
{
    if (!body || len == 0) {
        puts("{\"ok\":true}");
        return;
    }
    fwrite(body, 1, len, stdout);
    if (body[len - 1] != '\n')
        putchar('\n');
}

void
ctl_out_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (text) {
        puts(text);
        free(text);
    }
}

const char *
ctl_out_field(const json_t *obj, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    return buf;
}

int
ctl_out_list(const json_t *rows, const char *const *headers, const char *const *fields)
{
    enum { S_MAX_COLUMNS = 16 };
    ctl_table_t *t = ctl_table_new(headers);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
    {
        char bufs[S_MAX_COLUMNS][128];
        const char *cells[S_MAX_COLUMNS + 1] = {0};
        for (int k = 0; k < S_MAX_COLUMNS && fields[k]; k++)
            cells[k] = ctl_out_field(row, fields[k], bufs[k], sizeof bufs[k]);
        if (t && ctl_table_row(t, cells) < 0)
            ctl_table_destroy(&t);
    }
    if (!t)
        return ctl_out_fail("out of memory");
    ctl_table_print(&t);
    return 0;
}
