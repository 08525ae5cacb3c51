/*
 * Unit tests of services/chat/chat_text: the documented token counter, query
 * terms (stop words, stemming, follow-up words), sentence splitting and
 * clipping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chat/chat_text.h"
#include "pgs_test.h"

static void
test_tokens(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        long want;
    } cases[] = {
        {"", 0},
        {"   \t\n", 0},
        {"hello", 1},
        {"hello world", 2},
        {"Hello, world!", 4},
        {"It's 14 days.", 6},            /* It ' s 14 days . */
        {"e-mail", 3},                   /* e - mail */
        {"caf\xC3\xA9 cr\xC3\xA8me", 2}, /* non-ASCII letters are word characters */
        {"a+b=c", 5},
        {"  trailing space  ", 2},
        {"\xE2\x80\x94", 1}, /* an em dash is a word character by the rule (non-ASCII) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "tokens(\"%s\")", cases[i].text);
        PGS_EXPECT_INT(what, chat_text_tokens(cases[i].text, strlen(cases[i].text)), cases[i].want);
    }
}

static void
test_terms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want; /* space separated, in order */
        int anaphora;
    } cases[] = {
        {"How long do refunds take?", "long refund tak", 0},
        {"What is the refund policy?", "refund policy", 0},
        {"refunded REFUNDS Refund", "refund", 0},
        {"policies", "policy", 0},
        {"boxes matches", "box match", 0},
        {"What about it?", "", 1},
        {"And how much does that cost?", "cost", 1},
        {"Is shipping free in 2026?", "shipp fre 2026", 0},
        {"the a of to", "", 0},
        {"x y 7", "7", 0},
        {"classes status", "class status", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chat_terms_t t = {0};
        chat_text_terms(cases[i].text, strlen(cases[i].text), &t);
        char got[512] = "";
        for (int k = 0; k < t.n; k++) {
            if (k)
                strcat(got, " ");
            strcat(got, t.term[k]);
        }
        char what[96];
        snprintf(what, sizeof what, "terms(\"%s\")", cases[i].text);
        PGS_EXPECT_STR(what, got, cases[i].want);
        PGS_EXPECT_INT(what, t.anaphora, cases[i].anaphora);
    }
    /* Merging two texts keeps each term once; the table never overflows. */
    chat_terms_t t = {0};
    chat_text_terms("refund policy", 13, &t);
    chat_text_terms("refund window", 13, &t);
    PGS_EXPECT_INT("merged terms", t.n, 3);
    char many[4096] = "";
    for (int k = 0; k < 200; k++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "word%d ", k);
    chat_terms_t m = {0};
    chat_text_terms(many, strlen(many), &m);
    PGS_EXPECT_INT("terms capped", m.n, CHAT_TEXT_MAX_TERMS);
}

static void
test_sentences(void **state)
{
    (void)state;
    const char *text = "# Refunds\n\nRefunds are issued within 14 days. The price is 3.50 EUR! "
                       "Really?\n- Shipping is free\n* Returns: 30 days.\nx";
    chat_span_t s[16];
    size_t n = chat_text_sentences(text, strlen(text), s, 16);
    static const char *const want[] = {
        "Refunds",
        "Refunds are issued within 14 days.",
        "The price is 3.50 EUR!",
        "Really?",
        "Shipping is free",
        "Returns: 30 days.",
    };
    PGS_EXPECT_INT("sentence count", n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n && i < sizeof want / sizeof *want; i++) {
        char got[128];
        snprintf(got, sizeof got, "%.*s", (int)s[i].len, s[i].start);
        char what[32];
        snprintf(what, sizeof what, "sentence %zu", i);
        PGS_EXPECT_STR(what, got, want[i]);
    }
    PGS_EXPECT_INT("max respected", chat_text_sentences(text, strlen(text), s, 2), 2);
    PGS_EXPECT_INT("empty text", chat_text_sentences("", 0, s, 16), 0);
}

static void
test_clip(void **state)
{
    (void)state;
    char *c = chat_text_clip("short", 5, 240);
    PGS_EXPECT_STR("unclipped", c, "short");
    free(c);
    c = chat_text_clip("alpha beta gamma delta", 22, 12);
    PGS_EXPECT_STR("clipped at a word", c, "alpha beta\xE2\x80\xA6");
    free(c);
    /* Never cuts a code point in half. */
    const char *e = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    PGS_EXPECT_INT("utf8 prefix", chat_text_utf8_prefix(e, 8, 5), 4);
    PGS_EXPECT_INT("utf8 prefix whole", chat_text_utf8_prefix(e, 8, 8), 8);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_sentences),
        cmocka_unit_test(test_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
