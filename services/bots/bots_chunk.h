/*
 * bots_chunk — splits a document's plain text into passages for the index:
 * about BOTS_CHUNK_TARGET characters (Unicode code points) each,
 * paragraph-aware: a passage ends at the last paragraph break (a blank line)
 * in its second half if there is one, else at the last sentence end, else
 * at the last white space, else (one endless word) at a character boundary.
 * A passage that ends inside a paragraph is followed by one that starts
 * about BOTS_CHUNK_OVERLAP characters earlier, at a word boundary, so that a
 * sentence cut in two is whole in one of them. Passages are slices of the
 * text (offset, length) with white space trimmed; none is empty.
 */
#ifndef BOTS_CHUNK_H
#define BOTS_CHUNK_H

#include <stddef.h>

#define BOTS_CHUNK_TARGET 800
#define BOTS_CHUNK_OVERLAP 100

typedef struct {
    size_t off; /* byte offset into the text */
    size_t len; /* bytes */
} bots_chunk_t;

/* Splits text (len bytes of UTF-8; invalid bytes count as one character
 * each) into passages of about target characters with about overlap
 * characters of overlap (target >= 2, overlap < target / 4 is enforced).
 * Returns the number of passages and sets *out to an owned array (free();
 * NULL when there are none), or -1 when out of memory. */
long bots_chunk_split(const char *text, size_t len, size_t target, size_t overlap,
                      bots_chunk_t **out);

#endif
