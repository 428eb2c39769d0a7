/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/history's arguments and answer (see history-json.h). The
 * records are written as text straight into one buffer: a week of minutes
 * would be 10 000 JSON objects otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/history-json.h"
#include "smartconnectd/outputs/jbuf.h"

/* Unix seconds: 1 to 12 decimal digits, nothing else. */
static int parse_seconds(const char *s, int64_t *ret)
{
	int64_t x = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 12)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (s[i] - '0');
	}
	*ret = x;
	return 0;
}

static int parse_step(const char *s, enum history_step *ret)
{
	if (!s || strcmp(s, "60") == 0)
		*ret = HISTORY_STEP_MINUTE;
	else if (strcmp(s, "900") == 0)
		*ret = HISTORY_STEP_QUARTER;
	else
		return -EINVAL;
	return 0;
}

int history_query_parse(const char *from, const char *to, const char *step, int64_t now,
			struct history_query *ret, const char **ret_error)
{
	int64_t f, t, sec;
	enum history_step st;

	if (parse_step(step, &st) < 0)
		return *ret_error = "step: 60 or 900 seconds", -EINVAL;
	t = now;
	if (to && parse_seconds(to, &t) < 0)
		return *ret_error = "to: Unix seconds, digits only", -EINVAL;
	f = MAX(t - HISTORY_QUERY_DEFAULT_SEC, 0);
	if (from && parse_seconds(from, &f) < 0)
		return *ret_error = "from: Unix seconds, digits only", -EINVAL;
	if (f > t)
		return *ret_error = "from is after to", -EINVAL;
	sec = history_step_seconds(st);
	f -= f % sec;
	t -= t % sec;
	if ((t - f) / sec + 1 > HISTORY_QUERY_POINTS)
		return *ret_error = "range too large: at most 10080 periods (7 days by minute, 105 days by "
				    "quarter-hour)",
		       -EINVAL;
	*ret = (struct history_query){ .from = f, .to = t, .step = st };
	return 0;
}

/* ---- the records as text ---------------------------------------------------------------------- */

static int64_t div_round(int64_t a, int64_t b)
{
	return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

/* value / 10^decimals as a decimal, or null. */
static void put_fixed(FILE *f, bool known, int64_t value, unsigned decimals, const char *null)
{
	static const int64_t pow10[] = { 1, 10, 100, 1000 };
	int64_t p = pow10[decimals], a = value < 0 ? -value : value;

	if (!known)
		fputs(null, f);
	else if (decimals == 0)
		fprintf(f, "%" PRId64, value);
	else
		fprintf(f, "%s%" PRId64 ".%0*" PRId64, value < 0 ? "-" : "", a / p, (int) decimals, a % p);
}

/* The columns after time, samples and partial, in CSV and JSON alike. */
static const char *const columns[] = {
	"p_mean_w", "p_min_w", "p_max_w", "e_import_kwh", "e_export_kwh", "i1_a",
	"i2_a",     "i3_a",    "u1_v",    "u2_v",         "u3_v",
};

static void put_values(FILE *f, const struct history_rec *r, bool json, const char *null)
{
	bool p = r->valid & HISTORY_HAS_P;
	struct {
		bool known;
		int64_t value;
		unsigned decimals;
	} v[ARRAY_SIZE(columns)] = {
		{ p, r->p_mean, 0 },
		{ r->valid & HISTORY_HAS_P_MIN, r->p_min, 0 }, /* quarters keep none */
		{ p, r->p_max, 0 },
		/* mWh as kWh to the Wh, what meters resolve */
		{ r->valid & HISTORY_HAS_E_IMPORT, div_round(r->e_import, 1000), 3 },
		{ r->valid & HISTORY_HAS_E_EXPORT, div_round(r->e_export, 1000), 3 },
	};

	for (unsigned k = 0; k < 3; k++) {
		v[5 + k] = (typeof(v[0])){ r->valid & (HISTORY_HAS_I1 << k), r->i_mean[k], 3 };
		v[8 + k] = (typeof(v[0])){ r->valid & (HISTORY_HAS_U1 << k), r->u_mean[k], 1 };
	}
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
		if (json)
			fprintf(f, ",\"%s\":", columns[i]);
		else
			fputc(',', f);
		put_fixed(f, v[i].known, v[i].value, v[i].decimals, null);
	}
}

/* Every record of the query, gaps left out. */
static void put_records(FILE *f, const struct history *h, const struct history_query *q, int64_t now,
			bool json)
{
	int64_t sec = history_step_seconds(q->step);
	bool first = true;

	for (int64_t t = q->from; t <= q->to; t += sec) {
		struct history_rec r;
		bool building;

		if (history_get(h, q->step, t, &r, &building) <= 0)
			continue;
		/* Partial: not closed yet and its period not over (a stale meter
		 * leaves an old period open, which is complete as it is). */
		bool partial = building && t + sec > now;
		if (json)
			fprintf(f, "%s{\"time\":%" PRId64 ",\"samples\":%u,\"partial\":%s", first ? "" : ",",
				t, r.samples, partial ? "true" : "false");
		else
			fprintf(f, "%" PRId64 ",%u,%d", t, r.samples, partial);
		put_values(f, &r, json, json ? "null" : "");
		fputs(json ? "}" : "\r\n", f);
		first = false;
	}
}

