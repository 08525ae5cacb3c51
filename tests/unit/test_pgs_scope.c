/*
 * Unit tests of common/pgs_scope: the scope and preset tables of SPEC §2,
 * parsing and formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_scope.h"
#include "pgs_test.h"

/* SPEC §2, "Scopes": identifier, label, write scope. */
static const struct {
    const char *id;
    const char *label;
    int write;
} s_spec_scopes[] = {
    {"profile:read", "Read your profile", 0},
    {"subscription:read", "Read your subscription", 0},
    {"models:read", "Read available models", 0},
    {"bots:read", "Read bots & documents", 0},
    {"bots:write", "Create, update, delete bots", 1},
    {"conversations:read", "Read API conversations", 0},
    {"conversations:write", "Create, delete API conversations", 1},
    {"chat:send", "Send chat messages", 1},
    {"usage:read", "Read usage analytics", 0},
};

/* SPEC §2, "Presets", scopes in the SPEC's order. */
static const struct {
    const char *id;
    const char *label;
    const char *scopes;
} s_spec_presets[] = {
    {"chat", "Chat API only", "conversations:read conversations:write chat:send"},
    {"read_only", "Read-only", "profile:read subscription:read models:read bots:read usage:read"},
    {"bot_management", "Bot management", "bots:read bots:write models:read profile:read"},
};

#define N_SPEC_SCOPES (sizeof s_spec_scopes / sizeof s_spec_scopes[0])

/* The mask of a space-separated list, built from the SPEC table by position,
 * without pgs_scope_parse. */
static pgs_scope_mask_t
s_spec_mask(const char *list)
{
    pgs_scope_mask_t m = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        size_t i = 0;
        while (i < N_SPEC_SCOPES && strcmp(s_spec_scopes[i].id, w) != 0)
            i++;
        if (i == N_SPEC_SCOPES)
            fail_msg("test bug: unknown scope %s", w);
        m |= (pgs_scope_mask_t)1u << i;
    }
    return m;
}

static void
test_table(void **state)
{
    (void)state;
    PGS_EXPECT_INT("PGS_SCOPE_COUNT", PGS_SCOPE_COUNT, 9);
    PGS_EXPECT_INT("SPEC scope count", N_SPEC_SCOPES, 9);
    for (size_t i = 0; i < N_SPEC_SCOPES; i++) {
        char what[64];
        snprintf(what, sizeof what, "scope %zu id", i);
        PGS_EXPECT_STR(what, pgs_scope_table[i].id, s_spec_scopes[i].id);
        snprintf(what, sizeof what, "scope %s label", s_spec_scopes[i].id);
        PGS_EXPECT_STR(what, pgs_scope_table[i].label, s_spec_scopes[i].label);
        snprintf(what, sizeof what, "scope %s write", s_spec_scopes[i].id);
        PGS_EXPECT_INT(what, pgs_scope_table[i].write, s_spec_scopes[i].write);
        snprintf(what, sizeof what, "pgs_scope_bit(%s)", s_spec_scopes[i].id);
        PGS_EXPECT_INT(what, pgs_scope_bit(s_spec_scopes[i].id, strlen(s_spec_scopes[i].id)),
                       1u << i);
        if (!pgs_scope_table[i].description || !*pgs_scope_table[i].description)
            fail_msg("scope %s: got an empty description", s_spec_scopes[i].id);
    }
}

static void
test_write_mask(void **state)
{
    (void)state;
    pgs_scope_mask_t want = s_spec_mask("bots:write conversations:write chat:send");
    PGS_EXPECT_INT("pgs_scope_write_mask()", pgs_scope_write_mask(), want);
    PGS_EXPECT_INT("number of write scopes", __builtin_popcount(pgs_scope_write_mask()), 3);
}

static void
test_presets(void **state)
{
    (void)state;
    PGS_EXPECT_INT("PGS_SCOPE_PRESET_COUNT", PGS_SCOPE_PRESET_COUNT, 3);
    for (size_t i = 0; i < sizeof s_spec_presets / sizeof s_spec_presets[0]; i++) {
        char what[96];
        const pgs_scope_preset_t *p = pgs_scope_preset(s_spec_presets[i].id);
        if (!p)
            fail_msg("pgs_scope_preset(%s): got NULL, want the preset", s_spec_presets[i].id);
        snprintf(what, sizeof what, "preset %s id", s_spec_presets[i].id);
        PGS_EXPECT_STR(what, p->id, s_spec_presets[i].id);
        snprintf(what, sizeof what, "preset %s label", s_spec_presets[i].id);
        PGS_EXPECT_STR(what, p->label, s_spec_presets[i].label);
        snprintf(what, sizeof what, "preset %s mask", s_spec_presets[i].id);
        PGS_EXPECT_INT(what, p->scopes, s_spec_mask(s_spec_presets[i].scopes));
        snprintf(what, sizeof what, "pgs_scope_presets[%zu].id", i);
        PGS_EXPECT_STR(what, pgs_scope_presets[i].id, s_spec_presets[i].id);
    }
    /* Formatted in table order. */
    char buf[256];
    pgs_scope_format(pgs_scope_preset("chat")->scopes, buf, sizeof buf);
    PGS_EXPECT_STR("format(chat preset)", buf, "conversations:read conversations:write chat:send");
    pgs_scope_format(pgs_scope_preset("read_only")->scopes, buf, sizeof buf);
    PGS_EXPECT_STR("format(read_only preset)", buf,
                   "profile:read subscription:read models:read bots:read usage:read");
    pgs_scope_format(pgs_scope_preset("bot_management")->scopes, buf, sizeof buf);
    PGS_EXPECT_STR("format(bot_management preset)", buf,
                   "profile:read models:read bots:read bots:write");
    PGS_EXPECT_INT("read_only preset holds no write scope",
                   pgs_scope_preset("read_only")->scopes & pgs_scope_write_mask(), 0);

    PGS_EXPECT_NULL("pgs_scope_preset(\"unknown\")", pgs_scope_preset("unknown"));
    PGS_EXPECT_NULL("pgs_scope_preset(\"Chat\")", pgs_scope_preset("Chat"));
    PGS_EXPECT_NULL("pgs_scope_preset(\"\")", pgs_scope_preset(""));
    PGS_EXPECT_NULL("pgs_scope_preset(NULL)", pgs_scope_preset(NULL));
}

