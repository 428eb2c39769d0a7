/* SPDX-License-Identifier: MIT */
/*
 * Fixed-shape JSON of a decoded frame written as text straight from the
 * reading's integers (jbuf.h): the MQTT power_instant payload once per
 * telegram with no allocation and no float formatting. Same keys, order and
 * values as reading_json_power_instant() (reading-json.h), which stays the
 * tree for callers that extend it.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>

#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"
#include "smartconnectd/outputs/jbuf.h"

/* Room for any power_instant of a normal meter; a hostile frame with huge
 * unit or id strings may not fit (the caller then falls back to the tree). */
#define READING_JSON_TEXT_POWER_MAX 2048

/* power_instant of v into buf: its length, or -ENOBUFS when it does not fit. */
int reading_json_text_power_instant(const struct reading *v, char *buf, size_t size);

/* The same as a value of j (key: its name in the enclosing object, or NULL). */
void reading_json_text_power_instant_to(struct jbuf *j, const char *key, const struct reading *v);
/* Its members alone, into an object open in j (the caller adds its own and closes it). */
void reading_json_text_power_instant_members(struct jbuf *j, const struct reading *v);

/* One line of smartconnect-decode (reading-json-objects.c): the power_instant
 * members, "meter", "flags" and "objects", as reading_json_telegram() builds
 * them. Its length, or -ENOBUFS (the caller then uses the tree).
 * READING_JSON_TEXT_TELEGRAM_MAX: every byte of text[] escaped six times over
 * and the keys around the objects and values, room for any real frame. */
#define READING_JSON_TEXT_TELEGRAM_MAX \
	(6 * READING_TEXT_MAX + 192 * READING_OBJECTS_MAX + 8 * READING_VALUES_MAX)
int reading_json_text_telegram(const struct reading *v, const struct decode_opts *opts, char *buf,
			       size_t size);
