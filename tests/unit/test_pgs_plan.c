/*
 * test_pgs_plan — plan limits and which plans a model allows, from config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pgs_plan.h"

static const char s_conf[] = "[plan.free]\n"
                             "max_bots = 1\n"
                             "[plan.pro]\n"
                             "max_bots = 20\n"
                             "max_documents_per_bot = many\n"
                             "[model.pegasus-lite]\n"
                             "plans = pro ultra\n"
                             "[model.pegasus-max]\n"
                             "plans = ultra,pro-x\n";

static void
test_list_has(void **state)
{
    (void)state;
    static const struct {
        const char *list, *word;
        int want;
    } cases[] = {
        {"pro ultra", "pro", 1},     {"pro ultra", "ultra", 1}, {"pro,ultra", "ultra", 1},
        {" pro\tultra ", "ultra", 1}, {"pro ultra", "pr", 0},   {"pro-x", "pro", 0},
        {"", "pro", 0},              {NULL, "pro", 0},          {"pro", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = pgs_plan_list_has(cases[i].list, cases[i].word);
        if (got != cases[i].want)
            fail_msg("list_has(%s, %s): got %d, want %d", cases[i].list ? cases[i].list : "NULL",
                     cases[i].word, got, cases[i].want);
    }
}

static void
test_plans_and_models(void **state)
{
    (void)state;
    char err[128];
    pgs_config_t *cfg = pgs_config_parse(s_conf, err, sizeof err);
    assert_non_null(cfg);
    assert_int_equal(pgs_plan_int(cfg, "free", PGS_KEY_PLAN_MAX_BOTS), 1);
    assert_int_equal(pgs_plan_int(cfg, "pro", PGS_KEY_PLAN_MAX_BOTS), 20);
    /* Missing, invalid (logged) and a bad plan name: the table's default. */
    assert_int_equal(pgs_plan_int(cfg, "pro", PGS_KEY_PLAN_MAX_DOCUMENT_BYTES), 1048576);
    assert_int_equal(pgs_plan_int(cfg, "pro", PGS_KEY_PLAN_MAX_DOCUMENTS_PER_BOT), 0);
    assert_int_equal(pgs_plan_int(cfg, "../x", PGS_KEY_PLAN_MAX_BOTS), 0);
    assert_int_equal(pgs_plan_exists(cfg, "pro"), 1);
    assert_int_equal(pgs_plan_exists(cfg, "ultra"), 0);
    assert_int_equal(pgs_plan_exists(cfg, ""), 0);
    assert_int_equal(pgs_plan_model_allows(cfg, "pegasus-lite", "pro"), 1);
    assert_int_equal(pgs_plan_model_allows(cfg, "pegasus-lite", "free"), 0);
    assert_int_equal(pgs_plan_model_allows(cfg, "pegasus-max", "pro"), 0);
    assert_int_equal(pgs_plan_model_allows(cfg, "pegasus-max", "ultra"), 1);
    assert_int_equal(pgs_plan_model_allows(cfg, "nope", "ultra"), 0);
    assert_int_equal(pgs_plan_model_allows(cfg, "pegasus lite", "pro"), 0);
    pgs_config_destroy(&cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_has),
        cmocka_unit_test(test_plans_and_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
