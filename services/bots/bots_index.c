/*
 * bots_index — see bots_index.h.
 */
#include "bots_index.h"
#include "pgs_log.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_K1 1.2
#define S_B 0.75
#define S_OR_BUDGET 3000 /* candidate rows of an OR query, beyond its rarest term */

/* A direct-mapped cache of per-bot document frequencies: counting a common
 * term's rows in a bot of 30k passages costs about a millisecond, more than
 * the rest of a search. An entry is valid while the bot's (next passage,
 * passage count) pair is unchanged: every add moves the first, every delete
 * lowers the second, so no two states of a bot share a pair. */
#define S_DF_SLOTS 4096
typedef struct {
    int64_t lo, next, count, df;
    char term[BOTS_INDEX_TERM_MAX];
} s_df_slot_t;

struct bots_index {
    s_df_slot_t df[S_DF_SLOTS];
    pgs_db_t *db;
    fts5_api *api;
    fts5_tokenizer tok;
    Fts5Tokenizer *tokenizer;
};

static const char S_SQL_ADD[] = "INSERT INTO passages (rowid, text, doc_id) VALUES (?1, ?2, ?3)";
static const char S_SQL_DEL[] = "DELETE FROM passages WHERE rowid >= ?1 AND rowid <= ?2";
static const char S_SQL_DF[] =
    "SELECT count(*) FROM passages WHERE passages MATCH ?1 AND rowid >= ?2 AND rowid <= ?3";
static const char S_SQL_SEARCH[] =
    "SELECT rowid, doc_id, snippet(passages, 0, '', '', '…', 40), rank FROM passages "
    "WHERE passages MATCH ?1 AND rank MATCH ?2 AND rowid >= ?3 AND rowid <= ?4 "
    "ORDER BY rank LIMIT ?5";
static const char S_SQL_SEARCH_TEXT[] =
    "SELECT rowid, doc_id, snippet(passages, 0, '', '', '…', 40), rank, text FROM passages "
    "WHERE passages MATCH ?1 AND rank MATCH ?2 AND rowid >= ?3 AND rowid <= ?4 "
    "ORDER BY rank LIMIT ?5";

/* English stopwords, folded as the tokenizer folds them. */
static const char *const S_STOP[] = {
    "a",       "about", "above",   "after",  "again", "against", "all",   "am",    "an",
    "and",     "any",   "are",     "as",     "at",    "be",      "because", "been", "before",
    "being",   "below", "between", "both",   "but",   "by",      "can",   "could", "did",
    "do",      "does",  "doing",   "down",   "during", "each",   "few",   "for",   "from",
    "further", "had",   "has",     "have",   "having", "he",     "her",   "here",  "hers",
    "herself", "him",   "himself", "his",    "how",   "i",       "if",    "in",    "into",
    "is",      "it",    "its",     "itself", "just",  "me",      "more",  "most",  "my",
    "myself",  "no",    "nor",     "not",    "now",   "of",      "off",   "on",    "once",
    "only",    "or",    "other",   "our",    "ours",  "ourselves", "out", "over",  "own",
    "same",    "she",   "should",  "so",     "some",  "such",    "than",  "that",  "the",
    "their",   "theirs", "them",   "themselves", "then", "there", "these", "they", "this",
    "those",   "through", "to",    "too",    "under", "until",   "up",    "very",  "was",
    "we",      "were",  "what",    "when",   "where", "which",   "while", "who",   "whom",
    "why",     "will",  "with",    "would",  "you",   "your",    "yours", "yourself",
    "yourselves", NULL};

static int
s_stopword(const char *t)
{
    for (int i = 0; S_STOP[i]; i++)
        if (strcmp(S_STOP[i], t) == 0)
            return 1;
    return 0;
}

/* BM25 with the IDF of each phrase given as the function's arguments
 * (rank MATCH 'pgs_bm25(idf0, idf1, …)'); the result is negated so that
 * ORDER BY rank puts the best first, as with FTS5's own bm25(). */
