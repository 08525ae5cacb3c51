/*
 * Unit tests of services/bots/bots_chunk: passages of about the target size,
 * paragraph-aware, with overlap only where a paragraph was cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bots/bots_chunk.h"
#include "pgs_test.h"

static long
s_cp(const char *s, size_t len)
{
    long n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static void
test_small_inputs(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long want;
    } cases[] = {
        {"", 0}, {"   \n\n\t ", 0}, {"one", 1}, {"  padded  ", 1}, {"a\n\nb", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bots_chunk_t *v = NULL;
        long n = bots_chunk_split(cases[i].text, strlen(cases[i].text), 800, 100, &v);
        PGS_EXPECT_INT(cases[i].text, n, cases[i].want);
        if (n == 1 && strcmp(cases[i].text, "  padded  ") == 0) {
            PGS_EXPECT_INT("trimmed offset", v[0].off, 2);
            PGS_EXPECT_INT("trimmed length", v[0].len, 6);
        }
        free(v);
    }
}

static void
test_paragraphs_packed_and_split(void **state)
{
    (void)state;
    /* 10 paragraphs of 300 characters: passages end at paragraph breaks */
    char text[4000] = "";
    for (int p = 0; p < 10; p++) {
        char para[301];
        memset(para, 'a' + p, 300);
        para[300] = '\0';
        for (int i = 50; i < 300; i += 50)
            para[i] = ' ';
        if (p)
            strcat(text, "\n\n");
        strcat(text, para);
    }
    bots_chunk_t *v = NULL;
    long n = bots_chunk_split(text, strlen(text), 800, 100, &v);
    if (n < 4 || n > 6)
        fail_msg("passages: got %ld, want 4..6", n);
    for (long i = 0; i < n; i++) {
        /* every passage starts and ends with a whole paragraph: no overlap */
        const char *s = text + v[i].off;
        char first = s[0], last = s[v[i].len - 1];
        if (v[i].off > 0 && text[v[i].off - 1] != '\n')
            fail_msg("passage %ld starts inside a paragraph", i);
        if (first != last && v[i].len < 300)
            fail_msg("passage %ld is a partial paragraph", i);
        if (s_cp(s, v[i].len) > 800)
            fail_msg("passage %ld: got %ld characters, want <= 800", i, s_cp(s, v[i].len));
    }
    /* together they cover the text exactly once */
    PGS_EXPECT_INT("first offset", v[0].off, 0);
    PGS_EXPECT_INT("last end", v[n - 1].off + v[n - 1].len, strlen(text));
    free(v);
}

static void
test_long_paragraph_sentences_overlap(void **state)
{
    (void)state;
    char text[6000] = "";
    for (int i = 0; i < 100; i++)
        strcat(text, "This is sentence number xx of a very long paragraph. ");
    bots_chunk_t *v = NULL;
    long n = bots_chunk_split(text, strlen(text), 800, 100, &v);
    if (n < 6)
        fail_msg("passages: got %ld, want >= 6", n);
    for (long i = 0; i < n; i++) {
        long cp = s_cp(text + v[i].off, v[i].len);
        if (cp > 800 || (i < n - 1 && cp < 400))
            fail_msg("passage %ld: got %ld characters, want 400..800", i, cp);
        if (i < n - 1 && text[v[i].off + v[i].len - 1] != '.')
            fail_msg("passage %ld does not end at a sentence end", i);
        if (i > 0) {
            size_t prev_end = v[i - 1].off + v[i - 1].len;
            if (v[i].off >= prev_end)
                fail_msg("passage %ld: no overlap with the previous one", i);
            if (prev_end - v[i].off > 120)
                fail_msg("passage %ld: overlap of %zu bytes, want <= 120", i, prev_end - v[i].off);
            if (text[v[i].off - 1] != ' ')
                fail_msg("passage %ld starts inside a word", i);
        }
    }
    free(v);
}

static void
test_one_endless_word_utf8(void **state)
{
    (void)state;
    /* 3,000 × "é" (2 bytes) without any space: hard cuts on characters */
    size_t len = 6000;
    char *text = malloc(len + 1);
    for (size_t i = 0; i < len; i += 2) {
        text[i] = (char)0xC3;
        text[i + 1] = (char)0xA9;
    }
    text[len] = '\0';
    bots_chunk_t *v = NULL;
    long n = bots_chunk_split(text, len, 800, 100, &v);
    if (n < 4 || n > 5)
        fail_msg("passages: got %ld, want 4..5", n);
    for (long i = 0; i < n; i++) {
        if ((v[i].off % 2) || (v[i].len % 2))
            fail_msg("passage %ld cuts a character in two", i);
        if (s_cp(text + v[i].off, v[i].len) > 800)
            fail_msg("passage %ld too long", i);
    }
    free(v);
    free(text);
}

static void
test_invalid_bytes_terminate(void **state)
{
    (void)state;
    /* continuation bytes only, and a lone lead byte at the end */
    char text[3001];
    memset(text, 0x80, 3000);
    text[2999] = (char)0xE2;
    text[3000] = '\0';
    bots_chunk_t *v = NULL;
    long n = bots_chunk_split(text, 3000, 800, 100, &v);
    if (n < 1)
        fail_msg("passages: got %ld, want >= 1", n);
    free(v);
    n = bots_chunk_split("x y z", 5, 0, 999, &v);
    PGS_EXPECT_INT("tiny target", n >= 1, 1);
    free(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_inputs),
        cmocka_unit_test(test_paragraphs_packed_and_split),
        cmocka_unit_test(test_long_paragraph_sentences_overlap),
        cmocka_unit_test(test_one_endless_word_utf8),
        cmocka_unit_test(test_invalid_bytes_terminate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
