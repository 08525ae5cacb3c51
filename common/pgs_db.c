/*
 * pgs_db — see pgs_db.h.
 */
#include "pgs_db.h"
#include "pgs_log.h"
#include "pgs_space.h"
#include "pgs_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define S_CACHE_MAX 128
#define S_BUSY_MS 300        /* after opening, unless the service set its own (pgs_db_busy) */
#define S_RESTART_BUSY_MS 25 /* a WAL restart holds up the writers of every process */

struct pgs_db {
    sqlite3 *handle;
    int busy_ms;              /* how long a statement waits for a lock */
    int (*busy_tick)(void *); /* called while it waits (heartbeats) */
    void *busy_arg;
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[S_CACHE_MAX];
    int ncache;
};

int
pgs_db_exec(pgs_db_t *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db->handle, sql, NULL, NULL, &err) != SQLITE_OK) {
        pgs_error("sqlite: %s", err ? err : sqlite3_errmsg(db->handle));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* SQLite's busy handler: waits in growing steps (as its own busy timeout
 * does) until db->busy_ms have passed, calling busy_tick meanwhile so a
 * worker waiting for another process's write lock keeps heartbeating. */
static int
s_busy(void *arg, int count)
{
    static const int steps[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50};
    enum { NSTEPS = sizeof steps / sizeof steps[0] };
    pgs_db_t *db = arg;
    long waited = 0;
    for (int i = 0; i < count; i++)
        waited += steps[i < NSTEPS ? i : NSTEPS - 1];
    if (waited >= db->busy_ms)
        return 0;
    long step = steps[count < NSTEPS ? count : NSTEPS - 1];
    if (waited + step > db->busy_ms)
        step = db->busy_ms - waited;
    if (db->busy_tick)
        db->busy_tick(db->busy_arg);
    usleep((useconds_t)step * 1000);
    return 1;
}

void
pgs_db_busy(pgs_db_t *db, int max_ms, int (*tick)(void *arg), void *arg)
{
    db->busy_ms = max_ms;
    db->busy_tick = tick;
    db->busy_arg = arg;
}

int
pgs_db_busy_budget(pgs_db_t *db, int max_ms)
{
    int old = db->busy_ms;
    db->busy_ms = max_ms;
    return old;
}

