/* SPDX-License-Identifier: MIT */
/*
 * History and capacity benchmark: what one telegram costs the history rings
 * and the capacity tariff (history_add() and capacity_add()), on the e-MUCS
 * capture (its demand objects and 13-month history are read each time), one
 * telegram a second of gateway and meter time.
 *
 *   bench-history FILE ITERATIONS
 *
 * The capture is decoded once before; each iteration moves its time and
 * import register on and calls bench_step(). bench-history.py runs it under
 * callgrind (--toggle-collect=bench_step) and memcheck at two iteration
 * counts and subtracts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/capacity.h"
#include "smartconnectd/meter/history.h"
#include "smartconnectd/meter/proto.h"

static struct reading v;

/* Not inlined: callgrind counts the instructions inside it. */
__attribute__((noinline)) void bench_step(struct history *h, struct capacity *c, int64_t now);
__attribute__((noinline)) void bench_step(struct history *h, struct capacity *c, int64_t now)
{
	history_add(h, &v, now);
	capacity_add(c, &v);
}

static int decode(const char *path)
{
	FILE *f = fopen(path, "rbe");
	enum telegram_error e;
	char detail[TELEGRAM_DETAIL_MAX];
	const char *start;
	size_t n;

	if (!f)
		return -1;
	n = fread(v.text, 1, sizeof(v.text) - 1, f);
	fclose(f);
	start = memchr(v.text, '/', n);
	if (!start)
		return -1;
	n -= (size_t) (start - v.text);
	memmove(v.text, start, n);
	v.text_len = (uint16_t) n;
	return proto_dsmr_decode(&v, &DECODE_OPTS_DEFAULT, 0, &e, detail);
}

int main(int argc, char **argv)
{
	struct history *h = NULL;
	struct capacity c;
	long n;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: bench-history FILE ITERATIONS\n");
		return 2;
	}
	if (decode(argv[1]) != 0 || history_new(&h) < 0) {
		fprintf(stderr, "cannot decode %s\n", argv[1]);
		return 1;
	}
	capacity_init(&c, 60);
	for (long i = 0; i < n; i++) {
		v.ts++;
		v.field[READING_E_IMPORT] += 1000;
		bench_step(h, &c, 1700000000 + i);
	}
	printf("accepted=%ld demand_w=%lld\n", n, (long long) c.computed.demand_w);
	history_free(h);
	return 0;
}
