/*
 * Unit tests of common/pgs_config: the INI parser, environment overrides,
 * sections and keys in file order (typed lookups, the key table and the
 * repository's config/pegasus.conf are test_pgs_conf's).
 * Every environment variable a test sets lives under PEGASUS_UT… or a
 * section only this test uses, and is unset again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_config.h"
#include "pgs_test.h"

static const char s_text[] = "# leading comment\n"
                             "\n"
                             "[ut]\n"
                             "name = pegasus\n"
                             "  spaced   =   a value with  spaces  \n"
                             "empty =\n"
                             "equals = a=b=c\n"
                             "; semicolon comment\n"
                             "   # indented comment\n"
                             "\t\n"
                             "dup = first\n"
                             "dup = second\n"
                             "[ut.sub-part]\n"
                             "count = 42\n"
                             "[ plan.alpha ]\n"
                             "n = 1\n"
                             "[plan.beta]\n"
                             "n = 2\n"
                             "[other]\n"
                             "x = 1\n"
                             "[plan.gamma]\n"
                             "[ut]\n"
                             "late = yes\n"
                             "last = no newline at end";

static void
test_parse_ok(void **state)
{
    (void)state;
    char err[256] = "";
    pgs_config_t *cfg = pgs_config_parse(s_text, err, sizeof err);
    if (!cfg)
        fail_msg("pgs_config_parse: got NULL (%s), want a config", err);
    static const struct {
        const char *section, *key, *want;
    } cases[] = {
        {"ut", "name", "pegasus"}, {"ut", "spaced", "a value with  spaces"},
        {"ut", "empty", ""},       {"ut", "equals", "a=b=c"},
        {"ut", "dup", "second"},   {"ut.sub-part", "count", "42"},
        {"plan.alpha", "n", "1"},  {"plan.beta", "n", "2"},
        {"ut", "late", "yes"},     {"ut", "last", "no newline at end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "get([%s] %s)", cases[i].section, cases[i].key);
        PGS_EXPECT_STR(what, pgs_config_get(cfg, cases[i].section, cases[i].key), cases[i].want);
    }
    static const struct {
        const char *section, *key;
    } missing[] = {
        {"ut", "nope"},     {"nope", "name"}, {"UT", "name"}, /* sections are case-sensitive */
        {"ut", "NAME"},                                       /* keys too */
        {"ut", "#"},                                          /* comments are not keys */
        {"other", "count"},                                   /* a key belongs to its own section */
        {"plan.beta", "x"},
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "get([%s] %s)", missing[i].section, missing[i].key);
        PGS_EXPECT_NULL(what, pgs_config_get(cfg, missing[i].section, missing[i].key));
    }
    PGS_EXPECT_NULL("get(NULL config) with no env", pgs_config_get(NULL, "ut", "name"));
    pgs_config_destroy(&cfg);
    PGS_EXPECT_NULL("config after destroy", cfg);
    pgs_config_destroy(&cfg);
    pgs_config_destroy(NULL);

    /* Empty and comment-only texts are valid and empty. */
    static const char *const empties[] = {"", "\n\n", "# only\n; comments\n", "   \t  "};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        cfg = pgs_config_parse(empties[i], err, sizeof err);
        if (!cfg)
            fail_msg("parse(empty text %zu): got NULL (%s), want a config", i, err);
        PGS_EXPECT_NULL("get from empty config", pgs_config_get(cfg, "ut", "name"));
        pgs_config_destroy(&cfg);
    }
    cfg = pgs_config_parse(NULL, err, sizeof err);
    if (!cfg)
        fail_msg("parse(NULL): got NULL (%s), want an empty config", err);
    pgs_config_destroy(&cfg);

    /* CRLF line endings: the CR is trailing space. */
    cfg = pgs_config_parse("[ut]\r\nk = v\r\n", err, sizeof err);
    if (!cfg)
        fail_msg("parse(CRLF): got NULL (%s)", err);
    PGS_EXPECT_STR("get with CRLF", pgs_config_get(cfg, "ut", "k"), "v");
    pgs_config_destroy(&cfg);
}

