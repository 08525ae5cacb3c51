/*
 * pgs_meta — what a reply tells the edge besides what the edge relays: the
 * "meta" field of the wire protocol's REPLY and END (pgs_proto.h).
 *
 * Its text form is one "key=value" line per field that is set, in any
 * order; unknown keys are skipped (a newer peer may add some):
 *
 *   bot=bot_…              the bot the request concerned (usage analytics)
 *   messages=1             chat messages the request counted
 *   input_tokens=812       model tokens it used
 *   output_tokens=64
 *   replayed=1             an idempotent replay: no work was done again
 *   invalidate=tok:… ws:…  token-state cache entries to drop before the
 *                          reply is relayed (the pgs:inval message format)
 *
 * A REPLY's meta is known when the reply is; a stream's END adds the counts
 * that are only known at its end, and its fields win.
 */
#ifndef PGS_META_H
#define PGS_META_H

#include <stddef.h>

#define PGS_META_BOT_MAX 48

typedef struct {
    char bot[PGS_META_BOT_MAX]; /* "" when none */
    long long messages, input_tokens, output_tokens;
    int replayed;
    char *invalidate; /* owned, or NULL */
} pgs_meta_t;

/* The text form of m (malloc'd; "" when nothing is set), or NULL when out
 * of memory. */
char *pgs_meta_format(const pgs_meta_t *m);

/* 1 when nothing is set (the frame is then empty: most replies, and no
 * allocation is needed to say so). */
int pgs_meta_is_empty(const pgs_meta_t *m);

/* Parses len bytes of text form into out (cleared first; the caller clears
 * it after). A line that does not parse — a bot id with characters outside
 * [A-Za-z0-9_], a negative or non-decimal count, an invalidation with a
 * control character — is skipped. Returns 0, or -1 when out of memory. */
int pgs_meta_parse(const char *text, size_t len, pgs_meta_t *out);

/* Fills fields of into that from sets (bot, counts and replayed when
 * non-empty; invalidate appended). Returns 0, or -1 when out of memory. */
int pgs_meta_merge(pgs_meta_t *into, const pgs_meta_t *from);

/* Sets the bot (a valid one; anything else leaves it empty). */
void pgs_meta_bot(pgs_meta_t *m, const char *bot_id);

/* Replaces the invalidations with a copy of text (NULL: none). 0, or -1
 * (out of memory, or text with a control character: none is set). */
int pgs_meta_invalidate(pgs_meta_t *m, const char *text);

/* Frees what m owns and zeroes it. */
void pgs_meta_clear(pgs_meta_t *m);

#endif
