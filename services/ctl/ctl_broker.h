/*
 * ctl_broker — one request to a service through the edge's broker, the
 * way any worker's internal call goes: a DEALER connected to the broker
 * endpoint sends a REQUEST (pgs_proto) and waits for the REPLY with the same
 * id. Every wait has a deadline; nothing here blocks past it.
 */
#ifndef CTL_BROKER_H
#define CTL_BROKER_H

#include "ctl_args.h"

#include <jansson.h>
#include <stddef.h>

#define CTL_BROKER_CONNECT_MS 5000 /* "the system is not running" past this */
#define CTL_BROKER_REPLY_MS 15000  /* the edge answers 504 past a route deadline (10 s) */

/* A reply: status and body (owned, NUL-terminated; may be empty). */
typedef struct {
    int status;
    char *body;
    size_t body_len;
} ctl_reply_t;

/* Sends body (JSON text) to route of service, with the context
 * {"request_id":"ctl-…","actor":"pegasusctl"} and params {}, and waits for
 * the reply. The endpoint is the first of [broker] endpoints when a config
 * was named (-c or PEGASUS_CONFIG) or PEGASUS_BROKER_ENDPOINTS is set, else
 * ipc://$PEGASUS_HOME/broker.sock. Returns 0 with out filled (free it with
 * ctl_reply_clear), or -1 with a message in err ("the system is not
 * running …", a timeout, …). */
int ctl_broker_call(const ctl_t *c, const char *service, const char *route, const char *body,
                    ctl_reply_t *out, char *err, size_t errlen);

/* Frees what out holds (wiping the body first) and zeroes it. */
void ctl_reply_clear(ctl_reply_t *out);

/* The message of an error reply ({"error":{"message"}}), or a generic one
 * naming the status; written into buf. */
const char *ctl_reply_error(const ctl_reply_t *r, char *buf, size_t len);

/* One command's request: sends body (stolen) to route of service. With
 * --json prints the raw reply (success or not); on an error status prints
 * its message. On success *reply_out (when not NULL) gets the parsed reply
 * body (owned; NULL when empty). The body text is wiped after sending (it
 * may hold a password). Returns the exit code. */
int ctl_broker_request(const ctl_t *c, const char *service, const char *route, json_t *body,
                       json_t **reply_out);

#endif
