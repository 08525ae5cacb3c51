/*
 * pgs_openai — OpenAI's error shape, shared by the edge (every error on an
 * /openai/ path) and chat (errors inside a completion's stream), so that
 * the OpenAI SDKs raise the right classes (docs/openai.md).
 */
#ifndef PGS_OPENAI_H
#define PGS_OPENAI_H

#include <jansson.h>

/* OpenAI's error type for an HTTP status: invalid_request_error,
 * authentication_error, permission_error, not_found_error,
 * rate_limit_error or api_error. */
const char *pgs_openai_error_type(int status);

/* {"error": {"message", "type", "param" (NULL: null), "code",
 * "request_id"}}, owned. */
json_t *pgs_openai_error(int status, const char *code, const char *message, const char *param,
                         const char *request_id);

#endif
