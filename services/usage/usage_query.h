/*
 * usage_query — the usage query of SPEC §5 (GET /v1/usage, /app/api/usage,
 * and the day rows of reports): its parameters, who sees what, the rows
 * with their labels and the totals.
 *
 * Dates are UTC days "YYYY-MM-DD"; end is inclusive. Without start and end
 * the range is the 30 days ending today; with only one of them the other
 * is today (end) or 29 days before end (start). 400 invalid_request with
 * param for a malformed or impossible date, start after end (param start)
 * or a range over 366 days (param start), an unknown group_by.
 */
#ifndef USAGE_QUERY_H
#define USAGE_QUERY_H

#include "usage_state.h"
#include "usage_store.h"

#include <jansson.h>

#define USAGE_MAX_DAYS 366

typedef struct {
    char start[USAGE_DAY_LEN], end[USAGE_DAY_LEN];
    usage_group_t group;
} usage_range_t;

/* The caller: its workspace, user, workspace type and role (as in the
 * edge's context). */
typedef struct {
    const char *ws, *user, *type, *role;
} usage_who_t;

/* The who of a /v1 request's context. 0, or -1 when it lacks one. */
int usage_query_who(const pgs_req_t *req, usage_who_t *who);

/* 1 when who sees the whole workspace's usage (a Personal workspace, a team
 * owner or admin), else 0 (only their own). */
int usage_query_sees_all(const usage_who_t *who);

/* Reads start, end and (when with_group) group_by from src (an object of
 * strings: the query parameters, or a report's body). 0, or -1 with res
 * filled (400). */
int usage_query_parse(const pgs_req_t *req, pgs_res_t *res, json_t *src, int with_group,
                      usage_range_t *out);

/* Answers req with the usage object for who and q: PGS_DONE with res
 * filled, or PGS_LATER when the rows' names are asked of auth or bots (the
 * call is continued when they come). who's strings are read before this
 * returns. */
pgs_handled_t usage_query_answer(usage_t *u, const pgs_req_t *req, pgs_res_t *res,
                                 const usage_who_t *who, const usage_range_t *q);

/* A continuation of a call that gets names: an object id → name (borrowed),
 * or NULL when the service did not answer (pgs_worker.h, continuations). */
typedef pgs_handled_t (*usage_labels_fn)(void *arg, const pgs_req_t *req, pgs_res_t *res,
                                         json_t *names);

/* Asks service's internal labels route, for call, for the names of ids (an
 * array) of kind ("tokens", "users", "workspaces" of auth; "bots" of bots);
 * then fn continues the call. 0, or -1 (fn will not run). */
int usage_query_labels(pgs_call_t *call, const char *service, const char *ws, const char *kind,
                       json_t *ids, usage_labels_fn fn, void *arg);

/* The day rows (zeros included) and the totals of ws between start and
 * end, of one user when user is not NULL. 0 (both owned), or -1. */
int usage_query_days(usage_t *u, const char *ws, const char *user, const char *start,
                     const char *end, json_t **rows, json_t **totals);

#endif
