/*
 * master_ctl — the supervisor's control socket: a ZeroMQ REP socket at
 * ipc://$PEGASUS_HOME/master.sock answering JSON requests from pegasusctl.
 *
 *   {"cmd":"status"}                         → {"processes":[…]}
 *   {"cmd":"restart","service":S}            → {"ok":true} | {"error":"…"}
 *   {"cmd":"scale","service":S,"count":N}    → {"ok":true} | {"error":"…"}
 *
 * Every request gets exactly one reply (a malformed one an error), so the
 * REP socket's strict receive/send alternation can never wedge. Receiving
 * and replying never block.
 */
#ifndef MASTER_CTL_H
#define MASTER_CTL_H

#include "master_proc.h"

#include <stddef.h>

#define MASTER_CTL_MAX_REQUEST 65536

/* Answers one request (len bytes of JSON, not NUL-terminated) against the
 * process table. Returns an owned JSON text, or NULL when out of memory. */
char *master_ctl_answer(master_proc_t *procs, const char *req, size_t len, int64_t now);

/* Binds a REP socket on ctx at endpoint. When another supervisor already
 * answers there, refuses (it would be robbed of its socket). Returns the
 * socket, or NULL with a message in err. */
void *master_ctl_bind(void *ctx, const char *endpoint, char *err, size_t errlen);

/* Receives and answers every request waiting on sock, without blocking. */
void master_ctl_serve(void *sock, master_proc_t *procs, int64_t now);

#endif
