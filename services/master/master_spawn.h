/*
 * master_spawn — starting one child process safely from a supervisor that
 * holds a ZeroMQ context (and therefore threads).
 *
 * Between fork and exec the child only makes async-signal-safe system calls:
 * it asks to be sent SIGTERM if the supervisor dies (so a killed supervisor
 * leaves no orphan), points stdin at /dev/null and stdout/stderr at the
 * service's log file, closes every other descriptor (no ZeroMQ or signalfd
 * descriptor survives into the child), unblocks every signal (dispositions are
 * left as the supervisor inherited them), and execs. Nothing of the ZeroMQ context is touched.
 */
#ifndef MASTER_SPAWN_H
#define MASTER_SPAWN_H

#include <sys/types.h>

/* Starts path with argv (NULL-terminated, argv[0] included) and the
 * inherited environment; its stdout and stderr are appended to log_path
 * (created with mode 0640 when missing, together with its directory).
 * Returns the child's pid, or -1 with errno set when the log cannot be
 * opened or fork fails. A failed exec shows up as the child exiting 127
 * after writing one line to the log. */
pid_t master_spawn_start(const char *path, char *const argv[], const char *log_path);

/* Creates dir (mode 0700) and its missing parents. Returns 0 or -1. */
int master_spawn_mkdirs(const char *dir);

#endif
