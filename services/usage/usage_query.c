/*
 * usage_query — see usage_query.h.
 */
#include "usage_query.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define S_LABELS_TIMEOUT_MS 2000

static const char *const s_group_names[] = {
    [USAGE_BY_DAY] = "day",   [USAGE_BY_TOKEN] = "token", [USAGE_BY_BOT] = "bot",
    [USAGE_BY_USER] = "user", [USAGE_BY_ROUTE] = "route",
};
#define S_NGROUPS (sizeof s_group_names / sizeof s_group_names[0])

int
usage_query_who(const pgs_req_t *req, usage_who_t *who)
{
    who->ws = pgs_req_ctx(req, "workspace_id");
    who->user = pgs_req_ctx(req, "user_id");
    who->type = pgs_req_ctx(req, "workspace_type");
    who->role = pgs_req_ctx(req, "role");
    return who->ws && who->user ? 0 : -1;
}

int
usage_query_sees_all(const usage_who_t *who)
{
    if (who->type && strcmp(who->type, "personal") == 0)
        return 1;
    return who->role && (strcmp(who->role, "owner") == 0 || strcmp(who->role, "admin") == 0);
}

/* Days since 1970-01-01 of a "YYYY-MM-DD" that names a real day, or -1. */
static long
s_parse_day(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d)
        return -1; /* February 30th and the like */
    return (long)(t / 86400);
}

static void
s_format_day(long days, char out[USAGE_DAY_LEN])
{
    time_t t = (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, USAGE_DAY_LEN, "%Y-%m-%d", &tm);
}

static int
s_bad(const pgs_req_t *req, pgs_res_t *res, const char *param, const char *message)
{
    pgs_res_error(res, req, 400, "invalid_request", message, param);
    return -1;
}

int
usage_query_parse(const pgs_req_t *req, pgs_res_t *res, json_t *src, int with_group,
                  usage_range_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *vs = json_object_get(src, "start"), *ve = json_object_get(src, "end");
    if ((vs && !json_is_string(vs)) || (ve && !json_is_string(ve)))
        return s_bad(req, res, vs && !json_is_string(vs) ? "start" : "end",
                     "Dates are strings of the form YYYY-MM-DD.");
    const char *s = json_string_value(vs), *e = json_string_value(ve);
    long today = (long)(pgs_time_now_ms() / 1000 / 86400);
    long end = e ? s_parse_day(e) : today;
    if (end < 0)
        return s_bad(req, res, "end", "'end' must be a date of the form YYYY-MM-DD (UTC).");
    long start = s ? s_parse_day(s) : end - 29;
    if (start < 0)
        return s_bad(req, res, "start", "'start' must be a date of the form YYYY-MM-DD (UTC).");
    if (start > end)
        return s_bad(req, res, "start", "'start' must not be after 'end'.");
    if (end - start + 1 > USAGE_MAX_DAYS)
        return s_bad(req, res, "start", "A usage query covers at most 366 days.");
    s_format_day(start, out->start);
    s_format_day(end, out->end);
    out->group = USAGE_BY_DAY;
    if (!with_group)
        return 0;
    json_t *vg = json_object_get(src, "group_by");
    if (!vg)
        return 0;
    const char *g = json_string_value(vg);
    for (size_t i = 0; g && i < S_NGROUPS; i++) {
        if (strcmp(g, s_group_names[i]) == 0) {
            out->group = (usage_group_t)i;
            return 0;
        }
    }
    return s_bad(req, res, "group_by", "'group_by' must be one of day, token, bot, user, route.");
}

static json_t *
s_counts(const usage_counts_t *c)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "requests", (json_int_t)c->requests, "messages",
                     (json_int_t)c->messages, "input_tokens", (json_int_t)c->input_tokens,
                     "output_tokens", (json_int_t)c->output_tokens, "errors",
                     (json_int_t)c->errors);
}

