/*
 * pgs_openai — see pgs_openai.h.
 */
#include "pgs_openai.h"

const char *
pgs_openai_error_type(int status)
{
    switch (status) {
    case 401:
        return "authentication_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 429:
        return "rate_limit_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

json_t *
pgs_openai_error(int status, const char *code, const char *message, const char *param,
                 const char *request_id)
{
    return json_pack("{s:{s:s,s:s,s:o,s:s,s:s}}", "error", "message", message, "type",
                     pgs_openai_error_type(status), "param",
                     param ? json_string(param) : json_null(), "code", code, "request_id",
                     request_id ? request_id : "");
}
