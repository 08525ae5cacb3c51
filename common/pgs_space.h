/*
 * pgs_space — knows when this process had a write refused for lack of disk
 * space, so that the request whose write failed is answered 507
 * insufficient_storage (with Retry-After) instead of 500.
 *
 * SQLite says SQLITE_FULL through whichever call happened to write (a
 * step, a COMMIT, a checkpoint), and the services call sqlite3_step in many
 * places; so the count is kept below them all: pgs_space_install makes a
 * thin VFS over the default one the default, which forwards every call and
 * counts the writes, truncations and syncs that fail with SQLITE_FULL or
 * with ENOSPC/EDQUOT. Other writers note their own failures.
 */
#ifndef PGS_SPACE_H
#define PGS_SPACE_H

#include <stdint.h>

/* Makes the counting VFS SQLite's default (once; later calls do nothing).
 * Call before opening a database. 0, or -1 when SQLite refused (the
 * default VFS then stays and nothing is counted). */
int pgs_space_install(void);

/* Writes refused for lack of space in this process so far. */
uint64_t pgs_space_refusals(void);

/* Counts a refusal when err (an errno) says the disk is full. Returns 1
 * when it did. */
int pgs_space_note(int err);

/* The answer for a request whose write was refused for lack of space. */
#define PGS_SPACE_MESSAGE "The server has no room to store this right now. Try again later."
#define PGS_SPACE_RETRY_AFTER "30"

#endif
