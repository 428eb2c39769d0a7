/* SPDX-License-Identifier: MIT */
/*
 * The meter's object, shared by meter.c and meter-status.c only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "smartconnectd/base/log-summary.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/meter/telegram.h"

struct meter {
	sd_event *event;
	struct store *store; /* borrowed */
	struct source *src;  /* the tty, or a TCP connection */
	struct telegram *framer;
	struct meter_tap tap;
	meter_state_fn on_state;
	void *userdata;

	struct meter_settings settings;

	/* Detection: the serial settings to try, the one in use, and whether it is locked. */
	enum tty_setting serial[_TTY_SETTING_MAX];
	size_t n_serial, serial_idx;
	unsigned hunt;
	bool locked;
	bool detect_reported; /* "nothing found yet" said for this round */
	unsigned extensions;
	sd_event_source *hunt_timer; /* detection window, or lock loss when locked */
	/* Locked: the timer runs for the lock loss, counted from lock_ref_usec
	 * (the last frame), and moves itself on when it fires: a frame does not
	 * re-arm it, and a 1 Hz meter costs one extra wake-up a minute. */
	bool hunt_lazy;
	uint64_t lock_ref_usec;

	/* What the meter turned out to be (valid when found_protocol != NONE). */
	enum reading_protocol found_protocol;
	char found_version[READING_VERSION_MAX];
	char found_id[READING_ID_MAX];

	uint32_t interval_s;
	bool stale;
	sd_event_source *stale_timer;
	bool stale_armed; /* stale_timer runs, for stale_armed_at */
	uint64_t stale_armed_at;

	bool no_key; /* encrypted frames came and no DecryptionKey= is set */

	struct log_summary rejects;
	unsigned reject_counts[_TELEGRAM_ERR_MAX]; /* by reason, since the last summary */

	uint64_t device_opens;

	enum meter_state state;
	bool started;
	bool quiet; /* reconfiguring: report the state once at the end */
};

/* The stale limit in whole seconds, as the status line and the log say it. */
unsigned meter_stale_sec(const struct meter *m);
