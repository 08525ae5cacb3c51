/*
 * bots_index — the passage index: one SQLite FTS5 table (`passages`,
 * unicode61 with diacritics folded) for every bot, each bot's passages in a
 * rowid range of their own: rowid = bot seq << 32 | passage number. A search
 * names its bot's range, which FTS5 turns into seeks in every term's
 * doclist, so passages of other bots cost (almost) nothing however common a
 * term is there.
 *
 * Ranking is BM25 (k1 1.2, b 0.75) by our own FTS5 function `pgs_bm25`,
 * whose IDF is per bot: the built-in bm25() counts a term's rows over the
 * whole table on every query (~100 ms for a common term over 300k
 * passages), while a count within the bot's range costs a fraction of a
 * millisecond.
 *
 * Queries: user text never reaches FTS5's query syntax. It is tokenized with
 * the index's own tokenizer, English stopwords are dropped (unless nothing
 * else is left), duplicates merged, and each term is quoted as one phrase.
 * Terms that no passage of the bot has are dropped; all remaining terms must
 * match (AND); when nothing matches, any term may (OR): the rarest terms
 * whose rows stay within a budget (every candidate gets ranked).
 */
#ifndef BOTS_INDEX_H
#define BOTS_INDEX_H

#include "pgs_db.h"
#include "pgs_id.h"

#include <stddef.h>
#include <stdint.h>

#define BOTS_INDEX_MAX_TERMS 16 /* terms of a query beyond these are ignored */
#define BOTS_INDEX_TERM_MAX 128 /* bytes of a term; longer tokens are dropped */
#define BOTS_INDEX_MAX_HITS 50  /* hits of one search at most */

typedef struct bots_index bots_index_t;

typedef struct {
    int n;
    char term[BOTS_INDEX_MAX_TERMS][BOTS_INDEX_TERM_MAX];
} bots_terms_t;

typedef struct {
    int64_t rowid;
    char doc_id[PGS_ID_MAX];
    char *snippet; /* owned: plain text around the matches */
    char *text;    /* owned: the passage (only when asked for), else NULL */
    double score;  /* BM25, higher is better */
} bots_hit_t;

/* The first and last rowid of a bot's range. */
#define BOTS_INDEX_LO(seq) ((int64_t)(seq) << 32)
#define BOTS_INDEX_HI(seq) (((int64_t)(seq) << 32) | 0xffffffffLL)

/* Binds the index to db (whose migrations created the passages table):
 * registers pgs_bm25 and opens the query tokenizer. Returns an owned index
 * or NULL (logged). db must outlive it. */
bots_index_t *bots_index_new(pgs_db_t *db);

/* One bounded step of merging the FTS5 index's segments (many small
 * segments after bulk loading make every term lookup visit each one). Works
 * only when no process has written to the database for 2 s, in its own
 * write transaction. Returns 1 when it merged something (call again soon),
 * 0 when the index is merged, 2 when it is not the time (writes going on),
 * -1 on an error (logged). */
int bots_index_merge_step(bots_index_t *ix);

/* Frees the index; sets *ix to NULL; no-op on NULL. */
void bots_index_destroy(bots_index_t **ix);

/* The query terms of q (len bytes of UTF-8), as described above, into
 * *out. Returns out->n (0: nothing searchable), or -1 (tokenizer failure). */
int bots_index_terms(bots_index_t *ix, const char *q, size_t len, bots_terms_t *out);

/* Indexes one passage. Call inside the caller's write transaction. 0 or -1. */
int bots_index_add(bots_index_t *ix, int64_t rowid, const char *doc_id, const char *text,
                   size_t len);

/* Removes the passages with lo <= rowid <= hi. In the caller's transaction.
 * 0 or -1. */
int bots_index_delete(bots_index_t *ix, int64_t lo, int64_t hi);

/* Searches the bot whose range is [lo, hi], which holds npassages passages
 * and whose next passage number is next (the pair validates cached term
 * counts), for terms; fills up to k hits (best first) into hits[]. Returns
 * the number of hits, or -1 (logged). Release hits with bots_index_hits_clear. */
int bots_index_search(bots_index_t *ix, int64_t lo, int64_t hi, int64_t npassages, int64_t next,
                      const bots_terms_t *terms, int k, int want_text, bots_hit_t *hits);

/* Frees what n hits own. */
void bots_index_hits_clear(bots_hit_t *hits, int n);

#endif