static void
s_add(usage_counts_t *to, const usage_counts_t *c)
{
    to->requests += c->requests;
    to->messages += c->messages;
    to->input_tokens += c->input_tokens;
    to->output_tokens += c->output_tokens;
    to->errors += c->errors;
}

typedef struct {
    json_t *rows; /* [{key, counts…}] in the store's order */
    usage_counts_t totals;
} s_collect_t;

static void
s_collect(const char *key, const usage_counts_t *c, void *arg)
{
    s_collect_t *k = arg;
    json_t *row = s_counts(c);
    json_object_set_new(row, "key", json_string(key));
    json_array_append_new(k->rows, row);
    s_add(&k->totals, c);
}

/* One row per day from start to end, the stored ones where they exist. */
static json_t *
s_fill_days(json_t *stored, const char *start, const char *end)
{
    json_t *rows = json_array();
    long d0 = s_parse_day(start), d1 = s_parse_day(end);
    size_t next = 0;
    for (long d = d0; d <= d1; d++) {
        char day[USAGE_DAY_LEN];
        s_format_day(d, day);
        json_t *row = json_array_get(stored, next);
        const char *key = json_string_value(json_object_get(row, "key"));
        if (key && strcmp(key, day) == 0) {
            row = json_deep_copy(row);
            next++;
        } else {
            usage_counts_t zero = {0};
            row = s_counts(&zero);
            json_object_set_new(row, "key", json_string(day));
        }
        json_object_set_new(row, "label", json_string(day));
        json_array_append_new(rows, row);
    }
    return rows;
}

int
usage_query_days(usage_t *u, const char *ws, const char *user, const char *start, const char *end,
                 json_t **rows, json_t **totals)
{
    s_collect_t k = {.rows = json_array()};
    if (usage_store_query(u->db, ws, user, start, end, USAGE_BY_DAY, s_collect, &k) < 0) {
        json_decref(k.rows);
        return -1;
    }
    *rows = s_fill_days(k.rows, start, end);
    *totals = s_counts(&k.totals);
    json_decref(k.rows);
    return 0;
}

/* A labels request in flight. */
typedef struct {
    char kind[16];
    usage_labels_fn fn;
    void *arg;
} s_labels_t;

static pgs_handled_t
s_on_labels_reply(void *arg, const pgs_req_t *req, pgs_res_t *res, pgs_res_t *out)
{
    s_labels_t l = *(s_labels_t *)arg;
    free(arg);
    json_t *names = NULL;
    if (out->status == 200) {
        json_t *o = json_loadb(out->body, out->body_len, 0, NULL);
        names = json_incref(json_object_get(o, l.kind));
        json_decref(o);
    } else {
        pgs_warn("usage: %s labels unavailable (status %d); ids stand in for names", l.kind,
                 out->status);
    }
    pgs_handled_t how = l.fn(l.arg, req, res, names);
    json_decref(names);
    return how;
}

int
usage_query_labels(pgs_call_t *call, const char *service, const char *ws, const char *kind,
                   json_t *ids, usage_labels_fn fn, void *arg)
{
    json_t *body = json_pack("{s:s,s:O}", "workspace_id", ws, kind, ids);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    s_labels_t *l = text ? calloc(1, sizeof *l) : NULL;
    int rc = -1;
    if (l) {
        snprintf(l->kind, sizeof l->kind, "%s", kind);
        l->fn = fn;
        l->arg = arg;
        rc = pgs_call_request(call, service, "labels", NULL, NULL, text, strlen(text),
                              S_LABELS_TIMEOUT_MS, s_on_labels_reply, l);
        if (rc < 0)
            free(l);
    }
    free(text);
    return rc;
}

/* The ids of rows that need a name from another service (owned array), and
 * which service and kind names them; NULL when none do. */