static void
s_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
       sqlite3_value **vals)
{
    double tf[BOTS_INDEX_MAX_TERMS] = {0};
    int ninst = 0;
    if (api->xInstCount(fts, &ninst) != SQLITE_OK) {
        sqlite3_result_error(ctx, "pgs_bm25: no instances", -1);
        return;
    }
    for (int i = 0; i < ninst; i++) {
        int ip = 0, ic = 0, io = 0;
        if (api->xInst(fts, i, &ip, &ic, &io) == SQLITE_OK && ip >= 0 &&
            ip < BOTS_INDEX_MAX_TERMS && ic == 0)
            tf[ip] += 1;
    }
    int dl = 0;
    sqlite3_int64 nrow = 0, total = 0;
    api->xColumnSize(fts, 0, &dl);
    api->xRowCount(fts, &nrow);
    api->xColumnTotalSize(fts, 0, &total);
    double avgdl = nrow > 0 && total > 0 ? (double)total / (double)nrow : 1.0;
    int nphrase = api->xPhraseCount(fts);
    double score = 0;
    for (int p = 0; p < nphrase && p < nval && p < BOTS_INDEX_MAX_TERMS; p++) {
        if (tf[p] <= 0)
            continue;
        double idf = sqlite3_value_double(vals[p]);
        score += idf * tf[p] * (S_K1 + 1) / (tf[p] + S_K1 * (1 - S_B + S_B * dl / avgdl));
    }
    sqlite3_result_double(ctx, -score);
}

static fts5_api *
s_fts5_api(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return api;
}

bots_index_t *
bots_index_new(pgs_db_t *db)
{
    bots_index_t *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->db = db;
    ix->api = s_fts5_api(pgs_db_handle(db));
    if (!ix->api || ix->api->iVersion < 2) {
        pgs_error("SQLite has no FTS5 (version 2 or later)");
        bots_index_destroy(&ix);
        return NULL;
    }
    if (ix->api->xCreateFunction(ix->api, "pgs_bm25", NULL, s_bm25, NULL) != SQLITE_OK) {
        pgs_error("cannot register pgs_bm25");
        bots_index_destroy(&ix);
        return NULL;
    }
    void *ud = NULL;
    const char *args[] = {"remove_diacritics", "2"};
    if (ix->api->xFindTokenizer(ix->api, "unicode61", &ud, &ix->tok) != SQLITE_OK ||
        ix->tok.xCreate(ud, args, 2, &ix->tokenizer) != SQLITE_OK) {
        pgs_error("cannot make the unicode61 tokenizer");
        ix->tokenizer = NULL;
        bots_index_destroy(&ix);
        return NULL;
    }
    return ix;
}

void
bots_index_destroy(bots_index_t **ixp)
{
    if (!ixp || !*ixp)
        return;
    bots_index_t *ix = *ixp;
    if (ix->tokenizer)
        ix->tok.xDelete(ix->tokenizer);
    free(ix);
    *ixp = NULL;
}

typedef struct {
    bots_terms_t *out;
    int nstop;
    char stop[BOTS_INDEX_MAX_TERMS][BOTS_INDEX_TERM_MAX];
} s_tok_ctx_t;

static int
s_has(char list[][BOTS_INDEX_TERM_MAX], int n, const char *t)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], t) == 0)
            return 1;
    return 0;
}

static int
s_on_token(void *arg, int tflags, const char *tok, int ntok, int start, int end)
{
    (void)tflags;
    (void)start;
    (void)end;
    s_tok_ctx_t *c = arg;
    if (ntok <= 0 || ntok >= BOTS_INDEX_TERM_MAX)
        return SQLITE_OK;
    char t[BOTS_INDEX_TERM_MAX];
    memcpy(t, tok, (size_t)ntok);
    t[ntok] = '\0';
    if (memchr(t, '\0', (size_t)ntok))
        return SQLITE_OK;
    if (s_stopword(t)) {
        if (c->nstop < BOTS_INDEX_MAX_TERMS && !s_has(c->stop, c->nstop, t))
            memcpy(c->stop[c->nstop++], t, (size_t)ntok + 1);
        return SQLITE_OK;
    }
    if (c->out->n < BOTS_INDEX_MAX_TERMS && !s_has(c->out->term, c->out->n, t))
        memcpy(c->out->term[c->out->n++], t, (size_t)ntok + 1);
    return SQLITE_OK;
}

