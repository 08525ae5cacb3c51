/*
 * pegasus-bots — bots, their documents, and ranked search over the
 * documents' passages (SQLite FTS5 in bots.db). Answers bots.get and
 * bots.retrieve for chat through the broker. Route names are those of
 * docs/internals.md.
 */
#include "bots_api.h"
#include "bots_docs.h"
#include "bots_state.h"
#include "pgs_log.h"
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
    /* /openai/v1: a bot is a model */
    {"openai.models.list", bots_api_openai_models},
    {"openai.models.show", bots_api_openai_model},
    /* internal: chat */
    {"bots.get", bots_api_get},
    {"bots.retrieve", bots_docs_retrieve},
    {"labels", bots_api_labels},
    {NULL, NULL},
};

static void
s_tick(void *arg)
{
    bots_state_tick(arg);
}

int
main(int argc, char **argv)
{
    /* Large documents are parsed and chunked on the threads. */
    pgs_worker_settings_t settings = {.threads = 2};
    int rc;
    pgs_worker_t *w = pgs_worker_new("bots", argc, argv, &settings, &rc);
    if (!w)
        return rc;
    xmlInitParser();
    bots_t *b = bots_state_new(w);
    if (!b || pgs_worker_routes(w, s_routes, b) < 0 ||
        pgs_worker_every(w, 250, s_tick, b) < 0) {
        pgs_error("service failed to start");
        rc = 1;
    } else {
        rc = pgs_worker_run(w);
    }
    bots_state_destroy(&b);
    pgs_worker_destroy(&w);
    xmlCleanupParser();
    return rc;
}
