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
#include "pgs_worker.h"

static const pgs_route_t s_routes[] = {
    {"conversations.list", chat_api_conv_list},
    {"conversations.create", chat_api_conv_create},
    {"conversations.show", chat_api_conv_show},
    {"conversations.delete", chat_api_conv_delete},
    {"messages.list", chat_api_msg_list},
    {"messages.create", chat_send_create},
    {NULL, NULL},
};

static int
s_init(pgs_worker_t *w)
{
    chat_t *c = chat_state_new(w);
    if (!c)
        return -1;
    pgs_worker_set_state(w, c);
    return 0;
}

static void
s_tick(pgs_worker_t *w)
{
    chat_t *c = chat_state(w);
    chat_quota_tick(c);
    pgs_idem_tick(c->db, &c->last_purge);
    pgs_db_wal_tick(c->db, &c->last_wal);
}

static void
s_pump(pgs_worker_t *w)
{
    chat_send_pump(chat_state(w));
}

static int
s_wait_ms(pgs_worker_t *w)
{
    return chat_send_wait_ms(chat_state(w));
}

static void
s_fini(pgs_worker_t *w)
{
    chat_t *c = chat_state(w);
    chat_state_destroy(&c);
    pgs_worker_set_state(w, NULL);
}

static const pgs_service_t s_service = {
    .name = "chat",
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
