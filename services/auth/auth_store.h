/*
 * auth_store — auth.db: the schema (migrations) and every query on users,
 * workspaces, memberships, tokens and the change sequence.
 *
 * SQLite is the durable truth for everything auth owns; Redis is a cache of
 * it (auth_cache). Every write runs inside pgs_db_begin/pgs_db_commit (BEGIN
 * IMMEDIATE), made by the caller, and every write that changes token,
 * workspace or membership state also calls auth_store_bump so a running
 * rebuild notices it. Times are Unix seconds.
 *
 * Lookups return 1 found / 0 absent / -1 error; actions 0 / -1. Row structs
 * are filled by value, so nothing borrowed outlives the call.
 */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include "pgs_db.h"
#include "pgs_id.h"

#include <stdint.h>

#define AUTH_EMAIL_MAX 254
#define AUTH_NAME_BUF 520 /* 128 code points of UTF-8, at most 4 bytes each */

typedef struct {
    char id[PGS_ID_MAX];
    char email[AUTH_EMAIL_MAX + 2];
    char name[AUTH_NAME_BUF];
    char password_hash[160];
    char personal_ws[PGS_ID_MAX];
    int64_t created_at;
} auth_user_t;

typedef struct {
    char id[PGS_ID_MAX];
    char type[16]; /* personal | team */
    char name[AUTH_NAME_BUF];
    char plan[40];
    long long seats;
    char status[32]; /* active | pending_cancellation */
    int quota_disabled;
    char owner[PGS_ID_MAX];
    int64_t created_at;
} auth_ws_t;

typedef struct {
    char ws[PGS_ID_MAX];
    char user[PGS_ID_MAX];
    char role[16]; /* owner | admin | member | viewer */
    int seat;
    int64_t created_at;
} auth_mem_t;

typedef struct {
    char id[PGS_ID_MAX];
    char hash[72];
    char prefix[16];
    char name[AUTH_NAME_BUF];
    char user[PGS_ID_MAX];
    char ws[PGS_ID_MAX];
    char scopes[256]; /* space separated, table order */
    int64_t created_at;
    int64_t expires_at;
    int64_t revoked_at;   /* 0: not revoked */
    int64_t last_used_at; /* 0: never */
    char last_used_ip[64];
    /* joined for the token object */
    char ws_type[16];
    char ws_name[AUTH_NAME_BUF];
    char owner_email[AUTH_EMAIL_MAX + 2];
    char owner_name[AUTH_NAME_BUF];
} auth_tok_t;

/* Opens auth.db at path with the schema applied (WAL, synchronous FULL).
 * Returns an owned handle or NULL (logged). */
pgs_db_t *auth_store_open(const char *path);

/* A new id "prefix_" + 20 base62 characters whose first 8 encode the
 * creation time in milliseconds (strictly increasing within the process),
 * so that ordering by (created_at, id) is creation order. */
void auth_store_id_new(const char *prefix, char out[PGS_ID_MAX]);

/* Bumps meta.change_seq (inside the caller's write transaction). */
int auth_store_bump(pgs_db_t *db);
/* Reads meta.change_seq into *out. */
int auth_store_seq(pgs_db_t *db, int64_t *out);

/* 1 when s is a valid role name (owner, admin, member, viewer). */
int auth_store_role_valid(const char *s);
/* 1 when the role may see and revoke every token of its workspace. */
int auth_store_role_manages(const char *role);
/* 1 when the workspace is a read-only team. */
int auth_store_ws_read_only(const auth_ws_t *ws);

/* Users. */
int auth_store_user_by_email(pgs_db_t *db, const char *email, auth_user_t *out);
int auth_store_user_by_id(pgs_db_t *db, const char *id, auth_user_t *out);
int auth_store_user_insert(pgs_db_t *db, const auth_user_t *u);
/* Calls fn for every user, newest first. 0 or -1. */
int auth_store_user_each(pgs_db_t *db, void (*fn)(const auth_user_t *, void *), void *arg);

/* Workspaces. */
int auth_store_ws_get(pgs_db_t *db, const char *id, auth_ws_t *out);
int auth_store_ws_insert(pgs_db_t *db, const auth_ws_t *ws);
/* Writes plan, seats, status and quota_disabled of ws->id. */
int auth_store_ws_update(pgs_db_t *db, const auth_ws_t *ws);
/* Sets the owner of ws. */
int auth_store_ws_set_owner(pgs_db_t *db, const char *ws, const char *user);
/* Calls fn for every team whose name equals name (case-insensitive).
 * Returns the number of matches or -1. */
int auth_store_team_by_name(pgs_db_t *db, const char *name, void (*fn)(const auth_ws_t *, void *),
                            void *arg);
/* Calls fn for every workspace. 0 or -1. */
int auth_store_ws_each(pgs_db_t *db, void (*fn)(const auth_ws_t *, void *), void *arg);

/* Memberships. */
int auth_store_mem_get(pgs_db_t *db, const char *ws, const char *user, auth_mem_t *out);
/* Inserts or updates role and seat. */
int auth_store_mem_put(pgs_db_t *db, const auth_mem_t *m);
int auth_store_mem_delete(pgs_db_t *db, const char *ws, const char *user);
/* Number of seated members of ws, or -1. */
long long auth_store_mem_seated(pgs_db_t *db, const char *ws);
/* Calls fn for every membership of user with its workspace: personal
 * first, then teams by creation. 0 or -1. */
int auth_store_mem_of_user(pgs_db_t *db, const char *user,
                           void (*fn)(const auth_ws_t *, const auth_mem_t *, void *), void *arg);
/* Calls fn for every membership. 0 or -1. */
int auth_store_mem_each(pgs_db_t *db, void (*fn)(const auth_mem_t *, void *), void *arg);

/* Tokens. */
int auth_store_tok_insert(pgs_db_t *db, const auth_tok_t *t);
int auth_store_tok_by_id(pgs_db_t *db, const char *id, auth_tok_t *out);
int auth_store_tok_by_hash(pgs_db_t *db, const char *hash, auth_tok_t *out);
/* Sets revoked_at = now when not yet revoked. Returns 1 when it changed, 0
 * when already revoked or absent, -1 on error. */
int auth_store_tok_revoke(pgs_db_t *db, const char *id, int64_t now);
/* Unrevoked, unexpired tokens of user in ws at now, or -1. */
long long auth_store_tok_live(pgs_db_t *db, const char *user, const char *ws, int64_t now);
/* Writes last_used_at/ip unless they were written within interval_s.
 * Returns 1 written, 0 not (recent, or no such token), -1 error. */
int auth_store_tok_touch(pgs_db_t *db, const char *id, const char *ip, int64_t now,
                         int64_t interval_s);
/* Tokens of ws (every workspace when ws is NULL), of user only when user is
 * not NULL, newest first, strictly after the (after_created, after_id)
 * position when after_id is not NULL; at most limit rows (limit <= 0: no
 * limit). Calls fn for each; returns the number of rows or -1. */
int auth_store_tok_list(pgs_db_t *db, const char *ws, const char *user, int64_t after_created,
                        const char *after_id, int limit, void (*fn)(const auth_tok_t *, void *),
                        void *arg);
/* Ids of user's unrevoked tokens in ws, each passed to fn. 0 or -1. */
int auth_store_tok_unrevoked_of(pgs_db_t *db, const char *user, const char *ws,
                                void (*fn)(const char *id, void *), void *arg);

#endif
