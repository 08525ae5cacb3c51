/*
 * Unit tests of common/pgs_conf: the key table (every handle declared once,
 * every default valid), the typed getters (defaults, file values,
 * environment overrides, family members), the value parsers, and the check
 * every binary runs: a bad value of each type is refused with its key named,
 * an environment override is checked like a file value, and the shipped
 * config/pegasus.conf passes. Environment variables a test sets are unset
 * again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_conf.h"
#include "pgs_test.h"

#include <unistd.h>

#define S_MAX_PROBLEMS 16

typedef struct {
    pgs_conf_problem_t p[S_MAX_PROBLEMS];
    int n;
} s_problems_t;

static void
s_collect(const pgs_conf_problem_t *p, void *arg)
{
    s_problems_t *ps = arg;
    if (ps->n < S_MAX_PROBLEMS)
        ps->p[ps->n] = *p;
    ps->n++;
}

/* Checks text; returns the number of problems, filling ps. */
static int
s_check_text(const char *text, s_problems_t *ps)
{
    char err[256];
    pgs_config_t *cfg = pgs_config_parse(text, err, sizeof err);
    if (!cfg)
        fail_msg("parse(\"%s\"): got NULL (%s), want a config", text, err);
    memset(ps, 0, sizeof *ps);
    int n = pgs_conf_check(cfg, s_collect, ps);
    pgs_config_destroy(&cfg);
    PGS_EXPECT_INT("check's count vs problems reported", n, ps->n);
    return n;
}

static void
test_table(void **state)
{
    (void)state;
    /* A config that sets every key to its default, in a member of each
     * family, passes: every default obeys its own rule. */
    char text[8192] = "";
    size_t len = 0;
    for (int i = 0; i < PGS_KEY_COUNT; i++) {
        const pgs_conf_key_t *d = pgs_conf_key((pgs_key_t)i);
        if (!d || !d->section || !d->key || !*d->key)
            fail_msg("key %d: got no declaration, want one", i);
        if (!d->readers)
            fail_msg("[%s] %s: got no readers, want at least one", d->section, d->key);
        for (int j = 0; j < i; j++) {
            const pgs_conf_key_t *e = pgs_conf_key((pgs_key_t)j);
            if (strcmp(d->section, e->section) == 0 && strcmp(d->key, e->key) == 0)
                fail_msg("[%s] %s: declared twice (%d and %d)", d->section, d->key, j, i);
        }
        if (d->type == PGS_CONF_INT && d->min > d->max)
            fail_msg("[%s] %s: min %lld > max %lld", d->section, d->key, d->min, d->max);
        if (d->type == PGS_CONF_ENUM && (!d->choices || !*d->choices))
            fail_msg("[%s] %s: an enum without choices", d->section, d->key);
        const char *value = d->dflt ? d->dflt : d->type == PGS_CONF_ENUM ? "builtin" : "x";
        char section[64];
        snprintf(section, sizeof section, "%s", d->section);
        char *star = strchr(section, '*');
        if (star)
            snprintf(star, sizeof section - (size_t)(star - section), "ut-member");
        len += (size_t)snprintf(text + len, sizeof text - len, "[%s]\n%s = %s\n", section, d->key,
                                value);
        assert_true(len < sizeof text);
    }
    s_problems_t ps;
    int n = s_check_text(text, &ps);
    if (n)
        fail_msg("check(every key at its default): got %d problems, the first [%s] %s: %s, want 0",
                 n, ps.p[0].section, ps.p[0].key, ps.p[0].rule);
    assert_null(pgs_conf_key(PGS_KEY_COUNT));
}

