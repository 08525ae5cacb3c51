/*
 * Unit tests of common/pgs_meta: the text form of a reply's meta (what the
 * edge acts on besides what it relays), its parsing of what a peer may send
 * (a bad line is skipped, never trusted), and merging a stream's END meta
 * into its REPLY's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_meta.h"
#include "pgs_test.h"

#include <stdlib.h>
#include <string.h>

/* Fails unless every field of got equals want's (invalidate: both NULL or
 * equal text). */
static void
s_expect_meta(const char *what, const pgs_meta_t *got, const pgs_meta_t *want)
{
    char w[160];
    snprintf(w, sizeof w, "%s: bot", what);
    PGS_EXPECT_STR(w, got->bot, want->bot);
    snprintf(w, sizeof w, "%s: messages", what);
    PGS_EXPECT_INT(w, got->messages, want->messages);
    snprintf(w, sizeof w, "%s: input_tokens", what);
    PGS_EXPECT_INT(w, got->input_tokens, want->input_tokens);
    snprintf(w, sizeof w, "%s: output_tokens", what);
    PGS_EXPECT_INT(w, got->output_tokens, want->output_tokens);
    snprintf(w, sizeof w, "%s: replayed", what);
    PGS_EXPECT_INT(w, got->replayed, want->replayed);
    snprintf(w, sizeof w, "%s: invalidate", what);
    if (!want->invalidate)
        PGS_EXPECT_NULL(w, got->invalidate);
    else
        PGS_EXPECT_STR(w, got->invalidate, want->invalidate);
}

/* Parses text (strlen) into out, failing the test when parsing fails. */
static void
s_parse(const char *text, pgs_meta_t *out)
{
    if (pgs_meta_parse(text, strlen(text), out) != 0)
        fail_msg("pgs_meta_parse(\"%s\"): got -1, want 0", text);
}

/* Each field alone formats as its one line (nothing else is written for
 * fields that are not set) and parses back to the same meta. */
static void
test_format_each_field(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        pgs_meta_t m;
        const char *text;
    } cases[] = {
        {"nothing set", {.bot = ""}, ""},
        {"bot", {.bot = "bot_Ab9"}, "bot=bot_Ab9\n"},
        {"messages", {.messages = 1}, "messages=1\n"},
        {"input_tokens", {.input_tokens = 812}, "input_tokens=812\n"},
        {"output_tokens", {.output_tokens = 64}, "output_tokens=64\n"},
        {"the largest count that parses",
         {.messages = 999999999999999999LL},
         "messages=999999999999999999\n"},
        {"replayed", {.replayed = 1}, "replayed=1\n"},
        {"invalidate",
         {.invalidate = "tok:t_1 ws:ws_1 user:u_2"},
         "invalidate=tok:t_1 ws:ws_1 user:u_2\n"},
        {"invalidate empty is not set", {.invalidate = ""}, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = pgs_meta_format(&cases[i].m);
        PGS_EXPECT_STR(cases[i].name, text, cases[i].text);
        pgs_meta_t back;
        s_parse(text, &back);
        pgs_meta_t want = cases[i].m;
        if (want.invalidate && !*want.invalidate)
            want.invalidate = NULL; /* not set: nothing to parse back */
        s_expect_meta(cases[i].name, &back, &want);
        pgs_meta_clear(&back);
        free(text);
    }
}

/* Every field at once, through the setters, formats in a fixed order and
 * parses back; the lines parse the same in any order. */
static void
test_round_trip(void **state)
{
    (void)state;
    pgs_meta_t m = {.messages = 1, .input_tokens = 812, .output_tokens = 64, .replayed = 1};
    pgs_meta_bot(&m, "bot_abc123");
    assert_int_equal(pgs_meta_invalidate(&m, "tok:aa ws:ws_1"), 0);
    char *text = pgs_meta_format(&m);
    PGS_EXPECT_STR("text form", text,
                   "bot=bot_abc123\nmessages=1\ninput_tokens=812\noutput_tokens=64\n"
                   "replayed=1\ninvalidate=tok:aa ws:ws_1\n");
    pgs_meta_t back;
    s_parse(text, &back);
    s_expect_meta("parsed back", &back, &m);
    pgs_meta_clear(&back);
    free(text);

    s_parse("invalidate=tok:aa ws:ws_1\nreplayed=1\noutput_tokens=64\ninput_tokens=812\n"
            "messages=1\nbot=bot_abc123\n",
            &back);
    s_expect_meta("lines in reverse order", &back, &m);
    pgs_meta_clear(&back);
    pgs_meta_clear(&m);
}

