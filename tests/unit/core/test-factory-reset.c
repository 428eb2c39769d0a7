/* SPDX-License-Identifier: MIT */
/*
 * The factory reset's steps in a temporary state directory: what it removes
 * and keeps, the marker, and recovery from each point a kill could stop it.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/core/factory-reset.h"
#include "tap.h"

static char dir[64];

static void put(const char *name)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	fputs("x\n", f);
	fclose(f);
}

static bool there(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

int main(void)
{
	unsigned removed = 99;
	bool tmp;

	snprintf(dir, sizeof(dir), "/tmp/test-factory-reset-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	put("overrides.json");
	put("http-password");
	put("ap-key");
	tap_ok(factory_reset_recover(dir, &tmp) == 0 && !tmp, "nothing to recover");
	tap_ok(factory_reset_begin(dir) == 0 && there("factory-reset") && !there("factory-reset.tmp"),
	       "begin: the marker is there");
	/* Killed here: the next start finishes it. */
	tap_ok(factory_reset_recover(dir, &tmp) == 1, "recover: an interrupted reset is found");
	tap_ok(factory_reset_finish(dir, &removed) == 0 && removed == 1, "finish: one file removed (%u)",
	       removed);
	tap_ok(!there("overrides.json") && !there("factory-reset"), "overrides.json and the marker are gone");
	tap_ok(there("http-password") && there("ap-key"), "the secrets are kept");
	tap_ok(factory_reset_finish(dir, &removed) == 0 && removed == 0, "finishing again is harmless");

	/* Killed while writing the marker: the temporary file is removed, nothing else. */
	put("overrides.json");
	put("factory-reset.tmp");
	tap_ok(factory_reset_recover(dir, &tmp) == 0 && tmp && !there("factory-reset.tmp") &&
		   there("overrides.json"),
	       "a temporary marker is removed, the reset had not begun");
	tap_ok(factory_reset_recover("/nonexistent-state-dir", &tmp) == 0,
	       "a missing state directory is fine");

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void) !system(cmd);
	}
	return tap_done();
}
