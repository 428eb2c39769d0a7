/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/history?from=&to=&step= as JSON or CSV, and the capacity
 * tariff's object (the status and the history answer share it).
 *
 * from and to are Unix seconds (UTC, decimal digits only), both included
 * after rounding down to the step; to defaults to now and from to 24 h
 * before to; step is 60 (default) or 900. At most HISTORY_QUERY_POINTS
 * periods per request: 7 days by minute, 105 days by quarter-hour.
 *
 * JSON: {"from","to","step","now","records":[{"time",...}],"capacity":{...}};
 * CSV: a header line, then one line per record. Periods without data have no
 * record: a gap is a jump in "time". The period being built, the current
 * one included, is there with "partial": true.
 *
 * Pure but for the output buffer. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/capacity.h"
#include "smartconnectd/meter/history.h"

#define HISTORY_QUERY_POINTS (7 * 1440)
#define HISTORY_QUERY_DEFAULT_SEC 86400

struct history_query {
	int64_t from, to; /* aligned to step */
	enum history_step step;
};

/* The query's arguments as given (NULL when absent). 0, or -EINVAL with
 * *ret_error a sentence for the client's 400. */
int history_query_parse(const char *from, const char *to, const char *step, int64_t now,
			struct history_query *ret, const char **ret_error);

/* The answer as text (free()); cap may be NULL (no "capacity"). NULL on OOM. */
char *history_json_text(const struct history *h, const struct history_query *q, int64_t now,
			const struct capacity_view *cap, size_t *ret_len);
char *history_csv_text(const struct history *h, const struct history_query *q, int64_t now, size_t *ret_len);

/* {"source":"measured"|"computed","demand_kw","month_peak_kw","month_peak_time",
 *  "quarter_start","quarter_end","projection_kw","projection_over_peak_kw",
 *  "computed":{"demand_kw","month_peak_kw","month_peak_time"},
 *  "months":[{"month":"YYYY-MM","peak_kw","peak_time"}]}; unknown
 * values are null. New reference, NULL on OOM. */
json_t *history_capacity_json(const struct capacity_view *cap);

/* The same object written into j under key (NULL inside an array), without
 * an allocation: kW as exact decimals of the watts (3.064, 3 for 3.000). */
#define HISTORY_CAPACITY_TEXT_MAX 2048 /* bytes the object can take, 13 months included */
struct jbuf;
void history_capacity_text(struct jbuf *j, const char *key, const struct capacity_view *cap);