/* What parse must skip, one line at a time. Each bad line comes after a
 * good one for the same field, so a line that was not skipped shows as a
 * changed value, and alone, so that it shows as a set one. */
static void
test_parse_skips_bad_lines(void **state)
{
    (void)state;
    char bot48[PGS_META_BOT_MAX + 5], bot100[100 + 5], bot47[PGS_META_BOT_MAX + 4];
    snprintf(bot48, sizeof bot48, "bot=%0*d", PGS_META_BOT_MAX, 0);
    snprintf(bot100, sizeof bot100, "bot=%0*d", 100, 0);
    snprintf(bot47, sizeof bot47, "bot=%0*d", PGS_META_BOT_MAX - 1, 0);
    const struct {
        const char *good; /* sets the field */
        const char *bad;  /* must leave it as good set it */
    } cases[] = {
        /* bot ids outside [A-Za-z0-9_], or too long */
        {"bot=bot_a", "bot=bot 1"},
        {"bot=bot_a", "bot=../x"},
        {"bot=bot_a", "bot=bot-1"},
        {"bot=bot_a", "bot=bot/1"},
        {"bot=bot_a", "bot=bot\t1"},
        {"bot=bot_a", "bot=b\xc3\xb6t"},
        {"bot=bot_a", "bot="},
        {"bot=bot_a", bot48},
        {"bot=bot_a", bot100},
        /* counts: negative, signed, not decimal, with spaces, too long */
        {"messages=5", "messages=-1"},
        {"messages=5", "messages=+1"},
        {"messages=5", "messages=12x"},
        {"messages=5", "messages= 12"},
        {"messages=5", "messages=12 "},
        {"messages=5", "messages=0x10"},
        {"messages=5", "messages=1e3"},
        {"messages=5", "messages="},
        {"messages=5", "messages=10000000000000000000"},
        {"input_tokens=5", "input_tokens=-812"},
        {"input_tokens=5", "input_tokens=99999999999999999999"},
        {"input_tokens=5", "input_tokens=18446744073709551617"},
        {"output_tokens=5", "output_tokens=6.5"},
        {"output_tokens=5", "output_tokens=9223372036854775808"},
        /* a line ending in CR is not a count either */
        {"messages=5", "messages=7\r"},
        /* invalidations with a control character, or empty */
        {"invalidate=tok:a", "invalidate=tok:b\x01"},
        {"invalidate=tok:a", "invalidate=tok:b\tws:c"},
        {"invalidate=tok:a", "invalidate=tok:b\r"},
        {"invalidate=tok:a", "invalidate=tok:\x7f"},
        {"invalidate=tok:a", "invalidate=\x1b[2Jtok:b"},
        {"invalidate=tok:a", "invalidate="},
        /* unknown or misspelt keys, whatever their value */
        {"bot=bot_a", "Bot=bot_b"},
        {"bot=bot_a", "bot =bot_b"},
        {"bot=bot_a", " bot=bot_b"},
        {"bot=bot_a", "bots=bot_b"},
        {"bot=bot_a", "=bot_b"},
        {"messages=5", "colour=blue"},
        {"messages=5", "MESSAGES=6"},
        {"replayed=1", "replayed_too=0"},
        /* lines without '=' */
        {"bot=bot_a", "bot"},
        {"bot=bot_a", "bot_b"},
        {"messages=5", "messages 6"},
        {"messages=5", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pgs_meta_t want, got, alone, none = {.bot = ""};
        char text[256], what[320];
        s_parse(cases[i].good, &want);
        snprintf(text, sizeof text, "%s\n%s\n", cases[i].good, cases[i].bad);
        s_parse(text, &got);
        snprintf(what, sizeof what, "\"%s\" after \"%s\"", cases[i].bad, cases[i].good);
        s_expect_meta(what, &got, &want);
        s_parse(cases[i].bad, &alone);
        snprintf(what, sizeof what, "\"%s\" alone", cases[i].bad);
        s_expect_meta(what, &alone, &none);
        pgs_meta_clear(&want);
        pgs_meta_clear(&got);
        pgs_meta_clear(&alone);
    }

    /* The limits that do parse: a bot id of 47 characters, a count of 18
     * digits, a zero count. */
    pgs_meta_t m;
    s_parse(bot47, &m);
    PGS_EXPECT_STR("a 47-character bot id", m.bot, bot47 + 4);
    s_parse("input_tokens=000000000000000042\noutput_tokens=0\n", &m);
    PGS_EXPECT_INT("18 digits with leading zeros", m.input_tokens, 42);
    PGS_EXPECT_INT("a zero count", m.output_tokens, 0);

    /* replayed is set only by "1". */
    static const char *const not_replayed[] = {"replayed=0", "replayed=yes", "replayed=11",
                                               "replayed=", "replayed=1 "};
    for (size_t i = 0; i < sizeof not_replayed / sizeof not_replayed[0]; i++) {
        s_parse(not_replayed[i], &m);
        PGS_EXPECT_INT(not_replayed[i], m.replayed, 0);
    }
    s_parse("replayed=1", &m);
    PGS_EXPECT_INT("replayed=1", m.replayed, 1);
}

/* How the text is cut into lines: the last line needs no newline, empty
 * lines are nothing, only len bytes are read, and a later line for a
 * field replaces an earlier one (the earlier invalidation is freed). */
static void
test_parse_framing(void **state)
{
    (void)state;
    pgs_meta_t m;
    s_parse("bot=bot_x\nmessages=3", &m);
    PGS_EXPECT_STR("before a last line without newline", m.bot, "bot_x");
    PGS_EXPECT_INT("a last line without newline", m.messages, 3);
    s_parse("invalidate=ws:1", &m);
    PGS_EXPECT_STR("an invalidation without newline", m.invalidate, "ws:1");
    pgs_meta_clear(&m);

    s_parse("\n\n\nmessages=4\n\n\n", &m);
    PGS_EXPECT_INT("between empty lines", m.messages, 4);
    pgs_meta_t none = {.bot = ""};
    s_parse("", &m);
    s_expect_meta("empty text", &m, &none);
    s_parse("\n", &m);
    s_expect_meta("a newline only", &m, &none);

    /* Only len bytes: an exact-size heap block without a NUL (ASan sees a
     * read past it), and a length that cuts a line short. */
    static const char src[] = "messages=12\ninput_tokens=7";
    size_t n = sizeof src - 1;
    char *exact = malloc(n);
    assert_non_null(exact);
    memcpy(exact, src, n);
    assert_int_equal(pgs_meta_parse(exact, n, &m), 0);
    PGS_EXPECT_INT("no NUL: messages", m.messages, 12);
    PGS_EXPECT_INT("no NUL: input_tokens", m.input_tokens, 7);
    assert_int_equal(pgs_meta_parse(exact, 10, &m), 0);
    PGS_EXPECT_INT("cut after 10 bytes", m.messages, 1);
    PGS_EXPECT_INT("cut: the next line unread", m.input_tokens, 0);
    assert_int_equal(pgs_meta_parse(exact, 0, &m), 0);
    PGS_EXPECT_INT("no bytes", m.messages, 0);
    free(exact);

    /* The value runs to the end of its line, '=' included. */
    s_parse("invalidate=tok:a=b\n", &m);
    PGS_EXPECT_STR("'=' inside a value", m.invalidate, "tok:a=b");
    pgs_meta_clear(&m);

    /* A later line wins; the earlier invalidation does not leak. */
    s_parse("bot=bot_1\nbot=bot_2\nmessages=1\nmessages=2\n"
            "invalidate=tok:1\ninvalidate=tok:2\n",
            &m);
    PGS_EXPECT_STR("the later bot", m.bot, "bot_2");
    PGS_EXPECT_INT("the later count", m.messages, 2);
    PGS_EXPECT_STR("the later invalidation", m.invalidate, "tok:2");
    pgs_meta_clear(&m);

    /* out is cleared first: nothing of what it held survives. */
    pgs_meta_t stale = {.bot = "bot_old", .messages = 9, .input_tokens = 9, .replayed = 1};
    s_parse("output_tokens=1\n", &stale);
    pgs_meta_t want = {.bot = "", .output_tokens = 1};
    s_expect_meta("parse into a used meta", &stale, &want);
}

/* merge: the END's bot, counts and replayed win when set, what it does not
 * set is kept, and invalidations add up (one space between). */
static void
test_merge(void **state)
{
    (void)state;
    pgs_meta_t head = {.messages = 1, .output_tokens = 3};
    pgs_meta_t tail = {.input_tokens = 5, .output_tokens = 6};
    pgs_meta_bot(&head, "bot_a");
    assert_int_equal(pgs_meta_invalidate(&head, "tok:1"), 0);
    assert_int_equal(pgs_meta_invalidate(&tail, "ws:2"), 0);
    assert_int_equal(pgs_meta_merge(&head, &tail), 0);
    PGS_EXPECT_STR("bot kept when the end has none", head.bot, "bot_a");
    PGS_EXPECT_INT("messages kept when the end has none", head.messages, 1);
    PGS_EXPECT_INT("input tokens from the end", head.input_tokens, 5);
    PGS_EXPECT_INT("output tokens overwritten by the end", head.output_tokens, 6);
    PGS_EXPECT_INT("replayed stays unset", head.replayed, 0);
    PGS_EXPECT_STR("invalidations appended", head.invalidate, "tok:1 ws:2");
    PGS_EXPECT_STR("the end's invalidations untouched", tail.invalidate, "ws:2");

    pgs_meta_bot(&tail, "bot_b");
    tail.messages = 2;
    tail.replayed = 1;
    assert_int_equal(pgs_meta_merge(&head, &tail), 0);
    PGS_EXPECT_STR("the end's bot wins", head.bot, "bot_b");
    PGS_EXPECT_INT("the end's messages win", head.messages, 2);
    PGS_EXPECT_INT("the end's replayed", head.replayed, 1);
    PGS_EXPECT_STR("appended again", head.invalidate, "tok:1 ws:2 ws:2");

    /* An end that sets nothing changes nothing (replayed is not unset). */
    pgs_meta_t empty = {.bot = ""}, before = head;
    before.invalidate = "tok:1 ws:2 ws:2";
    assert_int_equal(pgs_meta_merge(&head, &empty), 0);
    s_expect_meta("merge of an empty meta", &head, &before);
    pgs_meta_t blank = {.invalidate = ""};
    assert_int_equal(pgs_meta_merge(&head, &blank), 0);
    PGS_EXPECT_STR("an empty invalidation adds nothing", head.invalidate, "tok:1 ws:2 ws:2");
    pgs_meta_clear(&head);

    /* Into a meta without invalidations: a copy, no leading space. */
    assert_int_equal(pgs_meta_merge(&head, &tail), 0);
    PGS_EXPECT_STR("the first invalidation", head.invalidate, "ws:2");
    if (head.invalidate == tail.invalidate)
        fail_msg("merge shares the end's invalidation instead of copying it");
    pgs_meta_clear(&head);
    pgs_meta_clear(&tail);
}

/* pgs_meta_bot takes only a valid id; anything else leaves the bot empty,
 * also when one was set before. */
static void
test_bot(void **state)
{
    (void)state;
    char longbot[PGS_META_BOT_MAX + 1], maxbot[PGS_META_BOT_MAX];
    memset(longbot, 'b', sizeof longbot - 1);
    longbot[sizeof longbot - 1] = '\0'; /* 48 characters: no room for the NUL */
    memset(maxbot, 'b', sizeof maxbot - 1);
    maxbot[sizeof maxbot - 1] = '\0'; /* 47 characters */
    const char *const bad[] = {"../x", "bot 1", "bot-1", "bot\n1", "", NULL, longbot};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pgs_meta_t m = {0};
        char what[96];
        pgs_meta_bot(&m, "bot_first");
        PGS_EXPECT_STR("a valid bot id", m.bot, "bot_first");
        pgs_meta_bot(&m, bad[i]);
        snprintf(what, sizeof what, "pgs_meta_bot(\"%.60s\")", bad[i] ? bad[i] : "(null)");
        PGS_EXPECT_STR(what, m.bot, "");
        char *text = pgs_meta_format(&m);
        PGS_EXPECT_STR(what, text, "");
        free(text);
    }
    pgs_meta_t m = {0};
    pgs_meta_bot(&m, maxbot);
    PGS_EXPECT_STR("a 47-character bot id", m.bot, maxbot);
}

