/* SPDX-License-Identifier: MIT */
/*
 * What a Modbus client reads, point by point: the words of a template's point
 * taken from a register image a server serves (not from the snapshot), and its
 * value decoded by the point's type as a charger computes it: floats and
 * integers divided by 10^exp (the point's value in its unit), SunSpec int16
 * values times 10^(their group's scale factor register), strings up to their
 * first NUL. SunSpec's "not implemented" int16 0x8000 decodes to no value.
 * For GET /api/v1/modbus and the page's Modbus panel.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/outputs/modbus-map.h"

#define MODBUS_VIEW_WORDS_MAX 32 /* the longest point: 16 acc32 */

enum modbus_view_kind {
	MODBUS_VIEW_NULL, /* not implemented (SunSpec), or a scale factor that is not */
	MODBUS_VIEW_NUMBER,
	MODBUS_VIEW_TEXT,
};

struct modbus_view_point {
	uint16_t addr;
	bool holding_only; /* read with FC 0x03 only; else FC 0x03 and 0x04 */
	const char *name;  /* modbus_map_point_name(); NULL when the point has none */
	const char *unit;  /* "" for none */
	const char *type;  /* "float32 CDAB", "int32 CDAB", "int16 (SF)", "string", ... */
	unsigned n_words;
	uint16_t words[MODBUS_VIEW_WORDS_MAX];
	enum modbus_view_kind kind;
	double number;                            /* MODBUS_VIEW_NUMBER */
	char text[2 * MODBUS_VIEW_WORDS_MAX + 1]; /* MODBUS_VIEW_TEXT: printable ASCII, others as '?' */
};

/* The points of a template: its points (FC 0x03 and 0x04), then its holding-only ones. */
size_t modbus_view_count(const struct modbus_map_template *t);

/* Point i of t (i < modbus_view_count(t)) read from the images (MODBUS_MAP_SIZE
 * words each: FC 0x04 input, FC 0x03 holding) into *ret. */
void modbus_view_decode(const struct modbus_map_template *t, size_t i, const uint16_t *input,
			const uint16_t *holding, struct modbus_view_point *ret);

struct modbus_view_image {
	const struct modbus_map_template *template;
	const uint16_t *input;
	const uint16_t *holding;
	uint16_t port;            /* Modbus TCP, 0: unknown */
	const char *stale_policy; /* "error", "zero", "keep" */
	bool stale;               /* the meter's data are stale */
	bool refused;             /* reads now get exception 0x0B (stale, StalePolicy=error) */
};

/* {"meter_type", "port", "stale", "stale_policy", "answered", "registers": [{"address", "name",
 * "unit", "type", "functions": [3, 4] or [3], "words", "value"}]}; NULL on OOM. */
json_t *modbus_view_json(const struct modbus_view_image *img);
