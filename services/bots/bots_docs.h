/*
 * bots_docs — the document routes of SPEC §3 (documents.list,
 * documents.create, documents.show, documents.delete), search (bots.search)
 * and the internal bots.retrieve for chat. A document is extracted
 * (bots_extract), split (bots_chunk) and indexed (bots_index) inside the
 * transaction that stores it, so it is searchable when the create returns.
 */
#ifndef BOTS_DOCS_H
#define BOTS_DOCS_H

#include "pgs_worker.h"

/* GET /v1/bots/{bot_id}/documents → 200 list of document metadata, newest
 * first, paginated; 404 for an unknown bot. */
pgs_handled_t bots_docs_list(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* POST /v1/bots/{bot_id}/documents: JSON {title, content, content_type?}
 * or a raw text/plain, text/markdown or text/html body with ?title= → 201
 * document; 400 (fields, invalid UTF-8), 404, 409 at max_documents_per_bot,
 * 413 over max_document_bytes, 415. Idempotency-Key honoured. */
pgs_handled_t bots_docs_create(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* GET /v1/bots/{bot_id}/documents/{doc_id}[?include=content] → 200
 * document (with content and text when asked), 400 bad include, or 404. */
pgs_handled_t bots_docs_show(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* DELETE /v1/bots/{bot_id}/documents/{doc_id} → 204 (document, body and
 * passages in one transaction), or 404. */
pgs_handled_t bots_docs_delete(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* GET /v1/bots/{bot_id}/search?q=&limit= (1..50, default 10) → 200 list of
 * search hits {document_id, title, snippet, score}, best first; 400 for a
 * missing or over-long q (param "q") or a bad limit; 404. */
pgs_handled_t bots_docs_search(void *arg, const pgs_req_t *req, pgs_res_t *res);

/* Internal (chat): params {"workspace_id","bot_id","query","k"} (k 1..20,
 * default 5) → 200 {"passages":[{document_id,title,text,snippet,score}]}
 * best first; 404 not_found or 410 bot_deleted as bots.get. */
pgs_handled_t bots_docs_retrieve(void *arg, const pgs_req_t *req, pgs_res_t *res);

#endif