static void
test_getters(void **state)
{
    (void)state;
    char err[256];
    pgs_config_t *cfg = pgs_config_parse("[edge]\nport = 9090\ncors_origins = https://a.test\n"
                                         "[plan.pro]\napi_access = on\nmax_bots = 20\n"
                                         "[service.auth]\ncapacity = 32\n"
                                         "[model.m1]\nprovider = openai\nbase_url = http://x\n",
                                         err, sizeof err);
    assert_non_null(cfg);
    PGS_EXPECT_INT("int(file value)", pgs_conf_int(cfg, PGS_KEY_EDGE_PORT), 9090);
    PGS_EXPECT_INT("int(default)", pgs_conf_int(cfg, PGS_KEY_EDGE_MAX_HEADERS), 100);
    PGS_EXPECT_INT("int(NULL config: default)", pgs_conf_int(NULL, PGS_KEY_EDGE_PORT), 8080);
    PGS_EXPECT_STR("str(file value)", pgs_conf_str(cfg, PGS_KEY_EDGE_CORS_ORIGINS),
                   "https://a.test");
    PGS_EXPECT_STR("str(default)", pgs_conf_str(cfg, PGS_KEY_EDGE_ADDRESS), "127.0.0.1");
    PGS_EXPECT_STR("enum(default)", pgs_conf_str(cfg, PGS_KEY_LOG_LEVEL), "info");
    PGS_EXPECT_INT("bool_in(file on)", pgs_conf_bool_in(cfg, PGS_KEY_PLAN_API_ACCESS, "pro"), 1);
    PGS_EXPECT_INT("bool_in(no section: default)",
                   pgs_conf_bool_in(cfg, PGS_KEY_PLAN_API_ACCESS, "free"), 0);
    PGS_EXPECT_INT("int_in(file)", pgs_conf_int_in(cfg, PGS_KEY_PLAN_MAX_BOTS, "pro"), 20);
    PGS_EXPECT_INT("int_in(default)", pgs_conf_int_in(cfg, PGS_KEY_PLAN_MAX_DOCUMENT_BYTES, "pro"),
                   1048576);
    PGS_EXPECT_INT("int_in(bad member name: default)",
                   pgs_conf_int_in(cfg, PGS_KEY_PLAN_MAX_BOTS, "../pro"), 0);
    PGS_EXPECT_INT("int_in(NULL name: default)", pgs_conf_int_in(cfg, PGS_KEY_PLAN_MAX_BOTS, NULL),
                   0);
    PGS_EXPECT_STR("str_in(file)", pgs_conf_str_in(cfg, PGS_KEY_MODEL_PROVIDER, "m1"), "openai");
    PGS_EXPECT_NULL("str_in(no default, unset)", pgs_conf_str_in(cfg, PGS_KEY_MODEL_NAME, "m1"));
    PGS_EXPECT_NULL("str_in(required, no section)",
                    pgs_conf_str_in(cfg, PGS_KEY_MODEL_PROVIDER, "m2"));
    PGS_EXPECT_INT("is_set_in(set)", pgs_conf_is_set_in(cfg, PGS_KEY_SERVICE_CAPACITY, "auth"), 1);
    PGS_EXPECT_INT("is_set_in(unset)", pgs_conf_is_set_in(cfg, PGS_KEY_SERVICE_CAPACITY, "bots"),
                   0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    PGS_EXPECT_INT("int_in(refined member [service.edge], auto: one per CPU)",
                   pgs_conf_int_in(cfg, PGS_KEY_SERVICE_PROCESSES, "edge"),
                   cpus < 1 ? 1 : cpus > PGS_CONF_MAX_EDGES ? PGS_CONF_MAX_EDGES : cpus);

    /* The environment wins, for fixed and family keys alike; an invalid
     * value (which the check refuses at start) reads as the default. */
    setenv("PEGASUS_EDGE_PORT", "7070", 1);
    setenv("PEGASUS_PLAN_PRO_MAX_BOTS", "3", 1);
    PGS_EXPECT_INT("int(env)", pgs_conf_int(cfg, PGS_KEY_EDGE_PORT), 7070);
    PGS_EXPECT_INT("int_in(env)", pgs_conf_int_in(cfg, PGS_KEY_PLAN_MAX_BOTS, "pro"), 3);
    setenv("PEGASUS_EDGE_PORT", "70000", 1);
    setenv("PEGASUS_PLAN_PRO_API_ACCESS", "maybe", 1);
    PGS_EXPECT_INT("int(invalid env: default)", pgs_conf_int(cfg, PGS_KEY_EDGE_PORT), 8080);
    PGS_EXPECT_INT("bool_in(invalid env: default)",
                   pgs_conf_bool_in(cfg, PGS_KEY_PLAN_API_ACCESS, "pro"), 0);
    unsetenv("PEGASUS_EDGE_PORT");
    unsetenv("PEGASUS_PLAN_PRO_MAX_BOTS");
    unsetenv("PEGASUS_PLAN_PRO_API_ACCESS");
    pgs_config_destroy(&cfg);
}

static void
test_parse_int(void **state)
{
    (void)state;
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
        {NULL, 0, 100, -1, 0},
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
        long long v = -12345;
        char what[96];
        snprintf(what, sizeof what, "parse_int(\"%s\" in [%lld, %lld])",
                 cases[i].value ? cases[i].value : "NULL", cases[i].min, cases[i].max);
        PGS_EXPECT_INT(what, pgs_conf_parse_int(cases[i].value, cases[i].min, cases[i].max, &v),
                       cases[i].rc);
        PGS_EXPECT_INT(what, v, cases[i].rc == 0 ? cases[i].want : -12345);
    }
}

