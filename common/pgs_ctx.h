/*
 * pgs_ctx — the request context as the protocol carries it (pgs_proto.h):
 * who is asking, as the edge established it. Workers trust it and never see
 * a token.
 *
 * On the wire it is flat fields, one "name=value\n" per line, in any order;
 * a field left out is empty, a name this release does not know is skipped
 * (a newer peer may add fields). Values are printable bytes without '\n'
 * (ids, addresses, scope lists), each bounded by its field below. Parsing
 * costs one pass over ~300 bytes and no allocation: it is on every
 * request's path.
 *
 *   request_id      the request's id (X-Request-Id)
 *   client_ip       the client's address, after trusted proxies
 *   actor           "pegasusctl" for operator requests
 *   token_id, user_id, workspace_id, workspace_type, role, plan, scopes, seat
 *                   the token's, when the route is token-authenticated
 *                   (scopes space-separated; seat "1" or "0")
 */
#ifndef PGS_CTX_H
#define PGS_CTX_H

#include "pgs_id.h"

#include <stddef.h>

#define PGS_CTX_MAX 2048 /* the longest context text, with every field full */

typedef struct {
    char request_id[72];
    char client_ip[64];
    char actor[32];
    char token_id[PGS_ID_MAX];
    char user_id[PGS_ID_MAX];
    char workspace_id[PGS_ID_MAX];
    char workspace_type[16];
    char role[16];
    char plan[40];
    char scopes[512];
    char seat[4];
} pgs_ctx_t;

/* Fills c from text (len bytes). 0, or -1 (c is left empty) for a line
 * without '=', a value too long for its field, or a control byte. */
int pgs_ctx_parse(const char *text, size_t len, pgs_ctx_t *c);

/* Writes c as text into out (size bytes, NUL-terminated; PGS_CTX_MAX is
 * always enough), empty fields left out. Returns the length, or -1 when it
 * does not fit or a value holds a control byte. */
int pgs_ctx_format(const pgs_ctx_t *c, char *out, size_t size);

/* A field's value, or NULL when it is empty or there is no such field. */
const char *pgs_ctx_get(const pgs_ctx_t *c, const char *name);

/* Sets a field (value NULL: empties it). 0, or -1 for an unknown name, a
 * value too long or with a control byte (the field is left as it was). */
int pgs_ctx_set(pgs_ctx_t *c, const char *name, const char *value);

#endif
