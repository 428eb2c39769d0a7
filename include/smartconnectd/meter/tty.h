/* SPDX-License-Identifier: MIT */
/*
 * The meter's serial line: open the tty (raw, non-blocking, exclusive), set one
 * of the meter serial settings, hand every byte read to the owner, and say
 * when the line has been silent for a frame gap. A vanished device (unplugged
 * USB adapter: EOF, EIO, HUP) or one that cannot be opened is a state, not an
 * error: the tty retries with capped exponential back-off (1 s doubling to
 * 30 s) and reports each state change once in the log.
 *
 * The same object drives an output line (the passthrough's P1 out): writes
 * are non-blocking, and a line that takes no more says so with -EAGAIN and a
 * later on_writable call.
 *
 * An adapter: owns its fd and event sources on the caller's sd-event loop.
 * Knows nothing about frames or protocols.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

enum tty_setting {
	TTY_SETTING_115200_8N1, /* DSMR 4.x/5.x, e-MUCS, Smarty */
	TTY_SETTING_9600_7E1,   /* DSMR 2.2/3.0, TIC standard */
	TTY_SETTING_1200_7E1,   /* TIC historique */
	_TTY_SETTING_MAX,
};

enum tty_state {
	TTY_STATE_STOPPED,  /* not started, or stopped */
	TTY_STATE_OPEN,     /* reading */
	TTY_STATE_RETRYING, /* missing or lost; a reopen is scheduled */
	_TTY_STATE_MAX,
};

struct tty_callbacks {
	/* Bytes as read; borrowed for the call. Returns true while the owner holds
	 * an unfinished frame: only then does silence on the line matter. */
	bool (*on_data)(const uint8_t *buf, size_t n, void *userdata);
	/* The line was silent for the setting's frame gap inside a frame. */
	void (*on_idle)(void *userdata);
	/* After each state change, including those inside tty_start()/tty_set_path(). */
	void (*on_state)(enum tty_state state, void *userdata);
	/* The line takes bytes again after tty_want_write(t, true). */
	void (*on_writable)(void *userdata);
};

struct tty;

/* "115200 8N1", "9600 7E1", "1200 7E1". */
const char *tty_setting_to_string(enum tty_setting s) __attribute__((const));

/* Characters a second at full line speed: 11520, 960, 120. */
unsigned tty_setting_bytes_per_sec(enum tty_setting s) __attribute__((const));

/* Silence after which a frame in progress is given up. */
uint64_t tty_setting_idle_usec(enum tty_setting s) __attribute__((const));

/* Does not open anything yet. cb is copied. -ENOMEM or 0. Owned by the caller. */
int tty_new(sd_event *e, const char *path, enum tty_setting setting, const struct tty_callbacks *cb,
	    void *userdata, struct tty **ret);
/* Stops first. NULL-safe, returns NULL. Not from inside one of its callbacks. */
struct tty *tty_free(struct tty *t);
DEFINE_FREEP(struct tty, tty_free)

/* First open attempt. Failing to open is logged and leads to the retrying
 * state, not an error; errors are only event-loop failures (negative errno). */
int tty_start(struct tty *t);
void tty_stop(struct tty *t);

/* Change the serial setting, at once if open, else at the next open. Returns
 * 0 or the negative errno of tcsetattr() (not logged; the setting is kept). */
int tty_set_setting(struct tty *t, enum tty_setting setting);

/* Switch to another device: close the current one and open the new one at
 * once (back-off reset). Only when started. -ENOMEM or 0. */
int tty_set_path(struct tty *t, const char *path);

/* Write without blocking. Returns the number of bytes taken, -EAGAIN when the
 * line takes none now, or another negative errno after which the device is
 * handled as vanished (retrying; logged). Only when open (-ENOTCONN otherwise). */
ssize_t tty_write(struct tty *t, const void *buf, size_t n);
/* Ask for on_writable while on; kept across reopens. 0 or a negative errno. */
int tty_want_write(struct tty *t, bool on);

enum tty_state tty_get_state(const struct tty *t);
enum tty_setting tty_get_setting(const struct tty *t);
const char *tty_get_path(const struct tty *t);