static void
test_parse_bool(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int rc, want;
    } cases[] = {
        {"on", 0, 1},    {"ON", 0, 1},    {"yes", 0, 1},  {"Yes", 0, 1}, {"true", 0, 1},
        {"TRUE", 0, 1},  {"1", 0, 1},     {"off", 0, 0},  {"Off", 0, 0}, {"no", 0, 0},
        {"false", 0, 0}, {"False", 0, 0}, {"0", 0, 0},    {"", -1, 0},   {"maybe", -1, 0},
        {"2", -1, 0},    {"onn", -1, 0},  {" on", -1, 0}, {"y", -1, 0},  {"enabled", -1, 0},
        {NULL, -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int v = -7;
        char what[64];
        snprintf(what, sizeof what, "parse_bool(\"%s\")", cases[i].value ? cases[i].value : "NULL");
        PGS_EXPECT_INT(what, pgs_conf_parse_bool(cases[i].value, &v), cases[i].rc);
        PGS_EXPECT_INT(what, v, cases[i].rc == 0 ? cases[i].want : -7);
    }
}

static void
test_check_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *section, *key, *value, *rule;
    } cases[] = {
        /* One bad value of each type, its key named. */
        {"[edge]\nport = 0\n", "edge", "port", "0", "must be an integer from 1 to 65535"},
        {"[edge]\nport = 80x\n", "edge", "port", "80x", "must be an integer from 1 to 65535"},
        {"[auth]\ntouch_interval_s = 0\n", "auth", "touch_interval_s", "0",
         "must be an integer from 1 to 86400"},
        {"[plan.pro]\napi_access = maybe\n", "plan.pro", "api_access", "maybe",
         "must be on or off"},
        {"[log]\nlevel = loud\n", "log", "level", "loud", "must be one of: debug info warn error"},
        {"[model.m]\nprovider = gpt\n", "model.m", "provider", "gpt",
         "must be one of: builtin openai"},
        {"[broker]\nendpoints = a b c d e f g h i j k l m n o p q\n", "broker", "endpoints",
         "a b c d e f g h i j k l m n o p q", "must list 0 to 16 items"},
        {"[model.m]\nprovider = openai\nbase_url = ftp://x\n", "model.m", "base_url", "ftp://x",
         "must start with http:// or https://"},
        {"[plan.pro]\nmessages_per_month = 1000000001\n", "plan.pro", "messages_per_month",
         "1000000001", "must be an integer from 0 to 1000000000"},
        {"[service.edge]\nprocesses = 17\n", "service.edge", "processes", "17",
         "must be auto or an integer from 1 to 16"},
        {"[service.edge]\nprocesses = many\n", "service.edge", "processes", "many",
         "must be auto or an integer from 1 to 16"},
        {"[service.chat]\nprocesses = 65\n", "service.chat", "processes", "65",
         "must be an integer from 0 to 64"},
        /* Names the table does not know, and rules about sections. */
        {"[edge]\nprot = 8080\n", "edge", "prot", "8080", "unknown key"},
        {"[plan.pro]\nmax_bot = 3\n", "plan.pro", "max_bot", "3", "unknown key"},
        {"[edgee]\nport = 8080\n", "edgee", "", "", "unknown section"},
        {"[plan]\nmax_bots = 1\n", "plan", "", "", "unknown section"},
        {"[plan.a b]\nmax_bots = 1\n", "plan.a b", "", "", "a plan name is 1-64 of [A-Za-z0-9._-]"},
        {"[service.Chat]\n", "service.Chat", "", "", "a service name is 1-32 of [a-z0-9_-]"},
        {"[model.m]\nplans = pro\n", "model.m", "provider", "", "is required (builtin openai)"},
        {"[model.m]\nprovider = openai\n", "model.m", "base_url", "",
         "is required when provider = openai"},
        {"[plan.a]\n[plan.b]\n[plan.c]\n[plan.d]\n[plan.e]\n[plan.f]\n[plan.g]\n[plan.h]\n"
         "[plan.i]\n",
         "plan.i", "", "", "more than 8 [plan.*] sections"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_problems_t ps;
        int n = s_check_text(cases[i].text, &ps);
        char what[96];
        snprintf(what, sizeof what, "check case %zu ([%s] %s)", i, cases[i].section, cases[i].key);
        PGS_EXPECT_INT(what, n, 1);
        PGS_EXPECT_STR(what, ps.p[0].section, cases[i].section);
        PGS_EXPECT_STR(what, ps.p[0].key, cases[i].key);
        PGS_EXPECT_STR(what, ps.p[0].value, cases[i].value);
        PGS_EXPECT_STR(what, ps.p[0].rule, cases[i].rule);
        PGS_EXPECT_STR(what, ps.p[0].env, "");
    }
    s_problems_t ps;
    /* Enum words match in any case, as log levels always did. */
    PGS_EXPECT_INT("check(level = WARN, provider = OpenAI)",
                   s_check_text("[log]\nlevel = WARN\n[model.m]\nprovider = OpenAI\n"
                                "base_url = https://x\n",
                                &ps),
                   0);
    /* Every problem is reported, not only the first. */
    PGS_EXPECT_INT("check(three problems)",
                   s_check_text("[edge]\nport = 0\nmax_headers = 1\n[nope]\n", &ps), 3);
    char line[640];
    pgs_conf_problem_format(&ps.p[0], line, sizeof line);
    PGS_EXPECT_STR("format(section problem)", line, "[nope]: unknown section");
    pgs_conf_problem_format(&ps.p[1], line, sizeof line);
    PGS_EXPECT_STR("format(value problem)", line,
                   "[edge] port = \"0\": must be an integer from 1 to 65535");
}

