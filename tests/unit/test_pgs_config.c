/*
 * Unit tests of common/pgs_config: the INI parser, environment overrides,
 * typed lookups, and the repository's config/pegasus.conf.
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
    PGS_EXPECT_STR("str(missing, default)", pgs_config_str(cfg, "ut", "nope", "dflt"), "dflt");
    PGS_EXPECT_STR("str(present, default)", pgs_config_str(cfg, "ut", "name", "dflt"), "pegasus");
    PGS_EXPECT_STR("get(NULL config) with no env", pgs_config_str(NULL, "ut", "name", "d"), "d");
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
    long long v = 0;
    PGS_EXPECT_INT("int(file value)",
                   pgs_config_int(cfg, "plan.utpro", "messages_per_month", 1, 0, 1000000, &v), 0);
    PGS_EXPECT_INT("int(file value) value", v, 5000);

    setenv("PEGASUS_PLAN_UTPRO_MESSAGES_PER_MONTH", "7", 1);
    PGS_EXPECT_STR("get with env override", pgs_config_get(cfg, "plan.utpro", "messages_per_month"),
                   "7");
    PGS_EXPECT_INT("int with env override",
                   pgs_config_int(cfg, "plan.utpro", "messages_per_month", 1, 0, 1000000, &v), 0);
    PGS_EXPECT_INT("int with env override value", v, 7);
    setenv("PEGASUS_PLAN_UTPRO_MESSAGES_PER_MONTH", "2000000", 1);
    PGS_EXPECT_INT("int with out-of-range env override",
                   pgs_config_int(cfg, "plan.utpro", "messages_per_month", 1, 0, 1000000, &v), -1);
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

static void
test_int(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg = pgs_config_parse("[ut]\nk = 1\n", err, sizeof err);
    assert_non_null(cfg);
    static const struct {
        const char *value;
        long long min, max;
        int rc;
        long long want;
    } cases[] = {
        {"5", 1, 10, 0, 5},
        {"1", 1, 10, 0, 1},
        {"10", 1, 10, 0, 10},
        {"0", 1, 10, -1, 0},
        {"11", 1, 10, -1, 0},
        {"-3", -5, 5, 0, -3},
        {"-6", -5, 5, -1, 0},
        {"abc", 0, 100, -1, 0},
        {"", 0, 100, -1, 0},
        {"5x", 0, 100, -1, 0},
        {"5 ", 0, 100, -1, 0},
        {"5.0", 0, 100, -1, 0},
        {"1e3", 0, 10000, -1, 0},
        {"0x10", 0, 100, -1, 0},
        {"99999999999999999999", 0, 9223372036854775807LL, -1, 0},
        {"9223372036854775807", 0, 9223372036854775807LL, 0, 9223372036854775807LL},
        {"-9223372036854775808", -9223372036854775807LL - 1, 0, 0, -9223372036854775807LL - 1},
        {"-9223372036854775809", -9223372036854775807LL - 1, 0, -1, 0},
        {"1048576", 1, 1 << 24, 0, 1048576},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("PEGASUS_UT_K", cases[i].value, 1);
        long long v = -12345;
        char what[96];
        snprintf(what, sizeof what, "int(\"%s\" in [%lld, %lld])", cases[i].value, cases[i].min,
                 cases[i].max);
        PGS_EXPECT_INT(what, pgs_config_int(cfg, "ut", "k", 99, cases[i].min, cases[i].max, &v),
                       cases[i].rc);
        if (cases[i].rc == 0)
            PGS_EXPECT_INT(what, v, cases[i].want);
    }
    unsetenv("PEGASUS_UT_K");
    long long v = 0;
    PGS_EXPECT_INT("int(missing key)", pgs_config_int(cfg, "ut", "missing", 77, 0, 10, &v), 0);
    PGS_EXPECT_INT("int(missing key) takes the default", v, 77);
    PGS_EXPECT_INT("int(file value)", pgs_config_int(cfg, "ut", "k", 77, 0, 10, &v), 0);
    PGS_EXPECT_INT("int(file value) value", v, 1);
    pgs_config_destroy(&cfg);
}

static void
test_bool(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg = pgs_config_parse("[ut]\nflag = on\noff = off\n", err, sizeof err);
    assert_non_null(cfg);
    static const struct {
        const char *value;
        int rc, want;
    } cases[] = {
        {"on", 0, 1},    {"ON", 0, 1},    {"yes", 0, 1},  {"Yes", 0, 1}, {"true", 0, 1},
        {"TRUE", 0, 1},  {"1", 0, 1},     {"off", 0, 0},  {"Off", 0, 0}, {"no", 0, 0},
        {"false", 0, 0}, {"False", 0, 0}, {"0", 0, 0},    {"", -1, 0},   {"maybe", -1, 0},
        {"2", -1, 0},    {"onn", -1, 0},  {" on", -1, 0}, {"y", -1, 0},  {"enabled", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("PEGASUS_UT_FLAG", cases[i].value, 1);
        int v = -7;
        char what[64];
        snprintf(what, sizeof what, "bool(\"%s\")", cases[i].value);
        PGS_EXPECT_INT(what, pgs_config_bool(cfg, "ut", "flag", 0, &v), cases[i].rc);
        if (cases[i].rc == 0)
            PGS_EXPECT_INT(what, v, cases[i].want);
    }
    unsetenv("PEGASUS_UT_FLAG");
    int v = -1;
    PGS_EXPECT_INT("bool(file on)", pgs_config_bool(cfg, "ut", "flag", 0, &v), 0);
    PGS_EXPECT_INT("bool(file on) value", v, 1);
    PGS_EXPECT_INT("bool(file off)", pgs_config_bool(cfg, "ut", "off", 1, &v), 0);
    PGS_EXPECT_INT("bool(file off) value", v, 0);
    PGS_EXPECT_INT("bool(missing, default 1)", pgs_config_bool(cfg, "ut", "missing", 1, &v), 0);
    PGS_EXPECT_INT("bool(missing, default 1) value", v, 1);
    PGS_EXPECT_INT("bool(missing, default 0)", pgs_config_bool(cfg, "ut", "missing", 0, &v), 0);
    PGS_EXPECT_INT("bool(missing, default 0) value", v, 0);
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

static void
s_count(const char *section, const char *suffix, void *arg)
{
    (void)section;
    (void)suffix;
    (*(int *)arg)++;
}

static void
test_repo_config(void **state)
{
    (void)state;
    char err[512] = "";
    pgs_config_t *cfg = pgs_config_load("config/pegasus.conf", err, sizeof err);
    if (!cfg)
        fail_msg("load(config/pegasus.conf): got NULL (%s), want a config (run from the repo root)",
                 err);
    /* The plans of SPEC §1 exist, with an integer message quota and an
     * api_access flag that is off only on free. */
    static const struct {
        const char *plan;
        int api_access;
    } plans[] = {{"free", 0}, {"pro", 1}, {"ultra", 1}};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char section[32], what[96];
        snprintf(section, sizeof section, "plan.%s", plans[i].plan);
        long long n = -1;
        snprintf(what, sizeof what, "int([%s] messages_per_month)", section);
        PGS_EXPECT_INT(what,
                       pgs_config_int(cfg, section, "messages_per_month", -1, 0, 1LL << 40, &n), 0);
        if (n < 0)
            fail_msg("%s: got missing, want a value", what);
        int b = -1;
        snprintf(what, sizeof what, "bool([%s] api_access)", section);
        PGS_EXPECT_INT(what, pgs_config_bool(cfg, section, "api_access", -1, &b), 0);
        PGS_EXPECT_INT(what, b, plans[i].api_access);
    }
    int nplans = 0, nmodels = 0;
    pgs_config_each_section(cfg, "plan.", s_count, &nplans);
    pgs_config_each_section(cfg, "model.", s_count, &nmodels);
    PGS_EXPECT_INT("number of [plan.*] sections", nplans, 3);
    if (nmodels < 2)
        fail_msg("number of [model.*] sections: got %d, want at least 2", nmodels);
    PGS_EXPECT_STR("[model.pegasus-lite] provider",
                   pgs_config_get(cfg, "model.pegasus-lite", "provider"), "builtin");
    long long port = 0;
    PGS_EXPECT_INT("int([edge] port)", pgs_config_int(cfg, "edge", "port", 0, 1, 65535, &port), 0);
    pgs_config_destroy(&cfg);
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
        cmocka_unit_test(test_int),          cmocka_unit_test(test_bool),
        cmocka_unit_test(test_each_section), cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_repo_config),
    };
    return cmocka_run_group_tests_name("pgs_config", tests, NULL, NULL);
}
