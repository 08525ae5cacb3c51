/*
 * ctl_usage — see ctl_usage.h.
 */
#include "ctl_usage.h"

#include "ctl_broker.h"
#include "ctl_out.h"

#include <jansson.h>
#include <stdio.h>

int
ctl_usage_report(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("workspace"), CTL_OPT_VALUE("month"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "workspace")) != 0 ||
        (rc = ctl_args_require(c, opts, "month")) != 0)
        return rc;
    json_t *report = NULL;
    json_t *body = json_pack("{s:s, s:s}", "workspace_id", ctl_args_get(opts, "workspace"), "month",
                             ctl_args_get(opts, "month"));
    rc = ctl_broker_request(c, "usage", "admin.usage.report", body, &report);
    if (rc != 0 || c->json) {
        json_decref(report);
        return rc;
    }
    printf("usage report %s: %s to %s, %s\n", json_string_value(json_object_get(report, "id")),
           json_string_value(json_object_get(report, "start")),
           json_string_value(json_object_get(report, "end")),
           json_string_value(json_object_get(report, "status")));
    static const char *const headers[] = {"DATE",          "REQUESTS", "MESSAGES", "INPUT TOKENS",
                                          "OUTPUT TOKENS", "ERRORS",   NULL};
    static const char *const fields[] = {"key",           "requests", "messages", "input_tokens",
                                         "output_tokens", "errors",   NULL};
    rc = ctl_out_list(json_object_get(report, "rows"), headers, fields);
    json_t *t = json_object_get(report, "totals");
    printf("total: %lld requests, %lld messages, %lld input tokens, %lld output tokens, "
           "%lld errors\n",
           (long long)json_integer_value(json_object_get(t, "requests")),
           (long long)json_integer_value(json_object_get(t, "messages")),
           (long long)json_integer_value(json_object_get(t, "input_tokens")),
           (long long)json_integer_value(json_object_get(t, "output_tokens")),
           (long long)json_integer_value(json_object_get(t, "errors")));
    json_decref(report);
    return rc;
}