static void
test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        const char *want; /* the SPEC scopes, for rc 0 */
    } cases[] = {
        {"", 0, ""},
        {"   ", 0, ""},
        {"profile:read", 0, "profile:read"},
        {"  chat:send  ", 0, "chat:send"},
        {"chat:send chat:send", 0, "chat:send"},
        {"bots:read bots:write bots:read", 0, "bots:read bots:write"},
        {"usage:read  profile:read", 0, "profile:read usage:read"},
        {"profile:read subscription:read models:read bots:read bots:write conversations:read "
         "conversations:write chat:send usage:read",
         0,
         "profile:read subscription:read models:read bots:read bots:write conversations:read "
         "conversations:write chat:send usage:read"},
        {"bogus", -1, NULL},
        {"profile:read bogus", -1, NULL},
        {"profile:Read", -1, NULL},
        {"profile", -1, NULL},
        {"profile:read,bots:read", -1, NULL},
        {"profile:read\tbots:read", -1, NULL},
        {"profile:readx", -1, NULL},
        {"chat", -1, NULL}, /* a preset is not a scope */
        {"read_only", -1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pgs_scope_mask_t m = 0xdeadbeef;
        char what[256];
        snprintf(what, sizeof what, "pgs_scope_parse(\"%s\")", cases[i].in);
        PGS_EXPECT_INT(what, pgs_scope_parse(cases[i].in, &m), cases[i].rc);
        if (cases[i].rc == 0)
            PGS_EXPECT_INT(what, m, s_spec_mask(cases[i].want));
    }
    pgs_scope_mask_t m = 7;
    PGS_EXPECT_INT("pgs_scope_parse(NULL)", pgs_scope_parse(NULL, &m), 0);
    PGS_EXPECT_INT("pgs_scope_parse(NULL) mask", m, 0);
    PGS_EXPECT_INT("pgs_scope_bit(\"\")", pgs_scope_bit("", 0), 0);
    PGS_EXPECT_INT("pgs_scope_bit(prefix of an id)", pgs_scope_bit("chat:send", 4), 0);
    PGS_EXPECT_INT("pgs_scope_bit(id with length)", pgs_scope_bit("chat:sendXYZ", 9),
                   s_spec_mask("chat:send"));
}

static void
test_round_trip(void **state)
{
    (void)state;
    for (pgs_scope_mask_t m = 0; m < (1u << PGS_SCOPE_COUNT); m++) {
        char buf[256];
        size_t n = pgs_scope_format(m, buf, sizeof buf);
        char what[64];
        snprintf(what, sizeof what, "format(0x%03x) length", (unsigned)m);
        PGS_EXPECT_INT(what, n, strlen(buf));
        pgs_scope_mask_t back = 0;
        snprintf(what, sizeof what, "parse(format(0x%03x))", (unsigned)m);
        PGS_EXPECT_INT(what, pgs_scope_parse(buf, &back), 0);
        PGS_EXPECT_INT(what, back, m);
    }
    char buf[256];
    PGS_EXPECT_INT("format(0)", pgs_scope_format(0, buf, sizeof buf), 0);
    PGS_EXPECT_STR("format(0)", buf, "");
    /* Bits past the table are ignored. */
    pgs_scope_format(((pgs_scope_mask_t)1u << 20) | 1u, buf, sizeof buf);
    PGS_EXPECT_STR("format(unknown bit | profile:read)", buf, "profile:read");
}

static void
test_format_truncates(void **state)
{
    (void)state;
    pgs_scope_mask_t m = s_spec_mask("profile:read bots:read chat:send");
    /* "profile:read bots:read chat:send" is 32 characters. Whatever the
     * buffer, its content is a NUL-terminated list of whole ids whose length
     * is the return value. */
    static const struct {
        size_t len;
        const char *want;
    } cases[] = {
        {1, ""},
        {5, ""},
        {12, ""},
        {13, "profile:read"},
        {20, "profile:read"},
        {22, "profile:read"},
        {23, "profile:read bots:read"},
        {32, "profile:read bots:read"},
        {33, "profile:read bots:read chat:send"},
        {64, "profile:read bots:read chat:send"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[65];
        memset(buf, '#', sizeof buf);
        size_t n = pgs_scope_format(m, buf, cases[i].len);
        char what[64];
        snprintf(what, sizeof what, "format into %zu bytes", cases[i].len);
        PGS_EXPECT_INT(what, n, strlen(cases[i].want));
        if (memchr(buf, '\0', cases[i].len) == NULL)
            fail_msg("%s: got no NUL inside the buffer", what);
        PGS_EXPECT_STR(what, buf, cases[i].want);
        PGS_EXPECT_INT("byte after the buffer untouched", buf[cases[i].len], '#');
    }
    PGS_EXPECT_INT("format into 0 bytes", pgs_scope_format(m, NULL, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),      cmocka_unit_test(test_write_mask),
        cmocka_unit_test(test_presets),    cmocka_unit_test(test_parse),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_format_truncates),
    };
    return cmocka_run_group_tests_name("pgs_scope", tests, NULL, NULL);
}
