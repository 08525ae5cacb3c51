/*
 * Unit tests of services/master/master_proc: service declarations, the
 * restart back-off (1 s doubling to 30 s, reset after a stable minute), the
 * status object, restart and scale refusals, and shutdown (the edge first).
 *
 * Times are passed in, so the back-off is tested with a fake clock. Two
 * ways to make a process "die at start":
 *   - without any process: PEGASUS_HOME under /dev/null, so the log file
 *     cannot be opened and every start fails like a death at start (the
 *     delays are read from the supervisor's "retrying in N ms" log line);
 *   - with real, short-lived children: a pegasus-<name> shell script that
 *     exits at once (test_crash_backoff).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "master/master_proc.h"
#include "pgs_log.h"
#include "pgs_test.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    char dir[64];
    char bindir[128];
    char home[128];
} s_env_t;

/* Writes an executable bindir/pegasus-<name> that runs body. */
static void
s_script(const s_env_t *e, const char *name, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "%s/pegasus-%s", e->bindir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0755);
}

static int
s_setup(void **state)
{
    s_env_t *e = calloc(1, sizeof *e);
    if (!pgs_test_tmpdir(e->dir))
        return -1;
    snprintf(e->bindir, sizeof e->bindir, "%s/bin", e->dir);
    snprintf(e->home, sizeof e->home, "%s/home", e->dir);
    mkdir(e->bindir, 0700);
    mkdir(e->home, 0700);
    s_script(e, "svc", "exit 3");
    s_script(e, "edge", "exit 3");
    s_script(e, "other", "exit 3");
    *state = e;
    return 0;
}

static int
s_teardown(void **state)
{
    s_env_t *e = *state;
    pgs_test_rmtree(e->dir);
    free(e);
    return 0;
}

/* ---- capturing the supervisor's log (stderr) ---- */

static int s_saved_fd = -1;
static char s_cap_path[160];

