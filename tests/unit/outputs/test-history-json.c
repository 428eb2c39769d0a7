/* SPDX-License-Identifier: MIT */
/*
 * Tests of GET /api/v1/history's arguments (defaults, alignment, every kind
 * of bad or unbounded value) and answers (JSON and CSV: records, nulls for
 * unknown fields, gaps left out, the partial current period, the capacity
 * object).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/outputs/history-json.h"
#include "smartconnectd/outputs/jbuf.h"
#include "tap.h"

#define NOW 1700001190LL /* 3 min 10 s into a quarter */
#define M0 (NOW - NOW % 900)

static int parse(const char *from, const char *to, const char *step, struct history_query *q)
{
	const char *err = NULL;
	int r = history_query_parse(from, to, step, NOW, q, &err);

	if (r < 0)
		tap_ok(err && *err, "error for the client: %s", err ? err : "(none)");
	return r;
}

static void test_query(void)
{
	struct history_query q;

	TAP_EQ_INT(parse(NULL, NULL, NULL, &q), 0, "no arguments");
	TAP_EQ_INT(q.to, NOW - NOW % 60, "to: now, aligned");
	TAP_EQ_INT(q.from, NOW - 86400 - (NOW - 86400) % 60, "from: 24 h before");
	TAP_EQ_INT(q.step, HISTORY_STEP_MINUTE, "step 60");
	TAP_EQ_INT(parse("1700000000", "1700003599", "900", &q), 0, "quarter step");
	TAP_EQ_INT(q.from, 1699999200, "from aligned down to 900");
	TAP_EQ_INT(q.to, 1700002800, "to aligned down to 900");
	TAP_EQ_INT(parse("0", "0", "60", &q), 0, "zero is a time");
	TAP_EQ_INT(parse("1700000000", "1700000000", NULL, &q), 0, "one instant");
	TAP_EQ_INT(parse("1700000000", "1700604739", "60", &q), 0, "exactly 10080 minutes");
	TAP_EQ_INT(parse("1700000000", "1700604800", "60", &q), -EINVAL, "10081 minutes: too large");
	TAP_EQ_INT(parse("1691000000", "1700000000", "900", &q), 0, "105 days by quarter");
	TAP_EQ_INT(parse("1600000000", "1700000000", "900", &q), -EINVAL, "3 years by quarter: too large");
	TAP_EQ_INT(parse("1700000000", "1699999999", NULL, &q), -EINVAL, "from after to");
	TAP_EQ_INT(parse(NULL, "100", NULL, &q), 0, "to early in 1970");
	TAP_EQ_INT(q.from, 0, "the default from stops at 0");
	TAP_EQ_INT(parse("1700000000", NULL, "30", &q), -EINVAL, "step 30");
	TAP_EQ_INT(parse(NULL, NULL, "", &q), -EINVAL, "empty step");
	TAP_EQ_INT(parse(NULL, NULL, "060", &q), -EINVAL, "step 060");
	TAP_EQ_INT(parse(NULL, NULL, "3600", &q), -EINVAL, "step 3600");
	TAP_EQ_INT(parse("", NULL, NULL, &q), -EINVAL, "empty from");
	TAP_EQ_INT(parse("-5", NULL, NULL, &q), -EINVAL, "negative from");
	TAP_EQ_INT(parse("1e9", NULL, NULL, &q), -EINVAL, "exponent");
	TAP_EQ_INT(parse("17000000 ", NULL, NULL, &q), -EINVAL, "trailing blank");
	TAP_EQ_INT(parse(NULL, "0x10", NULL, &q), -EINVAL, "hex");
	TAP_EQ_INT(parse(NULL, "9999999999999", NULL, &q), -EINVAL, "13 digits");
	TAP_EQ_INT(parse(NULL, "99999999999999999999999", NULL, &q), -EINVAL, "overflowing");
	TAP_EQ_INT(parse("1700000000.5", NULL, NULL, &q), -EINVAL, "fraction");
}

static struct reading v;

static void feed(struct history *h, int64_t t, int64_t p, bool with_u)
{
	reading_reset(&v);
	reading_set(&v, READING_P, p * READING_SCALE);
	reading_set(&v, READING_E_IMPORT, 1234567);
	if (with_u)
		reading_set(&v, READING_U2, 2312 * 100000);
	reading_set(&v, READING_I3, -1500000);
	history_add(h, &v, t);
}

static const char csv_head[] = "time,samples,partial,p_mean_w,p_min_w,p_max_w,e_import_kwh,e_export_kwh,"
			       "i1_a,i2_a,i3_a,u1_v,u2_v,u3_v\r\n"
			       "1700001000,1,0,-300,-300,-300,1.235,,,,-1.500,,231.2,\r\n"
			       "1700001120,1,0,100,";

