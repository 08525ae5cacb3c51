/*
 * pegasus-usage — usage analytics (SPEC §5): counts the edges' usage events
 * from the Redis stream pgs:usage into usage.db exactly once, answers usage
 * queries, and makes usage reports in the background. Route names are those
 * of services/edge/edge_routes.c; the design is in docs/internals.md,
 * "Usage analytics".
 */
#include "pgs_idem.h"
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

static int
s_init(pgs_worker_t *w)
{
    usage_t *u = usage_state_new(w);
    if (!u)
        return -1;
    pgs_worker_set_state(w, u);
    return 0;
}

static void
s_tick(pgs_worker_t *w)
{
    usage_t *u = usage_state(w);
    usage_reports_tick(u);
    pgs_idem_tick(u->db, &u->last_purge);
    pgs_db_wal_tick(u->db, &u->last_wal);
}

static void
s_pump(pgs_worker_t *w)
{
    usage_consume_pump(usage_state(w));
}

static int
s_wait_ms(pgs_worker_t *w)
{
    return usage_consume_wait_ms(usage_state(w));
}

static void
s_fini(pgs_worker_t *w)
{
    usage_t *u = usage_state(w);
    usage_state_destroy(&u);
    pgs_worker_set_state(w, NULL);
}

static const pgs_service_t s_service = {
    .name = "usage",
    .routes = s_routes,
    .init = s_init,
    .tick = s_tick,
    .fini = s_fini,
    .pump = s_pump,
    .wait_ms = s_wait_ms,
};

int
main(int argc, char **argv)
{
    return pgs_worker_main(&s_service, argc, argv);
}
