/* SPDX-License-Identifier: MIT */
/*
 * Decoded frames to JSON (jansson). The same shapes serve smartconnect-decode,
 * the HTTP API and MQTT, so every output agrees on names, units and nulls.
 *
 * Pure. No I/O. Never logs. Returned objects are new references (json_decref).
 */
#pragma once

#include <jansson.h>

#include "smartconnectd/proto.h"
#include "smartconnectd/values.h"

/* Flags for json_dumps(): compact, and reals with 15 significant digits so a
 * value prints as the decimal the meter sent (the fields hold at most 12). */
#define APIJSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* The power_instant object of SPEC §5: ts, P, E_IMPORT, E_EXPORT, U12, U31, U32,
 * l1{U,I,P}, l2, l3. Unknown values are null. NULL only on OOM. */
json_t *apijson_power_instant(const struct meter_values *v);

/* {"protocol", "version", "id"} */
json_t *apijson_meter(const struct meter_values *v);

/* Every object of the frame, in frame order: [{"id", "raw": [...], and where the
 * frame gives them "value", "unit", "time", "text", "entries"}]. */
json_t *apijson_objects(const struct meter_values *v, const struct decode_opts *o);

/* power_instant keys + "meter" + "flags" + "objects": one line of smartconnect-decode. */
json_t *apijson_telegram(const struct meter_values *v, const struct decode_opts *o);
