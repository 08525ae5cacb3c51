/*
 * ctl_master — one request to the supervisor's control socket
 * (ipc://$PEGASUS_HOME/master.sock, REQ/REP, JSON; see master_ctl.h).
 */
#ifndef CTL_MASTER_H
#define CTL_MASTER_H

#include "ctl_args.h"

#include <jansson.h>
#include <stddef.h>

#define CTL_MASTER_TIMEOUT_MS 5000

/* Sends request and waits up to CTL_MASTER_TIMEOUT_MS for the reply.
 * Returns the parsed reply object (owned), or NULL with a message in err
 * ("the system is not running …" when nothing answers). A reply of the
 * form {"error":"…"} is returned as is: the caller reports it. */
json_t *ctl_master_call(const ctl_t *c, const json_t *request, char *err, size_t errlen);

#endif
