/*
 * pgs_db — one service's SQLite database: opened in WAL mode with foreign
 * keys, a short busy timeout, migrations by PRAGMA user_version, and a cache
 * of prepared statements keyed by their (static) SQL text.
 *
 * Every write transaction is BEGIN IMMEDIATE (pgs_db_begin): in WAL mode a
 * read transaction that upgrades to a write cannot be helped by the busy
 * timeout. One pgs_db_t per process; never shared across fork().
 */
#ifndef PGS_DB_H
#define PGS_DB_H

#include <sqlite3.h>
#include <stdint.h>

typedef struct pgs_db pgs_db_t;

/* Opens (creating) the database at path and applies migrations[i] for every
 * i >= user_version, all in one transaction. Processes opening the same path
 * at once take turns (flock on "<path>.open-lock"). synchronous_full selects
 * synchronous=FULL (for databases whose commits acknowledge someone else's
 * data) over NORMAL. Returns an owned handle or NULL (reason logged). */
pgs_db_t *pgs_db_open(const char *path, const char *const *migrations, int nmigrations,
                      int synchronous_full);

/* Finalizes cached statements, closes, sets *db to NULL; no-op on NULL. */
void pgs_db_destroy(pgs_db_t **db);

/* The raw handle (borrowed), for sqlite3_* calls. */
sqlite3 *pgs_db_handle(pgs_db_t *db);

/* A prepared statement for sql, reset and with bindings cleared. sql must be
 * a string with static storage: the cache is keyed by its address. Borrowed:
 * never finalize it; it stays valid until pgs_db_destroy. NULL on a prepare
 * error (logged). */
sqlite3_stmt *pgs_db_stmt(pgs_db_t *db, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or -1 (logged). */
int pgs_db_begin(pgs_db_t *db);
int pgs_db_commit(pgs_db_t *db);
void pgs_db_rollback(pgs_db_t *db);

/* A read transaction around several reads: one snapshot, and the WAL
 * read locks taken once instead of once per statement. read_end commits
 * (a read transaction has nothing to lose). 0 or -1. */
int pgs_db_read_begin(pgs_db_t *db);
void pgs_db_read_end(pgs_db_t *db);

/* Calls fn(arg) about every n virtual machine steps of any statement (a
 * long statement then still lets the caller heartbeat); fn returns 0 to go
 * on. NULL fn removes it. */
void pgs_db_progress(pgs_db_t *db, int n, int (*fn)(void *arg), void *arg);

/* For a service's tick: keeps the WAL from growing without bound. SQLite's
 * automatic checkpoints copy the WAL into the database but can only start
 * the WAL over when no reader is using it, which under steady traffic from
 * several processes is never (seen: a 3.9 GB chat.db-wal after a benchmark).
 * About every 5 s (*last_ms, monotonic, is the last time) this checkpoints
 * passively and, once the WAL holds over PGS_DB_WAL_RESTART_FRAMES frames
 * all copied into the database (or over PGS_DB_WAL_FORCE_FRAMES at all),
 * restarts it (waiting up to 25 ms for the readers of the old WAL; new
 * readers read the database file). The WAL file is then cut back
 * to 64 MiB (journal_size_limit). Returns 1 when it restarted the WAL. */
#define PGS_DB_WAL_RESTART_FRAMES 4096
#define PGS_DB_WAL_FORCE_FRAMES 65536 /* restart even when it must copy first */
int pgs_db_wal_tick(pgs_db_t *db, int64_t *last_ms);

/* How long a statement waits for another connection's lock (default
 * 300 ms after opening) and what it calls meanwhile, about every 1-50 ms
 * (a worker's heartbeat: pgs_worker_keepalive_fn), so a writer can wait out
 * another process's long write (an FTS5 merge) without being taken for
 * dead. pgs_db_busy_budget changes only the time and returns the old one. */
void pgs_db_busy(pgs_db_t *db, int max_ms, int (*tick)(void *arg), void *arg);
int pgs_db_busy_budget(pgs_db_t *db, int max_ms);

/* Steps a statement that returns no rows (INSERT, UPDATE, DELETE) and
 * resets it. 0, or -1 (logged as "<what>: <SQLite's message>"; SQLite's
 * error code stays readable for the caller). */
int pgs_db_step_done(pgs_db_t *db, sqlite3_stmt *st, const char *what);

/* Steps a one-row lookup: 1 (the statement is left on the row: read it,
 * then reset it), 0 no row, -1 error (logged). Reset unless 1. */
int pgs_db_step_row(pgs_db_t *db, sqlite3_stmt *st, const char *what);

/* Runs one or more statements without results. 0 or -1 (logged). */
int pgs_db_exec(pgs_db_t *db, const char *sql);

/* Binds a text value (-1 length = strlen; NULL binds NULL). */
void pgs_db_bind_text(sqlite3_stmt *st, int idx, const char *s);

/* Column i as text, "" for NULL (borrowed until the next step/reset). */
const char *pgs_db_col_text(sqlite3_stmt *st, int i);

#endif
