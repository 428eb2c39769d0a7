/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the history's save file loader (history_file_decode): any
 * bytes as the file. Besides not crashing or reading past the input:
 *  - a refused file leaves the history empty and gets words for the log;
 *  - an accepted file holds only well-formed records, each in its own slot,
 *    and encodes back into a file that loads into the same rings.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/history-file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rings(const struct history *h)
{
	for (uint32_t i = 0; i < HISTORY_MINUTES; i++)
		if (h->minutes[i].start_min)
			assert(history_rec_ok(&h->minutes[i], HISTORY_STEP_MINUTE) &&
			       h->minutes[i].start_min % HISTORY_MINUTES == i);
	for (uint32_t i = 0; i < HISTORY_QUARTERS; i++)
		if (h->quarters[i].start_min)
			assert(history_rec_ok(&h->quarters[i], HISTORY_STEP_QUARTER) &&
			       h->quarters[i].start_min / 15 % HISTORY_QUARTERS == i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct history *h = NULL, *back = NULL;
	uint8_t *buf;
	size_t n;
	int r;

	assert(history_new(&h) == 0 && history_new(&back) == 0);
	r = history_file_decode(h, data, size);
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
		assert(memcmp(h->minutes, back->minutes, sizeof(h->minutes)) == 0);
		assert(memcmp(h->quarters, back->quarters, sizeof(h->quarters)) == 0);
		free(buf);
	}
	history_free(h);
	history_free(back);
	return 0;
}
