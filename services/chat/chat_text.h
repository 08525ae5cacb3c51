/*
 * chat_text — the text rules of the built-in models, with no I/O: the token
 * counter behind every message's usage, query terms, and sentence splitting.
 *
 * The tokenizer ("pegasus-words-1") is documented in README.md: a maximal
 * run of word characters (ASCII letters and digits, and every non-ASCII code
 * point) is one token, and so is each other non-space character
 * (punctuation, symbols). White space is no token. It is the same for input
 * and output, for every model whose provider reports no usage.
 *
 * Terms: the words of a text, lower-cased (ASCII), without English stop
 * words, lightly stemmed (plural s/es/ies, -ing, -ed, a final e), so that
 * "refunds", "refunded" and "refund" are one term. Sentences end at . ! ? followed by
 * white space or the end, and at line breaks.
 */
#ifndef CHAT_TEXT_H
#define CHAT_TEXT_H

#include <stddef.h>

#define CHAT_TEXT_MAX_TERMS 64
#define CHAT_TEXT_TERM_LEN 24

typedef struct {
    char term[CHAT_TEXT_MAX_TERMS][CHAT_TEXT_TERM_LEN];
    int n;
    int anaphora; /* the text refers back (it, that, they, …): a follow-up */
} chat_terms_t;

typedef struct {
    const char *start;
    size_t len;
} chat_span_t;

/* Number of tokens in s (len bytes) by the rule above. */
long chat_text_tokens(const char *s, size_t len);

/* Collects the distinct terms of s (len bytes) into out, in order of first
 * appearance, at most CHAT_TEXT_MAX_TERMS. When out already holds terms,
 * new ones are added (so several texts can be merged). */
void chat_text_terms(const char *s, size_t len, chat_terms_t *out);

/* 1 when term is in t, else 0. */
int chat_text_terms_has(const chat_terms_t *t, const char *term);

/* Splits s (len bytes) into at most max sentences, trimmed of white space
 * and list or heading markers; sentences shorter than 2 bytes are dropped.
 * Returns the number written to out. */
size_t chat_text_sentences(const char *s, size_t len, chat_span_t *out, size_t max);

/* Copies at most max_bytes of s (len bytes) into a new string, cut at a
 * UTF-8 boundary and a word boundary when possible, with "…" appended when
 * cut. Returns an owned string or NULL. */
char *chat_text_clip(const char *s, size_t len, size_t max_bytes);

/* Length of the longest prefix of s (len bytes, valid UTF-8) of at most
 * max bytes that ends on a code point boundary. */
size_t chat_text_utf8_prefix(const char *s, size_t len, size_t max);

#endif
