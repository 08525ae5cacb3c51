/*
 * edge_openai — the OpenAI-compatible surface's errors (/openai/v1, see
 * docs/openai.md). Its routes are ordinary routes of the table, checked as
 * every /v1 route is; only their error bodies take OpenAI's shape, so the
 * OpenAI SDKs raise the right error classes: {"error": {"message", "type",
 * "param", "code"}} with type as OpenAI names it from the status
 * (invalid_request_error, authentication_error, permission_error,
 * not_found_error, rate_limit_error, api_error), code the Pegasus code, and
 * the request id kept.
 */
#ifndef EDGE_OPENAI_H
#define EDGE_OPENAI_H

#include <stddef.h>

/* 1 when path is on the OpenAI-compatible surface. */
int edge_openai_path(const char *path);

/* OpenAI's error body for a Pegasus error body ({"error":{"code",
 * "message", "request_id", "param"?}}) answered with status. Owned, or
 * NULL when body is not a Pegasus error (it is then left as it is). */
char *edge_openai_error_body(int status, const char *body, size_t len);

#endif
