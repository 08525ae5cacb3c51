/*
 * ctl_system — see ctl_system.h.
 */
#include "ctl_system.h"

#include "ctl_master.h"
#include "ctl_out.h"

#include <stdio.h>
#include <string.h>

/* Sends request to the supervisor; prints the reply or the error. On
 * success, *reply_out (when not NULL) receives the reply (owned). */
static int
s_call(const ctl_t *c, json_t *request, json_t **reply_out)
{
    char err[512];
    if (!request)
        return ctl_out_fail("out of memory");
    json_t *reply = ctl_master_call(c, request, err, sizeof err);
    json_decref(request);
    if (!reply)
        return ctl_out_fail("%s", err);
    const char *e = json_string_value(json_object_get(reply, "error"));
    if (c->json)
        ctl_out_json(reply);
    if (e) {
        ctl_out_fail("%s", e);
        json_decref(reply);
        return 1;
    }
    if (reply_out)
        *reply_out = reply;
    else
        json_decref(reply);
    return 0;
}

int
ctl_system_status(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0)
        return rc;
    json_t *reply = NULL;
    if ((rc = s_call(c, json_pack("{s:s}", "cmd", "status"), &reply)) != 0 || c->json) {
        json_decref(reply);
        return rc;
    }
    /* USAGE_WAITING: an edge's usage events waiting for Redis (shown for
     * edges only). */
    static const char *const headers[] = {"SERVICE",  "INSTANCE", "PID",           "STATE",
                                          "UPTIME_S", "RESTARTS", "USAGE_WAITING", NULL};
    static const char *const fields[] = {"service",  "instance", "pid",           "state",
                                         "uptime_s", "restarts", "usage_waiting", NULL};
    rc = ctl_out_list(json_object_get(reply, "processes"), headers, fields);
    json_decref(reply);
    return rc;
}

int
ctl_system_restart(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 1, &npos)) != 0)
        return rc;
    if (npos != 1)
        return ctl_args_usage_error(c, "name the service to restart");
    rc = s_call(c, json_pack("{s:s, s:s}", "cmd", "restart", "service", pos[0]), NULL);
    if (rc == 0 && !c->json)
        printf("restarting %s, one process at a time\n", pos[0]);
    return rc;
}

int
ctl_system_scale(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[2];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 2, &npos)) != 0)
        return rc;
    if (npos != 2)
        return ctl_args_usage_error(c, "give a service and a process count");
    long long n;
    if ((rc = ctl_args_int(c, "the process count", pos[1], 1, 64, &n)) != 0)
        return rc;
    if (strcmp(pos[0], "edge") == 0)
        return ctl_args_usage_error(c, "the edge cannot be scaled: exactly one runs per host");
    rc = s_call(
        c, json_pack("{s:s, s:s, s:I}", "cmd", "scale", "service", pos[0], "count", (json_int_t)n),
        NULL);
    if (rc == 0 && !c->json)
        printf("%s scaled to %lld process%s\n", pos[0], n, n == 1 ? "" : "es");
    return rc;
}
