/*
 * pgs_idem — Idempotency-Key for POST routes (SPEC §3, ARCHITECTURE "Data").
 *
 * The service that does the write stores the key in its own database, in
 * the same SQLite transaction as the write, so a retry after any crash (of
 * the worker, the edge or the client) does no work twice. A key is scoped to
 * the caller — the token's workspace and user ("<ws>:<user>", kept in the
 * token_id column), as Stripe scopes keys to an account — across every
 * route. Stored with it: the route, a hash of the request (route, method,
 * path and query parameters, content type, and the body — as canonical JSON
 * when it is JSON, so the same object with its keys in another order is the
 * same request) and the first response (status, headers, body). For 24
 * hours (PGS_IDEM_TTL_S):
 *   - the same key with the same request replays the stored response, with
 *     the header `Idempotent-Replayed: true`, and does nothing else;
 *   - the same key with a different request is 409 idempotency_key_reused
 *     (saying so when it was another route);
 *   - a key whose first request is still being worked on (status 0, saved by
 *     a service whose reply outlives one transaction) is 409 conflict.
 * After 24 hours the key is free again; pgs_idem_purge removes old rows.
 *
 * A service includes PGS_IDEM_MIGRATION in its migration list. The simple,
 * synchronous flow of a handler (after validating its input, so that a
 * request that is refused outright leaves no trace):
 *
 *   pgs_idem_t idem;
 *   if (pgs_idem_init(&idem, req, res) < 0) return;          // bad header: 400
 *   if (pgs_idem_begin(db, &idem, req, res) != 0) return;    // replayed, 409 or 5xx
 *   … the write; on a refusal: pgs_idem_abort(db), fill res, return …
 *   fill res (201 …);
 *   pgs_idem_commit(db, &idem, req, res);                    // stores res, COMMIT
 *
 * Services whose reply comes later (chat: an upstream model call) use the
 * lower-level pgs_idem_lookup / pgs_idem_save inside their own transactions:
 * save status 0 ("in progress") with the first write, and the final response
 * with the last one.
 */
#ifndef PGS_IDEM_H
#define PGS_IDEM_H

#include "pgs_db.h"
#include "pgs_req.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PGS_IDEM_KEY_MAX 256   /* a key is 1..255 printable ASCII characters */
#define PGS_IDEM_TOKEN_MAX 160 /* "<workspace id>:<user id>" */
#define PGS_IDEM_HASH_LEN 32
#define PGS_IDEM_TTL_S 86400

/* The migration that creates the table (one statement list; include it once
 * in the service's migrations). */
extern const char PGS_IDEM_MIGRATION[];
/* The second one (protocol v2: the response's meta gets its own column);
 * include it after the first. */
extern const char PGS_IDEM_MIGRATION_META[];
/* The third: the route a key was used on; include it after the second. */
extern const char PGS_IDEM_MIGRATION_ROUTE[];

/* One request's idempotency identity. active is 0 when the request carried
 * no Idempotency-Key (or has no token: internal calls); every function
 * below is then a no-op apart from the transaction. */
typedef struct {
    int active;
    char token_id[PGS_IDEM_TOKEN_MAX];
    char key[PGS_IDEM_KEY_MAX];
    char route[64];
    unsigned char hash[PGS_IDEM_HASH_LEN];
} pgs_idem_t;

typedef enum {
    PGS_IDEM_ERROR = -1,      /* storage failed (logged) */
    PGS_IDEM_NEW = 0,         /* no live key: do the work */
    PGS_IDEM_REPLAY = 1,      /* same key, same request: the stored response */
    PGS_IDEM_MISMATCH = 2,    /* same key, another request */
    PGS_IDEM_PENDING = 3,     /* same key, same request, first one still in progress */
    PGS_IDEM_OTHER_ROUTE = 4, /* same key, used on another route */
} pgs_idem_state_t;

/* Reads the idempotency-key header of req (params.headers) and the token
 * (ctx.token_id) into *idem and hashes the request. Returns 0, or -1 with
 * res filled (400 invalid_request: the key is empty, too long or not
 * printable ASCII). */
int pgs_idem_init(pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res);

/* Looks the key up; call inside the write transaction that will do the work
 * (BEGIN IMMEDIATE), so that two requests with one key are serialised.
 * now_s is Unix seconds; a key older than PGS_IDEM_TTL_S counts as absent.
 * On PGS_IDEM_REPLAY, *stored (may be NULL) receives the stored response
 * (release with pgs_res_clear). */
pgs_idem_state_t pgs_idem_lookup(pgs_db_t *db, const pgs_idem_t *idem, int64_t now_s,
                                 pgs_res_t *stored);

/* Stores res (status, headers, body and meta; NULL: status 0, "in
 * progress") as the key's response. Call inside the transaction of the
 * write. 0, or -1 (logged). No-op (0) when the idem is not active. */
int pgs_idem_save(pgs_db_t *db, const pgs_idem_t *idem, int64_t now_s, const pgs_res_t *res);

/* BEGIN IMMEDIATE, then pgs_idem_lookup. Returns 0 (NEW: the transaction is
 * open, do the work), 1 when res holds the answer (a replay with
 * Idempotent-Replayed: true, 409 idempotency_key_reused, or 409 conflict for
 * a request in progress; the transaction is closed) or -1 (storage failed or
 * busy: res holds 500 or 503 with Retry-After; the transaction is closed). */
int pgs_idem_begin(pgs_db_t *db, const pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res);

/* Saves res as the key's response (when active) and COMMITs. Returns 0, or
 * -1 when that failed: rolled back, res replaced by 500 or 503. */
int pgs_idem_commit(pgs_db_t *db, const pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res);

/* Rolls the transaction back (the work is refused; nothing is stored). */
void pgs_idem_abort(pgs_db_t *db);

/* Fills res with 503 (Retry-After: 1) when the database was busy, else 500,
 * and rolls back any open transaction. For storage failures of handlers. */
void pgs_idem_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res);

/* For a service's tick: at most once a minute (*last_ms, monotonic, is the
 * last time), purges up to 500 expired keys. */
void pgs_idem_tick(pgs_db_t *db, int64_t *last_ms);

/* Deletes up to max_rows keys older than PGS_IDEM_TTL_S, in its own
 * transaction. Returns the number deleted, or -1. */
int pgs_idem_purge(pgs_db_t *db, int64_t now_s, int max_rows);

#endif
