/*
 * usage_reports — usage reports (docs/internals.md, "Usage analytics"):
 * their JSON and CSV forms, their generation in the background (any usage
 * process claims a pending report; a claim whose process went quiet for
 * 60 s is taken over), and the monthly reports made for every workspace
 * with usage in the previous calendar month.
 */
#ifndef USAGE_REPORTS_H
#define USAGE_REPORTS_H

#include "usage_state.h"
#include "usage_store.h"

#include <jansson.h>

/* The report object of the API. Owned. */
json_t *usage_reports_json(const usage_report_t *r);

/* The CSV of a ready report (date,requests,…; a line per day). Owned
 * string (its length in *len), or NULL. */
char *usage_reports_csv(const usage_report_t *r, size_t *len);

/* Generates r (claimed, pending) now and stores the outcome; r is updated
 * to it. 0, or -1 (storage failed: the claim lapses and it is retried). */
int usage_reports_generate(usage_t *u, usage_report_t *r);

/* Background work, from the worker's tick: one pending report, and now and
 * then the monthly reports that are due. */
void usage_reports_tick(usage_t *u);

/* "YYYY-MM-01" and the month's last day for month "YYYY-MM". 0 or -1. */
int usage_reports_month(const char *month, char start[USAGE_DAY_LEN], char end[USAGE_DAY_LEN]);

#endif
