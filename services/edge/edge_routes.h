/*
 * edge_routes — the one table of HTTP routes: method + path pattern →
 * service, route name, scope, write flag, deadline and body rules. Path
 * patterns use {name} for one non-empty segment; the matched values are
 * handed to the worker as params.path.
 */
#ifndef EDGE_ROUTES_H
#define EDGE_ROUTES_H

#include <stddef.h>

typedef enum {
    EDGE_AUTH_NONE = 0, /* served without authentication (health, docs) */
    EDGE_AUTH_TOKEN,    /* /v1: bearer token, checks 1–11 */
    EDGE_AUTH_SESSION,  /* /app/api: the worker checks the session cookie */
} edge_auth_t;

typedef enum {
    EDGE_BODY_NONE = 0, /* a body, if any, is read and ignored */
    EDGE_BODY_RAW,      /* forwarded as it is; the worker validates it */
    EDGE_BODY_JSON,     /* application/json */
    EDGE_BODY_JSON_OR_TEXT, /* JSON, or text/plain | text/markdown | text/html */
} edge_body_t;

typedef enum {
    EDGE_LOCAL_NONE = 0, /* forwarded to a worker */
    EDGE_LOCAL_HEALTHZ,
    EDGE_LOCAL_READYZ,
    EDGE_LOCAL_OPENAPI,
} edge_local_t;

typedef struct {
    const char *method;
    const char *pattern;
    const char *service; /* NULL for local routes */
    const char *route;
    const char *scope;   /* NULL: any valid token, no scope */
    int write;           /* needs a write scope (checks 8 and 9) */
    edge_auth_t auth;
    edge_body_t body;
    edge_local_t local;
    int deadline_ms;     /* 0: the config default */
    size_t max_body;     /* 0: the config default */
    int counts_message;  /* check 11: reserves one message of the quota */
    const char *query;   /* the query parameters it takes, space separated (NULL: none);
                            another is a 400 on token routes */
} edge_route_t;

#define EDGE_ROUTES_MAX_PARAMS 4

typedef struct {
    const char *name;  /* borrowed from the pattern, name_len bytes */
    size_t name_len;
    const char *value; /* borrowed from the path, value_len bytes */
    size_t value_len;
} edge_route_param_t;

typedef enum {
    EDGE_ROUTE_FOUND = 0,
    EDGE_ROUTE_NOT_FOUND,
    EDGE_ROUTE_BAD_METHOD,
} edge_route_result_t;

/* Finds the route for method and path (no query). On EDGE_ROUTE_FOUND sets
 * *route and fills params (count in *nparams). On EDGE_ROUTE_BAD_METHOD
 * writes the allowed methods ("GET, DELETE") into allow. */
edge_route_result_t edge_routes_match(const char *method, const char *path,
                                      const edge_route_t **route, edge_route_param_t *params,
                                      int *nparams, char *allow, size_t allow_len);

/* 1 when path belongs to the API namespaces (/v1, /app/api, /healthz,
 * /readyz) rather than to the web app's static files. */
int edge_routes_is_api_path(const char *path);

#endif
