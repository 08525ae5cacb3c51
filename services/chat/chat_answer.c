/*
 * chat_answer — see chat_answer.h.
 */
#include "chat_answer.h"
#include "chat_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_SENTENCES 4096
#define S_SNIPPET_BYTES 240

typedef struct {
    const char *start;
    size_t len;
    size_t passage;
    size_t pos;
    double score;
    int doc; /* index into the documents cited, -1 until chosen */
} s_cand_t;

int
chat_answer_is_followup(const char *question, const char *earlier)
{
    if (!earlier || !*earlier)
        return 0;
    chat_terms_t cur = {0};
    chat_text_terms(question, strlen(question), &cur);
    return cur.anaphora || cur.n <= 1;
}

char *
chat_answer_query(const char *question, const char *earlier)
{
    int follow = chat_answer_is_followup(question, earlier);
    size_t ql = strlen(question), el = follow ? strlen(earlier) : 0;
    char *q = malloc(ql + el + 2);
    if (!q)
        return NULL;
    memcpy(q, question, ql);
    if (follow) {
        q[ql] = ' ';
        memcpy(q + ql + 1, earlier, el);
        q[ql + 1 + el] = '\0';
    } else {
        q[ql] = '\0';
    }
    return q;
}

/* Distinct terms of t that the sentence holds. */
static int
s_hits(const chat_terms_t *sent, const chat_terms_t *t, const chat_terms_t *skip)
{
    int n = 0;
    for (int i = 0; i < t->n; i++)
        if ((!skip || !chat_text_terms_has(skip, t->term[i])) &&
            chat_text_terms_has(sent, t->term[i]))
            n++;
    return n;
}

static int
s_by_score(const void *a, const void *b)
{
    const s_cand_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->passage != y->passage)
        return x->passage < y->passage ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int
s_by_reading(const void *a, const void *b)
{
    const s_cand_t *x = a, *y = b;
    if (x->doc != y->doc)
        return x->doc < y->doc ? -1 : 1;
    if (x->passage != y->passage)
        return x->passage < y->passage ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

typedef struct {
    char *buf;
    size_t len, cap;
    int oom;
} s_buf_t;

static void
s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        char *p = realloc(b->buf, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static int
s_nothing(chat_answer_t *out)
{
    out->content = strdup(CHAT_ANSWER_NOTHING);
    out->citations = json_array();
    out->found = 0;
    if (!out->content || !out->citations) {
        chat_answer_clear(out);
        return -1;
    }
    return 0;
}

int
chat_answer_compose(const chat_passage_t *p, size_t n, const char *question, const char *earlier,
                    int max_sentences, chat_answer_t *out)
{
    memset(out, 0, sizeof *out);
    chat_terms_t cur = {0}, prev = {0};
    chat_text_terms(question, strlen(question), &cur);
    int follow = chat_answer_is_followup(question, earlier);
    if (follow)
        chat_text_terms(earlier, strlen(earlier), &prev);
    int need = cur.n ? (cur.n + 3) / 4 : 1;
    if (max_sentences < 1)
        max_sentences = 1;

    s_cand_t *cand = malloc(S_MAX_SENTENCES * sizeof *cand);
    chat_span_t *spans = malloc(S_MAX_SENTENCES * sizeof *spans);
    if (!cand || !spans) {
        free(cand);
        free(spans);
        return -1;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n && nc < S_MAX_SENTENCES; i++) {
        if (!p[i].text)
            continue;
        size_t ns = chat_text_sentences(p[i].text, p[i].text_len, spans, S_MAX_SENTENCES - nc);
        for (size_t j = 0; j < ns; j++) {
            chat_terms_t st = {0};
            chat_text_terms(spans[j].start, spans[j].len, &st);
            int ch = s_hits(&st, &cur, NULL);
            int ph = follow ? s_hits(&st, &prev, &cur) : 0;
            double score = ch + 0.5 * ph;
            if (!(ch >= need || (follow && score >= 1.0)))
                continue;
            /* The same sentence from two overlapping passages counts once. */
            int dup = 0;
            for (size_t k = 0; k < nc && !dup; k++)
                dup = cand[k].len == spans[j].len &&
                      memcmp(cand[k].start, spans[j].start, spans[j].len) == 0;
            if (dup)
                continue;
            cand[nc++] = (s_cand_t){spans[j].start, spans[j].len, i, j, score, -1};
        }
    }
    free(spans);
    if (nc == 0) {
        free(cand);
        return s_nothing(out);
    }
    qsort(cand, nc, sizeof *cand, s_by_score);
    if (nc > (size_t)max_sentences)
        nc = (size_t)max_sentences;
    /* Sentences far weaker than the best one are noise next to it. */
    while (nc > 1 && cand[nc - 1].score * 2 < cand[0].score)
        nc--;

    /* Number the documents in the order they first appear among the best. */
    const char *docs[64];
    size_t first_passage[64];
    int ndocs = 0;
    for (size_t k = 0; k < nc; k++) {
        const char *id = p[cand[k].passage].document_id ? p[cand[k].passage].document_id : "";
        int d = 0;
        while (d < ndocs && strcmp(docs[d], id) != 0)
            d++;
        if (d == ndocs && ndocs < 64) {
            docs[ndocs] = id;
            first_passage[ndocs] = cand[k].passage;
            ndocs++;
        }
        cand[k].doc = d < 64 ? d : 63;
    }
    qsort(cand, nc, sizeof *cand, s_by_reading);

    s_buf_t b = {0};
    json_t *cites = json_array();
    for (size_t k = 0; k < nc; k++) {
        if (k > 0)
            s_put(&b, " ", 1);
        s_put(&b, cand[k].start, cand[k].len);
        if (k + 1 == nc || cand[k + 1].doc != cand[k].doc) {
            char mark[16];
            int ml = snprintf(mark, sizeof mark, " [%d]", cand[k].doc + 1);
            s_put(&b, mark, (size_t)ml);
        }
    }
    for (int d = 0; d < ndocs; d++) {
        /* The snippet is the first chosen sentence of the document. */
        size_t k = 0;
        while (k < nc && cand[k].doc != d)
            k++;
        char *snip = chat_text_clip(cand[k].start, cand[k].len, S_SNIPPET_BYTES);
        const chat_passage_t *src = &p[first_passage[d]];
        json_t *c = json_object();
        json_object_set_new(c, "document_id",
                            json_string(src->document_id ? src->document_id : ""));
        json_object_set_new(c, "title", json_string(src->title ? src->title : ""));
        json_object_set_new(c, "snippet", snip ? json_string(snip) : json_string(""));
        free(snip);
        json_array_append_new(cites, c);
    }
    free(cand);
    if (b.oom || !b.buf || !cites) {
        free(b.buf);
        json_decref(cites);
        return -1;
    }
    out->content = b.buf;
    out->citations = cites;
    out->found = 1;
    return 0;
}

void
chat_answer_clear(chat_answer_t *out)
{
    free(out->content);
    json_decref(out->citations);
    memset(out, 0, sizeof *out);
}
