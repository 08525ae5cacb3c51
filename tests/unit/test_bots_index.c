/*
 * Unit tests of services/bots/bots_index: all terms first, else the rarest
 * terms; only the searched bot's passages; BM25 order; plain-text snippets
 * around the matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bots/bots_index.h"
#include "bots/bots_store.h"
#include "pgs_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    pgs_db_t *db;
    bots_index_t *ix;
} s_fix_t;

/* bot 1: passages 0..4; bot 2: the same words together in every passage */
static const char *const S_BOT1[] = {
    "Zebras and giraffes live on the savanna. Zebras zebras.",
    "A zebra met a penguin.",
    "Penguins live in Antarctica on the ice.",
    NULL, /* the long passage, made below */
    "Giraffes are tall.",
};

static char s_long[2000];

static int
s_setup(void **state)
{
    s_fix_t *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pgs-test-index.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/bots.db", f->dir);
    f->db = bots_store_open(path);
    f->ix = f->db ? bots_index_new(f->db) : NULL;
    if (!f->ix)
        return -1;
    s_long[0] = '\0';
    for (int i = 0; i < 100; i++) {
        char w[16];
        snprintf(w, sizeof w, i == 60 ? "needle " : "word%d\n", i);
        strcat(s_long, w);
    }
    pgs_db_begin(f->db);
    for (int i = 0; i < 5; i++) {
        const char *t = S_BOT1[i] ? S_BOT1[i] : s_long;
        bots_index_add(f->ix, BOTS_INDEX_LO(1) + i, "doc_1", t, strlen(t));
    }
    for (int i = 0; i < 20; i++) {
        const char *t = "penguin giraffes zebras savanna antarctica needle";
        bots_index_add(f->ix, BOTS_INDEX_LO(2) + i, "doc_2", t, strlen(t));
    }
    pgs_db_commit(f->db);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fix_t *f = *state;
    char cmd[128];
    bots_index_destroy(&f->ix);
    pgs_db_destroy(&f->db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Searches bot 1 for q; the passage numbers of the hits, best first, as
 * "0 4 …" in out. Returns the number of hits. */
static int
s_search(s_fix_t *f, const char *q, int k, bots_hit_t *hits, char *out, size_t len)
{
    bots_terms_t t;
    bots_index_terms(f->ix, q, strlen(q), &t);
    int n = bots_index_search(f->ix, BOTS_INDEX_LO(1), BOTS_INDEX_HI(1), 5, 5, &t, k, 1, hits);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "%s%lld", i ? " " : "",
                 (long long)(hits[i].rowid - BOTS_INDEX_LO(1)));
        if (i > 0 && hits[i].score > hits[i - 1].score)
            fail_msg("%s: hit %d scores %f after %f", q, i, hits[i].score, hits[i - 1].score);
    }
    return n;
}

static void
test_all_terms_then_any(void **state)
{
    s_fix_t *f = *state;
    static const struct {
        const char *q, *want;
    } cases[] = {
        {"zebras", "0"},                        /* no stemming: "zebra" is another word */
        {"zebra zebras", "0 1"},                /* no passage has both: any */
        {"giraffes savanna", "0"},              /* every term: only passage 0 */
        {"savanna antarctica", "2 0"},          /* no passage has both: any */
        {"penguin giraffes", "1 4 0"},          /* bot 2 has both; bot 1 none */
        {"giraffes", "4 0"},                    /* the shorter passage first */
        {"the ANTÁRCTICA", "2"},                /* stopword dropped, folded */
        {"\"NEAR(zebra* -giraffes\"", "1 4 0"}, /* query syntax is text */
        {"unicorn", ""},
        {"unicorn zebra", "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bots_hit_t hits[BOTS_INDEX_MAX_HITS];
        char got[128];
        int n = s_search(f, cases[i].q, 10, hits, got, sizeof got);
        PGS_EXPECT_STR(cases[i].q, got, cases[i].want);
        for (int h = 0; h < n; h++)
            PGS_EXPECT_STR("document", hits[h].doc_id, "doc_1");
        bots_index_hits_clear(hits, n);
    }
}

static void
test_limit_and_text(void **state)
{
    s_fix_t *f = *state;
    bots_hit_t hits[BOTS_INDEX_MAX_HITS];
    char got[128];
    int n = s_search(f, "penguin giraffes", 2, hits, got, sizeof got);
    PGS_EXPECT_STR("limit 2", got, "1 4");
    PGS_EXPECT_STR("text", hits[1].text, S_BOT1[4]);
    bots_index_hits_clear(hits, n);
}

static void
test_snippets(void **state)
{
    s_fix_t *f = *state;
    bots_hit_t hits[BOTS_INDEX_MAX_HITS];
    char got[128];
    int n = s_search(f, "needle", 10, hits, got, sizeof got);
    PGS_EXPECT_STR("needle", got, "3");
    const char *s = hits[0].snippet;
    if (strncmp(s, "…word", strlen("…word")) != 0 || !strstr(s, " needle word61 ") ||
        strcmp(s + strlen(s) - strlen("…"), "…") != 0 || strchr(s, '\n'))
        fail_msg("snippet: got \"%s\", want one line, cut at both ends, around needle", s);
    bots_index_hits_clear(hits, n);
    n = s_search(f, "penguins", 10, hits, got, sizeof got);
    PGS_EXPECT_STR("short passage: all of it", hits[0].snippet,
                   "Penguins live in Antarctica on the ice.");
    bots_index_hits_clear(hits, n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_terms_then_any),
        cmocka_unit_test(test_limit_and_text),
        cmocka_unit_test(test_snippets),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
