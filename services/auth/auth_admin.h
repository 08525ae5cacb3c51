/*
 * auth_admin — the admin.* routes that pegasusctl calls through the broker
 * (users, plans, teams, members, team state and seats, tokens). Request and
 * response shapes are documented at the top of auth_admin.c.
 */
#ifndef AUTH_ADMIN_H
#define AUTH_ADMIN_H

#include "pgs_worker.h"

void auth_admin_user_add(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_user_list(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_plan_set(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_team_add(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_team_state(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_team_seats(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_member_add(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_member_set(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_member_remove(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_token_list(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);
void auth_admin_token_revoke(pgs_worker_t *w, const pgs_req_t *req, pgs_res_t *res);

#endif
