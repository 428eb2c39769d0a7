/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/telegram serves the snapshot's text[] as "the last raw
 * telegram, byte-exact". Every single-telegram capture in tests/data is fed
 * through the framer, whole and byte by byte; the accepted frame's text must
 * be exactly the file's bytes from the frame's first byte to its last (two
 * captures carry bytes after the end of the frame, which are no part of it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/telegram.h"
#include "tap.h"

struct got {
	unsigned accepted;
	char text[READING_TEXT_MAX];
	size_t len;
	uint64_t offset;
	struct telegram *t;
};

static void on_accept(const struct reading *v, void *userdata)
{
	struct got *g = userdata;

	g->accepted++;
	g->len = v->text_len;
	g->offset = telegram_frame_offset(g->t);
	memcpy(g->text, v->text, v->text_len);
}

static void on_reject(const struct telegram_reject *r, void *userdata)
{
	(void) r;
	(void) userdata;
}

static void check(const char *dir, const char *name, const char *data, size_t n, bool bytewise)
{
	struct decode_opts o = { .std_offset_min = 60 };
	struct telegram *t = NULL;
	struct got g = {};

	if (telegram_new(TELEGRAM_HUNT_ALL, &o, on_accept, on_reject, &g, &t) < 0) {
		tap_ok(false, "%s: telegram_new", name);
		return;
	}
	g.t = t;
	if (bytewise)
		for (size_t i = 0; i < n; i++)
			telegram_feed(t, data + i, 1, 1700000000);
	else
		telegram_feed(t, data, n, 1700000000);
	telegram_flush(t);
	telegram_free(t);

	if (g.accepted != 1)
		return; /* multi-frame streams and encrypted captures: not a single telegram */
	tap_ok(g.offset + g.len <= n && memcmp(g.text, data + g.offset, g.len) == 0 && n - g.len < 64,
	       "%s/%s%s: text[] is the frame in the file, byte-exact (%zu bytes at %llu of %zu)", dir, name,
	       bytewise ? " byte by byte" : "", g.len, (unsigned long long) g.offset, n);
}

int main(void)
{
	const char *base = getenv("TESTDATA") ?: "tests/data";
	const char *dirs[] = { "dsmr", "tic" };
	unsigned files = 0;

	for (size_t d = 0; d < 2; d++) {
		char path[1024];
		struct dirent *de;
		DIR *dp;

		snprintf(path, sizeof(path), "%s/%s", base, dirs[d]);
		dp = opendir(path);
		if (!tap_ok(dp != NULL, "open %s", path))
			continue;
		while ((de = readdir(dp))) {
			size_t len = strlen(de->d_name), n;
			char *data;

			if (len < 5 || strcmp(de->d_name + len - 4, ".raw") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", base, dirs[d], de->d_name);
			data = tap_read_file(path, &n);
			if (!data)
				continue;
			check(dirs[d], de->d_name, data, n, false);
			check(dirs[d], de->d_name, data, n, true);
			files++;
			free(data);
		}
		closedir(dp);
	}
	tap_ok(files >= 20, "%u capture files read", files);
	return tap_done();
}
