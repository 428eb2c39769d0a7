/* SPDX-License-Identifier: MIT */
/*
 * The meter side of the daemon: owns the source (the tty, or a TCP
 * connection for Device=tcp://HOST:PORT, see source.h) and the framer, finds the serial
 * setting and protocol the meter speaks (Protocol=auto cycles 115200 8N1,
 * 9600 7E1 and 1200 7E1), publishes every accepted frame to the store, and
 * watches the data for staleness.
 *
 * Log lines other code and tests rely on:
 *   "Receiving <protocol> telegrams from <device> at <setting>[, meter <id>]"
 *   (no " at <setting>" for a tcp:// device)
 *   "telegram: <describe()'s text>"             (debug level, one per frame)
 *   "meter data stale (no telegram for <N>s)" / "meter data fresh again"
 *   "<N> frames rejected in the last <S>s: <n> <reason>, ..." (S: LogSummaryInterval)
 *
 * Detection: the serial settings to try and the start markers to hunt for
 * come from the protocol drivers' table (proto.h): every driver's for auto,
 * one driver's otherwise (Protocol=dsmr tries only the two DSMR settings,
 * tic-* only their own one). Each setting gets a window long enough for a
 * DSMR 2.2-4.x telegram (10 s interval). The setting under which a frame is
 * accepted is locked; a minute without an accepted frame while the device is
 * open unlocks it again.
 *
 * An adapter owned by the daemon, which builds its settings from the
 * configuration; talks to tty, telegram and store.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/meter/source-tcp.h"
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

#define METER_DEVICE_MAX 256

/* Text for the per-frame debug line, malloc()ed, or NULL (out of memory). */
typedef char *(*meter_describe_fn)(const struct reading *v);

/* Everything the meter takes from the configuration, built by the daemon.
 * Owns no memory: copied by the meter, compared field by field by
 * meter_reconfigure(). */
struct meter_settings {
	char device[METER_DEVICE_MAX];  /* absolute path of the tty, or tcp://HOST:PORT */
	enum reading_protocol protocol; /* READING_PROTO_NONE: auto, detect among every driver */
	uint32_t stale_after_sec;       /* 0: 3 x the meter's interval */
	struct decode_opts opts;
	uint64_t summary_usec; /* rejected frames are summarised this often */
	/* The frame in the debug log; NULL: its protocol, length and power. */
	meter_describe_fn describe;
	/* Host names of a tcp:// device (net/resolve.h's calls); NULL: numeric only. */
	const struct source_tcp_resolver *resolver;
};

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
	 * on the line (all of an encrypted frame, whatever its text), and the verdict. */
	void (*on_frame)(uint64_t offset, size_t len, bool accepted, void *userdata);
	/* Just before on_frame() of an accepted encrypted frame: the decrypted
	 * telegram (borrowed for the call) that stands for the frame's bytes. */
	void (*on_plaintext)(uint64_t offset, const char *text, size_t len, void *userdata);
	/* Every byte before offset is settled: part of a reported frame or noise. */
	void (*on_sync)(uint64_t offset, void *userdata);
	void *userdata;
};

/* Called after every change of meter_get_state() or of the protocol received. */
typedef void (*meter_state_fn)(struct meter *m, void *userdata);

/* s is copied. The store is borrowed and must outlive the meter. Nothing is
 * opened before meter_start(). -ENOMEM or 0. */
int meter_new(sd_event *e, struct store *store, const struct meter_settings *s, meter_state_fn on_state,
	      void *userdata, struct meter **ret);
/* Stops first. NULL-safe, returns NULL. */
struct meter *meter_free(struct meter *m);
DEFINE_FREEP(struct meter, meter_free)

/* Open the tty (failing to open is the DEVICE_MISSING state, not an error).
 * Returns 0 or a negative errno for event-loop failures (logged). */
int meter_start(struct meter *m);
void meter_stop(struct meter *m);

/* Apply new settings (copied), against the ones in force: a new device or
 * protocol (or redetect) detects the protocol again, on the new device if
 * the device changed;
 * the other fields only update decoder options, the stale limit and the
 * summary interval. Nothing changed and no redetect: nothing happens. Runtime
 * trouble (new device missing) becomes a state; errors are -ENOMEM only. */
int meter_reconfigure(struct meter *m, const struct meter_settings *s, bool redetect);

enum meter_state meter_get_state(const struct meter *m);

/* A line for humans (systemd STATUS=): "receiving DSMR 5.0 telegrams",
 * "no meter data", "meter data stale, no telegram for 30s",
 * "meter device missing, retrying", "encrypted meter, no DecryptionKey set".
 * An encrypted meter's line counts its troubles: "receiving DSMR 4.2
 * telegrams, encrypted (1 frame counter not increasing, 2 tag not verified)".
 * Never holds a key. Returns buf. */
const char *meter_status(const struct meter *m, char *buf, size_t size);

/* The framer's counters (accepted, rejected by reason, noise). Borrowed. */
const struct telegram_counters *meter_counters(const struct meter *m);
/* Times the device was opened since meter_new(): the first open and every reopen. */
uint64_t meter_device_opens(const struct meter *m);

/* Copy tap (NULL: none). The tap's owner must clear it before going away. */
void meter_set_tap(struct meter *m, const struct meter_tap *tap);

/* Stale limit in force: StaleAfter, or 3 x the meter's interval (at least 10 s). */
uint64_t meter_stale_usec(const struct meter *m);
