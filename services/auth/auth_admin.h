/*
 * auth_admin — the admin.* routes that pegasusctl calls through the broker
 * (users, plans, teams, members, team state and seats, tokens). Request and
 * response shapes are documented at the top of auth_admin.c.
 */
#ifndef AUTH_ADMIN_H
#define AUTH_ADMIN_H

#include "pgs_worker.h"

pgs_handled_t auth_admin_user_add(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_user_list(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_plan_set(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_team_add(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_team_state(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_team_seats(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_member_add(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_member_set(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_member_remove(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_token_list(void *arg, const pgs_req_t *req, pgs_res_t *res);
pgs_handled_t auth_admin_token_revoke(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