static void
s_capture_begin(const s_env_t *e)
{
    snprintf(s_cap_path, sizeof s_cap_path, "%s/stderr.txt", e->dir);
    fflush(stderr);
    s_saved_fd = dup(2);
    int fd = open(s_cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
}

/* Restores stderr; returns what was written (owned). */
static char *
s_capture_end(void)
{
    fflush(stderr);
    dup2(s_saved_fd, 2);
    close(s_saved_fd);
    FILE *f = fopen(s_cap_path, "r");
    char *text = calloc(1, 65536);
    if (f) {
        size_t n = fread(text, 1, 65535, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

/* Ticks at now and returns the "retrying in N ms" delay logged for a failed
 * start, or -1 when no start was attempted. */
static int
s_tick_delay(const s_env_t *e, master_proc_t *p, int64_t now)
{
    s_capture_begin(e);
    master_proc_tick(p, now);
    char *log = s_capture_end();
    const char *at = strstr(log, "retrying in ");
    int delay = -1;
    if (at && strstr(log, "cannot start"))
        delay = atoi(at + 12);
    free(log);
    return delay;
}

/* ---- tests ---- */

static void
test_add(void **state)
{
    s_env_t *e = *state;
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", e->home);
    char err[256];
    static const struct {
        const char *name;
        int count;
        int rc;
        const char *err_part;
    } cases[] = {
        {"svc", 1, 0, NULL},
        {"svc", 1, -1, "declared twice"},
        {"", 0, -1, "is not 1-32 characters"},
        {"Svc", 0, -1, "is not 1-32 characters"},
        {"a b", 0, -1, "is not 1-32 characters"},
        {"a/b", 0, -1, "is not 1-32 characters"},
        {"../x", 0, -1, "is not 1-32 characters"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, -1, "is not 1-32 characters"}, /* 33 */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0, NULL},                     /* 32 */
        {"ok-name_1", 0, 0, NULL},
        {"neg", -1, -1, "processes must be 0-64"},
        {"big", 65, -1, "processes must be 0-64"},
        {"missing", 1, -1, "is not an executable"},
        {"missing0", 0, 0, NULL}, /* no executable needed for 0 */
        {"edge", 64, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        char what[128];
        snprintf(what, sizeof what, "add(\"%s\", %d)", cases[i].name, cases[i].count);
        PGS_EXPECT_INT(what, master_proc_add(p, cases[i].name, cases[i].count, 1, err, sizeof err),
                       cases[i].rc);
        if (cases[i].err_part && !strstr(err, cases[i].err_part))
            fail_msg("%s: got error \"%s\", want it to contain \"%s\"", what, err,
                     cases[i].err_part);
    }
    /* Up to 32 services. */
    int added = 5; /* svc, 32 a's, ok-name_1, missing0, edge */
    for (int i = 0; added < MASTER_PROC_MAX_SERVICES; i++, added++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", i);
        PGS_EXPECT_INT(name, master_proc_add(p, name, 0, 1, err, sizeof err), 0);
    }
    PGS_EXPECT_INT("33rd service", master_proc_add(p, "one-more", 0, 1, err, sizeof err), -1);
    if (!strstr(err, "more than 32 services"))
        fail_msg("33rd service: got error \"%s\"", err);
    PGS_EXPECT_INT("nothing started by add", master_proc_live(p), 0);
    master_proc_destroy(&p);
    PGS_EXPECT_NULL("destroy sets NULL", p);
    master_proc_destroy(&p);
    master_proc_destroy(NULL);
}

static void
test_start_failure_backoff(void **state)
{
    s_env_t *e = *state;
    /* No process: the log cannot be opened, each start fails. */
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", "/dev/null/home");
    char err[256];
    PGS_EXPECT_INT("add", master_proc_add(p, "svc", 1, 1, err, sizeof err), 0);
    static const int want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    int64_t now = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "start %zu: delay", i + 1);
        PGS_EXPECT_INT(what, s_tick_delay(e, p, now), want[i]);
        snprintf(what, sizeof what, "start %zu: tick 1 ms early", i + 2);
        PGS_EXPECT_INT(what, s_tick_delay(e, p, now + want[i] - 1), -1);
        now += want[i];
    }
    json_t *st = master_proc_status(p, now);
    char *text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    PGS_EXPECT_STR("status while failing to start", text,
                   "{\"processes\":[{\"service\":\"svc\",\"instance\":1,\"pid\":0,"
                   "\"state\":\"backoff\",\"uptime_s\":0,\"restarts\":0}]}");
    free(text);
    json_decref(st);
    /* An operator restart skips the wait and resets the back-off. */
    PGS_EXPECT_INT("restart", master_proc_restart(p, "svc", now + 5, err, sizeof err), 0);
    PGS_EXPECT_INT("tick after a restart: delay", s_tick_delay(e, p, now + 5), 1000);
    master_proc_destroy(&p);
}

static void
test_status(void **state)
{
    s_env_t *e = *state;
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", "/dev/null/home");
    char err[256];
    json_t *st = master_proc_status(p, 0);
    char *text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    PGS_EXPECT_STR("empty table", text, "{\"processes\":[]}");
    free(text);
    json_decref(st);
    master_proc_add(p, "edge", 1, 0, err, sizeof err);
    master_proc_add(p, "other", 0, 1, err, sizeof err);
    master_proc_add(p, "svc", 2, 1, err, sizeof err);
    st = master_proc_status(p, 0);
    text = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
    PGS_EXPECT_STR(
        "three services, one with no process", text,
        "{\"processes\":["
        "{\"service\":\"edge\",\"instance\":1,\"pid\":0,\"state\":\"backoff\",\"uptime_s\":0,"
        "\"restarts\":0},"
        "{\"service\":\"svc\",\"instance\":1,\"pid\":0,\"state\":\"backoff\",\"uptime_s\":0,"
        "\"restarts\":0},"
        "{\"service\":\"svc\",\"instance\":2,\"pid\":0,\"state\":\"backoff\",\"uptime_s\":0,"
        "\"restarts\":0}]}");
    free(text);
    json_decref(st);
    master_proc_destroy(&p);
}

static void
test_restart_and_scale_refusals(void **state)
{
    s_env_t *e = *state;
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", "/dev/null/home");
    char err[256];
    master_proc_add(p, "edge", 1, 0, err, sizeof err);
    master_proc_add(p, "other", 0, 1, err, sizeof err);
    master_proc_add(p, "svc", 1, 1, err, sizeof err);
    master_proc_add(p, "gone", 0, 1, err, sizeof err); /* no executable */
    static const struct {
        const char *service;
        int rc;
        const char *err_part;
    } restarts[] = {
        {"svc", 0, NULL},
        {"edge", 0, NULL},
        {"nope", -1, "unknown service: nope"},
        {"", -1, "unknown service"},
        {"other", -1, "has no processes"},
    };
    for (size_t i = 0; i < sizeof restarts / sizeof restarts[0]; i++) {
        err[0] = '\0';
        char what[96];
        snprintf(what, sizeof what, "restart(\"%s\")", restarts[i].service);
        PGS_EXPECT_INT(what, master_proc_restart(p, restarts[i].service, 0, err, sizeof err),
                       restarts[i].rc);
        if (restarts[i].err_part && !strstr(err, restarts[i].err_part))
            fail_msg("%s: got error \"%s\", want \"%s\"", what, err, restarts[i].err_part);
    }
    static const struct {
        const char *service;
        long long count;
        int rc;
        const char *err_part;
    } scales[] = {
        {"svc", 3, 0, NULL},
        {"svc", 1, 0, NULL},
        {"svc", 64, 0, NULL},
        {"svc", 0, -1, "count must be 1-64"},
        {"svc", -1, -1, "count must be 1-64"},
        {"svc", 65, -1, "count must be 1-64"},
        {"svc", 4294967297LL, -1, "count must be 1-64"}, /* would be 1 as an int */
        {"svc", -9223372036854775807LL - 1, -1, "count must be 1-64"},
        {"edge", 2, -1, "cannot be scaled"},
        {"nope", 2, -1, "unknown service: nope"},
        {"gone", 1, -1, "is not an executable"},
        {"other", 2, 0, NULL},
    };
    for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
        err[0] = '\0';
        char what[96];
        snprintf(what, sizeof what, "scale(\"%s\", %lld)", scales[i].service, scales[i].count);
        PGS_EXPECT_INT(what, master_proc_scale(p, scales[i].service, scales[i].count, 0, err,
                                               sizeof err),
                       scales[i].rc);
        if (scales[i].err_part && !strstr(err, scales[i].err_part))
            fail_msg("%s: got error \"%s\", want \"%s\"", what, err, scales[i].err_part);
    }
    /* svc 64, other 2, edge 1: one status entry per wanted slot. */
    json_t *st = master_proc_status(p, 0);
    PGS_EXPECT_INT("status entries after scaling", json_array_size(json_object_get(st, "processes")),
                   67);
    json_decref(st);
    PGS_EXPECT_INT("scale svc down to 2", master_proc_scale(p, "svc", 2, 0, err, sizeof err), 0);
    st = master_proc_status(p, 0);
    PGS_EXPECT_INT("status entries after scaling down",
                   json_array_size(json_object_get(st, "processes")), 5);
    json_t *last = json_array_get(json_object_get(st, "processes"), 4);
    /* Services in declaration order (edge, other, svc), instances in order. */
    PGS_EXPECT_STR("last entry service", json_string_value(json_object_get(last, "service")),
                   "svc");
    PGS_EXPECT_INT("last entry instance", json_integer_value(json_object_get(last, "instance")), 2);
    json_decref(st);

    master_proc_shutdown(p, 0, 0);
    PGS_EXPECT_INT("done after shutdown (nothing running)", master_proc_done(p), 1);
    PGS_EXPECT_INT("restart while shutting down", master_proc_restart(p, "svc", 0, err, sizeof err),
                   -1);
    if (!strstr(err, "shutting down"))
        fail_msg("restart while shutting down: got error \"%s\"", err);
    PGS_EXPECT_INT("scale while shutting down", master_proc_scale(p, "svc", 3, 0, err, sizeof err),
                   -1);
    if (!strstr(err, "shutting down"))
        fail_msg("scale while shutting down: got error \"%s\"", err);
    PGS_EXPECT_INT("no start after shutdown: delay", s_tick_delay(e, p, 1000000), -1);
    st = master_proc_status(p, 0);
    PGS_EXPECT_INT("status entries after shutdown", json_array_size(json_object_get(st, "processes")),
                   0);
    json_decref(st);
    master_proc_destroy(&p);
}

/* Reaps at fake time now until no child is left (real time up to 5 s). */
static void
s_reap_all(master_proc_t *p, int64_t now)
{
    for (int i = 0; i < 500 && master_proc_live(p) > 0; i++) {
        master_proc_reap(p, now);
        if (master_proc_live(p) == 0)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (master_proc_live(p) != 0)
        fail_msg("a child did not exit within 5 s");
}

static void
test_crash_backoff(void **state)
{
    s_env_t *e = *state;
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", e->home);
    char err[256];
    PGS_EXPECT_INT("add", master_proc_add(p, "svc", 1, 1, err, sizeof err), 0);
    s_capture_begin(e); /* the supervisor's lines about the crashes */
    /* Each start dies 100 ms (fake) later: 1, 2, 4, 8, 16, 30, 30 s. */
    static const int want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    int64_t now = 0;
    master_proc_tick(p, now);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "start %zu: live", i + 1);
        PGS_EXPECT_INT(what, master_proc_live(p), 1);
        now += 100;
        s_reap_all(p, now);
        snprintf(what, sizeof what, "after crash %zu: tick %d ms later", i + 1, want[i] - 1);
        master_proc_tick(p, now + want[i] - 1);
        PGS_EXPECT_INT(what, master_proc_live(p), 0);
        now += want[i];
        master_proc_tick(p, now);
    }
    json_t *st = master_proc_status(p, now);
    json_t *o = json_array_get(json_object_get(st, "processes"), 0);
    PGS_EXPECT_INT("restarts", json_integer_value(json_object_get(o, "restarts")), 7);
    PGS_EXPECT_STR("state just started", json_string_value(json_object_get(o, "state")),
                   "starting");
    if (json_integer_value(json_object_get(o, "pid")) <= 0)
        fail_msg("pid of a started process: got %lld, want > 0",
                 (long long)json_integer_value(json_object_get(o, "pid")));
    json_decref(st);
    st = master_proc_status(p, now + MASTER_PROC_SETTLE_MS);
    o = json_array_get(json_object_get(st, "processes"), 0);
    PGS_EXPECT_STR("state after settling", json_string_value(json_object_get(o, "state")),
                   "running");
    PGS_EXPECT_INT("uptime_s", json_integer_value(json_object_get(o, "uptime_s")), 1);
    json_decref(st);
    /* Up for a stable minute: restarted at once, and the back-off is reset. */
    now += MASTER_PROC_STABLE_MS;
    s_reap_all(p, now);
    master_proc_tick(p, now);
    PGS_EXPECT_INT("after a stable minute: restarted at once", master_proc_live(p), 1);
    now += 100;
    s_reap_all(p, now);
    master_proc_tick(p, now + 999);
    PGS_EXPECT_INT("back-off reset: not before 1 s", master_proc_live(p), 0);
    master_proc_tick(p, now + 1000);
    PGS_EXPECT_INT("back-off reset: started after 1 s", master_proc_live(p), 1);
    /* Shutdown: the child gets SIGTERM (it has exited already or soon will). */
    master_proc_shutdown(p, now + 1000, 0);
    s_reap_all(p, now + 1100);
    PGS_EXPECT_INT("done", master_proc_done(p), 1);
    char *log = s_capture_end();
    if (!strstr(log, "restarting in 1000 ms") || !strstr(log, "restarting in 30000 ms"))
        fail_msg("log: got no \"restarting in 1000 ms\"/\"30000 ms\" lines:\n%s", log);
    if (!strstr(log, "restarting now"))
        fail_msg("log: got no \"restarting now\" line after the stable minute");
    free(log);
    master_proc_destroy(&p);
}

