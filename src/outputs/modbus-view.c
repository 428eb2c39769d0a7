/* SPDX-License-Identifier: MIT */
/*
 * A template's points read back from a served register image (modbus-view.h).
 *
 * Pure. No I/O. Never logs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/modbus-view.h"

#define SUNSPEC_NOT_IMPLEMENTED 0x8000

static const char *const type_names[] = {
	[MODBUS_MAP_F32_CDAB] = "float32 CDAB",
	[MODBUS_MAP_F32_ABCD] = "float32 ABCD",
	[MODBUS_MAP_I32_CDAB] = "int32 CDAB",
	[MODBUS_MAP_U32_ABCD] = "uint32 ABCD",
	[MODBUS_MAP_I16] = "int16",
	[MODBUS_MAP_U16] = "uint16",
	[MODBUS_MAP_SSF] = "sunssf",
	[MODBUS_MAP_I16_SSF] = "int16 (SF)",
	[MODBUS_MAP_STR] = "string",
};

size_t modbus_view_count(const struct modbus_map_template *t)
{
	return t->n_points + t->n_holding;
}

static unsigned point_words(const struct modbus_map_point *p)
{
	switch ((enum modbus_map_type) p->type) {
	case MODBUS_MAP_F32_CDAB:
	case MODBUS_MAP_F32_ABCD:
	case MODBUS_MAP_I32_CDAB:
	case MODBUS_MAP_U32_ABCD:
		return 2 * MAX((unsigned) p->len, 1u);
	case MODBUS_MAP_STR:
		return p->len;
	case MODBUS_MAP_I16:
	case MODBUS_MAP_U16:
	case MODBUS_MAP_SSF:
	case MODBUS_MAP_I16_SSF:
		break;
	}
	return 1;
}

/* x / 10^e, dividing rather than multiplying by a negative power: 2315 / 10 is 231.5 exactly. */
static double unscale(double x, int e)
{
	return e >= 0 ? x / pow(10.0, e) : x * pow(10.0, -e);
}

/* The shortest decimal that reads back as f: 3580.245, not 3580.2451171875. */
static double float_decimal(float f)
{
	char buf[32];

	for (int digits = 6; digits < 9; digits++) {
		double x;

		(void) snprintf(buf, sizeof(buf), "%.*g", digits, (double) f);
		x = strtod(buf, NULL);
		if ((float) x == f)
			return x;
	}
	return (double) f;
}

static uint32_t word_pair(const uint16_t *w, bool low_first)
{
	return low_first ? (uint32_t) w[1] << 16 | w[0] : (uint32_t) w[0] << 16 | w[1];
}

/* The scale factor register of a SunSpec point's group, read from the same image. */
static bool sunspec_factor(const struct modbus_map_template *t, const struct modbus_map_point *p,
			   const uint16_t *regs, int *ret)
{
	for (size_t i = 0; i < t->n_points; i++)
		if (t->points[i].type == MODBUS_MAP_SSF && t->points[i].exp == p->exp) {
			uint16_t w = regs[t->points[i].addr];

			*ret = (int16_t) w;
			return w != SUNSPEC_NOT_IMPLEMENTED;
		}
	return false;
}

static void decode_text(struct modbus_view_point *v)
{
	size_t n = 0;

	for (unsigned i = 0; i < v->n_words; i++)
		for (int shift = 8; shift >= 0; shift -= 8) {
			char c = (char) (v->words[i] >> shift);

			if (c == '\0')
				goto done;
			v->text[n++] = c >= 0x20 && c < 0x7F ? c : '?';
		}
done:
	v->text[n] = '\0';
	v->kind = MODBUS_VIEW_TEXT;
}