/* pgs_meta_invalidate replaces (the old text is freed) and copies;
 * pgs_meta_clear frees and zeroes every field (ASan reports a leak). */
static void
test_invalidate_and_clear(void **state)
{
    (void)state;
    pgs_meta_t m = {.messages = 3, .input_tokens = 4, .output_tokens = 5, .replayed = 1};
    pgs_meta_bot(&m, "bot_z");
    char text[] = "tok:1";
    assert_int_equal(pgs_meta_invalidate(&m, text), 0);
    text[4] = '2';
    PGS_EXPECT_STR("a copy", m.invalidate, "tok:1");
    assert_int_equal(pgs_meta_invalidate(&m, "ws:9"), 0);
    PGS_EXPECT_STR("replaced", m.invalidate, "ws:9");
    assert_int_equal(pgs_meta_invalidate(&m, NULL), 0);
    PGS_EXPECT_NULL("NULL: none", m.invalidate);
    assert_int_equal(pgs_meta_invalidate(&m, "user:u_1"), 0);
    pgs_meta_clear(&m);
    pgs_meta_t none = {.bot = ""};
    s_expect_meta("cleared", &m, &none);
    pgs_meta_clear(&m); /* a second clear is harmless */
}

/* Fixed after review: a bad replayed line is skipped like every other bad
 * line, a 19-digit count survives the round trip, and an invalidation with
 * a line break cannot add fields of its own. */
