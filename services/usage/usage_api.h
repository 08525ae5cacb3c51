/*
 * usage_api — the usage service's handlers (route names of
 * services/edge/edge_routes.c; behaviour in docs/internals.md, "Usage
 * analytics"):
 *   usage.query          GET /v1/usage
 *   app.usage            GET /app/api/usage (session resolved by auth)
 *   reports.create       POST /v1/usage/reports → 202
 *   reports.list         GET /v1/usage/reports
 *   reports.show         GET /v1/usage/reports/{report_id} (JSON or CSV)
 *   admin.usage.report   pegasusctl usage report --workspace WS --month M
 */
#ifndef USAGE_API_H
#define USAGE_API_H

#include "pgs_worker.h"

pgs_handled_t usage_api_query(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t usage_api_app(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t usage_api_report_create(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t usage_api_report_list(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t usage_api_report_show(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t usage_api_admin_report(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
