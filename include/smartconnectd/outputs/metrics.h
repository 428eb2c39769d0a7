/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the snapshot and the daemon's counters in the Prometheus
 * text exposition format, version 0.0.4.
 *
 * Names follow the Prometheus conventions: every name starts with
 * "smartconnect_", counters end in "_total", units are base units in the
 * name (watts, volts, amperes, joules, seconds, bytes). Energy registers are
 * exported in joules (1 kWh = 3 600 000 J), as the conventions ask for base
 * units; a dashboard divides by 3.6e6 for kWh. Gas and water registers of
 * M-Bus meters are in cubic metres, heat in joules. Values the meter does not
 * give are left out, never written as 0.
 *
 * Pure. No I/O. Never logs. The daemon copies the counters out of each
 * adapter into struct metrics_input, so this module sees no adapter.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "smartconnectd/meter/reading.h"
#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/outputs/mqtt.h"
#include "smartconnectd/outputs/passthrough.h"

/* The content type of the format. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Everything the page shows; copies, except the borrowed reading. */
struct metrics_input {
	const struct reading *reading; /* the current snapshot's; NULL: nothing received yet */
	uint64_t data_age_usec;        /* age of that snapshot */
	bool stale;
	bool meter_receiving; /* the meter state is "receiving" */
	uint64_t device_opens;
	struct telegram_counters telegram;

	struct modbus_server_counters modbus;
	unsigned modbus_clients;

	bool mqtt_enabled, mqtt_connected;
	struct mqtt_counters mqtt;
	struct reachability_counters reach;

	struct passthrough_counters passthrough;
	unsigned passthrough_clients;

	struct httpd_counters http;
	unsigned live_clients;

	uint64_t uptime_usec;
	uint64_t oom;
};

/* The page as NUL-terminated text (free()), or NULL on OOM. */
char *metrics_format(const struct metrics_input *in);
