/*
 * Unit tests of services/chat/chat_answer: the built-in models' sentence
 * selection (facts of the cited documents, follow-up questions, nothing
 * relevant), citation marks and determinism.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chat/chat_answer.h"
#include "pgs_test.h"

#define P(doc, title, text)                                                                        \
    {                                                                                              \
        doc, title, text, sizeof text - 1                                                          \
    }

static const chat_passage_t s_passages[] = {
    P("doc_refund", "Refund policy",
      "Our refund policy is simple. Refunds are issued within 14 days of the return. "
      "Refunds go back to the original payment method. Gift cards are never refunded."),
    P("doc_ship", "Shipping",
      "Shipping is free for orders over 50 EUR. Express shipping costs 9 EUR and takes one "
      "day. Standard shipping takes three to five days."),
    P("doc_office", "Office",
      "The office is in Lisbon. It opens at 9:00 and closes at 17:30 on weekdays."),
};
#define NP (sizeof s_passages / sizeof *s_passages)

static void
s_expect_has(const char *what, const char *got, const char *needle)
{
    if (!got || !strstr(got, needle))
        fail_msg("%s: got \"%s\", want it to contain \"%s\"", what, got ? got : "(null)", needle);
}

static void
s_expect_lacks(const char *what, const char *got, const char *needle)
{
    if (got && strstr(got, needle))
        fail_msg("%s: got \"%s\", want it without \"%s\"", what, got, needle);
}

static void
test_answers_hold_the_fact(void **state)
{
    (void)state;
    static const struct {
        const char *question;
        const char *fact;
        const char *doc;
    } cases[] = {
        {"How long do refunds take?", "within 14 days", "doc_refund"},
        {"How much does express shipping cost?", "Express shipping costs 9 EUR", "doc_ship"},
        {"Where is the office?", "Lisbon", "doc_office"},
        {"When does the office close?", "17:30", "doc_office"},
        {"Are gift cards refunded?", "Gift cards are never refunded", "doc_refund"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chat_answer_t a;
        PGS_EXPECT_INT("compose", chat_answer_compose(s_passages, NP, cases[i].question, "", 3, &a),
                       0);
        s_expect_has(cases[i].question, a.content, cases[i].fact);
        PGS_EXPECT_INT("found", a.found, 1);
        json_t *c0 = json_array_get(a.citations, 0);
        PGS_EXPECT_STR("first citation", json_string_value(json_object_get(c0, "document_id")),
                       cases[i].doc);
        s_expect_has("citation mark", a.content, "[1]");
        chat_answer_clear(&a);
    }
}

static void
test_nothing_relevant(void **state)
{
    (void)state;
    static const char *const questions[] = {
        "What is the capital of Mongolia?",
        "hello",
        "???",
    };
    for (size_t i = 0; i < sizeof questions / sizeof *questions; i++) {
        chat_answer_t a;
        PGS_EXPECT_INT("compose", chat_answer_compose(s_passages, NP, questions[i], NULL, 3, &a),
                       0);
        PGS_EXPECT_STR(questions[i], a.content, CHAT_ANSWER_NOTHING);
        PGS_EXPECT_INT("no citations", json_array_size(a.citations), 0);
        PGS_EXPECT_INT("not found", a.found, 0);
        chat_answer_clear(&a);
    }
    chat_answer_t a;
    PGS_EXPECT_INT("no passages", chat_answer_compose(NULL, 0, "refunds?", NULL, 3, &a), 0);
    PGS_EXPECT_STR("no passages", a.content, CHAT_ANSWER_NOTHING);
    chat_answer_clear(&a);
}

static void
test_followup(void **state)
{
    (void)state;
    PGS_EXPECT_INT("follow-up with a pronoun",
                   chat_answer_is_followup("And how long does it take?", "express shipping"), 1);
    PGS_EXPECT_INT("no earlier turn", chat_answer_is_followup("And how long does it take?", ""), 0);
    PGS_EXPECT_INT("a full question",
                   chat_answer_is_followup("Where is the office in Lisbon located exactly?",
                                           "express shipping"),
                   0);
    /* "it" is express shipping: the earlier turn picks the sentence. */
    chat_answer_t a;
    chat_answer_compose(s_passages, NP, "How long does it take?",
                        "How much does express shipping cost?", 1, &a);
    s_expect_has("follow-up", a.content, "takes one day");
    chat_answer_clear(&a);
    char *q = chat_answer_query("And what does it cost?", "express shipping");
    PGS_EXPECT_STR("follow-up query", q, "And what does it cost? express shipping");
    free(q);
    q = chat_answer_query("Where is the office located?", "express shipping");
    PGS_EXPECT_STR("plain query", q, "Where is the office located?");
    free(q);
}

static void
test_citations_and_marks(void **state)
{
    (void)state;
    chat_answer_t a;
    chat_answer_compose(s_passages, NP, "refunds shipping days", NULL, 6, &a);
    PGS_EXPECT_INT("two documents cited", json_array_size(a.citations), 2);
    s_expect_has("mark 1", a.content, "[1]");
    s_expect_has("mark 2", a.content, "[2]");
    s_expect_lacks("no third mark", a.content, "[3]");
    for (size_t i = 0; i < json_array_size(a.citations); i++) {
        json_t *c = json_array_get(a.citations, i);
        const char *snip = json_string_value(json_object_get(c, "snippet"));
        /* The snippet is a sentence of the answer. */
        if (!snip || !*snip)
            fail_msg("citation %zu has no snippet", i);
        char head[32];
        snprintf(head, sizeof head, "%.20s", snip);
        s_expect_has("snippet in the answer", a.content, head);
        if (!json_is_string(json_object_get(c, "title")))
            fail_msg("citation %zu has no title", i);
    }
    /* Deterministic: the same input, the same answer. */
    chat_answer_t b;
    chat_answer_compose(s_passages, NP, "refunds shipping days", NULL, 6, &b);
    PGS_EXPECT_STR("deterministic", b.content, a.content);
    chat_answer_clear(&a);
    chat_answer_clear(&b);
    /* max_sentences bounds the answer. */
    chat_answer_compose(s_passages, NP, "refunds shipping days", NULL, 1, &a);
    PGS_EXPECT_INT("one sentence, one citation", json_array_size(a.citations), 1);
    chat_answer_clear(&a);
}

static void
test_duplicate_passages(void **state)
{
    (void)state;
    /* Overlapping chunks of one document: the sentence appears once. */
    static const chat_passage_t dup[] = {
        P("doc_a", "A", "The vault code is 4711. Nobody knows it."),
        P("doc_a", "A", "The vault code is 4711. Ask the manager."),
    };
    chat_answer_t a;
    chat_answer_compose(dup, 2, "What is the vault code?", NULL, 3, &a);
    const char *first = strstr(a.content, "4711");
    if (!first || strstr(first + 1, "4711"))
        fail_msg("want the fact exactly once, got \"%s\"", a.content);
    PGS_EXPECT_INT("one document", json_array_size(a.citations), 1);
    chat_answer_clear(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_hold_the_fact),
        cmocka_unit_test(test_nothing_relevant),
        cmocka_unit_test(test_followup),
        cmocka_unit_test(test_citations_and_marks),
        cmocka_unit_test(test_duplicate_passages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