static void
test_parse_errors(void **state)
{
    (void)state;
    char long_section[200];
    memset(long_section, 'a', sizeof long_section);
    long_section[0] = '[';
    memcpy(long_section + 129, "]\n", 3); /* 128 characters of name */
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"[ut]\nkey\n", "line 2: expected key = value"},
        {"key = v\n", "line 1: key outside a section"},
        {"\n\n# c\nkey = v\n", "line 4: key outside a section"},
        {"[ut]\n = v\n", "line 2: empty key"},
        {"[ut]\n=\n", "line 2: empty key"},
        {"[ut\n", "line 1: malformed section header"},
        {"[]\n", "line 1: malformed section header"},
        {"[ut] x\n", "line 1: malformed section header"},
        {"[ut]]\n", "line 1: malformed section header"},
        {"ut]\n", "line 1: expected key = value"},
        {"# c\n\n[ut]\n\n; x\nbad line\nk = v\n", "line 6: expected key = value"},
        {"[ut]\na = 1\nb = 2\n[\nc = 3\n", "line 4: malformed section header"},
        {"[ut]\n\n\n\n\n\n\n\n\n\nvalue only\n", "line 11: expected key = value"},
        {"[ut]\r\nk\r\n", "line 2: expected key = value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        pgs_config_t *cfg = pgs_config_parse(cases[i].text, err, sizeof err);
        char what[64];
        snprintf(what, sizeof what, "parse error case %zu", i);
        if (cfg) {
            pgs_config_destroy(&cfg);
            fail_msg("%s: got a config, want error \"%s\"", what, cases[i].want);
        }
        PGS_EXPECT_STR(what, err, cases[i].want);
    }
    char err[256] = "";
    pgs_config_t *cfg = pgs_config_parse(long_section, err, sizeof err);
    if (cfg) {
        pgs_config_destroy(&cfg);
        fail_msg("parse(128-character section name): got a config, want an error");
    }
    PGS_EXPECT_STR("parse(128-character section name)", err, "line 1: malformed section header");
    /* 127 characters is fine. */
    memcpy(long_section + 128, "]\n", 3);
    cfg = pgs_config_parse(long_section, err, sizeof err);
    if (!cfg)
        fail_msg("parse(127-character section name): got NULL (%s), want a config", err);
    pgs_config_destroy(&cfg);
}

