/*
 * pgs_idem — see pgs_idem.h.
 */
#include "pgs_idem.h"
#include "pgs_json.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char PGS_IDEM_MIGRATION[] =
    "CREATE TABLE idempotency_keys ("
    "  token_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  headers TEXT NOT NULL DEFAULT '{}',"
    "  body BLOB,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (token_id, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);";

/* Responses stored before protocol v2 kept the bot in an x-pgs-usage
 * header ("bot=<id> msgs=…"): it moves to the meta column. */
const char PGS_IDEM_MIGRATION_META[] =
    "ALTER TABLE idempotency_keys ADD COLUMN meta TEXT NOT NULL DEFAULT '';"
    "UPDATE idempotency_keys SET"
    "  meta = CASE WHEN json_extract(headers, '$.\"x-pgs-usage\"') LIKE 'bot=%'"
    "    THEN 'bot=' || substr(json_extract(headers, '$.\"x-pgs-usage\"'), 5,"
    "         instr(json_extract(headers, '$.\"x-pgs-usage\"') || ' ', ' ') - 5) || char(10)"
    "    ELSE '' END,"
    "  headers = json_remove(headers, '$.\"x-pgs-usage\"', '$.\"x-pgs-stream\"',"
    "                        '$.\"x-pgs-invalidate\"')"
    "  WHERE json_valid(headers) AND headers LIKE '%x-pgs-%';";

const char PGS_IDEM_MIGRATION_ROUTE[] =
    "ALTER TABLE idempotency_keys ADD COLUMN route TEXT NOT NULL DEFAULT '';";

static const char S_SQL_GET[] =
    "SELECT hash, status, headers, body, meta, route FROM idempotency_keys "
    "WHERE token_id = ?1 AND key = ?2 AND created_at > ?3";
static const char S_SQL_PUT[] =
    "INSERT OR REPLACE INTO idempotency_keys (token_id, key, hash, status, headers, body, "
    "created_at, meta, route) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char S_SQL_PURGE[] =
    "DELETE FROM idempotency_keys WHERE (token_id, key) IN "
    "(SELECT token_id, key FROM idempotency_keys WHERE created_at <= ?1 LIMIT ?2)";

static int64_t
s_now(void)
{
    return (int64_t)time(NULL);
}

/* Adds one length-prefixed field to the hash, so that fields never run into
 * each other ("ab"+"c" differs from "a"+"bc"). */
static void
s_hash_field(crypto_generichash_state *st, const void *data, size_t len)
{
    unsigned char n[8];
    for (int i = 0; i < 8; i++)
        n[i] = (unsigned char)((uint64_t)len >> (8 * i));
    crypto_generichash_update(st, n, sizeof n);
    if (len)
        crypto_generichash_update(st, data, len);
}

static void
s_hash_json(crypto_generichash_state *st, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    s_hash_field(st, text ? text : "", text ? strlen(text) : 0);
    free(text);
}

int
pgs_idem_init(pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res)
{
    memset(idem, 0, sizeof *idem);
    json_t *headers = json_object_get(pgs_req_params(req), "headers");
    const char *key = json_string_value(json_object_get(headers, "idempotency-key"));
    const char *tok = pgs_req_ctx(req, "token_id");
    const char *ws = pgs_req_ctx(req, "workspace_id");
    const char *user = pgs_req_ctx(req, "user_id");
    if (!key)
        return 0;
    size_t n = strlen(key);
    int ok = n > 0 && n < PGS_IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            ok = 0;
    if (!ok) {
        pgs_res_error(res, req, 400, "invalid_request",
                      "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
                      NULL);
        return -1;
    }
    if (!tok || !*tok || !ws || !*ws || !user || !*user ||
        strlen(ws) + strlen(user) + 2 > PGS_IDEM_TOKEN_MAX)
        return 0; /* no token (an internal call): nothing to scope the key to */
    idem->active = 1;
    snprintf(idem->key, sizeof idem->key, "%s", key);
    snprintf(idem->token_id, sizeof idem->token_id, "%s:%s", ws, user);
    snprintf(idem->route, sizeof idem->route, "%s", req->route);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof idem->hash);
    s_hash_field(&st, req->route, strlen(req->route));
    s_hash_json(&st, json_object_get(pgs_req_params(req), "method"));
    s_hash_json(&st, json_object_get(pgs_req_params(req), "path"));
    s_hash_json(&st, json_object_get(pgs_req_params(req), "query"));
    s_hash_json(&st, json_object_get(headers, "content-type"));
    /* A JSON body as canonical JSON (keys sorted, no white space); any
     * other body as its bytes. */
    json_t *jb = req->body && req->body_len
                     ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL)
                     : NULL;
    if (jb)
        s_hash_json(&st, jb);
    else
        s_hash_field(&st, req->body, req->body ? req->body_len : 0);
    json_decref(jb);
    crypto_generichash_final(&st, idem->hash, sizeof idem->hash);
    return 0;
}

