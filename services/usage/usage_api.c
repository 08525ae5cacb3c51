/*
 * usage_api — see usage_api.h.
 */
#include "usage_api.h"
#include "pgs_idem.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_page.h"
#include "pgs_time.h"
#include "usage_query.h"
#include "usage_reports.h"
#include "usage_state.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define S_SESSION_TIMEOUT_MS 2000

/* The caller of a /v1 route from the edge's context: 0, or -1 with res
 * filled (the context lacks it: not a request the edge checked). */
static int
s_who(const pgs_req_t *req, pgs_res_t *res, usage_who_t *who)
{
    if (usage_query_who(req, who) == 0)
        return 0;
    pgs_res_error(res, req, 400, "invalid_request", "Malformed internal request.", NULL);
    return -1;
}

static void
s_unavailable(const pgs_req_t *req, pgs_res_t *res)
{
    pgs_res_error(res, req, 503, "service_unavailable", "Usage is unavailable. Try again shortly.",
                  NULL);
    pgs_res_header(res, "Retry-After", "1");
}

static pgs_handled_t
s_query(usage_t *u, const pgs_req_t *req, pgs_res_t *res, const usage_who_t *who)
{
    usage_range_t q;
    if (usage_query_parse(req, res, json_object_get(pgs_req_params(req), "query"), 1, &q) < 0)
        return PGS_DONE;
    return usage_query_answer(u, req, res, who, &q);
}

pgs_handled_t
usage_api_query(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    usage_who_t who;
    if (s_who(req, res, &who) < 0)
        return PGS_DONE;
    return s_query(arg, req, res, &who);
}

/* Auth's answer for /app/api/usage: the session's context, or the error
 * to answer with as it is (503 when it did not answer). */
static pgs_handled_t
s_on_session(void *arg, const pgs_req_t *req, pgs_res_t *res, pgs_res_t *out)
{
    if (out->status != 200) {
        pgs_res_move(res, out);
        return PGS_DONE;
    }
    json_t *ctx = json_loadb(out->body, out->body_len, 0, NULL);
    usage_who_t who = {json_string_value(json_object_get(ctx, "workspace_id")),
                       json_string_value(json_object_get(ctx, "user_id")),
                       json_string_value(json_object_get(ctx, "workspace_type")),
                       json_string_value(json_object_get(ctx, "role"))};
    pgs_handled_t how = PGS_DONE;
    if (!who.ws || !who.user)
        s_unavailable(req, res);
    else
        how = s_query(arg, req, res, &who);
    json_decref(ctx); /* Cache-Control: no-store comes from the edge, as for every API answer */
    return how;
}

pgs_handled_t
usage_api_app(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    /* Auth owns sessions: it answers with the session's context, or with
     * the 401 every /app/api route gives without one. */
    if (pgs_call_request(req->call, "auth", "session.context", req->ctx, pgs_req_params(req), NULL, 0,
                         S_SESSION_TIMEOUT_MS, s_on_session, arg) < 0) {
        s_unavailable(req, res);
        return PGS_DONE;
    }
    return PGS_LATER;
}

/* ---- reports ---- */

/* The reports a caller may see: all of the workspace's, or their own. */
static const char *
s_report_owner(const usage_who_t *who)
{
    return usage_query_sees_all(who) ? NULL : who->user;
}

