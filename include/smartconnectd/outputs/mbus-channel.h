/* SPDX-License-Identifier: MIT */
/*
 * The M-Bus meters a DSMR telegram relays (gas, water, heat), channel by
 * channel: device type 0-n:24.1.0, equipment id 0-n:96.1.0 (e-MUCS:
 * 0-n:96.1.1), last reading 0-n:24.2.1 (e-MUCS gas: 0-n:24.2.3) as
 * (time stamp)(value*unit). Shared by the HomeWizard-compatible JSON and
 * GET /metrics.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>

#include "smartconnectd/meter/reading.h"

#define MBUS_CHANNEL_MAX 4

enum mbus_kind {
	MBUS_OTHER,
	MBUS_GAS,        /* device type 3 */
	MBUS_HEAT,       /* 4, 5 */
	MBUS_WARM_WATER, /* 6 */
	MBUS_WATER,      /* 7 */
	MBUS_INLET_HEAT, /* 12 */
};

struct mbus_channel {
	enum mbus_kind kind;
	struct reading_span id;    /* equipment id as sent (hex), may be empty */
	struct reading_span stamp; /* the reading's time stamp, "231102121002W" */
	struct reading_number value;
};

/* Channel ch (1..MBUS_CHANNEL_MAX) of v: true when it has a type and a
 * reading that parses; spans and the unit point into v. */
bool mbus_channel_read(const struct reading *v, unsigned ch, struct mbus_channel *ret);

/* The value as a double in its own unit. */
double mbus_number(const struct reading_number *n);
