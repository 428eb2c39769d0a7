/* SPDX-License-Identifier: MIT */
/*
 * Decoded frames to JSON (jansson). The same shapes serve smartconnect-decode,
 * the HTTP API and MQTT, so every output agrees on names, units and nulls.
 *
 * Pure. No I/O. Never logs. Returned objects are new references (json_decref).
 */
#pragma once

#include <jansson.h>

#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"

/* Flags for json_dumps(): compact, and reals with 15 significant digits so a
 * value prints as the decimal the meter sent (the fields hold at most 12). */
#define READING_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* The power_instant object of SPEC §5: ts, P, E_IMPORT, E_EXPORT, U12, U31, U32,
 * l1{U,I,P}, l2, l3. Unknown values are null. NULL only on OOM. */
json_t *reading_json_power_instant(const struct reading *v);

/* reading_json_power_instant() as compact text (free()), or NULL on OOM. */
char *reading_json_power_instant_dump(const struct reading *v);

/* {"protocol", "version", "id"} */
json_t *reading_json_meter(const struct reading *v);

/* Every object of the frame, in frame order: [{"id", "raw": [...], and where the
 * frame gives them "value", "unit", "time", "text", "entries"}]. */
json_t *reading_json_objects(const struct reading *v, const struct decode_opts *o);

/* power_instant keys + "meter" + "flags" + "objects": one line of smartconnect-decode. */
json_t *reading_json_telegram(const struct reading *v, const struct decode_opts *o);

/* The names of the flags in "flags", in order (shared with reading-json-objects.c). */
struct reading_json_flag {
	uint32_t flag;
	const char *name;
};
#define READING_JSON_N_FLAGS 9
extern const struct reading_json_flag reading_json_flags[READING_JSON_N_FLAGS];

/* A value that reads as a DSMR timestamp (YYMMDDhhmmss with an optional S or W). */
bool reading_json_looks_like_tst(const struct reading *v, struct reading_span s);
