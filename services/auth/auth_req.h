/*
 * auth_req — what every auth handler needs from a request and for a reply:
 * the params object of docs/internals.md (path, query, headers, cookies),
 * strict JSON bodies, RFC 3339 times, user-visible text checks and the
 * mapping of storage failures to 500/503. Lists use pgs_page.
 */
#ifndef AUTH_REQ_H
#define AUTH_REQ_H

#include "pgs_db.h"
#include "pgs_json.h"
#include "pgs_worker.h"

#include <jansson.h>
#include <stdint.h>


/* params.<group>.<name> as a string, or NULL. group is "path", "query",
 * "headers" or "cookies". Borrowed from the request. */
const char *auth_req_get(const pgs_req_t *req, const char *group, const char *name);

/* 1 when the content-type header names application/json (parameters such
 * as charset=utf-8 allowed), else 0. */
int auth_req_is_json(const pgs_req_t *req);

/* Parses the body as a JSON object and checks it against fields. When
 * need_json_ct, a content-type other than application/json is a 415 first.
 * Returns an owned object, or NULL with res filled (415 or 400). */
json_t *auth_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields,
                      int need_json_ct);

/* Fills res with the 400 that err describes. */
void auth_req_fail_json(const pgs_req_t *req, pgs_res_t *res, const pgs_json_err_t *err);

/* An RFC 3339 string, or JSON null for 0. */
json_t *auth_req_time(int64_t unix_s);

/* Unix seconds now. */
int64_t auth_req_now(void);

/* Checks a user-visible text value: a JSON string, valid UTF-8, trimmed of
 * surrounding white space, no control characters, 1..max_cp code points.
 * Copies the trimmed text into out. 0, or -1 with err filled for param. */
int auth_req_text(json_t *v, const char *param, long max_cp, char *out, size_t outlen,
                  pgs_json_err_t *err);

/* Storage failed: 503 (with Retry-After) when the database was busy, else
 * 500. Rolls back any open transaction. */
void auth_req_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res);

/* A 401 with code and message, carrying the WWW-Authenticate header that
 * SPEC §2 puts on every 401. */
void auth_req_unauthorized(const pgs_req_t *req, pgs_res_t *res, const char *code,
                           const char *message);

/* 503 service_unavailable with Retry-After: 1 (Redis unreachable). */
void auth_req_unavailable(const pgs_req_t *req, pgs_res_t *res);

#endif