static void
test_reviewed_edges(void **state)
{
    (void)state;
    pgs_meta_t m;
    static const char twice[] = "replayed=1\nreplayed=yes\n";
    assert_int_equal(pgs_meta_parse(twice, sizeof twice - 1, &m), 0);
    PGS_EXPECT_INT("a bad replayed line is skipped", m.replayed, 1);
    pgs_meta_clear(&m);

    pgs_meta_t big = {.messages = 1000000000000000000LL};
    char *text = pgs_meta_format(&big);
    assert_int_equal(pgs_meta_parse(text, strlen(text), &m), 0);
    PGS_EXPECT_INT("10^18 round-trips", m.messages == 1000000000000000000LL, 1);
    free(text);
    pgs_meta_clear(&m);

    pgs_meta_t none = {0};
    PGS_EXPECT_INT("nothing set is empty", pgs_meta_is_empty(&none), 1);
    PGS_EXPECT_INT("a count is not", pgs_meta_is_empty(&big), 0);
    pgs_meta_bot(&none, "bot_x");
    PGS_EXPECT_INT("a bot is not", pgs_meta_is_empty(&none), 0);

    pgs_meta_t inj = {0};
    PGS_EXPECT_INT("a line break is refused", pgs_meta_invalidate(&inj, "tok:a\nreplayed=1"), -1);
    PGS_EXPECT_INT("and nothing set", inj.invalidate == NULL, 1);
    inj.invalidate = strdup("tok:a\nreplayed=1"); /* set by hand: format leaves it out */
    text = pgs_meta_format(&inj);
    PGS_EXPECT_STR("format leaves it out", text, "");
    free(text);
    pgs_meta_clear(&inj);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reviewed_edges),
        cmocka_unit_test(test_format_each_field),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_skips_bad_lines),
        cmocka_unit_test(test_parse_framing),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_bot),
        cmocka_unit_test(test_invalidate_and_clear),
    };
    return cmocka_run_group_tests_name("pgs_meta", tests, NULL, NULL);
}
