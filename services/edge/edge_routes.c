/*
 * edge_routes — see edge_routes.h. The table is small; a linear scan with
 * segment-wise comparison costs well under a microsecond.
 */
#include "edge_routes.h"

#include <stdio.h>
#include <string.h>

#define KB 1024
static const edge_route_t s_routes[] = {
    /* method, pattern, service, route, scope, write, auth, body, local, deadline, max_body, msg,
     * query (the query parameters a /v1 or /openai route takes; absent: none) */
    {"GET", "/healthz", NULL, "healthz", NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE, EDGE_LOCAL_HEALTHZ, 0, 0, 0, NULL},
    {"GET", "/readyz", NULL, "readyz", NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE, EDGE_LOCAL_READYZ, 0, 0, 0, NULL},
    {"GET", "/v1/openapi.json", NULL, "openapi", NULL, 0, EDGE_AUTH_NONE, EDGE_BODY_NONE, EDGE_LOCAL_OPENAPI, 0, 0, 0, NULL},

    {"GET", "/v1/token", "auth", "token.get", NULL, 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"DELETE", "/v1/token", "auth", "token.revoke_self", NULL, 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/me", "auth", "me.get", "profile:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/subscription", "auth", "subscription.get", "subscription:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/models", "auth", "models.list", "models:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after"},

    /* bots (issue: bots and documents) */
    {"GET", "/v1/bots", "bots", "bots.list", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after"},
    {"POST", "/v1/bots", "bots", "bots.create", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 0, 64 * KB, 0, NULL},
    {"GET", "/v1/bots/{bot_id}", "bots", "bots.show", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"PATCH", "/v1/bots/{bot_id}", "bots", "bots.update", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 0, 64 * KB, 0, NULL},
    {"DELETE", "/v1/bots/{bot_id}", "bots", "bots.delete", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/bots/{bot_id}/documents", "bots", "documents.list", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after"},
    {"POST", "/v1/bots/{bot_id}/documents", "bots", "documents.create", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON_OR_TEXT, 0, 30000, 64 * KB * KB, 0, "title"},
    {"GET", "/v1/bots/{bot_id}/documents/{doc_id}", "bots", "documents.show", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "include"},
    {"DELETE", "/v1/bots/{bot_id}/documents/{doc_id}", "bots", "documents.delete", "bots:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/bots/{bot_id}/search", "bots", "bots.search", "bots:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "q limit"},

    /* chat (issue: chat) */
    {"GET", "/v1/conversations", "chat", "conversations.list", "conversations:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after bot_id"},
    {"POST", "/v1/conversations", "chat", "conversations.create", "conversations:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 0, 64 * KB, 0, NULL},
    {"GET", "/v1/conversations/{conversation_id}", "chat", "conversations.show", "conversations:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"DELETE", "/v1/conversations/{conversation_id}", "chat", "conversations.delete", "conversations:write", 1, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/v1/conversations/{conversation_id}/messages", "chat", "messages.list", "conversations:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after"},
    {"POST", "/v1/conversations/{conversation_id}/messages", "chat", "messages.create", "chat:send", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 120000, 256 * KB, 1, NULL},

    /* the OpenAI-compatible surface (docs/openai.md): a bot is a model */
    {"GET", "/openai/v1/models", "bots", "openai.models.list", "chat:send", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/openai/v1/models/{bot_id}", "bots", "openai.models.show", "chat:send", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"POST", "/openai/v1/chat/completions", "chat", "openai.chat", "chat:send", 1, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 120000, 1024 * KB, 1, NULL},

    /* usage analytics (SPEC §5); creating a report only reads, so it is no write route */
    {"GET", "/v1/usage", "usage", "usage.query", "usage:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "start end group_by"},
    {"GET", "/v1/usage/reports", "usage", "reports.list", "usage:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, "limit after"},
    {"POST", "/v1/usage/reports", "usage", "reports.create", "usage:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_JSON, 0, 0, 16 * KB, 0, NULL},
    {"GET", "/v1/usage/reports/{report_id}", "usage", "reports.show", "usage:read", 0, EDGE_AUTH_TOKEN, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},

    {"POST", "/app/api/login", "auth", "app.login", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0, 0, 16 * KB, 0, NULL},
    {"POST", "/app/api/logout", "auth", "app.logout", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0, 0, 16 * KB, 0, NULL},
    {"GET", "/app/api/session", "auth", "app.session", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"POST", "/app/api/workspace", "auth", "app.workspace", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0, 0, 16 * KB, 0, NULL},
    {"GET", "/app/api/scopes", "auth", "app.scopes", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/app/api/tokens", "auth", "app.tokens.list", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"POST", "/app/api/tokens", "auth", "app.tokens.create", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_RAW, 0, 0, 16 * KB, 0, NULL},
    {"DELETE", "/app/api/tokens/{token_id}", "auth", "app.tokens.revoke", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
    {"GET", "/app/api/usage", "usage", "app.usage", NULL, 0, EDGE_AUTH_SESSION, EDGE_BODY_NONE, 0, 0, 0, 0, NULL},
};
#define S_NROUTES (sizeof s_routes / sizeof s_routes[0])

/* Matches pattern against path; fills params. 1 on a match. */
static int
s_match(const char *pattern, const char *path, edge_route_param_t *params, int *nparams)
{
    const char *p = pattern, *s = path;
    int n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *seg_end = strchr(s, '/');
            if (!seg_end)
                seg_end = s + strlen(s);
            if (!close || seg_end == s || n == EDGE_ROUTES_MAX_PARAMS)
                return 0;
            params[n++] = (edge_route_param_t){p + 1, (size_t)(close - p - 1), s,
                                               (size_t)(seg_end - s)};
            p = close + 1;
            s = seg_end;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*p || *s)
        return 0;
    *nparams = n;
    return 1;
}

edge_route_result_t
edge_routes_match(const char *method, const char *path, const edge_route_t **route,
                  edge_route_param_t *params, int *nparams, char *allow, size_t allow_len)
{
    size_t used = 0;
    int path_found = 0;
    if (allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < S_NROUTES; i++) {
        edge_route_param_t tmp[EDGE_ROUTES_MAX_PARAMS];
        int ntmp = 0;
        if (!s_match(s_routes[i].pattern, path, tmp, &ntmp))
            continue;
        if (strcmp(s_routes[i].method, method) == 0) {
            memcpy(params, tmp, sizeof tmp);
            *nparams = ntmp;
            *route = &s_routes[i];
            return EDGE_ROUTE_FOUND;
        }
        path_found = 1;
        size_t need = (used ? 2 : 0) + strlen(s_routes[i].method);
        if (used + need < allow_len) /* whole method names only */
            used += (size_t)snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
                                     s_routes[i].method);
    }
    return path_found ? EDGE_ROUTE_BAD_METHOD : EDGE_ROUTE_NOT_FOUND;
}

int
edge_routes_is_api_path(const char *path)
{
    return strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0 ||
           strncmp(path, "/app/api/", 9) == 0 || strcmp(path, "/app/api") == 0 ||
           strncmp(path, "/openai/", 8) == 0 || strcmp(path, "/healthz") == 0 ||
           strcmp(path, "/readyz") == 0;
}
