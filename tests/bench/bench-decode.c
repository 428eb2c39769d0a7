/* SPDX-License-Identifier: MIT */
/*
 * Decode benchmark: one capture fed N times through one framer, as a tty
 * would deliver a meter's telegrams one after the other.
 *
 *   bench-decode FILE ITERATIONS [encrypt]
 *
 * With "encrypt", FILE is a plaintext DSMR telegram that is sealed ITERATIONS
 * times (rising frame counters, OpenSSL) into encrypted P1 frames before the
 * clock starts; the framer then decrypts each. Sealing allocates, so its
 * instructions are left out with callgrind's --toggle-collect=telegram_feed.
 *
 * Prints one line of key=value pairs; ns_per_telegram is the time spent in
 * telegram_feed() only. Reading the file and telegram_new() happen before the
 * clock starts, so running the program under callgrind or memcheck with two
 * iteration counts and subtracting gives the steady-state cost per telegram
 * with start-up excluded (bench-decode.py does that).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/meter/dlms-seal.h"
#include "smartconnectd/meter/telegram.h"

static const uint8_t KEY[16] = { 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
				 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA };
static const uint8_t AUTH[16] = { 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB,
				  0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB, 0xBB };

struct bench {
	uint64_t accepted;
	uint64_t rejected;
	uint32_t valid; /* read the result, as a consumer would */
};

static void on_accept(const struct reading *v, void *userdata)
{
	struct bench *b = userdata;

	b->accepted++;
	b->valid |= v->valid;
}

static void on_reject(const struct telegram_reject *r, void *userdata)
{
	struct bench *b = userdata;

	(void) r;
	b->rejected++;
}

static int read_file(const char *path, char **ret, size_t *ret_size)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t size = 0;

	if (!f)
		return -errno;

	for (;;) {
		char *n = realloc(buf, size + 65536);
		size_t k;

		if (!n) {
			free(buf);
			fclose(f);
			return -ENOMEM;
		}
		buf = n;
		k = fread(buf + size, 1, 65536, f);
		size += k;
		if (k < 65536)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*ret = buf;
	*ret_size = size;
	return 0;
}

/* The plaintext as n encrypted frames, one after the other. */
static int seal_all(char **buf, size_t *size, unsigned long n)
{
	static const uint8_t title[8] = { 'S', 'A', 'G', 'g', 'p', 0x70, 0x01, 0xBD };
	size_t max = *size + 32, k = 0;
	uint8_t *out = malloc(max * n);

	if (!out)
		return -ENOMEM;
	for (unsigned long i = 0; i < n; i++) {
		size_t f = dlms_seal(KEY, AUTH, title, (uint32_t) i + 1, 0x30, *buf, *size, out + k, max);

		if (f == 0) {
			free(out);
			return -EIO;
		}
		k += f;
	}
	free(*buf);
	*buf = (char *) out;
	*size = k;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct decode_opts opts = DECODE_OPTS_DEFAULT;
	struct bench b = { 0 };
	struct telegram *t;
	unsigned long iterations;
	uint64_t start, elapsed;
	char *buf = NULL, *end;
	size_t size = 0;
	int r;

	bool encrypt = argc == 4 && strcmp(argv[3], "encrypt") == 0;

	if (argc != 3 && !encrypt) {
		fprintf(stderr, "usage: %s FILE ITERATIONS [encrypt]\n", argv[0]);
		return 2;
	}
	errno = 0;
	iterations = strtoul(argv[2], &end, 10);
	if (errno || *end || iterations == 0) {
		fprintf(stderr, "%s: bad iteration count '%s'\n", argv[0], argv[2]);
		return 2;
	}

	r = read_file(argv[1], &buf, &size);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(-r));
		return 2;
	}
	if (encrypt) {
		r = seal_all(&buf, &size, iterations);
		if (r < 0) {
			fprintf(stderr, "%s: sealing: %s\n", argv[0], strerror(-r));
			return 2;
		}
		opts.keys = (struct dlms_keys){ .has_enc = true, .has_auth = true };
		memcpy(opts.keys.enc, KEY, sizeof(KEY));
		memcpy(opts.keys.auth, AUTH, sizeof(AUTH));
		iterations = 1; /* the buffer holds every frame */
	}
	r = telegram_new(TELEGRAM_HUNT_ALL, &opts, on_accept, on_reject, &b, &t);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[0], strerror(-r));
		return 2;
	}

	start = now_ns();
	for (unsigned long i = 0; i < iterations; i++)
		telegram_feed(t, buf, size, 1700000000);
	elapsed = now_ns() - start;

	printf("bytes=%zu iterations=%lu accepted=%" PRIu64 " rejected=%" PRIu64 " ns_per_telegram=%.1f\n",
	       size, iterations, b.accepted, b.rejected,
	       b.accepted ? (double) elapsed / (double) b.accepted : 0.0);

	telegram_free(t);
	free(buf);

	/* A capture that does not decode would make every figure meaningless. */
	if (b.accepted == 0 || b.rejected > 0 || b.valid == 0) {
		fprintf(stderr, "%s: %s: %" PRIu64 " accepted, %" PRIu64 " rejected\n", argv[0], argv[1],
			b.accepted, b.rejected);
		return 1;
	}
	return 0;
}
