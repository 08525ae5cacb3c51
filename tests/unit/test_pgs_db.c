/*
 * Unit tests of common/pgs_db: migrations by user_version, the statement
 * cache, and transactions, on a database in a private temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_db.h"
#include "pgs_test.h"

#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
} s_fixture_t;

static int
s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    if (!f || !pgs_test_tmpdir(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    s_fixture_t *f = *state;
    int rc = pgs_test_rmtree(f->dir);
    free(f);
    return rc;
}

/* One integer from a query, or fails the test. */
static long long
s_int(pgs_db_t *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(pgs_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(pgs_db_handle(db)));
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        fail_msg("step %s: got no row", sql);
    }
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static const char *
s_text(pgs_db_t *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(pgs_db_handle(db), sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

/* Every migration appends a row to runs: re-running one would show. */
static const char *const s_migrations[] = {
    "CREATE TABLE runs(n INTEGER NOT NULL);"
    "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
    "INSERT INTO runs VALUES (1);",
    "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
    "CREATE TABLE child(p INTEGER REFERENCES parent(id));"
    "INSERT INTO runs VALUES (2);",
    "ALTER TABLE t ADD COLUMN w TEXT; INSERT INTO runs VALUES (3);",
};

static void
test_migrations(void **state)
{
    s_fixture_t *f = *state;
    char buf[64];
    pgs_db_t *db = pgs_db_open(f->path, s_migrations, 2, 0);
    if (!db)
        fail_msg("pgs_db_open(new file, 2 migrations): got NULL, want a handle");
    PGS_EXPECT_INT("user_version after 2 migrations", s_int(db, "PRAGMA user_version"), 2);
    PGS_EXPECT_INT("runs after 2 migrations", s_int(db, "SELECT count(*) FROM runs"), 2);
    PGS_EXPECT_STR("journal_mode", s_text(db, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    PGS_EXPECT_INT("foreign_keys", s_int(db, "PRAGMA foreign_keys"), 1);
    PGS_EXPECT_INT("synchronous NORMAL", s_int(db, "PRAGMA synchronous"), 1);
    PGS_EXPECT_INT("autocommit after open", sqlite3_get_autocommit(pgs_db_handle(db)), 1);
    /* Foreign keys are enforced. */
    PGS_EXPECT_INT("insert child without parent", pgs_db_exec(db, "INSERT INTO child VALUES (99)"),
                   -1);
    pgs_db_destroy(&db);
    PGS_EXPECT_NULL("handle after destroy", db);
    pgs_db_destroy(&db);
    pgs_db_destroy(NULL);

    /* Reopening does not re-run them. */
    db = pgs_db_open(f->path, s_migrations, 2, 1);
    if (!db)
        fail_msg("pgs_db_open(reopen): got NULL, want a handle");
    PGS_EXPECT_INT("user_version after reopen", s_int(db, "PRAGMA user_version"), 2);
    PGS_EXPECT_INT("runs after reopen", s_int(db, "SELECT count(*) FROM runs"), 2);
    PGS_EXPECT_INT("synchronous FULL", s_int(db, "PRAGMA synchronous"), 2);
    pgs_db_destroy(&db);

    /* A new migration runs alone. */
    db = pgs_db_open(f->path, s_migrations, 3, 0);
    if (!db)
        fail_msg("pgs_db_open(3 migrations): got NULL, want a handle");
    PGS_EXPECT_INT("user_version after a third migration", s_int(db, "PRAGMA user_version"), 3);
    PGS_EXPECT_INT("runs after a third migration", s_int(db, "SELECT count(*) FROM runs"), 3);
    PGS_EXPECT_INT("sum of runs", s_int(db, "SELECT sum(n) FROM runs"), 6);
    pgs_db_destroy(&db);

    /* A failing migration leaves the database as it was. */
    static const char *const broken[] = {
        s_migrations[0],
        s_migrations[1],
        s_migrations[2],
        "INSERT INTO runs VALUES (4); THIS IS NOT SQL;",
    };
    db = pgs_db_open(f->path, broken, 4, 0);
    PGS_EXPECT_NULL("pgs_db_open(failing migration)", db);
    db = pgs_db_open(f->path, s_migrations, 3, 0);
    if (!db)
        fail_msg("pgs_db_open(after a failed migration): got NULL, want a handle");
    PGS_EXPECT_INT("user_version after a failed migration", s_int(db, "PRAGMA user_version"), 3);
    PGS_EXPECT_INT("runs after a failed migration", s_int(db, "SELECT count(*) FROM runs"), 3);
    pgs_db_destroy(&db);

    /* No migrations at all, and a path that cannot be created. */
    char other[160];
    snprintf(other, sizeof other, "%s/empty.db", f->dir);
    db = pgs_db_open(other, NULL, 0, 0);
    if (!db)
        fail_msg("pgs_db_open(no migrations): got NULL, want a handle");
    PGS_EXPECT_INT("user_version without migrations", s_int(db, "PRAGMA user_version"), 0);
    pgs_db_destroy(&db);
    snprintf(other, sizeof other, "%s/missing/dir/x.db", f->dir);
    PGS_EXPECT_NULL("pgs_db_open(missing directory)", pgs_db_open(other, s_migrations, 1, 0));
}

static const char s_sql_insert[] = "INSERT INTO t(v) VALUES (?1)";
static const char s_sql_echo[] = "SELECT ?1";
static const char s_sql_echo_copy[] = "SELECT ?1";
static const char s_sql_count[] = "SELECT count(*) FROM t";
static const char s_sql_bad[] = "SELEKT nothing";

static void
test_stmt_cache(void **state)
{
    s_fixture_t *f = *state;
    pgs_db_t *db = pgs_db_open(f->path, s_migrations, 1, 0);
    assert_non_null(db);

    sqlite3_stmt *a = pgs_db_stmt(db, s_sql_echo);
    assert_non_null(a);
    PGS_EXPECT_INT("bind", sqlite3_bind_int(a, 1, 42), SQLITE_OK);
    PGS_EXPECT_INT("step", sqlite3_step(a), SQLITE_ROW);
    PGS_EXPECT_INT("SELECT ?1 with 42", sqlite3_column_int(a, 0), 42);

    /* The same SQL pointer: the same statement, reset with bindings cleared. */
    sqlite3_stmt *b = pgs_db_stmt(db, s_sql_echo);
    if (a != b)
        fail_msg("pgs_db_stmt(same sql twice): got two statements, want one");
    PGS_EXPECT_INT("step after reuse", sqlite3_step(b), SQLITE_ROW);
    PGS_EXPECT_INT("binding after reuse is NULL", sqlite3_column_type(b, 0), SQLITE_NULL);
    PGS_EXPECT_STR("col_text of NULL", pgs_db_col_text(b, 0), "");
    sqlite3_reset(b);

    /* Equal text at another address is another cache entry. */
    sqlite3_stmt *c = pgs_db_stmt(db, s_sql_echo_copy);
    assert_non_null(c);
    if (c == a)
        fail_msg("pgs_db_stmt(equal text, other pointer): got the same statement, want another");

    pgs_db_bind_text(c, 1, "hello");
    PGS_EXPECT_INT("step text", sqlite3_step(c), SQLITE_ROW);
    PGS_EXPECT_STR("col_text", pgs_db_col_text(c, 0), "hello");
    c = pgs_db_stmt(db, s_sql_echo_copy);
    pgs_db_bind_text(c, 1, NULL);
    PGS_EXPECT_INT("step NULL text", sqlite3_step(c), SQLITE_ROW);
    PGS_EXPECT_INT("bind_text(NULL) binds NULL", sqlite3_column_type(c, 0), SQLITE_NULL);
    sqlite3_reset(c);

    /* bind_text copies: the buffer may change after binding. */
    char tmp[16] = "copied";
    sqlite3_stmt *ins = pgs_db_stmt(db, s_sql_insert);
    assert_non_null(ins);
    pgs_db_bind_text(ins, 1, tmp);
    memcpy(tmp, "CHANGED", 8);
    PGS_EXPECT_INT("insert", sqlite3_step(ins), SQLITE_DONE);
    char buf[32];
    PGS_EXPECT_STR("bound text was copied", s_text(db, "SELECT v FROM t", buf, sizeof buf),
                   "copied");

    PGS_EXPECT_NULL("pgs_db_stmt(bad sql)", pgs_db_stmt(db, s_sql_bad));
    /* The failure is not cached. */
    PGS_EXPECT_NULL("pgs_db_stmt(bad sql) again", pgs_db_stmt(db, s_sql_bad));
    pgs_db_destroy(&db);
}

static long long
s_count(pgs_db_t *db)
{
    sqlite3_stmt *st = pgs_db_stmt(db, s_sql_count);
    if (!st || sqlite3_step(st) != SQLITE_ROW)
        fail_msg("count: no row");
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static void
s_insert(pgs_db_t *db, const char *v)
{
    sqlite3_stmt *st = pgs_db_stmt(db, s_sql_insert);
    assert_non_null(st);
    pgs_db_bind_text(st, 1, v);
    PGS_EXPECT_INT("insert step", sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
}

static void
test_transactions(void **state)
{
    s_fixture_t *f = *state;
    pgs_db_t *db = pgs_db_open(f->path, s_migrations, 1, 0);
    assert_non_null(db);
    sqlite3 *h = pgs_db_handle(db);
    assert_non_null(h);

    PGS_EXPECT_INT("begin", pgs_db_begin(db), 0);
    PGS_EXPECT_INT("autocommit inside a transaction", sqlite3_get_autocommit(h), 0);
    PGS_EXPECT_INT("begin inside a transaction", pgs_db_begin(db), -1);
    s_insert(db, "a");
    PGS_EXPECT_INT("count inside the transaction", s_count(db), 1);
    pgs_db_rollback(db);
    PGS_EXPECT_INT("autocommit after rollback", sqlite3_get_autocommit(h), 1);
    PGS_EXPECT_INT("count after rollback", s_count(db), 0);

    PGS_EXPECT_INT("begin", pgs_db_begin(db), 0);
    s_insert(db, "b");
    s_insert(db, "c");
    PGS_EXPECT_INT("commit", pgs_db_commit(db), 0);
    PGS_EXPECT_INT("count after commit", s_count(db), 2);
    PGS_EXPECT_INT("commit without a transaction", pgs_db_commit(db), -1);
    pgs_db_rollback(db); /* no transaction: a no-op */
    PGS_EXPECT_INT("count after a no-op rollback", s_count(db), 2);

    /* A second connection sees committed data only, and BEGIN IMMEDIATE
     * takes the write lock at once. */
    pgs_db_t *db2 = pgs_db_open(f->path, s_migrations, 1, 0);
    assert_non_null(db2);
    PGS_EXPECT_INT("begin on connection 1", pgs_db_begin(db), 0);
    s_insert(db, "d");
    PGS_EXPECT_INT("count on connection 2 before commit", s_count(db2), 2);
    PGS_EXPECT_INT("begin on connection 2 while 1 writes", pgs_db_begin(db2), -1);
    PGS_EXPECT_INT("commit on connection 1", pgs_db_commit(db), 0);
    PGS_EXPECT_INT("count on connection 2 after commit", s_count(db2), 3);
    PGS_EXPECT_INT("begin on connection 2 after commit", pgs_db_begin(db2), 0);
    pgs_db_rollback(db2);
    pgs_db_destroy(&db2);

    PGS_EXPECT_INT("exec several statements",
                   pgs_db_exec(db, "INSERT INTO t(v) VALUES ('e'); INSERT INTO t(v) VALUES ('f');"),
                   0);
    PGS_EXPECT_INT("count after exec", s_count(db), 5);
    PGS_EXPECT_INT("exec bad sql", pgs_db_exec(db, "NOT SQL"), -1);
    pgs_db_destroy(&db);
}

/* Frames in the WAL of db (a passive checkpoint reports them). */
static int
s_wal_frames(pgs_db_t *db)
{
    int log = -1, done = -1;
    sqlite3_wal_checkpoint_v2(pgs_db_handle(db), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    return log;
}

/* The WAL is started over once it is long (SQLite's own checkpoints are
 * turned off here, as they are in effect when readers never leave the WAL);
 * the tick does its work at most every 5 s. */
static void
test_wal_tick(void **state)
{
    s_fixture_t *f = *state;
    pgs_db_t *db = pgs_db_open(f->path, s_migrations, 1, 0);
    assert_non_null(db);
    /* No automatic checkpoints: the WAL grows as it does when readers never
     * leave it. */
    assert_int_equal(pgs_db_exec(db, "PRAGMA wal_autocheckpoint = 0"), 0);
    assert_int_equal(pgs_db_exec(db,
                                 "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                                 " FROM n WHERE i < 5000) INSERT INTO t(v) SELECT zeroblob(3000)"
                                 " FROM n; COMMIT;"),
                     0);
    int frames = s_wal_frames(db);
    if (frames < PGS_DB_WAL_RESTART_FRAMES)
        fail_msg("setup: the WAL holds %d frames, want over %d", frames, PGS_DB_WAL_RESTART_FRAMES);

    int64_t last = 0;
    PGS_EXPECT_INT("wal_tick with a long WAL", pgs_db_wal_tick(db, &last), 1);
    if (last == 0)
        fail_msg("wal_tick did not note when it ran");
    PGS_EXPECT_INT("wal_tick again at once (it waits 5 s)", pgs_db_wal_tick(db, &last), 0);
    assert_int_equal(pgs_db_exec(db, "INSERT INTO t(v) VALUES ('after')"), 0);
    frames = s_wal_frames(db);
    if (frames > 10)
        fail_msg("after the restart and one write the WAL holds %d frames, want a few", frames);
    PGS_EXPECT_INT("rows kept", s_int(db, "SELECT count(*) FROM t"), 5001);
    pgs_db_destroy(&db);
}

static int
s_count_tick(void *arg)
{
    (*(int *)arg)++;
    return 0;
}

/* A writer waiting for another connection's write lock calls the busy tick
 * (a worker heartbeats there) and gives up after its budget. */
static void
test_busy_wait(void **state)
{
    s_fixture_t *f = *state;
    pgs_db_t *a = pgs_db_open(f->path, s_migrations, 1, 0);
    pgs_db_t *b = pgs_db_open(f->path, s_migrations, 1, 0);
    assert_non_null(a);
    assert_non_null(b);
    int ticks = 0;
    pgs_db_busy(b, 60, s_count_tick, &ticks);
    assert_int_equal(pgs_db_begin(a), 0);
    PGS_EXPECT_INT("begin while another connection writes", pgs_db_begin(b), -1);
    if (ticks < 2)
        fail_msg("the busy tick ran %d times while waiting, want several", ticks);
    PGS_EXPECT_INT("budget returned", pgs_db_busy_budget(b, 0), 60);
    ticks = 0;
    PGS_EXPECT_INT("begin with no budget", pgs_db_begin(b), -1);
    PGS_EXPECT_INT("ticks with no budget", ticks, 0);
    assert_int_equal(pgs_db_commit(a), 0);
    PGS_EXPECT_INT("begin once the lock is free", pgs_db_begin(b), 0);
    assert_int_equal(pgs_db_commit(b), 0);
    pgs_db_destroy(&a);
    pgs_db_destroy(&b);
}

/* The processes of a service open a database that does not exist yet at the
 * same moment (every start of the system): all of them succeed, and each
 * migration runs once. Before the open lock, one of them now and then got
 * "database is locked" from the switch to WAL and failed to start. */
static void
test_concurrent_open(void **state)
{
    s_fixture_t *f = *state;
    enum { N = 6, ROUNDS = 15 };
    for (int round = 0; round < ROUNDS; round++) {
        char path[160];
        snprintf(path, sizeof path, "%s/race%d.db", f->dir, round);
        pid_t kids[N];
        int go[2]; /* closed by the parent once all are forked: a start line */
        assert_int_equal(pipe(go), 0);
        for (int i = 0; i < N; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                char c;
                close(go[1]);
                (void)!read(go[0], &c, 1);
                pgs_db_t *db = pgs_db_open(path, s_migrations, 3, i % 2);
                int ok = db != NULL;
                pgs_db_destroy(&db);
                _exit(ok ? 0 : 1);
            }
        }
        close(go[0]);
        close(go[1]);
        for (int i = 0; i < N; i++) {
            int status = 0;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("round %d: process %d of %d failed to open a new database opened by all "
                         "at once",
                         round, i + 1, N);
        }
        pgs_db_t *db = pgs_db_open(path, s_migrations, 3, 0);
        assert_non_null(db);
        PGS_EXPECT_INT("migration runs after a concurrent first open",
                       s_int(db, "SELECT count(*) FROM runs"), 3);
        pgs_db_destroy(&db);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_stmt_cache, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transactions, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_open, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wal_tick, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_busy_wait, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("pgs_db", tests, NULL, NULL);
}
