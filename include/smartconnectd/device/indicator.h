/* SPDX-License-Identifier: MIT */
/*
 * The status LED through the kernel's LED class: three single-colour LEDs
 * (red, green, blue; any may be missing) or one multicolour LED, under a
 * class directory (/sys/class/leds; a test directory with the same files in
 * tests).
 *
 * Each write opens the attribute with O_WRONLY|O_TRUNC|O_NONBLOCK and replaces
 * its whole value, as sysfs does, so a plain file standing in for one holds
 * exactly the last value written. Steady: trigger "none", then brightness.
 * Blinking: trigger "timer", then delay_on and delay_off; the kernel blinks,
 * the daemon is not woken. Nothing is written while the pattern stays.
 *
 * An adapter owned by the daemon. Logs a missing LED once at creation and a
 * failed write once per pattern change.
 */
#pragma once

#include <stdbool.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/device/indicator-state.h"

#define INDICATOR_NAME_MAX 128

struct indicator_settings {
	const char *path;               /* the class directory */
	const char *red, *green, *blue; /* LED names under path, "" = not wired */
	const char *multicolor;         /* a multicolour LED's name; "" = none, else it wins */
};

struct indicator;

/* Strings are copied. Reads max_brightness (and multi_index) of each named
 * LED; one that is missing is logged and left out. -ENOMEM or 0. */
int indicator_new(const struct indicator_settings *s, struct indicator **ret);
struct indicator *indicator_free(struct indicator *ind); /* NULL-safe; turns nothing off */
DEFINE_FREEP(struct indicator, indicator_free)

/* True when at least one LED is wired and present. */
bool indicator_wired(const struct indicator *ind);

/* Show p unless it is already shown. Returns 0, or the first write error
 * (logged). Never waits: the writes are to sysfs or to plain files. */
int indicator_show(struct indicator *ind, enum indicator_pattern p);

/* The pattern last shown (INDICATOR_OFF before the first). */
enum indicator_pattern indicator_shown(const struct indicator *ind);