static int
s_user_version(pgs_db_t *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db->handle, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The processes of a service start together and open the same file: the
 * first must not be changing the journal mode or migrating while the others
 * do. SQLite answers some of these collisions (the switch to WAL among them)
 * with SQLITE_BUSY at once, without calling the busy handler, so opening is
 * serialised with flock() on a lock file beside the database. (Not on the
 * database itself: closing any descriptor of it would drop SQLite's own
 * POSIX locks.) Returns the descriptor to close when done, or -1. */
static int
s_open_lock(const char *path)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.open-lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        pgs_error("cannot open %s: %s", lock, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            pgs_error("cannot lock %s: %s", lock, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

static pgs_db_t *
s_open_locked(const char *path, const char *const *migrations, int nmigrations,
              int synchronous_full)
{
    pgs_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (pgs_space_install() < 0)
        pgs_warn("SQLite refused the space-counting VFS: a full disk will answer 500, not 507");
    if (sqlite3_open_v2(path, &db->handle,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        pgs_error("cannot open %s: %s", path,
                  db->handle ? sqlite3_errmsg(db->handle) : "out of memory");
        pgs_db_destroy(&db);
        return NULL;
    }
    /* A process already running (a restart of one of several) may hold the
     * write lock for a while; after opening the busy timeout is short,
     * since the worker loop must keep heartbeating. */
    db->busy_ms = 10000;
    sqlite3_busy_handler(db->handle, s_busy, db);
    if (pgs_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
                        " PRAGMA journal_size_limit=67108864;") < 0 ||
        pgs_db_exec(db, synchronous_full ? "PRAGMA synchronous=FULL;"
                                         : "PRAGMA synchronous=NORMAL;") < 0 ||
        pgs_db_begin(db) < 0) {
        pgs_db_destroy(&db);
        return NULL;
    }
    int version = s_user_version(db);
    for (int i = version; i >= 0 && i < nmigrations; i++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d;", i + 1);
        if (pgs_db_exec(db, migrations[i]) < 0 || pgs_db_exec(db, pragma) < 0) {
            pgs_error("migration %d of %s failed", i + 1, path);
            pgs_db_rollback(db);
            pgs_db_destroy(&db);
            return NULL;
        }
    }
    if (version < 0 || pgs_db_commit(db) < 0) {
        pgs_db_rollback(db);
        pgs_db_destroy(&db);
        return NULL;
    }
    db->busy_ms = S_BUSY_MS;
    return db;
}

pgs_db_t *
pgs_db_open(const char *path, const char *const *migrations, int nmigrations, int synchronous_full)
{
    int lock = s_open_lock(path);
    if (lock < 0)
        return NULL;
    pgs_db_t *db = s_open_locked(path, migrations, nmigrations, synchronous_full);
    close(lock);
    return db;
}

void
pgs_db_destroy(pgs_db_t **dbp)
{
    if (!dbp || !*dbp)
        return;
    pgs_db_t *db = *dbp;
    for (int i = 0; i < db->ncache; i++)
        sqlite3_finalize(db->cache[i].stmt);
    sqlite3_close(db->handle);
    free(db);
    *dbp = NULL;
}

sqlite3 *
pgs_db_handle(pgs_db_t *db)
{
    return db->handle;
}

sqlite3_stmt *
pgs_db_stmt(pgs_db_t *db, const char *sql)
{
    for (int i = 0; i < db->ncache; i++) {
        if (db->cache[i].sql == sql) {
            sqlite3_reset(db->cache[i].stmt);
            sqlite3_clear_bindings(db->cache[i].stmt);
            return db->cache[i].stmt;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
        SQLITE_OK) {
        pgs_error("sqlite prepare: %s", sqlite3_errmsg(db->handle));
        return NULL;
    }
    if (db->ncache < S_CACHE_MAX) {
        db->cache[db->ncache].sql = sql;
        db->cache[db->ncache].stmt = st;
        db->ncache++;
    } else {
        pgs_error("sqlite statement cache full; raise S_CACHE_MAX");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int
pgs_db_begin(pgs_db_t *db)
{
    return pgs_db_exec(db, "BEGIN IMMEDIATE");
}

int
pgs_db_commit(pgs_db_t *db)
{
    return pgs_db_exec(db, "COMMIT");
}

void
pgs_db_rollback(pgs_db_t *db)
{
    if (!sqlite3_get_autocommit(db->handle))
        sqlite3_exec(db->handle, "ROLLBACK", NULL, NULL, NULL);
}

void
pgs_db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s)
        sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

const char *
pgs_db_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int
pgs_db_read_begin(pgs_db_t *db)
{
    return pgs_db_exec(db, "BEGIN DEFERRED");
}

void
pgs_db_read_end(pgs_db_t *db)
{
    if (!sqlite3_get_autocommit(db->handle))
        sqlite3_exec(db->handle, "COMMIT", NULL, NULL, NULL);
}

void
pgs_db_progress(pgs_db_t *db, int n, int (*fn)(void *arg), void *arg)
{
    sqlite3_progress_handler(db->handle, fn ? n : 0, fn, arg);
}

int
pgs_db_wal_tick(pgs_db_t *db, int64_t *last_ms)
{
    int64_t now = pgs_time_mono_ms();
    if (*last_ms && now - *last_ms < 5000)
        return 0;
    *last_ms = now;
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(db->handle, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done) !=
            SQLITE_OK ||
        log < PGS_DB_WAL_RESTART_FRAMES)
        return 0;
    /* The restart holds the write lock of every process while it copies
     * what the passive checkpoint could not (and syncs the file) and while
     * the old WAL's readers finish. So it waits for a tick whose passive
     * checkpoint copied everything (then it only waits for readers, up to
     * 25 ms), unless the WAL has grown very long. */
    if (done < log && log < PGS_DB_WAL_FORCE_FRAMES)
        return 0;
    int saved = pgs_db_busy_budget(db, S_RESTART_BUSY_MS);
    int rc = sqlite3_wal_checkpoint_v2(db->handle, "main", SQLITE_CHECKPOINT_RESTART, &log, &done);
    pgs_db_busy_budget(db, saved);
    if (rc == SQLITE_OK) {
        pgs_debug("wal restarted after %d frames", log);
        return 1;
    }
    if (rc != SQLITE_BUSY)
        pgs_warn("wal checkpoint: %s", sqlite3_errmsg(db->handle));
    return 0;
}

int
pgs_db_step_done(pgs_db_t *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        pgs_error("%s: %s", what, sqlite3_errmsg(db->handle));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
pgs_db_step_row(pgs_db_t *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        pgs_error("%s: %s", what, sqlite3_errmsg(db->handle));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}