int
bots_index_terms(bots_index_t *ix, const char *q, size_t len, bots_terms_t *out)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return 0;
    if (len > 0x7fffffff)
        return -1;
    s_tok_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->out = out;
    int rc = ix->tok.xTokenize(ix->tokenizer, c, FTS5_TOKENIZE_QUERY, q, (int)len, s_on_token);
    if (rc == SQLITE_OK && out->n == 0) {
        /* nothing but stopwords: search for them after all */
        for (int i = 0; i < c->nstop; i++)
            memcpy(out->term[out->n++], c->stop[i], BOTS_INDEX_TERM_MAX);
    }
    free(c);
    return rc == SQLITE_OK ? out->n : -1;
}

int
bots_index_add(bots_index_t *ix, int64_t rowid, const char *doc_id, const char *text, size_t len)
{
    sqlite3_stmt *st = pgs_db_stmt(ix->db, S_SQL_ADD);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_text64(st, 2, text, (sqlite3_uint64)len, SQLITE_STATIC, SQLITE_UTF8);
    pgs_db_bind_text(st, 3, doc_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_error("index add: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
        return -1;
    }
    return 0;
}

int
bots_index_delete(bots_index_t *ix, int64_t lo, int64_t hi)
{
    sqlite3_stmt *st = pgs_db_stmt(ix->db, S_SQL_DEL);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        pgs_error("index delete: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
        return -1;
    }
    return 0;
}

/* Appends "term" (with '"' doubled) to buf. */
static void
s_quote(char *buf, size_t len, const char *t)
{
    size_t n = strlen(buf);
    if (n + 1 < len)
        buf[n++] = '"';
    for (const char *p = t; *p && n + 2 < len; p++) {
        if (*p == '"')
            buf[n++] = '"';
        buf[n++] = *p;
    }
    if (n + 1 < len)
        buf[n++] = '"';
    buf[n] = '\0';
}

/* Rows of the range that hold term; -1 on error. */
static int64_t
s_df_count(bots_index_t *ix, int64_t lo, int64_t hi, const char *term)
{
    char expr[BOTS_INDEX_TERM_MAX * 2 + 4] = "";
    s_quote(expr, sizeof expr, term);
    sqlite3_stmt *st = pgs_db_stmt(ix->db, S_SQL_DF);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, expr);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        pgs_error("index count: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
    sqlite3_reset(st);
    return n;
}

/* Snippets are one line of plain text: white space runs become a space. */
static void
s_squeeze(char *s)
{
    char *o = s;
    int space = 0;
    for (char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') {
            space = o > s;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *p;
    }
    *o = '\0';
}

static int64_t
s_df(bots_index_t *ix, int64_t lo, int64_t hi, int64_t next, int64_t count, const char *term)
{
    uint32_t h = 2166136261u;
    for (const char *p = term; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h ^= (uint32_t)(lo >> 32) * 2654435761u;
    s_df_slot_t *e = &ix->df[h % S_DF_SLOTS];
    if (e->lo == lo && e->next == next && e->count == count && strcmp(e->term, term) == 0)
        return e->df;
    int64_t df = s_df_count(ix, lo, hi, term);
    if (df >= 0) {
        e->lo = lo;
        e->next = next;
        e->count = count;
        e->df = df;
        snprintf(e->term, sizeof e->term, "%s", term);
    }
    return df;
}

static int
s_run(bots_index_t *ix, int64_t lo, int64_t hi, const char *expr, const char *rank, int k,
      int want_text, bots_hit_t *hits)
{
    sqlite3_stmt *st = pgs_db_stmt(ix->db, want_text ? S_SQL_SEARCH_TEXT : S_SQL_SEARCH);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, expr);
    pgs_db_bind_text(st, 2, rank);
    sqlite3_bind_int64(st, 3, lo);
    sqlite3_bind_int64(st, 4, hi);
    sqlite3_bind_int(st, 5, k);
    int n = 0, rc;
    while (n < k && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        bots_hit_t *h = &hits[n];
        memset(h, 0, sizeof *h);
        h->rowid = sqlite3_column_int64(st, 0);
        snprintf(h->doc_id, sizeof h->doc_id, "%s", pgs_db_col_text(st, 1));
        h->snippet = strdup(pgs_db_col_text(st, 2));
        if (h->snippet)
            s_squeeze(h->snippet);
        h->score = -sqlite3_column_double(st, 3);
        if (want_text)
            h->text = strdup(pgs_db_col_text(st, 4));
        n++;
        if (!h->snippet || (want_text && !h->text)) {
            sqlite3_reset(st);
            bots_index_hits_clear(hits, n);
            return -1;
        }
    }
    if (n < k && rc != SQLITE_DONE) {
        pgs_error("index search: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
        sqlite3_reset(st);
        bots_index_hits_clear(hits, n);
        return -1;
    }
    sqlite3_reset(st);
    return n;
}

/* Builds the MATCH expression and the rank call for the terms in use[]. */
static void
s_build(const bots_terms_t *t, const int *use, const double *idf, const char *op, char *expr,
        size_t elen, char *rank, size_t rlen)
{
    expr[0] = '\0';
    size_t r = (size_t)snprintf(rank, rlen, "pgs_bm25(");
    int first = 1;
    for (int i = 0; i < t->n; i++) {
        if (!use[i])
            continue;
        if (!first) {
            size_t n = strlen(expr);
            snprintf(expr + n, elen - n, " %s ", op);
        }
        s_quote(expr, elen, t->term[i]);
        if (r < rlen)
            r += (size_t)snprintf(rank + r, rlen - r, "%s%.6f", first ? "" : ", ", idf[i]);
        first = 0;
    }
    if (r < rlen)
        snprintf(rank + r, rlen - r, ")");
}

int
bots_index_search(bots_index_t *ix, int64_t lo, int64_t hi, int64_t npassages, int64_t next,
                  const bots_terms_t *terms, int k, int want_text, bots_hit_t *hits)
{
    if (terms->n == 0 || k <= 0 || npassages <= 0)
        return 0;
    int64_t df[BOTS_INDEX_MAX_TERMS];
    double idf[BOTS_INDEX_MAX_TERMS];
    int use[BOTS_INDEX_MAX_TERMS];
    int live = 0;
    for (int i = 0; i < terms->n; i++) {
        df[i] = s_df(ix, lo, hi, next, npassages, terms->term[i]);
        if (df[i] < 0)
            return -1;
        double n = (double)(npassages > df[i] ? npassages : df[i]);
        idf[i] = log(1.0 + (n - (double)df[i] + 0.5) / ((double)df[i] + 0.5));
        use[i] = df[i] > 0;
        live += use[i];
    }
    if (live == 0)
        return 0;
    char expr[BOTS_INDEX_MAX_TERMS * (BOTS_INDEX_TERM_MAX * 2 + 8)];
    char rank[BOTS_INDEX_MAX_TERMS * 24 + 16];
    s_build(terms, use, idf, "AND", expr, sizeof expr, rank, sizeof rank);
    int n = s_run(ix, lo, hi, expr, rank, k, want_text, hits);
    if (n != 0 || live == 1)
        return n;
    /* OR: every candidate passage gets ranked, so the rarest terms only,
     * while their rows stay within a budget (the rarest one always). */
    int order[BOTS_INDEX_MAX_TERMS], n_live = 0;
    for (int i = 0; i < terms->n; i++)
        if (use[i])
            order[n_live++] = i;
    for (int i = 1; i < n_live; i++)
        for (int j = i; j > 0 && df[order[j]] < df[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int64_t rows = 0;
    for (int i = 0; i < n_live; i++) {
        int t = order[i];
        if (i > 0 && rows + df[t] > S_OR_BUDGET)
            use[t] = 0;
        else
            rows += df[t];
    }
    s_build(terms, use, idf, "OR", expr, sizeof expr, rank, sizeof rank);
    return s_run(ix, lo, hi, expr, rank, k, want_text, hits);
}

void
bots_index_hits_clear(bots_hit_t *hits, int n)
{
    for (int i = 0; i < n; i++) {
        free(hits[i].snippet);
        free(hits[i].text);
        hits[i].snippet = hits[i].text = NULL;
    }
}