pgs_handled_t
usage_api_report_create(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    usage_t *u = arg;
    usage_who_t who;
    if (s_who(req, res, &who) < 0)
        return PGS_DONE;
    static const pgs_json_field_t fields[] = {
        {"start", PGS_JSON_STRING, 1},
        {"end", PGS_JSON_STRING, 1},
        {NULL, 0, 0},
    };
    pgs_json_err_t err = {0};
    json_t *body = pgs_json_parse_object(req->body, req->body_len, &err);
    if (!body || pgs_json_check_fields(body, fields, &err) < 0) {
        json_decref(body);
        pgs_res_error(res, req, 400, err.code ? err.code : "invalid_request", err.message,
                      err.param[0] ? err.param : NULL);
        return PGS_DONE;
    }
    usage_range_t q;
    int bad = usage_query_parse(req, res, body, 0, &q);
    json_decref(body);
    if (bad < 0)
        return PGS_DONE;
    pgs_idem_t idem;
    if (pgs_idem_init(&idem, req, res) < 0 || pgs_idem_begin(u->db, &idem, req, res) != 0)
        return PGS_DONE;
    usage_report_t r = {.created_ms = pgs_time_now_ms()};
    pgs_id_new("rep", r.id);
    snprintf(r.ws, sizeof r.ws, "%s", who.ws);
    snprintf(r.user, sizeof r.user, "%s", who.user);
    snprintf(r.scope, sizeof r.scope, "%s", usage_query_sees_all(&who) ? "workspace" : "user");
    snprintf(r.kind, sizeof r.kind, "requested");
    snprintf(r.start, sizeof r.start, "%s", q.start);
    snprintf(r.end, sizeof r.end, "%s", q.end);
    snprintf(r.status, sizeof r.status, "pending");

    /* The same report, pending or ready, is answered instead of a new one. */
    usage_report_t same;
    int found = usage_store_report_same(u->db, &r, &same);
    if (found == 1) {
        pgs_res_json(res, 200, usage_reports_json(&same));
        usage_report_clear(&same);
        pgs_idem_commit(u->db, &idem, req, res);
        return PGS_DONE;
    }
    /* At most max_reports_per_day new ones per workspace per UTC day. */
    int64_t day_ms = 86400000;
    int64_t today = r.created_ms - r.created_ms % day_ms;
    long long made = found < 0 ? -1 : usage_store_report_count_since(u->db, r.ws, today);
    if (made < 0) {
        pgs_idem_fail_db(u->db, req, res);
        return PGS_DONE;
    }
    if (made >= u->max_reports_per_day) {
        char msg[160], ra[32];
        snprintf(msg, sizeof msg,
                 "This workspace has requested %lld usage reports today, the most a day allows; "
                 "try again after midnight UTC.",
                 made);
        snprintf(ra, sizeof ra, "%lld", (long long)((today + day_ms - r.created_ms + 999) / 1000));
        pgs_res_error(res, req, 429, "report_limit_reached", msg, NULL);
        pgs_res_header(res, "Retry-After", ra);
        pgs_idem_abort(u->db); /* a refusal is not the key's answer: retrying later may work */
        return PGS_DONE;
    }
    if (usage_store_report_insert(u->db, &r) < 0) {
        pgs_idem_fail_db(u->db, req, res);
        return PGS_DONE;
    }
    pgs_res_json(res, 202, usage_reports_json(&r));
    if (pgs_idem_commit(u->db, &idem, req, res) == 0)
        PGS_LOG(PGS_LOG_INFO, req->request_id, "usage report %s requested workspace=%s %s..%s",
                r.id, r.ws, r.start, r.end);
    return PGS_DONE;
}

typedef struct {
    json_t *data;
    usage_report_t last;
    int n;
} s_list_t;

static void
s_list_each(const usage_report_t *r, void *arg)
{
    s_list_t *l = arg;
    json_t *o = usage_reports_json(r);
    /* A list shows what each report is, not its rows: GET one for those. */
    json_object_del(o, "rows");
    json_array_append_new(l->data, o);
    l->last = *r;
    l->last.rows = l->last.totals = NULL;
    l->n++;
}

pgs_handled_t
usage_api_report_list(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    usage_t *u = arg;
    usage_who_t who;
    pgs_page_t page;
    if (s_who(req, res, &who) < 0)
        return PGS_DONE;
    if (pgs_page_parse(req, res, &page) < 0)
        return PGS_DONE;
    s_list_t l = {.data = json_array()};
    if (usage_store_report_list(u->db, who.ws, s_report_owner(&who), page.has_after, page.after_ts,
                                page.after_id, page.limit + 1, s_list_each, &l) < 0) {
        json_decref(l.data);
        s_unavailable(req, res);
        return PGS_DONE;
    }
    int more = l.n > page.limit;
    char cursor[PGS_PAGE_CURSOR_MAX] = "";
    if (more) {
        json_array_remove(l.data, (size_t)page.limit);
        json_t *lastobj = json_array_get(l.data, (size_t)page.limit - 1);
        usage_report_t r;
        const char *id = json_string_value(json_object_get(lastobj, "id"));
        if (id && usage_store_report_get(u->db, who.ws, id, &r) == 1) {
            pgs_page_cursor(r.created_ms, r.id, cursor, sizeof cursor);
            usage_report_clear(&r);
        }
    }
    pgs_res_json(res, 200, pgs_page_list(l.data, more, cursor));
    return PGS_DONE;
}

/* 1 when the Accept header asks for CSV rather than JSON. */
static int
s_wants_csv(const pgs_req_t *req)
{
    const char *accept =
        json_string_value(json_object_get(json_object_get(pgs_req_params(req), "headers"), "accept"));
    return accept && strncasecmp(accept, "text/csv", 8) == 0;
}

