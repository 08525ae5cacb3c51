/*
 * pgs_time — clocks and RFC 3339 UTC times.
 */
#ifndef PGS_TIME_H
#define PGS_TIME_H

#include <stdint.h>
#include <time.h>

#define PGS_TIME_RFC3339_LEN 21 /* "2026-11-28T08:17:10Z" + NUL */

/* Milliseconds of a monotonic clock (for deadlines and timers). */
int64_t pgs_time_mono_ms(void);

/* Wall-clock Unix time in milliseconds. */
int64_t pgs_time_now_ms(void);

/* Formats Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void pgs_time_rfc3339(int64_t unix_s, char out[PGS_TIME_RFC3339_LEN]);

/* Start of the calendar month (UTC) holding t, and of the next month. */
int64_t pgs_time_month_start(int64_t unix_s);
int64_t pgs_time_next_month_start(int64_t unix_s);

#endif
