/*
 * bots_index — see bots_index.h.
 */
#include "bots_index.h"
#include "pgs_time.h"
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
    int64_t last_write_ms;  /* this process's last change to the index */
    int64_t quiet_since_ms; /* no other process has written since then */
    int data_version;
};

static const char S_SQL_ADD[] = "INSERT INTO passages (rowid, text, doc_id) VALUES (?1, ?2, ?3)";
static const char S_SQL_DEL[] = "DELETE FROM passages WHERE rowid >= ?1 AND rowid <= ?2";
static const char S_SQL_DF[] =
    "SELECT count(*) FROM passages WHERE passages MATCH ?1 AND rowid >= ?2 AND rowid <= ?3";
static const char S_SQL_SCAN[] = "SELECT pgs_bm25(passages, ?4) FROM passages "
                                 "WHERE passages MATCH ?1 AND rowid >= ?2 AND rowid <= ?3";
static const char S_SQL_PASSAGE[] = "SELECT doc_id, text FROM passages WHERE rowid = ?1";

/* English stopwords, folded as the tokenizer folds them. */
static const char *const S_STOP[] = {
    "a",      "about",  "above", "after",  "again",    "against",    "all",  "am",
    "an",     "and",    "any",   "are",    "as",       "at",         "be",   "because",
    "been",   "before", "being", "below",  "between",  "both",       "but",  "by",
    "can",    "could",  "did",   "do",     "does",     "doing",      "down", "during",
    "each",   "few",    "for",   "from",   "further",  "had",        "has",  "have",
    "having", "he",     "her",   "here",   "hers",     "herself",    "him",  "himself",
    "his",    "how",    "i",     "if",     "in",       "into",       "is",   "it",
    "its",    "itself", "just",  "me",     "more",     "most",       "my",   "myself",
    "no",     "nor",    "not",   "now",    "of",       "off",        "on",   "once",
    "only",   "or",     "other", "our",    "ours",     "ourselves",  "out",  "over",
    "own",    "same",   "she",   "should", "so",       "some",       "such", "than",
    "that",   "the",    "their", "theirs", "them",     "themselves", "then", "there",
    "these",  "they",   "this",  "those",  "through",  "to",         "too",  "under",
    "until",  "up",     "very",  "was",    "we",       "were",       "what", "when",
    "where",  "which",  "while", "who",    "whom",     "why",        "will", "with",
    "would",  "you",    "your",  "yours",  "yourself", "yourselves", NULL};

static int
s_stopword(const char *t)
{
    for (int i = 0; S_STOP[i]; i++)
        if (strcmp(S_STOP[i], t) == 0)
            return 1;
    return 0;
}

typedef struct {
    int64_t rowid;
    double score;
} s_top_t;

/* One search's scan: what pgs_bm25 needs per row and where it puts the
 * best rows. Phrase p of the MATCH expression counts for term phrase_term[p]
 * (-1: a phrase that only drives the iteration). */
typedef struct {
    int nterms, nphrase;
    int phrase_term[2 * BOTS_INDEX_MAX_TERMS];
    double idf_and[BOTS_INDEX_MAX_TERMS]; /* every live term */
    double idf_or[BOTS_INDEX_MAX_TERMS];  /* the OR terms; 0 for the others */
    uint32_t all;                         /* bits of the live terms */
    int score_or;                         /* also rank rows without every term */
    int k;
    double avgdl;
    int nand, nor;
    s_top_t and_top[BOTS_INDEX_MAX_HITS], or_top[BOTS_INDEX_MAX_HITS];
    int error;
} s_scan_t;

/* Keeps the k best (highest score, then lowest rowid) in top[], best first. */
static void
s_top_push(s_top_t *top, int *n, int k, int64_t rowid, double score)
{
    int i = *n;
    if (i == k) {
        if (score <= top[k - 1].score)
            return;
        i = k - 1;
    } else {
        (*n)++;
    }
    while (i > 0 && top[i - 1].score < score) {
        top[i] = top[i - 1];
        i--;
    }
    top[i].rowid = rowid;
    top[i].score = score;
}

/* pgs_bm25(passages, scan): called for every row of a search's MATCH; scores
 * the row by BM25 (k1 1.2, b 0.75) with the per-bot IDFs of the scan and
 * keeps it among the scan's best rows: those with every term, and, while
 * none has been seen and the scan asks for it, those with any OR term. The
 * IDFs are given rather than computed: the built-in bm25() counts a term's
 * rows over the whole table on every query. */