pgs_idem_state_t
pgs_idem_lookup(pgs_db_t *db, const pgs_idem_t *idem, int64_t now_s, pgs_res_t *stored)
{
    if (stored)
        memset(stored, 0, sizeof *stored);
    if (!idem->active)
        return PGS_IDEM_NEW;
    sqlite3_stmt *st = pgs_db_stmt(db, S_SQL_GET);
    if (!st)
        return PGS_IDEM_ERROR;
    pgs_db_bind_text(st, 1, idem->token_id);
    pgs_db_bind_text(st, 2, idem->key);
    sqlite3_bind_int64(st, 3, now_s - PGS_IDEM_TTL_S);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return PGS_IDEM_NEW;
    }
    if (rc != SQLITE_ROW) {
        pgs_error("idempotency lookup: %s", sqlite3_errmsg(pgs_db_handle(db)));
        sqlite3_reset(st);
        return PGS_IDEM_ERROR;
    }
    const void *hash = sqlite3_column_blob(st, 0);
    int hlen = sqlite3_column_bytes(st, 0);
    pgs_idem_state_t out;
    if (hlen != PGS_IDEM_HASH_LEN || !hash || sodium_memcmp(hash, idem->hash, hlen) != 0) {
        const char *route = pgs_db_col_text(st, 5);
        out = *route && strcmp(route, idem->route) != 0 ? PGS_IDEM_OTHER_ROUTE : PGS_IDEM_MISMATCH;
    } else if (sqlite3_column_int(st, 1) == 0) {
        out = PGS_IDEM_PENDING;
    } else {
        out = PGS_IDEM_REPLAY;
        if (stored) {
            stored->status = sqlite3_column_int(st, 1);
            stored->headers = json_loads(pgs_db_col_text(st, 2), 0, NULL);
            if (!json_is_object(stored->headers)) {
                json_decref(stored->headers);
                stored->headers = json_object();
            }
            int blen = sqlite3_column_bytes(st, 3);
            const void *body = sqlite3_column_blob(st, 3);
            if (body && blen > 0) {
                stored->body = malloc((size_t)blen);
                if (!stored->body) {
                    sqlite3_reset(st);
                    pgs_res_clear(stored);
                    return PGS_IDEM_ERROR;
                }
                memcpy(stored->body, body, (size_t)blen);
                stored->body_len = (size_t)blen;
            }
            const char *meta = pgs_db_col_text(st, 4);
            if (meta && *meta && pgs_meta_parse(meta, strlen(meta), &stored->meta) < 0) {
                sqlite3_reset(st);
                pgs_res_clear(stored);
                return PGS_IDEM_ERROR;
            }
        }
    }
    sqlite3_reset(st);
    return out;
}

int
pgs_idem_save(pgs_db_t *db, const pgs_idem_t *idem, int64_t now_s, const pgs_res_t *res)
{
    if (!idem->active)
        return 0;
    sqlite3_stmt *st = pgs_db_stmt(db, S_SQL_PUT);
    if (!st)
        return -1;
    int status = res ? res->status : 0;
    const char *body = res ? res->body : NULL;
    size_t len = res ? res->body_len : 0;
    char *htext = res && res->headers ? json_dumps(res->headers, JSON_COMPACT) : NULL;
    /* What a replay needs of the meta: the bot, for its usage event. */
    pgs_meta_t keep = {0};
    if (res)
        memcpy(keep.bot, res->meta.bot, sizeof keep.bot);
    char *mtext = pgs_meta_format(&keep);
    pgs_db_bind_text(st, 1, idem->token_id);
    pgs_db_bind_text(st, 2, idem->key);
    sqlite3_bind_blob(st, 3, idem->hash, sizeof idem->hash, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, status);
    pgs_db_bind_text(st, 5, htext ? htext : "{}");
    if (body && len)
        sqlite3_bind_blob64(st, 6, body, (sqlite3_uint64)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, now_s);
    pgs_db_bind_text(st, 8, mtext ? mtext : "");
    pgs_db_bind_text(st, 9, idem->route);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(htext);
    free(mtext);
    if (rc != SQLITE_DONE) {
        pgs_error("idempotency save: %s", sqlite3_errmsg(pgs_db_handle(db)));
        return -1;
    }
    return 0;
}

