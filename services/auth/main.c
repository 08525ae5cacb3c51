/*
 * pegasus-auth — users, workspaces, teams, memberships, plans, sessions and
 * Personal Access Tokens. The only writer of token and workspace state: to
 * SQLite (auth.db) first, then Redis, which it rebuilds whenever Redis lacks
 * the pgs:rebuilt marker. Route names are those of docs/internals.md.
 */
#include "auth_admin.h"
#include "auth_api.h"
#include "auth_cache.h"
#include "auth_session.h"
#include "auth_state.h"
#include "auth_tokens.h"
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

static int
s_init(pgs_worker_t *w)
{
    auth_t *a = auth_state_new(w);
    if (!a)
        return -1;
    pgs_worker_set_state(w, a);
    return 0;
}

static void
s_tick(pgs_worker_t *w)
{
    auth_t *a = auth_state(w);
    auth_cache_tick(a);
    pgs_db_wal_tick(a->db, &a->last_wal);
}

static void
s_fini(pgs_worker_t *w)
{
    auth_t *a = auth_state(w);
    auth_state_destroy(&a);
    pgs_worker_set_state(w, NULL);
}

static const pgs_service_t s_service = {
    .name = "auth",
    .routes = s_routes,
    .init = s_init,
    .tick = s_tick,
    .fini = s_fini,
};

int
main(int argc, char **argv)
{
    return pgs_worker_main(&s_service, argc, argv);
}
