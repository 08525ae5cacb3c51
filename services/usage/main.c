/*
 * pegasus-usage — usage analytics (SPEC §5): counts the edges' usage events
 * from the Redis stream pgs:usage into usage.db exactly once, answers usage
 * queries, and makes usage reports in the background. Route names are those
 * of services/edge/edge_routes.c; the design is in docs/internals.md,
 * "Usage analytics".
 */
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_worker.h"
#include "usage_api.h"
#include "usage_consume.h"
#include "usage_reports.h"
#include "usage_state.h"

static const pgs_route_t s_routes[] = {
    {"usage.query", usage_api_query},
    {"app.usage", usage_api_app},
    {"reports.create", usage_api_report_create},
    {"reports.list", usage_api_report_list},
    {"reports.show", usage_api_report_show},
    /* internal: pegasusctl */
    {"admin.usage.report", usage_api_admin_report},
    {NULL, NULL},
};

static void
s_tick(void *arg)
{
    usage_t *u = arg;
    usage_reports_tick(u);
    pgs_idem_tick(u->db, &u->last_purge);
    pgs_db_wal_tick(u->db, &u->last_wal);
}

int
main(int argc, char **argv)
{
    int rc;
    pgs_worker_t *w = pgs_worker_new("usage", argc, argv, NULL, &rc);
    if (!w)
        return rc;
    usage_t *u = usage_state_new(w);
    if (!u || pgs_worker_routes(w, s_routes, u) < 0 ||
        pgs_worker_every(w, 250, s_tick, u) < 0 ||
        pgs_worker_every(w, USAGE_CONSUME_EVERY_MS, usage_consume_timer, u) < 0) {
        pgs_error("service failed to start");
        rc = 1;
    } else {
        rc = pgs_worker_run(w);
    }
    usage_state_destroy(&u);
    pgs_worker_destroy(&w);
    return rc;
}