static json_t *
s_label_ids(usage_group_t group, json_t *rows, const char **service, const char **kind)
{
    if (group != USAGE_BY_TOKEN && group != USAGE_BY_USER && group != USAGE_BY_BOT)
        return NULL;
    json_t *ids = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *key = json_object_get(row, "key");
        if (json_string_length(key))
            json_array_append(ids, key);
    }
    if (!json_array_size(ids)) {
        json_decref(ids);
        return NULL;
    }
    *kind = group == USAGE_BY_TOKEN ? "tokens" : group == USAGE_BY_USER ? "users" : "bots";
    *service = group == USAGE_BY_BOT ? "bots" : "auth";
    return ids;
}

/* Sets each row's label from names (NULL: the ids stand in), and a null
 * key for "no bot". */
static void
s_label_rows(usage_group_t group, json_t *rows, json_t *names)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *key = json_string_value(json_object_get(row, "key"));
        if (group == USAGE_BY_BOT && key && !*key) {
            json_object_set_new(row, "key", json_null());
            json_object_set_new(row, "label", json_string("No bot"));
            continue;
        }
        json_t *name = json_object_get(names, key ? key : "");
        json_object_set_new(row, "label",
                            json_is_string(name) ? json_copy(name) : json_string(key));
    }
}

/* The usage object of rows (borrowed, labelled) and totals. */
static json_t *
s_usage_object(const usage_range_t *q, json_t *rows, const usage_counts_t *totals)
{
    /* Keys first in every row: easier to read. */
    json_t *data = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        json_t *o = json_pack("{s:O,s:O}", "key", json_object_get(row, "key"), "label",
                              json_object_get(row, "label"));
        json_object_update(o, row);
        json_array_append_new(data, o);
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "object", "usage", "start", q->start, "end",
                     q->end, "group_by", s_group_names[q->group], "data", data, "totals",
                     s_counts(totals));
}

/* A query waiting for its labels. */
typedef struct {
    usage_range_t q;
    json_t *rows;
    usage_counts_t totals;
} s_labelling_t;

static pgs_handled_t
s_on_row_labels(void *arg, const pgs_req_t *req, pgs_res_t *res, json_t *names)
{
    (void)req;
    s_labelling_t *l = arg;
    s_label_rows(l->q.group, l->rows, names);
    pgs_res_json(res, 200, s_usage_object(&l->q, l->rows, &l->totals));
    json_decref(l->rows);
    free(l);
    return PGS_DONE;
}

pgs_handled_t
usage_query_answer(usage_t *u, const pgs_req_t *req, pgs_res_t *res, const usage_who_t *who,
                   const usage_range_t *q)
{
    const char *user = usage_query_sees_all(who) ? NULL : who->user;
    s_collect_t k = {.rows = json_array()};
    if (usage_store_query(u->db, who->ws, user, q->start, q->end, q->group, s_collect, &k) < 0) {
        json_decref(k.rows);
        pgs_res_error(res, req, 503, "service_unavailable",
                      "Usage is unavailable. Try again shortly.", NULL);
        pgs_res_header(res, "Retry-After", "1");
        return PGS_DONE;
    }
    json_t *rows;
    if (q->group == USAGE_BY_DAY) {
        rows = s_fill_days(k.rows, q->start, q->end);
        json_decref(k.rows);
    } else {
        rows = k.rows;
        const char *service = NULL, *kind = NULL;
        json_t *ids = s_label_ids(q->group, rows, &service, &kind);
        s_labelling_t *l = ids ? calloc(1, sizeof *l) : NULL;
        if (l) {
            *l = (s_labelling_t){*q, rows, k.totals};
            if (usage_query_labels(req->call, service, who->ws, kind, ids, s_on_row_labels, l) ==
                0) {
                json_decref(ids);
                return PGS_LATER;
            }
            free(l);
        }
        json_decref(ids);
        s_label_rows(q->group, rows, NULL);
    }
    pgs_res_json(res, 200, s_usage_object(q, rows, &k.totals));
    json_decref(rows);
    return PGS_DONE;
}