pgs_handled_t
usage_api_report_show(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    usage_t *u = arg;
    usage_who_t who;
    if (s_who(req, res, &who) < 0)
        return PGS_DONE;
    const char *id =
        json_string_value(json_object_get(json_object_get(pgs_req_params(req), "path"), "report_id"));
    usage_report_t r;
    int rc = id && pgs_id_valid(id, "rep") ? usage_store_report_get(u->db, who.ws, id, &r) : 0;
    if (rc < 0) {
        s_unavailable(req, res);
        return PGS_DONE;
    }
    const char *owner = s_report_owner(&who);
    if (rc == 1 && owner && strcmp(r.user, owner) != 0) {
        usage_report_clear(&r);
        rc = 0; /* another member's report: as if it did not exist */
    }
    if (rc == 0) {
        pgs_res_error(res, req, 404, "not_found", "No such usage report.", NULL);
        return PGS_DONE;
    }
    if (!s_wants_csv(req)) {
        pgs_res_json(res, 200, usage_reports_json(&r));
    } else if (strcmp(r.status, "ready") != 0) {
        pgs_res_error(res, req, 409, "conflict", "The report is not ready yet.", NULL);
    } else {
        size_t len = 0;
        char *csv = usage_reports_csv(&r, &len);
        if (!csv) {
            pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
        } else {
            pgs_res_clear(res);
            res->status = 200;
            res->body = csv;
            res->body_len = len;
            res->headers = json_object();
            pgs_res_header(res, "Content-Type", "text/csv; charset=utf-8");
            char disp[96];
            snprintf(disp, sizeof disp, "attachment; filename=\"usage-%s.csv\"", r.id);
            pgs_res_header(res, "Content-Disposition", disp);
        }
    }
    usage_report_clear(&r);
    return PGS_DONE;
}

/* A monthly report asked for by pegasusctl, waiting for auth to say
 * whether it knows the workspace. */
typedef struct {
    usage_t *u;
    char ws[PGS_ID_MAX];
    char start[USAGE_DAY_LEN], end[USAGE_DAY_LEN];
} s_admin_t;

static void
s_admin_report(s_admin_t *ad, const pgs_req_t *req, pgs_res_t *res, json_t *names)
{
    usage_t *u = ad->u;
    if (!names) {
        s_unavailable(req, res);
        return;
    }
    if (!json_object_get(names, ad->ws)) {
        pgs_res_error(res, req, 404, "not_found", "No such workspace.", "workspace_id");
        return;
    }
    usage_report_t r;
    int rc = usage_store_report_monthly(u->db, ad->ws, ad->start, &r);
    if (rc == 0) {
        r = (usage_report_t){.created_ms = pgs_time_now_ms()};
        pgs_id_new("rep", r.id);
        snprintf(r.ws, sizeof r.ws, "%s", ad->ws);
        snprintf(r.scope, sizeof r.scope, "workspace");
        snprintf(r.kind, sizeof r.kind, "monthly");
        snprintf(r.start, sizeof r.start, "%s", ad->start);
        snprintf(r.end, sizeof r.end, "%s", ad->end);
        snprintf(r.status, sizeof r.status, "pending");
        rc = usage_store_report_insert(u->db, &r) == 0 ? 1 : -1;
    }
    /* Made now, at the operator's request: fresh numbers even when the
     * month's report existed. */
    if (rc == 1 && usage_reports_generate(u, &r) == 0)
        pgs_res_json(res, 200, usage_reports_json(&r));
    else
        s_unavailable(req, res);
    if (rc == 1)
        usage_report_clear(&r);
}

static pgs_handled_t
s_on_workspace(void *arg, const pgs_req_t *req, pgs_res_t *res, json_t *names)
{
    s_admin_report(arg, req, res, names);
    free(arg);
    return PGS_DONE;
}

pgs_handled_t
usage_api_admin_report(void *arg, const pgs_req_t *req, pgs_res_t *res)
{
    usage_t *u = arg;
    const char *actor = pgs_req_ctx(req, "actor");
    if (!actor || strcmp(actor, "pegasusctl") != 0) {
        pgs_res_error(res, req, 403, "forbidden", "Admin routes are for pegasusctl only.", NULL);
        return PGS_DONE;
    }
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
    const char *ws = json_string_value(json_object_get(body, "workspace_id"));
    const char *month = json_string_value(json_object_get(body, "month"));
    char start[USAGE_DAY_LEN], end[USAGE_DAY_LEN];
    s_admin_t *ad = NULL;
    pgs_handled_t how = PGS_DONE;
    if (!ws || !pgs_id_valid(ws, "ws")) {
        pgs_res_error(res, req, 400, "invalid_request", "--workspace needs a workspace id (ws_…).",
                      "workspace_id");
    } else if (usage_reports_month(month, start, end) < 0) {
        pgs_res_error(res, req, 400, "invalid_request", "--month needs a month as YYYY-MM.",
                      "month");
    } else if (!(ad = calloc(1, sizeof *ad))) {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
    } else {
        memcpy(ad->start, start, sizeof start);
        memcpy(ad->end, end, sizeof end);
        ad->u = u;
        snprintf(ad->ws, sizeof ad->ws, "%s", ws);
        json_t *ids = json_pack("[s]", ws);
        if (usage_query_labels(req->call, "auth", ws, "workspaces", ids, s_on_workspace, ad) ==
            0) {
            ad = NULL; /* the continuation's */
            how = PGS_LATER;
        } else {
            s_unavailable(req, res);
        }
        json_decref(ids);
    }
    free(ad);
    json_decref(body);
    return how;
}
