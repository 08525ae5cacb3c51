/*
 * chat_store — chat.db: API conversations, their messages, and the ledger
 * of successful sends per workspace and month that the quota counters are
 * rebuilt from (deleting a conversation does not give its messages back).
 *
 * Times are stored in Unix milliseconds (lists need a stable order within a
 * second) and shown in RFC 3339 seconds. Messages are ordered by seq, their
 * insertion order. Every function that writes expects the caller's open
 * transaction (pgs_db_begin) unless it says otherwise.
 */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include "pgs_db.h"
#include "pgs_id.h"

#include <jansson.h>
#include <stdint.h>

#define CHAT_STORE_TITLE_MAX 1024 /* bytes of a title, with its NUL */

typedef struct {
    char id[PGS_ID_MAX];
    char workspace_id[PGS_ID_MAX];
    char bot_id[PGS_ID_MAX];
    char user_id[PGS_ID_MAX];
    char token_id[PGS_ID_MAX];
    char title[CHAT_STORE_TITLE_MAX];
    int has_title;
    long long message_count;
    int64_t created_ms;
    int64_t updated_ms;
} chat_conv_t;

typedef struct {
    char id[PGS_ID_MAX];
    const char *conversation_id;
    const char *role; /* "user" | "assistant" */
    const char *content;
    const char *citations_json; /* a JSON array text; NULL: [] */
    const char *model;          /* NULL for user messages */
    long long input_tokens, output_tokens;
    int has_usage;
    int64_t created_ms;
} chat_msg_t;

/* Opens (creating, migrating) chat.db at path. Owned handle or NULL. */
pgs_db_t *chat_store_open(const char *path);

/* Inserts a conversation (id and times filled by the caller). 0 or -1. */
int chat_store_conv_insert(pgs_db_t *db, const chat_conv_t *c);

/* Loads the conversation id of workspace ws. 1 found, 0 absent, -1 error. */
int chat_store_conv_get(pgs_db_t *db, const char *ws, const char *id, chat_conv_t *out);

/* Deletes a conversation and its messages. 0 or -1. */
int chat_store_conv_delete(pgs_db_t *db, const char *id);

/* Appends up to limit conversations of ws, newest first (created, id
 * descending) after the position (after_ms, after_id) when after_id is
 * non-NULL, into arr as JSON objects. user and bot filter when non-NULL.
 * The last element's position is written to *last_ms / last_id. Returns the
 * number appended or -1. */
int chat_store_conv_list(pgs_db_t *db, const char *ws, const char *user, const char *bot,
                         int64_t after_ms, const char *after_id, int limit, json_t *arr,
                         int64_t *last_ms, char last_id[PGS_ID_MAX]);

/* The conversation as its API object. Owned. */
json_t *chat_store_conv_json(const chat_conv_t *c);

/* Inserts a message and bumps the conversation's message_count and
 * updated_at. 0 or -1. */
int chat_store_msg_insert(pgs_db_t *db, const chat_msg_t *m);

/* The message as its API object. Owned. */
json_t *chat_store_msg_json(const chat_msg_t *m);

/* Appends up to limit messages of the conversation, oldest first, after
 * the message with seq after_seq (0: from the start). *last_seq gets the
 * last one's seq. Returns the number appended or -1. */
int chat_store_msg_list(pgs_db_t *db, const char *conv, int64_t after_seq, int limit, json_t *arr,
                        int64_t *last_seq);

/* The seq of message id in conversation conv: 1 found, 0 absent, -1 error. */
int chat_store_msg_seq(pgs_db_t *db, const char *conv, const char *id, int64_t *seq);

/* The last n messages of the conversation, oldest first, as an array of
 * {"role","content"}. Owned, or NULL on error. */
json_t *chat_store_recent(pgs_db_t *db, const char *conv, int n);

/* Counts one successful send for ws in month ("YYYYMM"). 0 or -1. */
int chat_store_count_send(pgs_db_t *db, const char *ws, const char *month);

/* The sends of ws in month (0 when none), or -1. */
long long chat_store_sends_count(pgs_db_t *db, const char *ws, const char *month);

/* Calls fn for every workspace with sends in month. 0 or -1. */
int chat_store_sends_each(pgs_db_t *db, const char *month,
                          void (*fn)(const char *ws, long long count, void *arg), void *arg);

#endif
