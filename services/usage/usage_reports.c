/*
 * usage_reports — see usage_reports.h.
 */
#include "usage_reports.h"
#include "pgs_log.h"
#include "pgs_time.h"
#include "usage_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CLAIM_STALE_MS 60000
#define S_MONTHLY_EVERY_MS (10 * 60 * 1000)

json_t *
usage_reports_json(const usage_report_t *r)
{
    char created[PGS_TIME_RFC3339_LEN];
    pgs_time_rfc3339(r->created_ms / 1000, created);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O?,s:O?,s:s}", "id", r->id, "object",
                          "usage_report", "start", r->start, "end", r->end, "status", r->status,
                          "kind", r->kind, "scope", r->scope, "rows", r->rows, "totals", r->totals,
                          "created_at", created);
    if (o && strcmp(r->status, "failed") == 0)
        json_object_set_new(o, "error", json_string(r->error[0] ? r->error : "failed"));
    return o;
}

char *
usage_reports_csv(const usage_report_t *r, size_t *len)
{
    static const char header[] = "date,requests,messages,input_tokens,output_tokens,errors\r\n";
    size_t cap = sizeof header + (json_array_size(r->rows) + 1) * 128;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = (size_t)snprintf(out, cap, "%s", header);
    size_t i;
    json_t *row;
    json_array_foreach(r->rows, i, row)
    {
        const char *day = json_string_value(json_object_get(row, "key"));
        int w = snprintf(out + n, cap - n, "%s,%lld,%lld,%lld,%lld,%lld\r\n", day ? day : "",
                         (long long)json_integer_value(json_object_get(row, "requests")),
                         (long long)json_integer_value(json_object_get(row, "messages")),
                         (long long)json_integer_value(json_object_get(row, "input_tokens")),
                         (long long)json_integer_value(json_object_get(row, "output_tokens")),
                         (long long)json_integer_value(json_object_get(row, "errors")));
        if (w < 0 || (size_t)w >= cap - n) {
            free(out);
            return NULL;
        }
        n += (size_t)w;
    }
    *len = n;
    return out;
}

int
usage_reports_generate(usage_t *u, usage_report_t *r)
{
    json_t *rows = NULL, *totals = NULL;
    const char *user = strcmp(r->scope, "user") == 0 ? r->user : NULL;
    if (usage_query_days(u, r->ws, user, r->start, r->end, &rows, &totals) < 0)
        return -1;
    if (usage_store_report_finish(u->db, r->id, "ready", rows, totals, NULL) < 0) {
        json_decref(rows);
        json_decref(totals);
        return -1;
    }
    usage_report_clear(r);
    r->rows = rows;
    r->totals = totals;
    snprintf(r->status, sizeof r->status, "ready");
    pgs_info("usage report %s ready workspace=%s %s..%s", r->id, r->ws, r->start, r->end);
    return 0;
}

int
usage_reports_month(const char *month, char start[USAGE_DAY_LEN], char end[USAGE_DAY_LEN])
{
    int y, m;
    char tail;
    if (!month || strlen(month) != 7 || sscanf(month, "%4d-%2d%c", &y, &m, &tail) != 2 ||
        month[4] != '-' || y < 1970 || y > 9999 || m < 1 || m > 12)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m, .tm_mday = 0, .tm_hour = 12};
    time_t last = timegm(&tm); /* day 0 of the next month: the last of this one */
    struct tm lt;
    gmtime_r(&last, &lt);
    snprintf(start, USAGE_DAY_LEN, "%04d-%02d-01", y, m);
    snprintf(end, USAGE_DAY_LEN, "%04d-%02d-%02d", y, m, lt.tm_mday);
    return 0;
}

/* Creates the monthly reports of the previous month that are missing. */
static void
s_monthly(usage_t *u)
{
    time_t now = (time_t)(pgs_time_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon; /* the previous month, 1-based */
    if (m == 0) {
        m = 12;
        y--;
    }
    char month[16], start[USAGE_DAY_LEN], end[USAGE_DAY_LEN];
    snprintf(month, sizeof month, "%04d-%02d", y, m);
    if (usage_reports_month(month, start, end) < 0)
        return;
    int n = usage_store_report_monthly_due(u->db, start, end, pgs_time_now_ms());
    if (n > 0)
        pgs_info("usage: %d monthly report(s) of %s to make", n, month);
}

void
usage_reports_tick(usage_t *u)
{
    int64_t mono = pgs_time_mono_ms();
    if (mono >= u->next_monthly) {
        u->next_monthly = mono + S_MONTHLY_EVERY_MS;
        s_monthly(u);
    }
    if (mono >= u->next_expire) {
        /* Requested reports older than the retention go, 500 at a time. */
        int64_t before = pgs_time_now_ms() - u->report_retention_days * 86400000LL;
        int n = usage_store_report_expire(u->db, before, 500);
        u->next_expire = mono + (n == 500 ? 1000 : 10000);
        if (n > 0)
            pgs_info("%d usage reports older than %lld days expired", n,
                     u->report_retention_days);
    }
    usage_report_t r;
    if (usage_store_report_claim(u->db, u->claimer, pgs_time_now_ms(), S_CLAIM_STALE_MS, &r) != 1)
        return;
    if (usage_reports_generate(u, &r) < 0)
        pgs_warn("usage report %s: storage failed; retried later", r.id);
    usage_report_clear(&r);
}
