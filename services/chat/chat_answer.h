/*
 * chat_answer — the built-in models (pegasus-lite, pegasus-max): compose an
 * answer from retrieved passages, deterministically and with no network.
 *
 * Every sentence of every passage is scored by how many distinct terms of
 * the question it holds (chat_text.h); for a follow-up question (one that
 * refers back, or has at most one term of its own) the terms of the
 * earlier user turns count half. A sentence is relevant when it holds at
 * least a quarter of the question's terms (at least one), or, for a
 * follow-up, when its score reaches 1. The best sentences (ties: earlier
 * passage, then earlier sentence; none scoring under half of the best) are
 * grouped by document in the order the
 * documents first appear, each group followed by its citation mark [n].
 * When no sentence is relevant the answer says so plainly, with no
 * citations.
 */
#ifndef CHAT_ANSWER_H
#define CHAT_ANSWER_H

#include <jansson.h>
#include <stddef.h>

#define CHAT_ANSWER_NOTHING                                                                        \
    "I could not find anything about that in this bot's documents. Try asking with other words, "  \
    "or add a document that covers it."

typedef struct {
    const char *document_id;
    const char *title;
    const char *text;
    size_t text_len;
} chat_passage_t;

typedef struct {
    char *content;     /* owned */
    json_t *citations; /* owned array of {document_id, title, snippet} */
    int found;         /* 0: the "nothing relevant" answer */
} chat_answer_t;

/* 1 when question (with earlier user turns in earlier, which may be NULL or
 * "") is a follow-up whose earlier turns should count, else 0. */
int chat_answer_is_followup(const char *question, const char *earlier);

/* The retrieval query for question: the question itself, or, for a
 * follow-up, the question and the earlier turns. Owned string or NULL. */
char *chat_answer_query(const char *question, const char *earlier);

/* Composes the answer from n passages (best first) using at most
 * max_sentences sentences. Returns 0 (out filled, release with
 * chat_answer_clear) or -1 (out of memory). */
int chat_answer_compose(const chat_passage_t *p, size_t n, const char *question,
                        const char *earlier, int max_sentences, chat_answer_t *out);

/* Frees what out holds and zeroes it. */
void chat_answer_clear(chat_answer_t *out);

#endif
