/* SPDX-License-Identifier: MIT */
/*
 * A full history file for the memory benchmark: every minute of the minute
 * ring (7 days and an hour) and every quarter of the last 13 months up to NOW hold a record, so
 * the daemon that restores it has both rings resident, as a gateway that has
 * run for a year has.
 *
 *   history-fill FILE NOW
 *
 * One telegram a minute over 13 months (about 570,000 history_add() calls):
 * the quarters get their records from them, the minute ring keeps its last
 * laps.
 */
#include <stdio.h>
#include <stdlib.h>

#include "smartconnectd/meter/history-file.h"
#include "smartconnectd/meter/history.h"

int main(int argc, char **argv)
{
	struct history *h = NULL;
	struct reading v;
	int64_t now, t0;
	uint8_t *buf;
	int64_t len;
	FILE *f;

	if (argc != 3 || (now = strtoll(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: history-fill FILE NOW\n");
		return 2;
	}
	if (history_new(&h) < 0)
		return 1;
	now -= now % 60;
	t0 = now - (int64_t) HISTORY_QUARTERS * 900;
	for (int64_t t = t0; t < now; t += 60) {
		int64_t p = 500 + (t / 60) % 3000;

		reading_reset(&v);
		reading_set(&v, READING_P, p * READING_SCALE);
		reading_set(&v, READING_E_IMPORT, (t - t0) / 60 * 10 * 1000);
		reading_set(&v, READING_E_EXPORT, 7000);
		reading_set(&v, READING_I1, p * 1000000 / 230);
		reading_set(&v, READING_U1, 230 * READING_SCALE);
		history_add(h, &v, t);
	}
	history_flush(h);
	buf = malloc(history_file_size(h));
	len = buf ? history_file_encode(h, buf, history_file_size(h)) : -1;
	f = len > 0 ? fopen(argv[1], "wbe") : NULL;
	if (!f || fwrite(buf, 1, (size_t) len, f) != (size_t) len || fclose(f) != 0) {
		fprintf(stderr, "history-fill: cannot write %s\n", argv[1]);
		return 1;
	}
	printf("%s: %lld bytes\n", argv[1], (long long) len);
	free(buf);
	history_free(h);
	return 0;
}
