/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for GET /api/v1/history's arguments (history_query_parse) and
 * answer: the input is a query string "from=..&to=..&step=.." (a key that
 * does not appear is absent; later ones win). Besides not crashing:
 *  - a refused query explains itself in a sentence;
 *  - an accepted one is aligned to its step, ordered, within the point
 *    limit, and its JSON answer over a small history is valid JSON whose
 *    records lie in the range, in order; the CSV has one line per record
 *    and a header.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/outputs/history-json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700001190LL

/* An hour of telegrams every 45 s, built once. */
static const struct history *small_history(void)
{
	static struct history *h;
	static struct reading v;

	if (h)
		return h;
	assert(history_new(&h) == 0);
	reading_reset(&v);
	reading_set(&v, READING_P, 1500 * READING_SCALE);
	for (int64_t t = NOW - 3600; t <= NOW; t += 45)
		history_add(h, &v, t);
	return h;
}

static void check_answer(const struct history_query *q)
{
	const struct history *h = small_history();
	size_t len = 0, lines = 0;
	json_t *j, *recs;
	char *text;

	text = history_json_text(h, q, NOW, NULL, &len);
	assert(text && strlen(text) == len);
	j = json_loads(text, 0, NULL);
	assert(j);
	recs = json_object_get(j, "records");
	for (size_t i = 0; i < json_array_size(recs); i++) {
		json_int_t t = json_integer_value(json_object_get(json_array_get(recs, i), "time"));
		assert(t >= q->from && t <= q->to && t % history_step_seconds(q->step) == 0);
	}
	free(text);
	text = history_csv_text(h, q, NOW, &len);
	assert(text);
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert(lines == json_array_size(recs) + 1);
	free(text);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *) data, size), *save = NULL;
	const char *arg[3] = { NULL, NULL, NULL }, *err = NULL;
	static const char *const keys[3] = { "from=", "to=", "step=" };
	struct history_query q;

	assert(s);
	for (char *p = strtok_r(s, "&", &save); p; p = strtok_r(NULL, "&", &save))
		for (unsigned k = 0; k < 3; k++)
			if (strncmp(p, keys[k], strlen(keys[k])) == 0)
				arg[k] = p + strlen(keys[k]);
	if (history_query_parse(arg[0], arg[1], arg[2], NOW, &q, &err) < 0) {
		assert(err && strlen(err) > 0);
	} else {
		int64_t sec = history_step_seconds(q.step);

		assert(q.from >= 0 && q.from <= q.to && q.from % sec == 0 && q.to % sec == 0);
		assert((q.to - q.from) / sec + 1 <= HISTORY_QUERY_POINTS);
		check_answer(&q);
	}
	free(s);
	return 0;
}
