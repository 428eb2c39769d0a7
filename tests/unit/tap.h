/* SPDX-License-Identifier: MIT */
/*
 * A minimal TAP producer for meson's `protocol: 'tap'`. Each check prints one
 * "ok N"/"not ok N" line; tap_done() prints the plan and returns the exit code.
 */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%s %u - ", cond ? "ok" : "not ok", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

__attribute__((unused)) static int tap_done(void)
{
	printf("1..%u\n", tap_n);
	if (tap_failed)
		printf("# %u of %u checks failed\n", tap_failed, tap_n);
	return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A whole file, NUL-terminated (tests/data samples); NULL when unreadable. */
__attribute__((unused)) static char *tap_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t) n + 1);
		if (buf && fread(buf, 1, (size_t) n, f) == (size_t) n) {
			buf[n] = '\0';
			*ret_len = (size_t) n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

#define TAP_EQ_INT(a, b, what)                                                                     \
	tap_ok((int64_t) (a) == (int64_t) (b), "%s: %" PRId64 " == %" PRId64, what, (int64_t) (a), \
	       (int64_t) (b))
#define TAP_EQ_STR(a, b, what) tap_ok(strcmp((a), (b)) == 0, "%s: \"%s\" == \"%s\"", what, (a), (b))
