/* SPDX-License-Identifier: MIT */
/*
 * The M-Bus channels of a DSMR telegram (gas, water, heat, cooling meters
 * behind the electricity meter), read by device type rather than by channel
 * number: the DSMR decoder hands every object of channels 1..4 to
 * proto_dsmr_mbus_take() while it parses, and proto_dsmr_mbus_normalise()
 * then fills reading.mbus[] with the live channel of each kind
 * (doc/protocols.md, "M-Bus channels").
 *
 * Pure. No I/O, no logging, no allocation.
 */
#pragma once

#include <stdint.h>

#include "smartconnectd/meter/reading.h"

#define PROTO_DSMR_MBUS_CHANNELS 4

/* What one telegram says of its channels; zero-initialise. Objects are
 * borrowed from the reading being decoded. */
struct proto_dsmr_mbus {
	struct {
		int type; /* EN 13757-3 device type; 0: not sent */
		const struct reading_object *value, *id;
		bool profile; /* value is a DSMR 2.2/3.0 24.3.0 profile */
	} ch[PROTO_DSMR_MBUS_CHANNELS];
};

/* One object 0-b:C.D.E with b = 1..4 (the caller has checked b and A = 0). */
void proto_dsmr_mbus_take(struct proto_dsmr_mbus *m, const struct reading *v,
			  const struct reading_object *obj, unsigned b, unsigned c, unsigned d);

/* Fill v->mbus[]: per kind, the live channel (a readable value that is not
 * negative, with a valid capture time) with the newest capture time, the
 * lowest channel on a tie. std_offset_min: the meter zone's winter offset. */
void proto_dsmr_mbus_normalise(const struct proto_dsmr_mbus *m, struct reading *v, int std_offset_min);
