/*
 * pegasus-auth — users, workspaces, teams, memberships, plans, sessions and
 * Personal Access Tokens. The only writer of token and workspace state: to
 * SQLite (auth.db) first, then Redis, which it rebuilds whenever Redis lacks
 * the pgs:rebuilt marker. Route names are those of docs/internals.md.
 */
#include "auth_admin.h"
#include "auth_api.h"
#include "auth_cache.h"
#include "auth_view.h"
#include "auth_session.h"
#include "auth_state.h"
#include "auth_tokens.h"
#include "pgs_log.h"
#include "pgs_worker.h"

static const pgs_route_t s_routes[] = {
    /* /v1, after the edge's checks */
    {"token.get", auth_api_token_get},
    {"token.revoke_self", auth_api_token_revoke_self},
    {"me.get", auth_api_me},
    {"subscription.get", auth_api_subscription},
    {"models.list", auth_api_models},
    /* the web app (session cookie) */
    {"app.login", auth_session_login},
    {"app.logout", auth_session_logout},
    {"app.session", auth_session_get},
    {"app.workspace", auth_session_switch},
    {"app.scopes", auth_session_scopes},
    {"app.tokens.list", auth_tokens_app_list},
    {"app.tokens.create", auth_tokens_app_create},
    {"app.tokens.revoke", auth_tokens_app_revoke},
    /* internal: the edge */
    {"token.lookup", auth_api_token_lookup},
    {"token.touch", auth_api_token_touch},
    /* internal: the usage service */
    {"labels", auth_api_labels},
    {"session.context", auth_session_context},
    /* internal: pegasusctl */
    {"admin.user.add", auth_admin_user_add},
    {"admin.user.list", auth_admin_user_list},
    {"admin.plan.set", auth_admin_plan_set},
    {"admin.team.add", auth_admin_team_add},
    {"admin.team.state", auth_admin_team_state},
    {"admin.team.seats", auth_admin_team_seats},
    {"admin.team.member.add", auth_admin_member_add},
    {"admin.team.member.set", auth_admin_member_set},
    {"admin.team.member.remove", auth_admin_member_remove},
    {"admin.token.list", auth_admin_token_list},
    {"admin.token.revoke", auth_admin_token_revoke},
    {NULL, NULL},
};

static void
s_tick(void *arg)
{
    auth_t *a = arg;
    auth_cache_tick(a);
    auth_view_tick(a->view);
    pgs_db_wal_tick(a->db, &a->last_wal);
}

int
main(int argc, char **argv)
{
    /* Sign-ins hash on the threads; the loop keeps serving meanwhile, so it
     * may hold more requests at once than a service without them. */
    pgs_worker_settings_t settings = {.capacity = 32, .threads = 2};
    int rc;
    pgs_worker_t *w = pgs_worker_new("auth", argc, argv, &settings, &rc);
    if (!w)
        return rc;
    auth_t *a = auth_state_new(w);
    if (!a || pgs_worker_routes(w, s_routes, a) < 0 ||
        pgs_worker_every(w, 250, s_tick, a) < 0) {
        pgs_error("service failed to start");
        auth_state_destroy(&a);
        pgs_worker_destroy(&w);
        return 1;
    }
    rc = pgs_worker_run(w);
    auth_state_destroy(&a);
    pgs_worker_destroy(&w);
    return rc;
}