static void test_answer(void)
{
	struct history *h;
	struct history_query q;
	struct capacity_view cap = { .measured = true,
				     .now = { .has_peak = true, .peak_w = 2500, .peak_time = 5 } };
	size_t len;
	char *text;

	history_new(&h);
	feed(h, M0, -300, true);          /* minute 0: export */
	feed(h, M0 + 60 * 2, 100, false); /* minute 1 is a gap */
	feed(h, NOW, 200, true);          /* the current minute */
	parse(NULL, NULL, NULL, &q);
	q.from = M0;

	text = history_json_text(h, &q, NOW, &cap, &len);
	tap_ok(text && strlen(text) == len, "JSON built");
	tap_ok(strstr(text,
		      "{\"from\":1700001000,\"to\":1700001180,\"step\":60,\"now\":1700001190,\"records\":[{"
		      "\"time\":1700001000,\"samples\":1,\"partial\":false,\"p_mean_w\":-300,\"p_min_w\":"
		      "-300,\"p_max_w\":-300,\"e_import_kwh\":1.235,\"e_export_kwh\":null,\"i1_a\":null,"
		      "\"i2_a\":null,\"i3_a\":-1.500,\"u1_v\":null,\"u2_v\":231.2,\"u3_v\":null},{\"time\":"
		      "1700001120,") != NULL,
	       "first record, then the gap left out");
	tap_ok(strstr(text, "{\"time\":1700001180,\"samples\":1,\"partial\":true,\"p_mean_w\":200") != NULL,
	       "the current minute, partial");
	tap_ok(strstr(text, "\"capacity\":{\"demand_kw\":null,\"month_peak_kw\":2.5,\"month_peak_time\":5,"
			    "\"source\":\"measured\"") != NULL,
	       "capacity object");
	free(text);

	text = history_csv_text(h, &q, NOW, &len);
	tap_ok(text && strncmp(text, csv_head, strlen(csv_head)) == 0,
	       "CSV: header, first record, the gap left out");
	tap_ok(strstr(text, "\r\n1700001180,1,1,200,") != NULL, "CSV partial");
	free(text);

	/* A quarter answer holds the quarter being built. */
	q.step = HISTORY_STEP_QUARTER;
	q.to = M0;
	text = history_json_text(h, &q, NOW, NULL, &len);
	tap_ok(strstr(text, "\"time\":1700001000,\"samples\":3,\"partial\":true") != NULL,
	       "quarter: the one being built");
	tap_ok(strstr(text, "capacity") == NULL, "no capacity without one");
	free(text);
	history_free(h);
}

/* The same JSON in meaning: numbers equal as numbers (3 and 3.0 alike). */
static bool same(json_t *a, json_t *b)
{
	const char *key;
	json_t *val;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_is_object(a) && json_is_object(b)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach (a, key, val)
			if (!same(val, json_object_get(b, key)))
				return false;
		return true;
	}
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	return json_equal(a, b);
}

/* The capacity object as text (MQTT, the status) against the tree, for a
 * view with everything, one with nothing known, and 13 months. */
static void test_capacity_text(void)
{
	struct capacity_view views[3] = {
		{ .measured = true,
		  .now = { .has_demand = true,
			   .has_peak = true,
			   .demand_w = 52,
			   .peak_w = 3000,
			   .peak_time = 5 },
		  .computed = { .has_demand = true, .demand_w = -1 },
		  .quarter_start = M0,
		  .quarter_end = M0 + 900,
		  .has_projection = true,
		  .projection_w = 4321,
		  .has_over_peak = true,
		  .over_peak_w = 1321,
		  .n_months = 1,
		  .months = { { .month = 2023 * 12 + 7, .peak_w = 2500, .peak_time = 1690000000 } } },
		{ 0 },
		{ .n_months = CAPACITY_MONTHS },
	};

	for (unsigned i = 0; i < CAPACITY_MONTHS; i++)
		views[2].months[i] =
		    (struct capacity_month){ .month = 24000 + i, .peak_w = 999999999, .peak_time = 1 };
	for (size_t i = 0; i < 3; i++) {
		char buf[HISTORY_CAPACITY_TEXT_MAX];
		struct jbuf j;
		json_t *tree = history_capacity_json(&views[i]), *text;
		int n;

		jbuf_init(&j, buf, sizeof(buf));
		history_capacity_text(&j, NULL, &views[i]);
		n = jbuf_finish(&j);
		text = n >= 0 ? json_loads(buf, 0, NULL) : NULL;
		tap_ok(tree && text && same(tree, text),
		       "capacity view %zu: the text parses to the tree (%d bytes)", i, n);
		json_decref(tree);
		json_decref(text);
	}
}

int main(void)
{
	test_query();
	test_answer();
	test_capacity_text();
	return tap_done();
}
