/* SPDX-License-Identifier: MIT */
/*
 * The meter side of the daemon: owns the tty and the framer, finds the serial
 * setting and protocol the meter speaks (Protocol=auto cycles 115200 8N1,
 * 9600 7E1 and 1200 7E1), publishes every accepted frame to the store, and
 * watches the data for staleness.
 *
 * Log lines other code and tests rely on:
 *   "Receiving <protocol> telegrams from <device> at <setting>[, meter <id>]"
 *   "telegram: <power_instant JSON>"            (debug level, one per frame)
 *   "meter data stale (no telegram for <N>s)" / "meter data fresh again"
 *   "<N> frames rejected in the last <S>s: <n> <reason>, ..." (S: LogSummaryInterval)
 *
 * Detection: each setting gets a window long enough for a DSMR 2.2-4.x telegram
 * (10 s interval). The setting under which a frame is accepted is locked; a
 * minute without an accepted frame while the device is open unlocks it again.
 * Protocol=dsmr tries only the two DSMR settings, tic-* only their own one.
 *
 * An adapter owned by the daemon; talks to tty, telegram and store.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/core/config.h"
#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/meter/tty.h"

enum meter_state {
	METER_STATE_STOPPED,
	METER_STATE_DEVICE_MISSING, /* the tty cannot be opened or vanished */
	METER_STATE_NO_DATA,        /* open, nothing accepted yet */
	METER_STATE_RECEIVING,      /* fresh data */
	METER_STATE_STALE,          /* had data, none within the stale limit */
	_METER_STATE_MAX,
};

struct meter;

/*
 * A second reader of the meter's line (the passthrough). Offsets count the
 * bytes read since the meter was created, so a tap set later agrees with the
 * framer. Every callback is optional; all run inside the meter's callbacks and
 * must not call back into the meter.
 */
struct meter_tap {
	/* Bytes as read at the given serial setting, before the framer sees them. */
	void (*on_bytes)(uint64_t offset, const uint8_t *buf, size_t n, enum tty_setting setting,
			 void *userdata);
	/* A frame the framer finished: its first byte's offset, its length in bytes
	 * (only the header of an encrypted frame), and the verdict. */
	void (*on_frame)(uint64_t offset, size_t len, bool accepted, void *userdata);
	/* Every byte before offset is settled: part of a reported frame or noise. */
	void (*on_sync)(uint64_t offset, void *userdata);
	void *userdata;
};

/* Called after every change of meter_get_state() or of the protocol received. */
typedef void (*meter_state_fn)(struct meter *m, void *userdata);

/* Takes what it needs from c (not kept). The store is borrowed and must outlive
 * the meter. Nothing is opened before meter_start(). -ENOMEM or 0. */
int meter_new(sd_event *e, struct store *store, const struct config *c, meter_state_fn on_state,
	      void *userdata, struct meter **ret);
/* Stops first. NULL-safe, returns NULL. */
struct meter *meter_free(struct meter *m);
DEFINE_FREEP(struct meter, meter_free)

/* Open the tty (failing to open is the DEVICE_MISSING state, not an error).
 * Returns 0 or a negative errno for event-loop failures (logged). */
int meter_start(struct meter *m);
void meter_stop(struct meter *m);

/* Apply the [Meter] keys of c. changed is a config_diff() mask: CONFIG_APPLY_TTY
 * reopens the device and detects the protocol again, CONFIG_APPLY_METER only
 * updates decoder options and the stale limit. Runtime trouble (new device
 * missing) becomes a state; errors are -ENOMEM only. */
int meter_reconfigure(struct meter *m, const struct config *c, unsigned changed);

enum meter_state meter_get_state(const struct meter *m);

/* A line for humans (systemd STATUS=): "receiving DSMR 5.0 telegrams",
 * "no meter data", "meter data stale, no telegram for 30s",
 * "meter device missing, retrying". Returns buf. */
const char *meter_status(const struct meter *m, char *buf, size_t size);

/* The framer's counters (accepted, rejected by reason, noise). Borrowed. */
const struct telegram_counters *meter_counters(const struct meter *m);

/* Copy tap (NULL: none). The tap's owner must clear it before going away. */
void meter_set_tap(struct meter *m, const struct meter_tap *tap);

/* Stale limit in force: StaleAfter, or 3 x the meter's interval (at least 10 s). */
uint64_t meter_stale_usec(const struct meter *m);
