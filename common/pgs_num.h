/*
 * pgs_num — decimal numbers written without snprintf, for the hot path
 * (response headers, status lines, protocol frames): a formatted snprintf
 * costs hundreds of instructions for what is a few divisions.
 */
#ifndef PGS_NUM_H
#define PGS_NUM_H

#include <stddef.h>
#include <stdint.h>

#define PGS_NUM_MAX 24 /* the longest int64 with its sign and NUL */

/* Writes v in decimal into out (PGS_NUM_MAX bytes), NUL-terminated.
 * Returns its length. */
size_t pgs_num_i64(int64_t v, char out[PGS_NUM_MAX]);
size_t pgs_num_u64(uint64_t v, char out[PGS_NUM_MAX]);

#endif
