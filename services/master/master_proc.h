/*
 * master_proc — the supervisor's process table (Postfix master(8) is the
 * model): for every configured service, the wanted number of processes, one
 * slot per instance (1..64) holding the child's pid, its state and its
 * restart history.
 *
 * Promises:
 *   - a child that exits is restarted: at once when it had been up for
 *     MASTER_PROC_STABLE_MS or more, otherwise after a back-off of 1 s that
 *     doubles up to 30 s (so a service that dies at start does not spin);
 *   - a restart asked by the operator replaces one process at a time and
 *     starts each replacement before stopping the next process of the
 *     service, so a service of N > 1 processes never has fewer than N - 1;
 *     such replacements are not counted as crashes;
 *   - a process being stopped gets SIGTERM and, MASTER_PROC_GRACE_MS later,
 *     SIGKILL; every child is reaped;
 *   - at shutdown the services marked stop_first (the edge) get SIGTERM
 *     alone, and the others only once those have exited: the edge's last
 *     requests still need the workers;
 *   - nothing here blocks: the caller's loop drives it with
 *     master_proc_reap (on SIGCHLD) and master_proc_tick (often).
 *
 * Times are pgs_time_mono_ms() milliseconds passed in by the caller.
 */
#ifndef MASTER_PROC_H
#define MASTER_PROC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define MASTER_PROC_MAX_SERVICES 32
#define MASTER_PROC_MAX_SLOTS 64
#define MASTER_PROC_STABLE_MS 60000 /* up this long: the back-off is reset */
#define MASTER_PROC_BACKOFF_MIN_MS 1000
#define MASTER_PROC_BACKOFF_MAX_MS 30000
#define MASTER_PROC_GRACE_MS 10000 /* SIGTERM → SIGKILL */
#define MASTER_PROC_SETTLE_MS 1000 /* "starting" until up this long */

typedef struct master_proc master_proc_t;

/* A new, empty table. bindir holds the pegasus-<name> executables;
 * config_path is passed to every child as -c; home is PEGASUS_HOME (logs go
 * to home/log/<name>.log). All three are copied. Returns NULL when out of
 * memory. */
master_proc_t *master_proc_new(const char *bindir, const char *config_path, const char *home);

/* Frees the table (children are not signalled: stop them first) and sets
 * *p to NULL; no-op on NULL. */
void master_proc_destroy(master_proc_t **p);

/* Declares a service with count (0..64) wanted processes; its executable
 * is bindir/pegasus-<name> and must exist when count > 0. scalable is 0 for
 * services that must keep their count (the edge). Nothing is started until
 * master_proc_tick. Returns 0, or -1 with a message in err. */
int master_proc_add(master_proc_t *p, const char *name, int count, int scalable, char *err,
                    size_t errlen);

/* Runs the processes of service name under wrapper: an absolute program
 * path and its arguments, separated by spaces, put before the service's
 * own command line ([service.<name>] wrapper; a profiler or a debugger,
 * as Postfix's debugger_command). "" or NULL: none. 0, or -1 with err. */
int master_proc_wrap(master_proc_t *p, const char *name, const char *wrapper, char *err,
                     size_t errlen);

/* Marks service to stop first at shutdown (see above). Returns 0, or -1
 * for an unknown service. */
int master_proc_stop_first(master_proc_t *p, const char *service);

/* Reaps every exited child (waitpid WNOHANG) and decides what follows:
 * a restart now or after back-off, a replacement, or nothing. */
void master_proc_reap(master_proc_t *p, int64_t now);

/* Starts what is due, moves rolling restarts on, and SIGKILLs processes
 * that outlived their grace period. Call at least every few hundred ms. */
void master_proc_tick(master_proc_t *p, int64_t now);

/* Begins shutdown: no more starts; SIGTERM to the stop_first services'
 * processes, and to every other child once those are reaped (by
 * master_proc_tick), or at once when none is running. When force, SIGKILL
 * to every child instead. May be called again (e.g. force on a second
 * signal). */
void master_proc_shutdown(master_proc_t *p, int64_t now, int force);

/* 1 when shutdown was asked and every child has been reaped. */
int master_proc_done(const master_proc_t *p);

/* Number of live children. */
int master_proc_live(const master_proc_t *p);

/* {"processes":[{service, instance, pid, state, uptime_s, restarts}]}, an
 * owned object, or NULL when out of memory. state is "running",
 * "starting" (up less than MASTER_PROC_SETTLE_MS), "backoff" (waiting to be
 * started again; pid 0) or "stopping". */
json_t *master_proc_status(const master_proc_t *p, int64_t now);

/* Schedules a rolling restart of every process of service. Returns 0, or
 * -1 with a message in err (unknown service, none running, shutting down). */
int master_proc_restart(master_proc_t *p, const char *service, int64_t now, char *err,
                        size_t errlen);

/* Sets the wanted count of service to count (1..64): new processes start
 * at the next tick, extra ones get SIGTERM, highest instance first.
 * Returns 0, or -1 with a message in err (unknown or unscalable service,
 * count out of range, no executable, shutting down). */
int master_proc_scale(master_proc_t *p, const char *service, long long count, int64_t now,
                      char *err, size_t errlen);

#endif