static void
s_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
       sqlite3_value **vals)
{
    s_scan_t *sc = nval == 1 ? sqlite3_value_pointer(vals[0], "pgs_scan") : NULL;
    if (!sc) {
        sqlite3_result_error(ctx, "pgs_bm25: no scan", -1);
        return;
    }
    double tf[BOTS_INDEX_MAX_TERMS] = {0};
    int ninst = 0;
    if (api->xInstCount(fts, &ninst) != SQLITE_OK) {
        sc->error = 1;
        sqlite3_result_error(ctx, "pgs_bm25: no instances", -1);
        return;
    }
    uint32_t seen = 0;
    for (int i = 0; i < ninst; i++) {
        int ip = 0, ic = 0, io = 0;
        if (api->xInst(fts, i, &ip, &ic, &io) == SQLITE_OK && ip >= 0 && ip < sc->nphrase &&
            ic == 0 && sc->phrase_term[ip] >= 0) {
            tf[sc->phrase_term[ip]] += 1;
            seen |= 1u << sc->phrase_term[ip];
        }
    }
    int every = seen == sc->all;
    if (!every && (!sc->score_or || sc->nand > 0))
        return;
    if (sc->avgdl <= 0) {
        sqlite3_int64 nrow = 0, total = 0;
        api->xRowCount(fts, &nrow);
        api->xColumnTotalSize(fts, 0, &total);
        sc->avgdl = nrow > 0 && total > 0 ? (double)total / (double)nrow : 1.0;
    }
    int dl = 0;
    api->xColumnSize(fts, 0, &dl);
    double norm = S_K1 * (1 - S_B + S_B * dl / sc->avgdl);
    const double *idf = every ? sc->idf_and : sc->idf_or;
    double score = 0;
    for (int t = 0; t < sc->nterms; t++)
        if (tf[t] > 0)
            score += idf[t] * tf[t] * (S_K1 + 1) / (tf[t] + norm);
    int64_t rowid = api->xRowid(fts);
    if (every)
        s_top_push(sc->and_top, &sc->nand, sc->k, rowid, score);
    else
        s_top_push(sc->or_top, &sc->nor, sc->k, rowid, score);
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
    ix->last_write_ms = pgs_time_mono_ms();
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
    ix->last_write_ms = pgs_time_mono_ms();
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

/* Runs one scan of the bot's range for expr; its best rows land in *sc.
 * 0 or -1 (logged). */
static int
s_scan(bots_index_t *ix, int64_t lo, int64_t hi, const char *expr, s_scan_t *sc)
{
    sqlite3_stmt *st = pgs_db_stmt(ix->db, S_SQL_SCAN);
    if (!st)
        return -1;
    pgs_db_bind_text(st, 1, expr);
    sqlite3_bind_int64(st, 2, lo);
    sqlite3_bind_int64(st, 3, hi);
    sqlite3_bind_pointer(st, 4, sc, "pgs_scan", NULL);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE || sc->error) {
        pgs_error("index search: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* Appends term t's phrase to expr (joined by op when not the first) and
 * records which term the phrase counts for (-1: none). */
static void
s_phrase(s_scan_t *sc, char *expr, size_t elen, const char *op, const char *t, int term)
{
    if (expr[0]) {
        size_t n = strlen(expr);
        snprintf(expr + n, elen - n, " %s ", op);
    }
    s_quote(expr, elen, t);
    if (sc->nphrase < 2 * BOTS_INDEX_MAX_TERMS)
        sc->phrase_term[sc->nphrase++] = term;
}

/* ---- snippets ---- */

#define S_SNIPPET_TOKENS 40

typedef struct {
    int start, end, term;
} s_tokpos_t;

typedef struct {
    const bots_terms_t *terms;
    int n, cap;
    s_tokpos_t *tok;
} s_snip_t;

static int
s_snip_token(void *arg, int tflags, const char *tok, int ntok, int start, int end)
{
    (void)tflags;
    s_snip_t *c = arg;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 256;
        s_tokpos_t *p = realloc(c->tok, (size_t)cap * sizeof *p);
        if (!p)
            return SQLITE_NOMEM;
        c->tok = p;
        c->cap = cap;
    }
    int term = -1;
    for (int i = 0; i < c->terms->n && term < 0; i++)
        if (strncmp(c->terms->term[i], tok, (size_t)ntok) == 0 && c->terms->term[i][ntok] == '\0')
            term = i;
    c->tok[c->n] = (s_tokpos_t){start, end, term};
    c->n++;
    return SQLITE_OK;
}

/* The snippet of text (len bytes), as FTS5's snippet() makes it without a
 * second pass over the index: the window of S_SNIPPET_TOKENS tokens with
 * the most distinct terms (then the most matches), centred on its matches,
 * as one line of plain text with '…' where text was cut. Owned, or NULL. */
static char *
s_snippet(bots_index_t *ix, const bots_terms_t *terms, const char *text, size_t len)
{
    static const char ell[] = "…";
    s_snip_t c = {.terms = terms};
    if (len > 0x7fffffff || ix->tok.xTokenize(ix->tokenizer, &c, FTS5_TOKENIZE_DOCUMENT, text,
                                              (int)len, s_snip_token) != SQLITE_OK) {
        free(c.tok);
        return NULL;
    }
    int first = 0, last = c.n - 1;
    if (c.n > S_SNIPPET_TOKENS) {
        long best = -1;
        for (int i = 0; i < c.n; i++) {
            if (c.tok[i].term < 0)
                continue;
            uint32_t seen = 0;
            long score = 0;
            int end = i;
            for (int j = i; j < c.n && j < i + S_SNIPPET_TOKENS; j++) {
                if (c.tok[j].term < 0)
                    continue;
                score += seen & (1u << c.tok[j].term) ? 1 : 1000;
                seen |= 1u << c.tok[j].term;
                end = j;
            }
            if (score <= best)
                continue;
            best = score;
            int s = i - (S_SNIPPET_TOKENS - (end - i + 1)) / 2;
            if (s + S_SNIPPET_TOKENS > c.n)
                s = c.n - S_SNIPPET_TOKENS;
            first = s < 0 ? 0 : s;
        }
        last = first + S_SNIPPET_TOKENS - 1;
    }
    int head = first > 0, tail = last >= 0 && last < c.n - 1;
    size_t from = head ? (size_t)c.tok[first].start : 0;
    size_t to = tail ? (size_t)c.tok[last].end : len;
    free(c.tok);
    char *out = malloc(to - from + 2 * sizeof ell);
    if (!out)
        return NULL;
    size_t n = 0;
    if (head) {
        memcpy(out, ell, sizeof ell - 1);
        n += sizeof ell - 1;
    }
    memcpy(out + n, text + from, to - from);
    n += to - from;
    if (tail) {
        memcpy(out + n, ell, sizeof ell - 1);
        n += sizeof ell - 1;
    }
    out[n] = '\0';
    s_squeeze(out);
    return out;
}

/* Fills hits[0..n) from the ranked rows: document, snippet, text. */
static int
s_fill(bots_index_t *ix, const bots_terms_t *terms, const s_top_t *top, int n, int want_text,
       bots_hit_t *hits)
{
    sqlite3_stmt *st = pgs_db_stmt(ix->db, S_SQL_PASSAGE);
    if (!st)
        return -1;
    for (int i = 0; i < n; i++) {
        bots_hit_t *h = &hits[i];
        memset(h, 0, sizeof *h);
        h->rowid = top[i].rowid;
        h->score = top[i].score;
        sqlite3_bind_int64(st, 1, top[i].rowid);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            snprintf(h->doc_id, sizeof h->doc_id, "%s", pgs_db_col_text(st, 0));
            const char *text = pgs_db_col_text(st, 1);
            size_t len = (size_t)sqlite3_column_bytes(st, 1);
            h->snippet = s_snippet(ix, terms, text, len);
            if (want_text)
                h->text = strndup(text, len);
        } else {
            pgs_error("index passage: %s", sqlite3_errmsg(pgs_db_handle(ix->db)));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW || !h->snippet || (want_text && !h->text)) {
            bots_index_hits_clear(hits, i + 1);
            return -1;
        }
    }
    return n;
}

int
bots_index_search(bots_index_t *ix, int64_t lo, int64_t hi, int64_t npassages, int64_t next,
                  const bots_terms_t *terms, int k, int want_text, bots_hit_t *hits)
{
    if (terms->n == 0 || k <= 0 || npassages <= 0)
        return 0;
    if (k > BOTS_INDEX_MAX_HITS)
        k = BOTS_INDEX_MAX_HITS;
    s_scan_t *sc = calloc(1, sizeof *sc);
    if (!sc)
        return -1;
    sc->nterms = terms->n;
    sc->k = k;
    int64_t df[BOTS_INDEX_MAX_TERMS];
    int order[BOTS_INDEX_MAX_TERMS], n_live = 0;
    for (int i = 0; i < terms->n; i++) {
        df[i] = s_df(ix, lo, hi, next, npassages, terms->term[i]);
        if (df[i] < 0) {
            free(sc);
            return -1;
        }
        double n = (double)(npassages > df[i] ? npassages : df[i]);
        sc->idf_and[i] = log(1.0 + (n - (double)df[i] + 0.5) / ((double)df[i] + 0.5));
        if (df[i] > 0) {
            order[n_live++] = i;
            sc->all |= 1u << i;
        }
    }
    if (n_live == 0) {
        free(sc);
        return 0;
    }
    for (int i = 1; i < n_live; i++) /* rarest first */
        for (int j = i; j > 0 && df[order[j]] < df[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    /* The OR terms, for when no passage has every term: the rarest terms
     * while their rows stay within a budget (the rarest one always), as
     * every candidate gets ranked. */
    int or_term[BOTS_INDEX_MAX_TERMS] = {0};
    int64_t rows = 0;
    int n_or = 0;
    for (int i = 0; i < n_live; i++) {
        int t = order[i];
        if (i == 0 || rows + df[t] <= S_OR_BUDGET) {
            rows += df[t];
            sc->idf_or[t] = sc->idf_and[t];
            or_term[t] = 1;
            n_or++;
        }
    }
    /* Every passage with every term has the rarest one, r: the scan walks
     * r's rows and sees at each which other terms the row holds:
     * "r" AND ("r" OR "t2" OR "t3"). A plain AND would match the same rows,
     * but FTS5 looks for its next match past the range (through the later
     * bots' passages) before it notices the range's end. */
    char expr[2 * BOTS_INDEX_MAX_TERMS * (BOTS_INDEX_TERM_MAX * 2 + 8) + 8] = "";
    if (n_live == 1) {
        s_phrase(sc, expr, sizeof expr, "OR", terms->term[order[0]], order[0]);
    } else {
        s_phrase(sc, expr, sizeof expr, "OR", terms->term[order[0]], -1);
        char group[sizeof expr] = "";
        for (int i = 0; i < n_live; i++)
            s_phrase(sc, group, sizeof group, "OR", terms->term[order[i]], order[i]);
        size_t e = strlen(expr);
        snprintf(expr + e, sizeof expr - e, " AND (%s)", group);
    }
    sc->score_or = n_or == 1; /* the OR rows are these rows */
    int rc = s_scan(ix, lo, hi, expr, sc);
    if (rc == 0 && sc->nand == 0 && n_or > 1) {
        /* No passage has every term: any of the OR terms. */
        sc->nphrase = 0;
        sc->all = UINT32_MAX; /* no row counts as having every term */
        sc->score_or = 1;
        expr[0] = '\0';
        for (int i = 0; i < n_live; i++)
            if (or_term[order[i]])
                s_phrase(sc, expr, sizeof expr, "OR", terms->term[order[i]], order[i]);
        rc = s_scan(ix, lo, hi, expr, sc);
    }
    int n = -1;
    if (rc == 0)
        n = sc->nand > 0 ? s_fill(ix, terms, sc->and_top, sc->nand, want_text, hits)
                         : s_fill(ix, terms, sc->or_top, sc->nor, want_text, hits);
    free(sc);
    return n;
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

/* PRAGMA data_version: changes when another connection commits. */
static int
s_data_version(pgs_db_t *db)
{
    static const char sql[] = "PRAGMA data_version";
    sqlite3_stmt *st = pgs_db_stmt(db, sql);
    int v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    if (st)
        sqlite3_reset(st);
    return v;
}

int
bots_index_merge_step(bots_index_t *ix)
{
    pgs_db_t *db = ix->db;
    int64_t now = pgs_time_mono_ms();
    int v = s_data_version(db);
    if (v != ix->data_version) {
        ix->data_version = v;
        ix->quiet_since_ms = now;
    }
    /* Only while nobody writes: merging holds the write lock, and
     * documents being added would only make more segments meanwhile. */
    if (now - ix->last_write_ms < 2000 || now - ix->quiet_since_ms < 2000)
        return 2;
    sqlite3 *h = pgs_db_handle(db);
    int saved = pgs_db_busy_budget(db, 0);
    int rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    pgs_db_busy_budget(db, saved);
    if (rc != SQLITE_OK)
        return rc == SQLITE_BUSY ? 2 : -1;
    /* A negative page count merges even levels with few segments; the
     * FTS5 documentation: total_changes grows by 2 or more when work was
     * done. */
    int before = sqlite3_total_changes(h);
    if (pgs_db_exec(db, "INSERT INTO passages(passages, rank) VALUES('merge', -32)") < 0) {
        pgs_db_rollback(db);
        return -1;
    }
    int worked = sqlite3_total_changes(h) - before >= 2;
    if (pgs_db_commit(db) < 0) {
        pgs_db_rollback(db);
        return -1;
    }
    return worked;
}