static void
test_env_name(void **state)
{
    (void)state;
    static const struct {
        const char *section, *key, *want;
    } cases[] = {
        {"plan.pro", "messages_per_month", "PEGASUS_PLAN_PRO_MESSAGES_PER_MONTH"},
        {"model.pegasus-lite", "provider", "PEGASUS_MODEL_PEGASUS_LITE_PROVIDER"},
        {"model.pegasus-lite", "api_key_env", "PEGASUS_MODEL_PEGASUS_LITE_API_KEY_ENV"},
        {"edge", "port", "PEGASUS_EDGE_PORT"},
        {"service.auth", "processes", "PEGASUS_SERVICE_AUTH_PROCESSES"},
        {"Log", "Level", "PEGASUS_LOG_LEVEL"},
        {"a-b.c", "d.e-f", "PEGASUS_A_B_C_D_E_F"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        pgs_config_env_name(cases[i].section, cases[i].key, buf, sizeof buf);
        char what[96];
        snprintf(what, sizeof what, "env_name([%s] %s)", cases[i].section, cases[i].key);
        PGS_EXPECT_STR(what, buf, cases[i].want);
    }
    char small[12];
    pgs_config_env_name("plan.pro", "messages_per_month", small, sizeof small);
    PGS_EXPECT_STR("env_name into 12 bytes", small, "PEGASUS_PLA");
}

static void
test_env_override(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg = pgs_config_parse("[plan.utpro]\nmessages_per_month = 5000\n"
                                         "[model.ut-lite]\nprovider = builtin\n",
                                         err, sizeof err);
    assert_non_null(cfg);
    PGS_EXPECT_STR("get(file value)", pgs_config_get(cfg, "plan.utpro", "messages_per_month"),
                   "5000");
    setenv("PEGASUS_PLAN_UTPRO_MESSAGES_PER_MONTH", "7", 1);
    PGS_EXPECT_STR("get with env override", pgs_config_get(cfg, "plan.utpro", "messages_per_month"),
                   "7");
    unsetenv("PEGASUS_PLAN_UTPRO_MESSAGES_PER_MONTH");
    PGS_EXPECT_STR("get after unsetenv", pgs_config_get(cfg, "plan.utpro", "messages_per_month"),
                   "5000");

    setenv("PEGASUS_MODEL_UT_LITE_PROVIDER", "openai", 1);
    PGS_EXPECT_STR("get([model.ut-lite] provider) with env",
                   pgs_config_get(cfg, "model.ut-lite", "provider"), "openai");
    unsetenv("PEGASUS_MODEL_UT_LITE_PROVIDER");
    PGS_EXPECT_STR("get([model.ut-lite] provider)",
                   pgs_config_get(cfg, "model.ut-lite", "provider"), "builtin");

    /* A key absent from the file, and no config at all. */
    setenv("PEGASUS_UTONLY_KEY", "from-env", 1);
    PGS_EXPECT_STR("get(key only in env)", pgs_config_get(cfg, "utonly", "key"), "from-env");
    PGS_EXPECT_STR("get(NULL config, key in env)", pgs_config_get(NULL, "utonly", "key"),
                   "from-env");
    unsetenv("PEGASUS_UTONLY_KEY");
    PGS_EXPECT_NULL("get(key nowhere)", pgs_config_get(cfg, "utonly", "key"));
    pgs_config_destroy(&cfg);
}

typedef struct {
    char list[512];
    int calls;
} s_collect_t;

static void
s_collect(const char *section, const char *suffix, void *arg)
{
    s_collect_t *c = arg;
    size_t n = strlen(c->list);
    snprintf(c->list + n, sizeof c->list - n, "%s%s=%s", n ? "," : "", section, suffix);
    c->calls++;
}

static void
test_each_section(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg = pgs_config_parse(s_text, err, sizeof err);
    assert_non_null(cfg);
    static const struct {
        const char *prefix;
        const char *want;
        int calls;
    } cases[] = {
        /* File order; a section appearing twice is listed once; a section
         * without keys still counts. */
        {"plan.", "plan.alpha=alpha,plan.beta=beta,plan.gamma=gamma", 3},
        {"ut", "ut.sub-part=.sub-part", 1},
        {"ut.", "ut.sub-part=sub-part", 1},
        {"",
         "ut=ut,ut.sub-part=ut.sub-part,plan.alpha=plan.alpha,plan.beta=plan.beta,"
         "other=other,plan.gamma=plan.gamma",
         6},
        {"plan.alpha", "", 0}, /* the exact name has no suffix */
        {"model.", "", 0},
        {"PLAN.", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_collect_t c = {.list = "", .calls = 0};
        pgs_config_each_section(cfg, cases[i].prefix, s_collect, &c);
        char what[64];
        snprintf(what, sizeof what, "each_section(\"%s\")", cases[i].prefix);
        PGS_EXPECT_STR(what, c.list, cases[i].want);
        PGS_EXPECT_INT(what, c.calls, cases[i].calls);
    }
    s_collect_t c = {.list = "", .calls = 0};
    pgs_config_each_section(NULL, "plan.", s_collect, &c);
    PGS_EXPECT_INT("each_section(NULL config) calls", c.calls, 0);
    pgs_config_destroy(&cfg);
}

static void
s_key(const char *section, const char *key, const char *value, void *arg)
{
    s_collect_t *c = arg;
    size_t n = strlen(c->list);
    snprintf(c->list + n, sizeof c->list - n, "%s[%s]%s=%s", n ? "," : "", section, key, value);
    c->calls++;
}

static void
test_each_key(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg =
        pgs_config_parse("[a]\nx = 1\ny = 2\n[b]\n[a]\nx = 3\n[c]\nz =\n", err, sizeof err);
    assert_non_null(cfg);
    /* File order; a key set twice once, with its last value. */
    setenv("PEGASUS_C_Z", "from-env", 1); /* not seen: the file's keys only */
    s_collect_t c = {.list = "", .calls = 0};
    pgs_config_each_key(cfg, s_key, &c);
    unsetenv("PEGASUS_C_Z");
    PGS_EXPECT_STR("each_key", c.list, "[a]x=3,[a]y=2,[c]z=");
    PGS_EXPECT_INT("each_key calls", c.calls, 3);
    c.calls = 0;
    pgs_config_each_key(NULL, s_key, &c);
    PGS_EXPECT_INT("each_key(NULL config) calls", c.calls, 0);
    pgs_config_destroy(&cfg);
}

static void
test_load_files(void **state)
{
    (void)state;
    char dir[64], path[128], err[512] = "";
    assert_non_null(pgs_test_tmpdir(dir));

    snprintf(path, sizeof path, "%s/missing.conf", dir);
    pgs_config_t *cfg = pgs_config_load(path, err, sizeof err);
    PGS_EXPECT_NULL("load(missing file)", cfg);
    char want[256];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    PGS_EXPECT_STR("load(missing file) error", err, want);

    snprintf(path, sizeof path, "%s/bad.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[edge]\nport = 1\n\nnot a pair\n", f);
    fclose(f);
    cfg = pgs_config_load(path, err, sizeof err);
    PGS_EXPECT_NULL("load(bad file)", cfg);
    snprintf(want, sizeof want, "%s: line 4: expected key = value", path);
    PGS_EXPECT_STR("load(bad file) error", err, want);

    /* A file larger than the first read buffer (8 KiB). */
    snprintf(path, sizeof path, "%s/big.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[big]\n", f);
    for (int i = 0; i < 3000; i++)
        fprintf(f, "key%d = value%d\n", i, i);
    fclose(f);
    cfg = pgs_config_load(path, err, sizeof err);
    if (!cfg)
        fail_msg("load(big file): got NULL (%s)", err);
    PGS_EXPECT_STR("load(big file) first key", pgs_config_get(cfg, "big", "key0"), "value0");
    PGS_EXPECT_STR("load(big file) last key", pgs_config_get(cfg, "big", "key2999"), "value2999");
    pgs_config_destroy(&cfg);

    assert_int_equal(pgs_test_rmtree(dir), 0);
}

int
main(void)
{
    /* An operator's environment must not leak into the expectations. */
    unsetenv("PEGASUS_EDGE_PORT");
    unsetenv("PEGASUS_MODEL_PEGASUS_LITE_PROVIDER");
    for (const char *const *p = (const char *const[]){"FREE", "PRO", "ULTRA", NULL}; *p; p++) {
        char name[96];
        snprintf(name, sizeof name, "PEGASUS_PLAN_%s_MESSAGES_PER_MONTH", *p);
        unsetenv(name);
        snprintf(name, sizeof name, "PEGASUS_PLAN_%s_API_ACCESS", *p);
        unsetenv(name);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_env_name),     cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_each_section), cmocka_unit_test(test_each_key),
        cmocka_unit_test(test_load_files),
    };
    return cmocka_run_group_tests_name("pgs_config", tests, NULL, NULL);
}