static void
test_check_env(void **state)
{
    (void)state;
    /* An override is checked like a file value, and named. */
    setenv("PEGASUS_AUTH_TOUCH_INTERVAL_S", "0", 1);
    s_problems_t ps;
    PGS_EXPECT_INT("check(env override, key not in the file)", s_check_text("", &ps), 1);
    PGS_EXPECT_STR("env problem section", ps.p[0].section, "auth");
    PGS_EXPECT_STR("env problem key", ps.p[0].key, "touch_interval_s");
    PGS_EXPECT_STR("env problem value", ps.p[0].value, "0");
    PGS_EXPECT_STR("env problem env", ps.p[0].env, "PEGASUS_AUTH_TOUCH_INTERVAL_S");
    char line[640];
    pgs_conf_problem_format(&ps.p[0], line, sizeof line);
    PGS_EXPECT_STR("format(env problem)", line,
                   "[auth] touch_interval_s = \"0\" (from PEGASUS_AUTH_TOUCH_INTERVAL_S): must be "
                   "an integer from 1 to 86400");
    /* A valid override hides an invalid file value. */
    setenv("PEGASUS_AUTH_TOUCH_INTERVAL_S", "30", 1);
    PGS_EXPECT_INT("check(valid env over a bad file value)",
                   s_check_text("[auth]\ntouch_interval_s = 0\n", &ps), 0);
    unsetenv("PEGASUS_AUTH_TOUCH_INTERVAL_S");

    /* A family key: checked for the members the file has. */
    setenv("PEGASUS_PLAN_UTPRO_MAX_BOTS", "-1", 1);
    PGS_EXPECT_INT("check(family env override)", s_check_text("[plan.utpro]\n", &ps), 1);
    PGS_EXPECT_STR("family env problem", ps.p[0].env, "PEGASUS_PLAN_UTPRO_MAX_BOTS");
    PGS_EXPECT_INT("check(family env override, no such member)", s_check_text("", &ps), 0);
    unsetenv("PEGASUS_PLAN_UTPRO_MAX_BOTS");
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
    s_problems_t ps = {.n = 0};
    int n = pgs_conf_check(cfg, s_collect, &ps);
    if (n)
        fail_msg("check(config/pegasus.conf): got %d problems, the first [%s] %s: %s, want 0", n,
                 ps.p[0].section, ps.p[0].key, ps.p[0].rule);
    /* The plans of SPEC §1, with api_access off only on free. */
    static const struct {
        const char *plan;
        int api_access;
    } plans[] = {{"free", 0}, {"pro", 1}, {"ultra", 1}};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "[plan.%s] api_access", plans[i].plan);
        PGS_EXPECT_INT(what, pgs_conf_bool_in(cfg, PGS_KEY_PLAN_API_ACCESS, plans[i].plan),
                       plans[i].api_access);
        snprintf(what, sizeof what, "[plan.%s] messages_per_month is set", plans[i].plan);
        PGS_EXPECT_INT(what,
                       pgs_conf_is_set_in(cfg, PGS_KEY_PLAN_MESSAGES_PER_MONTH, plans[i].plan), 1);
    }
    PGS_EXPECT_STR("[model.pegasus-lite] provider",
                   pgs_conf_str_in(cfg, PGS_KEY_MODEL_PROVIDER, "pegasus-lite"), "builtin");
    PGS_EXPECT_INT("[model.pegasus-max] passages",
                   pgs_conf_int_in(cfg, PGS_KEY_MODEL_PASSAGES, "pegasus-max"), 8);
    PGS_EXPECT_INT("[edge] port", pgs_conf_int(cfg, PGS_KEY_EDGE_PORT), 8080);
    pgs_config_destroy(&cfg);

    cfg = pgs_conf_open("config/pegasus.conf");
    if (!cfg)
        fail_msg("open(config/pegasus.conf): got NULL, want a config");
    pgs_config_destroy(&cfg);
}

