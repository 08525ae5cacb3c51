/*
 * bots_req — what the bots handlers need from a request and for a reply:
 * params of docs/internals.md (path, query, headers), arguments of internal
 * calls, strict JSON bodies, user-visible text checks and the 404 that an
 * unknown id and another workspace's id share.
 */
#ifndef BOTS_REQ_H
#define BOTS_REQ_H

#include "pgs_json.h"
#include "pgs_worker.h"

#include <jansson.h>
#include <stddef.h>

/* params.<group>.<name> as a string, or NULL. Borrowed from the request. */
const char *bots_req_get(const pgs_req_t *req, const char *group, const char *name);

/* The media type of the content-type header, lower-cased, without
 * parameters, into out ("" when there is none). */
void bots_req_media_type(const pgs_req_t *req, char *out, size_t len);

/* An argument of an internal call: params.<key> (a string, or an integer
 * when as_int), else the same key of a JSON body. Borrowed JSON value or
 * NULL; *tmp receives an owned parsed body to json_decref afterwards. */
json_t *bots_req_arg(const pgs_req_t *req, const char *key, json_t **tmp);

/* Parses the body as one JSON object and checks it against fields. Returns
 * an owned object, or NULL with res filled (400). */
json_t *bots_req_body(const pgs_req_t *req, pgs_res_t *res, const pgs_json_field_t *fields);

/* Checks a text value v (NULL or JSON null: absent): a string, valid UTF-8
 * without NUL, surrounding white space trimmed when trim, min_cp..max_cp
 * code points, no control characters except, when multiline, tab, CR and LF.
 * Sets *out to the (trimmed) text, owned (free()), or NULL when absent.
 * Returns 0, or -1 with err filled for param. */
int bots_req_text(json_t *v, const char *param, long min_cp, long max_cp, int trim, int multiline,
                  char **out, pgs_json_err_t *err);

/* Fills res with the 400 that err describes. */
void bots_req_fail(const pgs_req_t *req, pgs_res_t *res, const pgs_json_err_t *err);

/* Like pgs_res_json, with real numbers written with 6 significant digits
 * (scores), not 17. obj is stolen. */
void bots_req_json(pgs_res_t *res, int status, json_t *obj);

/* 404 not_found for a bot (the same body for an id that never existed, a
 * deleted one and another workspace's). */
void bots_req_no_bot(const pgs_req_t *req, pgs_res_t *res);

/* 404 not_found for a document. */
void bots_req_no_doc(const pgs_req_t *req, pgs_res_t *res);

#endif