void
pgs_idem_fail_db(pgs_db_t *db, const pgs_req_t *req, pgs_res_t *res)
{
    int code = sqlite3_errcode(pgs_db_handle(db)) & 0xff;
    pgs_db_rollback(db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        pgs_res_error(res, req, 503, "service_unavailable",
                      "The service is busy. Try again shortly.", NULL);
        pgs_res_header(res, "Retry-After", "1");
    } else {
        pgs_res_error(res, req, 500, "internal_error", "Internal error.", NULL);
    }
}

int
pgs_idem_begin(pgs_db_t *db, const pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res)
{
    if (pgs_db_begin(db) < 0) {
        pgs_idem_fail_db(db, req, res);
        return -1;
    }
    pgs_res_t stored;
    pgs_idem_state_t state = pgs_idem_lookup(db, idem, s_now(), &stored);
    switch (state) {
    case PGS_IDEM_NEW:
        return 0;
    case PGS_IDEM_REPLAY:
        pgs_db_rollback(db);
        pgs_res_clear(res);
        *res = stored;
        res->meta.replayed = 1;
        pgs_res_header(res, "Idempotent-Replayed", "true");
        return 1;
    case PGS_IDEM_MISMATCH:
    case PGS_IDEM_OTHER_ROUTE:
        pgs_db_rollback(db);
        pgs_res_error(res, req, 409, "idempotency_key_reused",
                      state == PGS_IDEM_OTHER_ROUTE
                          ? "This Idempotency-Key was already used on another route."
                          : "This Idempotency-Key was already used with a different request.",
                      NULL);
        return 1;
    case PGS_IDEM_PENDING:
        pgs_db_rollback(db);
        pgs_res_error(res, req, 409, "conflict",
                      "A request with this Idempotency-Key is still in progress.", NULL);
        return 1;
    case PGS_IDEM_ERROR:
    default:
        pgs_idem_fail_db(db, req, res);
        return -1;
    }
}

int
pgs_idem_commit(pgs_db_t *db, const pgs_idem_t *idem, const pgs_req_t *req, pgs_res_t *res)
{
    if (pgs_idem_save(db, idem, s_now(), res) < 0 || pgs_db_commit(db) < 0) {
        pgs_idem_fail_db(db, req, res);
        return -1;
    }
    return 0;
}

void
pgs_idem_abort(pgs_db_t *db)
{
    pgs_db_rollback(db);
}

int
pgs_idem_purge(pgs_db_t *db, int64_t now_s, int max_rows)
{
    if (pgs_db_begin(db) < 0)
        return -1;
    sqlite3_stmt *st = pgs_db_stmt(db, S_SQL_PURGE);
    if (!st) {
        pgs_db_rollback(db);
        return -1;
    }
    sqlite3_bind_int64(st, 1, now_s - PGS_IDEM_TTL_S);
    sqlite3_bind_int(st, 2, max_rows);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_db_rollback(db);
        return -1;
    }
    int n = sqlite3_changes(pgs_db_handle(db));
    if (pgs_db_commit(db) < 0) {
        pgs_db_rollback(db);
        return -1;
    }
    return n;
}

void
pgs_idem_tick(pgs_db_t *db, int64_t *last_ms)
{
    int64_t now = pgs_time_mono_ms();
    if (*last_ms && now - *last_ms < 60000)
        return;
    *last_ms = now;
    int n = pgs_idem_purge(db, pgs_time_now_ms() / 1000, 500);
    if (n > 0)
        pgs_debug("purged %d expired idempotency keys", n);
}
