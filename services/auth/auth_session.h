/*
 * auth_session — sign-in to the web app: sessions in Redis (pgs:sess:<id>,
 * sliding idle lifetime within an absolute one), the session cookie, the
 * CSRF token, failed-login lockout (pgs:lf:<email>), the active workspace
 * per session, and the handlers app.login, app.logout, app.session,
 * app.workspace and app.scopes.
 *
 * Rules (SPEC §4, §8): sign-in needs Content-Type: application/json and no
 * CSRF header; every other state-changing call needs X-CSRF-Token equal to
 * the session's token (403 csrf_failed); unknown email and wrong password
 * are the same 401 invalid_credentials and take about as long; after
 * [auth] login_max_failures failures within login_window_s the email is
 * locked for login_window_s (429 login_locked + Retry-After); after
 * login_max_failures_per_address failures from one client address (any
 * emails) that address is refused as long (429 login_throttled). Both are
 * checked before any password is hashed; the message says when to retry.
 */
#ifndef AUTH_SESSION_H
#define AUTH_SESSION_H

#include "auth_state.h"
#include "auth_store.h"

#define AUTH_SESSION_ID_LEN 43 /* base64url of 32 random bytes */

typedef struct {
    char id[AUTH_SESSION_ID_LEN + 1];
    char user[PGS_ID_MAX];
    char ws[PGS_ID_MAX];
    char csrf[AUTH_SESSION_ID_LEN + 1];
    int64_t created;
} auth_sess_t;

/* An in-app request with a valid session. */
typedef struct {
    auth_sess_t sess;
    auth_user_t user;
    auth_ws_t ws;   /* the session's active workspace */
    auth_mem_t mem; /* the user's membership of it */
    /* This request found the user no longer a member of the session's
     * active workspace and moved the session to the Personal one: a
     * state-changing call meant for the old workspace must not land in the
     * Personal one. */
    int fell_back;
} auth_app_t;

/* Checks the session cookie (and the CSRF header when need_csrf), slides
 * the idle expiry and loads the user and the active workspace (falling back
 * to the Personal one when the user left the active workspace). Returns 0,
 * or -1 with res filled (401 not_signed_in, 403 csrf_failed, 503). */
int auth_session_require(auth_t *a, const pgs_req_t *req, pgs_res_t *res, int need_csrf,
                         auth_app_t *out);

/* app.login: {email, password} → 200 {user, workspaces:[{id, object, type,
 * name, plan, role, seat, read_only, api_access}], active_workspace_id
 * (the Personal one), csrf_token} + Set-Cookie; 415, 400, 401
 * invalid_credentials, 429 login_locked (Retry-After), 503. */
pgs_handled_t auth_session_login(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.logout (CSRF): ends the session → 204 + an expiring Set-Cookie. */
pgs_handled_t auth_session_logout(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.session: the login shape for the current session. */
pgs_handled_t auth_session_get(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.workspace (CSRF): {workspace_id} → the login shape with the new
 * active workspace; 404 not_found for a workspace the user is not in. */
pgs_handled_t auth_session_switch(void *arg, const pgs_req_t *req, pgs_res_t *res);
/* app.scopes: {scopes:[{id,label,description,write}], presets:[{id,label,
 * description,scopes}], expires_in_days:[30,60,90,180,365]}. */
pgs_handled_t auth_session_scopes(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* session.context (internal, for services serving /app/api routes): the
 * session of the request's cookie as the edge's context for a token:
 * {"user_id","workspace_id","workspace_type","role","seat","plan"} for the
 * active workspace; 401 like app.session without a valid session. */
pgs_handled_t auth_session_context(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
