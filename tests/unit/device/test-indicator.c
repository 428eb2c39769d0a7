/* SPDX-License-Identifier: MIT */
/*
 * The LED class writes, against a temporary directory holding the LED class
 * files as plain files (no LED in CI): each write replaces the whole value,
 * a pattern shown again writes nothing, a missing LED is left out, and a
 * multicolour LED gets its intensities in multi_index order.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/device/indicator.h"
#include "tap.h"

static char root[64];

static void put(const char *led, const char *attr, const char *value)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, led);
	(void) mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s", root, led, attr);
	f = fopen(p, "w");
	fputs(value, f);
	fclose(f);
}

static char *get(const char *led, const char *attr)
{
	static char buf[256];
	char p[256];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s/%s", root, led, attr);
	f = fopen(p, "r");
	if (!f)
		return strcpy(buf, "(none)");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void make_led(const char *led)
{
	put(led, "max_brightness", "255\n");
	put(led, "brightness", "0\n");
	put(led, "trigger", "[none] timer heartbeat\n");
	put(led, "delay_on", "");
	put(led, "delay_off", "");
}

static void test_single(void)
{
	struct indicator_settings s = {
		.path = root, .red = "r", .green = "g", .blue = "nothere", .multicolor = ""
	};
	struct indicator *ind = NULL;

	make_led("r");
	make_led("g");
	tap_ok(indicator_new(&s, &ind) == 0 && indicator_wired(ind), "two of three LEDs found");
	tap_ok(indicator_show(ind, INDICATOR_STARTING) == 0, "starting shown");
	tap_ok(strcmp(get("r", "trigger"), "none") == 0 && strcmp(get("r", "brightness"), "255") == 0,
	       "red: trigger none, brightness max (whole value replaced)");
	tap_ok(strcmp(get("g", "brightness"), "0") == 0, "green off");
	tap_ok(indicator_show(ind, INDICATOR_NO_DATA_NO_IP) == 0, "red/orange shown");
	tap_ok(strcmp(get("g", "trigger"), "timer") == 0 && strcmp(get("g", "delay_on"), "500") == 0 &&
		   strcmp(get("g", "delay_off"), "500") == 0,
	       "green: timer 500/500");
	tap_ok(strcmp(get("r", "trigger"), "none") == 0 && strcmp(get("r", "brightness"), "255") == 0,
	       "red steady");
	/* Showing it again writes nothing: the files vanish and are not re-created. */
	put("g", "delay_on", "sentinel");
	tap_ok(indicator_show(ind, INDICATOR_NO_DATA_NO_IP) == 0 &&
		   strcmp(get("g", "delay_on"), "sentinel") == 0,
	       "the same pattern again writes nothing");
	tap_ok(indicator_shown(ind) == INDICATOR_NO_DATA_NO_IP, "shown pattern kept");
	indicator_free(ind);
}

static void test_multi(void)
{
	struct indicator_settings s = {
		.path = root, .red = "r", .green = "", .blue = "", .multicolor = "m"
	};
	struct indicator *ind = NULL;

	make_led("m");
	put("m", "multi_index", "green red blue\n");
	put("m", "multi_intensity", "0 0 0\n");
	tap_ok(indicator_new(&s, &ind) == 0 && indicator_wired(ind), "multicolour LED found");
	tap_ok(indicator_show(ind, INDICATOR_NO_IP) == 0, "no IP shown");
	tap_ok(strcmp(get("m", "multi_intensity"), "255 255 0") == 0, "orange in multi_index order: %s",
	       get("m", "multi_intensity"));
	tap_ok(strcmp(get("m", "trigger"), "timer") == 0 && strcmp(get("m", "delay_on"), "500") == 0,
	       "blinking by the timer trigger");
	tap_ok(indicator_show(ind, INDICATOR_STARTING) == 0 &&
		   strcmp(get("m", "multi_intensity"), "0 255 0") == 0 &&
		   strcmp(get("m", "trigger"), "none") == 0 && strcmp(get("m", "brightness"), "255") == 0,
	       "starting: red only, steady");
	indicator_free(ind);

	s.multicolor = "";
	s.red = "gone";
	tap_ok(indicator_new(&s, &ind) == 0 && !indicator_wired(ind), "no LED found: not wired");
	indicator_free(ind);
}

int main(void)
{
	char cmd[128];

	snprintf(root, sizeof(root), "/tmp/test-indicator-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	test_single();
	test_multi();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	(void) !system(cmd);
	return tap_done();
}
