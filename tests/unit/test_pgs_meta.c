/*
 * Unit tests of common/pgs_meta: the text form of a reply's meta (what the
 * edge acts on), its parsing of what a peer may send, and merging a
 * stream's END meta into its REPLY's.
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
    assert_int_equal(pgs_meta_parse(text, strlen(text), &back), 0);
    PGS_EXPECT_STR("bot", back.bot, "bot_abc123");
    PGS_EXPECT_INT("messages", back.messages, 1);
    PGS_EXPECT_INT("input_tokens", back.input_tokens, 812);
    PGS_EXPECT_INT("output_tokens", back.output_tokens, 64);
    PGS_EXPECT_INT("replayed", back.replayed, 1);
    PGS_EXPECT_STR("invalidate", back.invalidate, "tok:aa ws:ws_1");
    free(text);
    pgs_meta_clear(&back);
    pgs_meta_clear(&m);
    PGS_EXPECT_INT("cleared", m.invalidate == NULL && m.bot[0] == '\0', 1);

    pgs_meta_t empty = {0};
    text = pgs_meta_format(&empty);
    PGS_EXPECT_STR("nothing set: empty text", text, "");
    free(text);
}

static void
test_parse_skips_what_is_bad(void **state)
{
    (void)state;
    static const char text[] = "colour=blue\n"          /* unknown key */
                               "no equals sign\n"
                               "bot=bot 1\n"            /* a space */
                               "messages=-1\n"          /* negative */
                               "input_tokens=12x\n"     /* not decimal */
                               "output_tokens=9999999999999999999\n" /* too long */
                               "replayed=yes\n"
                               "invalidate=tok:a\x01"   /* a control character */
                               "\nbot=bot_ok\n"
                               "messages=3"; /* no final newline */
    pgs_meta_t m;
    assert_int_equal(pgs_meta_parse(text, sizeof text - 1, &m), 0);
    PGS_EXPECT_STR("the good bot line", m.bot, "bot_ok");
    PGS_EXPECT_INT("messages from the last line", m.messages, 3);
    PGS_EXPECT_INT("input_tokens skipped", m.input_tokens, 0);
    PGS_EXPECT_INT("output_tokens skipped", m.output_tokens, 0);
    PGS_EXPECT_INT("replayed only for 1", m.replayed, 0);
    PGS_EXPECT_INT("invalidate skipped", m.invalidate == NULL, 1);
    pgs_meta_clear(&m);

    static const char *const bad_bots[] = {"../x", "bot-1", "", NULL};
    for (int i = 0; bad_bots[i]; i++) {
        pgs_meta_t b = {0};
        pgs_meta_bot(&b, "bot_first");
        pgs_meta_bot(&b, bad_bots[i]);
        PGS_EXPECT_STR(bad_bots[i], b.bot, "");
    }
    char longbot[PGS_META_BOT_MAX + 8];
    memset(longbot, 'b', sizeof longbot - 1);
    longbot[sizeof longbot - 1] = '\0';
    pgs_meta_t b = {0};
    pgs_meta_bot(&b, longbot);
    PGS_EXPECT_STR("a bot id too long", b.bot, "");
    pgs_meta_bot(&b, NULL);
    PGS_EXPECT_STR("NULL", b.bot, "");
}

static void
test_merge(void **state)
{
    (void)state;
    pgs_meta_t head = {.messages = 1}, tail = {.input_tokens = 5, .output_tokens = 6};
    pgs_meta_bot(&head, "bot_a");
    pgs_meta_invalidate(&head, "tok:1");
    pgs_meta_invalidate(&tail, "ws:2");
    assert_int_equal(pgs_meta_merge(&head, &tail), 0);
    PGS_EXPECT_STR("bot kept when the end has none", head.bot, "bot_a");
    PGS_EXPECT_INT("messages kept", head.messages, 1);
    PGS_EXPECT_INT("tokens from the end", head.input_tokens, 5);
    PGS_EXPECT_INT("output tokens from the end", head.output_tokens, 6);
    PGS_EXPECT_STR("invalidations appended", head.invalidate, "tok:1 ws:2");
    pgs_meta_bot(&tail, "bot_b");
    tail.messages = 2;
    assert_int_equal(pgs_meta_merge(&head, &tail), 0);
    PGS_EXPECT_STR("the end's bot wins", head.bot, "bot_b");
    PGS_EXPECT_INT("the end's messages win", head.messages, 2);
    pgs_meta_clear(&head);
    pgs_meta_clear(&tail);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_skips_what_is_bad),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests_name("pgs_meta", tests, NULL, NULL);
}
