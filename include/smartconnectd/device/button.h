/* SPDX-License-Identifier: MIT */
/*
 * The push button: an evdev input device (gpio-keys; a FIFO carrying the same
 * struct input_event records in tests), read non-blocking in the event loop.
 * One key is watched; the others are ignored.
 *
 * A press's length is taken from the records' own time stamps (release minus
 * press), so a late read does not make a press longer. While the key is held,
 * a loop timer reports each threshold passed (5 s, then 10 s) so the LED can
 * show what a release would do.
 *
 * The device vanishing (ENODEV, end of file, hang-up) is survived like the
 * meter's tty: the fd is closed and reopened with a back-off of 1 s doubling
 * to 30 s, back to 1 s once records were read. Log lines tests rely on:
 *   "Button: '<dev>' vanished, retrying"   "Button: '<dev>' is back"
 *
 * An adapter owned by the daemon.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

struct button_settings {
	const char *device; /* copied */
	int key;            /* the EV_KEY code */
};

enum button_event {
	BUTTON_EVENT_DOWN,      /* held_usec 0 */
	BUTTON_EVENT_THRESHOLD, /* still held; held_usec by the loop's clock */
	BUTTON_EVENT_UP,        /* released; held_usec from the records' time stamps */
	BUTTON_EVENT_LOST,      /* the device went away while the key was held: no action */
	_BUTTON_EVENT_MAX,
};

struct button;

/* The callback may not free the button. */
typedef void (*button_fn)(struct button *b, enum button_event ev, uint64_t held_usec, void *userdata);

/* -ENOMEM or 0. Nothing is opened before button_start(). */
int button_new(sd_event *e, const struct button_settings *s, button_fn fn, void *userdata,
	       struct button **ret);
struct button *button_free(struct button *b); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct button, button_free)

/* First open attempt; a failure is a warning and arms the retry. 0 or -ENOMEM. */
int button_start(struct button *b);
