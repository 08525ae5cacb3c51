/*
 * pegasus-bots — bots, their documents, and ranked search over the
 * documents' passages (SQLite FTS5 in bots.db). Answers bots.get and
 * bots.retrieve for chat through the broker. Route names are those of
 * docs/internals.md.
 */
#include "bots_api.h"
#include "bots_docs.h"
#include "bots_state.h"
#include "pgs_worker.h"

#include <libxml/parser.h>

static const pgs_route_t s_routes[] = {
    /* /v1, after the edge's checks */
    {"bots.list", bots_api_list},
    {"bots.create", bots_api_create},
    {"bots.show", bots_api_show},
    {"bots.update", bots_api_update},
    {"bots.delete", bots_api_delete},
    {"documents.list", bots_docs_list},
    {"documents.create", bots_docs_create},
    {"documents.show", bots_docs_show},
    {"documents.delete", bots_docs_delete},
    {"bots.search", bots_docs_search},
    /* internal: chat */
    {"bots.get", bots_api_get},
    {"bots.retrieve", bots_docs_retrieve},
    {"labels", bots_api_labels},
    {NULL, NULL},
};

static int
s_init(pgs_worker_t *w)
{
    xmlInitParser();
    bots_t *b = bots_state_new(w);
    if (!b)
        return -1;
    pgs_worker_set_state(w, b);
    return 0;
}

static void
s_tick(pgs_worker_t *w)
{
    bots_state_tick(bots_state(w));
}

static void
s_pump(pgs_worker_t *w)
{
    bots_state_pump(bots_state(w));
}

static int
s_wait_ms(pgs_worker_t *w)
{
    return bots_state_wait_ms(bots_state(w));
}

static void
s_fini(pgs_worker_t *w)
{
    bots_t *b = bots_state(w);
    bots_state_destroy(&b);
    pgs_worker_set_state(w, NULL);
    xmlCleanupParser();
}

static const pgs_service_t s_service = {
    .name = "bots",
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