/* buf and len are open_memstream()'s: valid only after fclose(). */
static char *close_text(FILE *f, char **buf, size_t *len, size_t *ret_len)
{
	bool bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		return NULL;
	}
	*ret_len = *len;
	return *buf;
}

char *history_json_text(const struct history *h, const struct history_query *q, int64_t now,
			const struct capacity_view *cap, size_t *ret_len)
{
	char *buf = NULL, *capt = NULL;
	size_t len = 0;
	FILE *f;

	if (cap) {
		json_t *j = history_capacity_json(cap);

		capt = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
		json_decref(j);
		if (!capt)
			return NULL;
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		free(capt);
		return NULL;
	}
	fprintf(f, "{\"from\":%" PRId64 ",\"to\":%" PRId64 ",\"step\":%u,\"now\":%" PRId64 ",\"records\":[",
		q->from, q->to, history_step_seconds(q->step), now);
	put_records(f, h, q, now, true);
	fprintf(f, "]%s%s}", capt ? ",\"capacity\":" : "", capt ?: "");
	free(capt);
	return close_text(f, &buf, &len, ret_len);
}

char *history_csv_text(const struct history *h, const struct history_query *q, int64_t now, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("time,samples,partial", f);
	for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
		fprintf(f, ",%s", columns[i]);
	fputs("\r\n", f);
	put_records(f, h, q, now, false);
	return close_text(f, &buf, &len, ret_len);
}

/* ---- the capacity tariff ---------------------------------------------------------------------- */

static json_t *kw(bool known, int64_t w)
{
	return known ? json_real((double) w / 1000.0) : json_null();
}

static json_t *when(bool known, int64_t t)
{
	return known && t > 0 ? json_integer(t) : json_null();
}

static json_t *figures(const struct capacity_figures *f)
{
	return json_pack("{s:o,s:o,s:o}", "demand_kw", kw(f->has_demand, f->demand_w), "month_peak_kw",
			 kw(f->has_peak, f->peak_w), "month_peak_time", when(f->has_peak, f->peak_time));
}

/* [{"month":"2023-08","peak_kw","peak_time"}], oldest first as the meter or the daemon has them. */
static json_t *months(const struct capacity_view *cap)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < cap->n_months; i++) {
		const struct capacity_month *m = &cap->months[i];
		char month[32];

		snprintf(month, sizeof(month), "%04" PRId64 "-%02" PRId64, m->month / 12, m->month % 12 + 1);
		if (json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "month", month, "peak_kw",
						       kw(true, m->peak_w), "peak_time",
						       when(true, m->peak_time))) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *history_capacity_json(const struct capacity_view *cap)
{
	json_t *j = figures(&cap->now);

	if (!j)
		return NULL;
	if (json_object_set_new(j, "source", json_string(cap->measured ? "measured" : "computed")) < 0 ||
	    json_object_set_new(j, "quarter_start", when(true, cap->quarter_start)) < 0 ||
	    json_object_set_new(j, "quarter_end", when(true, cap->quarter_end)) < 0 ||
	    json_object_set_new(j, "projection_kw", kw(cap->has_projection, cap->projection_w)) < 0 ||
	    json_object_set_new(j, "projection_over_peak_kw", kw(cap->has_over_peak, cap->over_peak_w)) < 0 ||
	    json_object_set_new(j, "computed", figures(&cap->computed)) < 0 ||
	    json_object_set_new(j, "months", months(cap)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- the capacity tariff as text, the same object without a tree ----------------------------- */

static void kw_text(struct jbuf *j, const char *key, bool known, int64_t w)
{
	if (known)
		jbuf_decimal(j, key, w, 3);
	else
		jbuf_null(j, key);
}

static void when_text(struct jbuf *j, const char *key, bool known, int64_t t)
{
	if (known && t > 0)
		jbuf_int(j, key, t);
	else
		jbuf_null(j, key);
}

static void figures_text(struct jbuf *j, const struct capacity_figures *f)
{
	kw_text(j, "demand_kw", f->has_demand, f->demand_w);
	kw_text(j, "month_peak_kw", f->has_peak, f->peak_w);
	when_text(j, "month_peak_time", f->has_peak, f->peak_time);
}

void history_capacity_text(struct jbuf *j, const char *key, const struct capacity_view *cap)
{
	jbuf_object(j, key);
	figures_text(j, &cap->now);
	jbuf_cstring(j, "source", cap->measured ? "measured" : "computed");
	when_text(j, "quarter_start", true, cap->quarter_start);
	when_text(j, "quarter_end", true, cap->quarter_end);
	kw_text(j, "projection_kw", cap->has_projection, cap->projection_w);
	kw_text(j, "projection_over_peak_kw", cap->has_over_peak, cap->over_peak_w);
	jbuf_object(j, "computed");
	figures_text(j, &cap->computed);
	jbuf_end_object(j);
	jbuf_array(j, "months");
	for (unsigned i = 0; i < cap->n_months && i < CAPACITY_MONTHS; i++) {
		const struct capacity_month *m = &cap->months[i];
		char month[32];

		snprintf(month, sizeof(month), "%04" PRId64 "-%02" PRId64, m->month / 12, m->month % 12 + 1);
		jbuf_object(j, NULL);
		jbuf_cstring(j, "month", month);
		kw_text(j, "peak_kw", true, m->peak_w);
		when_text(j, "peak_time", true, m->peak_time);
		jbuf_end_object(j);
	}
	jbuf_end_array(j);
	jbuf_end_object(j);
}
