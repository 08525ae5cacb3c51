/*
 * pegasus-chat — API conversations and messages, the model providers
 * (built-in retrieval models, OpenAI-compatible upstreams) and streamed
 * replies. chat.db holds conversations, messages and the send ledger that
 * the monthly quota counters in Redis are rebuilt from. Route names are
 * those of services/edge/edge_routes.c.
 */
#include "chat_api.h"
#include "chat_quota.h"
#include "chat_send.h"
#include "chat_state.h"
#include "pgs_idem.h"
#include "pgs_log.h"
#include "pgs_worker.h"

static const pgs_route_t s_routes[] = {
    {"conversations.list", chat_api_conv_list},
    {"conversations.create", chat_api_conv_create},
    {"conversations.show", chat_api_conv_show},
    {"conversations.delete", chat_api_conv_delete},
    {"messages.list", chat_api_msg_list},
    {"messages.create", chat_send_create},
    {"openai.chat", chat_send_openai},
    {NULL, NULL},
};

static void
s_tick(void *arg)
{
    chat_t *c = arg;
    chat_quota_tick(c);
    pgs_idem_tick(c->db, &c->last_purge);
    pgs_db_wal_tick(c->db, &c->last_wal);
}

int
main(int argc, char **argv)
{
    int rc;
    pgs_worker_t *w = pgs_worker_new("chat", argc, argv, NULL, &rc);
    if (!w)
        return rc;
    chat_t *c = chat_state_new(w);
    if (!c || pgs_worker_routes(w, s_routes, c) < 0 ||
        pgs_worker_every(w, 250, s_tick, c) < 0 ||
        pgs_worker_every(w, chat_send_ping_every_ms(c), chat_send_ping, c) < 0) {
        pgs_error("service failed to start");
        rc = 1;
    } else {
        rc = pgs_worker_run(w);
    }
    chat_state_destroy(&c);
    pgs_worker_destroy(&w);
    return rc;
}
