/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the capacity tariff's save file loader
 * (capacity_file_decode): any bytes as the file. Besides not crashing or
 * reading past the input:
 *  - a refused file leaves the state as capacity_init() made it and gets
 *    words for the log;
 *  - an accepted file encodes back into the very same bytes;
 *  - the restored state then meets a first telegram (at a time the input
 *    chooses): the past months stay ascending, before the running month and
 *    within the 13 before it, and the view shows no more than 13.
 * Inputs whose first byte is 'S' get their length and checksum put right
 * first, so the fuzzer reaches the value checks behind them.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/capacity-file.h"
#include "smartconnectd/meter/history-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fix_header(uint8_t *p, size_t n)
{
	uint32_t len = (uint32_t) n;
	uint64_t x = history_file_checksum(p + CAPACITY_FILE_HEADER, n - CAPACITY_FILE_HEADER);

	memcpy(p + 16, &len, sizeof(len));
	memcpy(p + 24, &x, sizeof(x));
}

/* A telegram with only a time and an import register. */
static void first_telegram(struct capacity *c, int64_t ts)
{
	static struct reading v;
	struct capacity_view cv;

	reading_reset(&v);
	v.ts = ts;
	reading_set(&v, READING_E_IMPORT, 1000000000);
	capacity_add(c, &v);
	capacity_view(c, &cv);
	assert(cv.n_months <= CAPACITY_MONTHS && c->n_months <= CAPACITY_MONTHS);
	for (unsigned i = 0; i < c->n_months; i++) {
		assert(c->months[i].month < c->month && c->months[i].month >= c->month - CAPACITY_MONTHS);
		assert(i == 0 || c->months[i].month > c->months[i - 1].month);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capacity c, fresh;
	uint8_t *in, out[CAPACITY_FILE_MAX];
	int64_t n;
	int r;

	in = malloc(size ?: 1);
	assert(in);
	memcpy(in, data, size);
	if (size >= CAPACITY_FILE_HEADER && in[0] == 'S')
		fix_header(in, size);
	capacity_init(&c, 60);
	capacity_init(&fresh, 60);
	r = capacity_file_decode(&c, in, size);
	if (r < 0) {
		assert(memcmp(&c, &fresh, sizeof(c)) == 0);
		assert(strlen(capacity_file_strerror(r)) > 0);
	} else {
		assert(r == 0 && size <= CAPACITY_FILE_MAX);
		n = capacity_file_encode(&c, out, sizeof(out));
		assert(n == (int64_t) size && memcmp(out, in, size) == 0);
		/* A telegram near the restored peak (its month, or the next ones). */
		first_telegram(&c, (c.computed.has_peak ? c.computed.peak_time : 1700000000) +
				       (int64_t) in[size - 1] * 86400 * 7);
	}
	free(in);
	return 0;
}