/* Shutdown stops the edge alone, and the workers once it has exited: its
 * last requests still need them. */
static void
test_shutdown_stops_the_edge_first(void **state)
{
    s_env_t *e = *state;
    char body[512], marker[128];
    snprintf(marker, sizeof marker, "%s/svc.term", e->dir);
    s_script(e, "edge", "trap 'sleep 0.3; exit 0' TERM\nwhile :; do sleep 0.02; done");
    snprintf(body, sizeof body, "trap 'echo term > %s; exit 0' TERM\nwhile :; do sleep 0.02; done",
             marker);
    s_script(e, "svc", body);
    master_proc_t *p = master_proc_new(e->bindir, "/etc/pegasus.conf", e->home);
    char err[256];
    PGS_EXPECT_INT("add edge", master_proc_add(p, "edge", 1, 0, err, sizeof err), 0);
    PGS_EXPECT_INT("add svc", master_proc_add(p, "svc", 2, 1, err, sizeof err), 0);
    PGS_EXPECT_INT("stop_first edge", master_proc_stop_first(p, "edge"), 0);
    PGS_EXPECT_INT("stop_first unknown", master_proc_stop_first(p, "nope"), -1);
    s_capture_begin(e);
    master_proc_tick(p, 0);
    PGS_EXPECT_INT("live after start", master_proc_live(p), 3);
    struct timespec ts = {0, 150 * 1000 * 1000}; /* the scripts set their traps */
    nanosleep(&ts, NULL);
    master_proc_shutdown(p, 0, 0);
    nanosleep(&ts, NULL);
    master_proc_reap(p, 150);
    master_proc_tick(p, 150);
    PGS_EXPECT_INT("svc told to stop while the edge drains", access(marker, F_OK) == 0, 0);
    PGS_EXPECT_INT("live while the edge drains", master_proc_live(p), 3);
    for (int i = 0; i < 500 && master_proc_live(p) > 0; i++) {
        master_proc_reap(p, 200);
        master_proc_tick(p, 200);
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    char *log = s_capture_end();
    PGS_EXPECT_INT("live at the end", master_proc_live(p), 0);
    PGS_EXPECT_INT("done", master_proc_done(p), 1);
    PGS_EXPECT_INT("svc got SIGTERM after the edge", access(marker, F_OK) == 0, 1);
    if (strstr(log, "killing"))
        fail_msg("a process was killed:\n%s", log);
    free(log);
    master_proc_destroy(&p);
}

int
main(void)
{
    pgs_log_set_level("info");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_start_failure_backoff, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_status, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_scale_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_crash_backoff, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_stops_the_edge_first, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("master_proc", tests, NULL, NULL);
}