static void decode_number(const struct modbus_map_template *t, const struct modbus_map_point *p,
			  const uint16_t *regs, struct modbus_view_point *v)
{
	const uint16_t *w = v->words;
	uint32_t bits;
	float f;
	int sf;

	v->kind = MODBUS_VIEW_NUMBER;
	switch ((enum modbus_map_type) p->type) {
	case MODBUS_MAP_F32_CDAB:
	case MODBUS_MAP_F32_ABCD:
		bits = word_pair(w, p->type == MODBUS_MAP_F32_CDAB);
		memcpy(&f, &bits, sizeof(f));
		v->number = unscale(float_decimal(f), p->exp);
		break;
	case MODBUS_MAP_I32_CDAB:
		v->number = unscale((int32_t) word_pair(w, true), p->exp);
		break;
	case MODBUS_MAP_U32_ABCD:
		v->number = unscale(word_pair(w, false), p->exp);
		break;
	case MODBUS_MAP_I16:
		v->number = unscale((int16_t) w[0], p->exp);
		break;
	case MODBUS_MAP_U16:
		v->number = unscale(w[0], p->exp);
		break;
	case MODBUS_MAP_SSF:
		if (w[0] == SUNSPEC_NOT_IMPLEMENTED)
			v->kind = MODBUS_VIEW_NULL;
		v->number = (int16_t) w[0];
		break;
	case MODBUS_MAP_I16_SSF:
		if (w[0] == SUNSPEC_NOT_IMPLEMENTED || !sunspec_factor(t, p, regs, &sf))
			v->kind = MODBUS_VIEW_NULL;
		else
			v->number = unscale((int16_t) w[0], -sf);
		break;
	case MODBUS_MAP_STR:
		decode_text(v);
		break;
	}
}

void modbus_view_decode(const struct modbus_map_template *t, size_t i, const uint16_t *input,
			const uint16_t *holding, struct modbus_view_point *ret)
{
	bool holding_only = i >= t->n_points;
	const struct modbus_map_point *p = holding_only ? &t->holding[i - t->n_points] : &t->points[i];
	const uint16_t *regs = holding_only ? holding : input;

	*ret = (struct modbus_view_point){
		.addr = p->addr,
		.holding_only = holding_only,
		.type = p->type < ARRAY_SIZE(type_names) ? type_names[p->type] : "?",
		.n_words = MIN(point_words(p), (unsigned) MODBUS_VIEW_WORDS_MAX),
	};
	ret->name = modbus_map_point_name(p, &ret->unit);
	for (unsigned k = 0; k < ret->n_words; k++)
		ret->words[k] = regs[(p->addr + k) % MODBUS_MAP_SIZE];
	decode_number(t, p, regs, ret);
}

/* Whole numbers as JSON integers: a register count reads "3", not "3.0". */
static json_t *number_json(double x)
{
	if (x == floor(x) && fabs(x) < 9007199254740992.0)
		return json_integer((json_int_t) x);
	return json_real(x);
}

static json_t *point_json(const struct modbus_view_point *v)
{
	json_t *words = json_array(), *value;

	for (unsigned k = 0; words && k < v->n_words; k++)
		if (json_array_append_new(words, json_integer(v->words[k])) < 0) {
			json_decref(words);
			return NULL;
		}
	value = v->kind == MODBUS_VIEW_NUMBER ? number_json(v->number)
		: v->kind == MODBUS_VIEW_TEXT ? json_string(v->text)
					      : json_null();
	/* json_pack takes both references, also when it fails on a NULL one. */
	return json_pack("{s:i,s:s,s:s,s:s,s:o,s:o,s:o}", "address", (int) v->addr, "name", v->name ?: "",
			 "unit", v->unit, "type", v->type, "functions",
			 v->holding_only ? json_pack("[i]", 3) : json_pack("[i,i]", 3, 4), "words", words,
			 "value", value);
}

json_t *modbus_view_json(const struct modbus_view_image *img)
{
	const struct modbus_map_template *t = img->template;
	json_t *regs = json_array();
	size_t n = modbus_view_count(t);

	for (size_t i = 0; regs && i < n; i++) {
		struct modbus_view_point v;

		modbus_view_decode(t, i, img->input, img->holding, &v);
		if (json_array_append_new(regs, point_json(&v)) < 0) {
			json_decref(regs);
			return NULL;
		}
	}
	return json_pack("{s:s,s:i,s:b,s:s,s:b,s:o}", "meter_type", t->name, "port", (int) img->port, "stale",
			 img->stale, "stale_policy", img->stale_policy ?: "", "answered", !img->refused,
			 "registers", regs);
}
