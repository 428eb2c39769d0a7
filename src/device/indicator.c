/* SPDX-License-Identifier: MIT */
/*
 * The status LED's writes to the LED class (see indicator.h). What to show
 * is decided in indicator-state.c; this file only turns a look into
 * attribute writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/device/indicator.h"

#define PATH_MAX_LEN 512

struct led {
	char name[INDICATOR_NAME_MAX]; /* "" = not wired or not found */
	unsigned max_brightness;
};

struct indicator {
	char path[PATH_MAX_LEN];
	struct led colour[_INDICATOR_COLOUR_MAX];
	struct led multi;
	int multi_slot[_INDICATOR_COLOUR_MAX]; /* a colour's place in multi_index, -1 = none */
	unsigned n_slots;                      /* entries in multi_index */
	enum indicator_pattern shown;
	bool started; /* something was shown: the first show always writes */
};

static int led_attr_path(const struct indicator *ind, const struct led *l, const char *attr, char *buf,
			 size_t size)
{
	int n = snprintf(buf, size, "%s/%s/%s", ind->path, l->name, attr);

	return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* A small attribute's text (max_brightness, multi_index); "" when unreadable. */
static int led_read(const struct indicator *ind, const struct led *l, const char *attr, char *buf,
		    size_t size)
{
	char path[PATH_MAX_LEN];
	ssize_t n;
	int fd, r;

	buf[0] = '\0';
	r = led_attr_path(ind, l, attr, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return r;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Replace the attribute's whole value. */
static int led_write(const struct indicator *ind, const struct led *l, const char *attr, const char *value)
{
	char path[PATH_MAX_LEN];
	size_t n = strlen(value);
	ssize_t w;
	int fd, r;

	r = led_attr_path(ind, l, attr, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	w = write(fd, value, n);
	r = w < 0 ? -errno : (size_t) w != n ? -EIO : 0;
	close(fd);
	return r;
}

static int led_write_uint(const struct indicator *ind, const struct led *l, const char *attr, unsigned v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", v);
	return led_write(ind, l, attr, buf);
}

/* Off, steady or blinking: trigger first, as setting a trigger resets the
 * brightness and creates the timer's delay attributes. */
static int led_apply(const struct indicator *ind, const struct led *l, const struct indicator_light *li)
{
	int r;

	if (!l->name[0])
		return 0;
	if (li->on && li->delay_on_ms) {
		r = led_write(ind, l, "trigger", "timer");
		if (r >= 0)
			r = led_write_uint(ind, l, "delay_on", li->delay_on_ms);
		if (r >= 0)
			r = led_write_uint(ind, l, "delay_off", li->delay_off_ms);
		return r;
	}
	r = led_write(ind, l, "trigger", "none");
	if (r >= 0)
		r = led_write_uint(ind, l, "brightness", li->on ? l->max_brightness : 0);
	return r;
}

/* Look up a named LED; a missing one is logged and left out. */
static void led_find(const struct indicator *ind, struct led *l, const char *name, const char *what)
{
	char buf[32];
	int r;

	l->name[0] = '\0';
	if (!name || !name[0])
		return;
	snprintf(l->name, sizeof(l->name), "%s", name);
	r = led_read(ind, l, "max_brightness", buf, sizeof(buf));
	if (r < 0) {
		log_warning_errno(r, "LED '%s' (%s) not found in '%s', ignoring it: %m", name, what,
				  ind->path);
		l->name[0] = '\0';
		return;
	}
	l->max_brightness = (unsigned) strtoul(buf, NULL, 10);
	if (l->max_brightness == 0)
		l->max_brightness = 1;
}

/* multi_index names the order of the intensities, e.g. "red green blue". */
static void multi_find_slots(struct indicator *ind)
{
	static const char *const names[_INDICATOR_COLOUR_MAX] = { "red", "green", "blue" };
	char buf[256], *save = NULL;
	unsigned i = 0;

	for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++)
		ind->multi_slot[c] = -1;
	if (!ind->multi.name[0])
		return;
	if (led_read(ind, &ind->multi, "multi_index", buf, sizeof(buf)) < 0)
		buf[0] = '\0';
	for (char *w = strtok_r(buf, " ", &save); w && i < 32; w = strtok_r(NULL, " ", &save), i++)
		for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++)
			if (strcmp(w, names[c]) == 0 && ind->multi_slot[c] < 0)
				ind->multi_slot[c] = (int) i;
	ind->n_slots = i;
	if (ind->multi_slot[INDICATOR_RED] < 0 && ind->multi_slot[INDICATOR_GREEN] < 0 &&
	    ind->multi_slot[INDICATOR_BLUE] < 0) {
		log_warning("LED '%s' has no red, green or blue in its multi_index, ignoring it",
			    ind->multi.name);
		ind->multi.name[0] = '\0';
	}
}

int indicator_new(const struct indicator_settings *s, struct indicator **ret)
{
	static const char *const what[_INDICATOR_COLOUR_MAX] = { "red", "green", "blue" };
	const char *names[_INDICATOR_COLOUR_MAX] = { s->red, s->green, s->blue };
	struct indicator *ind = calloc(1, sizeof(*ind));

	if (!ind)
		return -ENOMEM;
	snprintf(ind->path, sizeof(ind->path), "%s", s->path);
	if (s->multicolor && s->multicolor[0]) {
		led_find(ind, &ind->multi, s->multicolor, "multicolour");
		multi_find_slots(ind);
	} else
		for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++)
			led_find(ind, &ind->colour[c], names[c], what[c]);
	*ret = ind;
	return 0;
}

struct indicator *indicator_free(struct indicator *ind)
{
	free(ind);
	return NULL;
}

bool indicator_wired(const struct indicator *ind)
{
	if (ind->multi.name[0])
		return true;
	for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++)
		if (ind->colour[c].name[0])
			return true;
	return false;
}

enum indicator_pattern indicator_shown(const struct indicator *ind)
{
	return ind->shown;
}

/* The multicolour LED: the mix as intensities, then one light. */
static int multi_apply(const struct indicator *ind, const struct indicator_look *look)
{
	char buf[256];
	size_t k = 0;
	int r;

	for (unsigned i = 0; i < ind->n_slots && k < sizeof(buf); i++) {
		unsigned v = 0;

		for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++)
			if (ind->multi_slot[c] == (int) i && look->mix[c])
				v = ind->multi.max_brightness;
		k += (size_t) snprintf(buf + k, sizeof(buf) - k, "%s%u", i ? " " : "", v);
	}
	r = led_write(ind, &ind->multi, "multi_intensity", buf);
	if (r < 0)
		return r;
	return led_apply(ind, &ind->multi, &look->multi);
}

int indicator_show(struct indicator *ind, enum indicator_pattern p)
{
	const struct indicator_look *look = indicator_state_look(p);
	int r = 0;

	if (ind->started && ind->shown == p)
		return 0;
	ind->started = true;
	ind->shown = p;
	log_debug("LED: %s", indicator_pattern_to_string(p));
	if (ind->multi.name[0])
		r = multi_apply(ind, look);
	else
		for (size_t c = 0; c < _INDICATOR_COLOUR_MAX; c++) {
			int q = led_apply(ind, &ind->colour[c], &look->colour[c]);

			if (q < 0 && r == 0)
				r = q;
		}
	if (r < 0)
		log_warning_errno(r, "Failed to show the LED pattern '%s', ignoring: %m",
				  indicator_pattern_to_string(p));
	return r;
}
