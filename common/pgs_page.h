/*
 * pgs_page — cursor pagination of every list in the API (SPEC §3, §8):
 * `?limit=1..100` (default 20) and `?after=<cursor>`, newest first by
 * (created_at, id), answered in the list envelope
 * {"object":"list","data":[…],"has_more":bool,"next_cursor":string|null}.
 *
 * A cursor is opaque to clients: base64url (no padding) of "p1:<created_at>:<id>",
 * the sort key of the last item of the previous page. created_at is whatever
 * integer the service sorts by (milliseconds are best: fewer ties); id breaks
 * ties. A service pages with
 *   WHERE … AND (created_at < :ts OR (created_at = :ts AND id < :id))
 *   ORDER BY created_at DESC, id DESC LIMIT :limit + 1
 * and hands the extra row's presence to pgs_page_list as has_more.
 * Oldest-first lists use > instead of < and ASC; the cursor is the same.
 */
#ifndef PGS_PAGE_H
#define PGS_PAGE_H

#include "pgs_req.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define PGS_PAGE_LIMIT_DEFAULT 20
#define PGS_PAGE_LIMIT_MAX 100
#define PGS_PAGE_ID_MAX 80     /* an id in a cursor: 1..79 of [A-Za-z0-9._-] */
#define PGS_PAGE_CURSOR_MAX 160 /* an encoded cursor with its NUL */

/* A page request: the limit and, when has_after, the position to continue
 * after. */
typedef struct {
    int limit;
    int has_after;
    int64_t after_ts;
    char after_id[PGS_PAGE_ID_MAX];
} pgs_page_t;

/* Reads ?limit and ?after from the request's params.query into *page.
 * limit: digits only, 1..100, default 20; anything else is a 400
 * invalid_request with param "limit". after: a cursor made by
 * pgs_page_cursor; anything else is a 400 invalid_request with param
 * "after". Returns 0, or -1 with res filled. */
int pgs_page_parse(const pgs_req_t *req, pgs_res_t *res, pgs_page_t *page);

/* Encodes the position (created_at, id) as a cursor into out (len bytes,
 * PGS_PAGE_CURSOR_MAX is enough). id must be 1..79 of [A-Za-z0-9._-];
 * otherwise, or when out is too small, out is set to "". */
void pgs_page_cursor(int64_t created_at, const char *id, char *out, size_t len);

/* Decodes a cursor. Returns 0 and fills *created_at and id, or -1 when s is
 * not a cursor of this module. Never trusts s (any bytes, any length). */
int pgs_page_cursor_decode(const char *s, int64_t *created_at, char id[PGS_PAGE_ID_MAX]);

/* Builds the list envelope. data (stolen; NULL means []) holds at most one
 * page of items; when has_more, next_cursor is the cursor of the page's last
 * item (pgs_page_cursor), else it is ignored and the envelope says null.
 * Returns an owned object. */
json_t *pgs_page_list(json_t *data, int has_more, const char *next_cursor);

#endif