static void
test_open(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(pgs_test_tmpdir(dir));
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    PGS_EXPECT_NULL("open(missing file)", pgs_conf_open(path));
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[edge]\nport = 0\n", f);
    fclose(f);
    PGS_EXPECT_NULL("open(file with a bad value)", pgs_conf_open(path));
    PGS_EXPECT_STR("path(given)", pgs_conf_path("x.conf"), "x.conf");
    setenv("PEGASUS_CONFIG", "from-env.conf", 1);
    PGS_EXPECT_STR("path(NULL, $PEGASUS_CONFIG)", pgs_conf_path(NULL), "from-env.conf");
    unsetenv("PEGASUS_CONFIG");
    PGS_EXPECT_STR("path(NULL)", pgs_conf_path(NULL), "config/pegasus.conf");
    PGS_EXPECT_STR("path(\"\")", pgs_conf_path(""), "config/pegasus.conf");
    char readers[96];
    pgs_conf_readers(PGS_CONF_EDGE | PGS_CONF_CHAT | PGS_CONF_CTL, readers, sizeof readers);
    PGS_EXPECT_STR("readers", readers, "edge,chat,ctl");
    assert_int_equal(pgs_test_rmtree(dir), 0);
}

int
main(void)
{
    /* An operator's environment must not leak into the expectations. */
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, "PEGASUS_", 8) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(*e, "="), *e);
                unsetenv(name);
                again = 1;
                break;
            }
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),         cmocka_unit_test(test_getters),
        cmocka_unit_test(test_parse_int),     cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_check_refuses), cmocka_unit_test(test_check_env),
        cmocka_unit_test(test_repo_config),   cmocka_unit_test(test_open),
    };
    return cmocka_run_group_tests_name("pgs_conf", tests, NULL, NULL);
}
