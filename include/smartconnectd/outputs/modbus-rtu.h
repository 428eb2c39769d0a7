/* SPDX-License-Identifier: MIT */
/*
 * The Modbus RTU server: the gateway as a meter on an RS-485 bus, through a
 * USB adapter's tty, in the daemon's sd-event loop. libmodbus's RTU backend
 * opens and sets up the line, checks each request's CRC and length, and
 * writes the answers; the server itself only finds where a frame ends: the
 * line silent for 3.5 character times (1.75 ms above 19200 baud, as the
 * Modbus serial line specification says), measured with a loop timer on
 * bytes read without blocking. modbus_receive() never waits on the line.
 *
 * Like a real meter on a shared bus it answers its own unit id only, and a
 * broadcast (unit 0) never. The values come from the same snapshot store as
 * the TCP server's, through the same templates, so the two never disagree.
 * A vanished adapter (EIO, hang-up, EOF) is a state: the line is reopened
 * with back-off (1 s doubling to 30 s) and at once when the device's name
 * shows up again in its directory (inotify).
 *
 * Log lines tests rely on:
 *   "Modbus RTU server on <dev> at <baud> <8><parity><stop>, unit id <n>, meter type <name>, ..."
 *   "Modbus RTU line '<dev>' vanished, retrying in <s>s"     "Modbus RTU line '<dev>' is back"
 *
 * An adapter owned by the daemon; talks to modbus-image and the store.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/outputs/modbus-map.h"
#include "smartconnectd/outputs/modbus-server.h"

#define MODBUS_RTU_PATH_MAX 256

struct modbus_rtu_settings {
	char device[MODBUS_RTU_PATH_MAX];
	unsigned baud;
	char parity; /* 'N', 'E' or 'O' */
	unsigned stop_bits;
	unsigned unit_id; /* 1..247 */
	/* As configured; the server serves modbus_map_for_rtu() of it. */
	const struct modbus_map_template *template;
	enum modbus_server_stale_policy stale_policy;
	struct modbus_map_ident ident; /* strings borrowed: must outlive the server or the next reconfigure */
};

struct modbus_rtu_counters {
	uint64_t requests;   /* requests to our unit id answered, exceptions included */
	uint64_t exceptions; /* of which answered with an exception */
	uint64_t ignored;    /* frames for another unit id or broadcast: not answered */
	uint64_t bad;        /* frames too short or too long, or with a bad CRC: dropped */
	uint64_t send_errors;
};

struct modbus_rtu;

/* The silence that ends a frame at this setting, in microseconds. */
uint64_t modbus_rtu_gap_usec(unsigned baud, char parity, unsigned stop_bits) __attribute__((const));

/* Nothing is opened yet. The store is borrowed. -ENOMEM or 0. */
int modbus_rtu_new(sd_event *e, struct store *store, const struct modbus_rtu_settings *s,
		   struct modbus_rtu **ret);
struct modbus_rtu *modbus_rtu_free(struct modbus_rtu *m); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct modbus_rtu, modbus_rtu_free)

/* First open attempt; a line that cannot be opened is retried, not an error.
 * Errors are event-loop failures (negative errno, logged). */
int modbus_rtu_start(struct modbus_rtu *m);

/* New settings: a new line setting or unit id reopens the line, a new
 * template or policy applies to the next request. 0 or a negative errno. */
int modbus_rtu_reconfigure(struct modbus_rtu *m, const struct modbus_rtu_settings *s);

bool modbus_rtu_is_open(const struct modbus_rtu *m);
const struct modbus_rtu_counters *modbus_rtu_counters(const struct modbus_rtu *m);
