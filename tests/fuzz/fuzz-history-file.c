/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the history's save file loader (history_file_decode): any
 * bytes as the file. Besides not crashing or reading past the input:
 *  - a refused file leaves the history empty and gets words for the log;
 *  - an accepted file holds only well-formed records, each in its own slot,
 *    and encodes back into a file that loads into the same rings.
 * Inputs whose first byte is 'S' get their checksum put right first, so the
 * fuzzer reaches the record checks behind it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/history-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checksum field (the header's last 8 bytes) over the bytes after it. */
static void fix_checksum(uint8_t *p, size_t n)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (size_t i = HISTORY_FILE_HEADER; i < n; i++)
		x = (x ^ p[i]) * 0x100000001b3ULL;
	memcpy(p + HISTORY_FILE_HEADER - sizeof(x), &x, sizeof(x));
}

static void check_rings(const struct history *h)
{
	struct history_rec r;

	for (uint32_t i = 0; i < HISTORY_MINUTES; i++)
		if (history_slot_get(h, HISTORY_STEP_MINUTE, i, &r))
			assert(history_rec_ok(&r, HISTORY_STEP_MINUTE) && r.start_min % HISTORY_MINUTES == i);
	for (uint32_t i = 0; i < HISTORY_QUARTERS; i++)
		if (history_slot_get(h, HISTORY_STEP_QUARTER, i, &r))
			assert(history_rec_ok(&r, HISTORY_STEP_QUARTER) &&
			       r.start_min / 15 % HISTORY_QUARTERS == i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 0.74 MiB each: allocated once, the loader clears them anyway. */
	static struct history *h, *back;
	uint8_t *buf, *in;
	size_t n;
	int r;

	if (!h)
		assert(history_new(&h) == 0 && history_new(&back) == 0);
	in = malloc(size ?: 1);
	assert(in);
	memcpy(in, data, size);
	if (size >= HISTORY_FILE_HEADER && in[0] == 'S')
		fix_checksum(in, size);
	r = history_file_decode(h, in, size);
	free(in);
	if (r < 0) {
		assert(history_file_size(h) == HISTORY_FILE_HEADER);
		assert(strlen(history_file_strerror(r)) > 0);
	} else {
		assert(r == 0);
		check_rings(h);
		n = history_file_size(h);
		assert(n <= size);
		buf = malloc(n);
		assert(buf && history_file_encode(h, buf, n) == (int64_t) n);
		assert(history_file_decode(back, buf, n) == 0);
		assert(memcmp(h->minute_blocks, back->minute_blocks, sizeof(h->minute_blocks)) == 0);
		assert(memcmp(h->quarter_blocks, back->quarter_blocks, sizeof(h->quarter_blocks)) == 0);
		assert(memcmp(h->minutes, back->minutes, sizeof(h->minutes)) == 0);
		assert(memcmp(h->quarters, back->quarters, sizeof(h->quarters)) == 0);
		free(buf);
	}
	return 0;
}
