/* SPDX-License-Identifier: MIT */
/*
 * Reading a template's points back from the image modbus_map_fill() wrote:
 * every point of every template is named, and each decodes to the value it
 * was filled with, within what its type keeps (float precision, the scaled
 * integer's step, the SunSpec scale factor's step). SunSpec's "not
 * implemented" markers decode to no value; hand-made words check the byte
 * orders, signs and strings; the JSON lists every point once.
 */
#include <math.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/modbus-view.h"
#include "tap.h"

static struct reading v;
static uint16_t input[MODBUS_MAP_SIZE], holding[MODBUS_MAP_SIZE];
static const struct modbus_map_ident ident = { .serial = "SC0123456789", .version = "0.1.0" };
static const uint16_t written[] = { 7 };

static void set(enum reading_field f, double x)
{
	reading_set(&v, f, llround(x * (double) READING_SCALE));
}

static void set_values(double p)
{
	v = (struct reading){ 0 };
	set(READING_P, p);
	set(READING_E_IMPORT, 3580.245);
	set(READING_E_EXPORT, 358.023);
	set(READING_U12, 400.1);
	set(READING_U31, 399.7);
	set(READING_U32, 401.3);
	set(READING_U1, 231.5);
	set(READING_U2, 230.9);
	set(READING_U3, 232.1);
	set(READING_I1, 2.345);
	set(READING_I2, -3.5);
	set(READING_I3, 4.0);
	set(READING_P1, 450);
	set(READING_P2, -700);
	set(READING_P3, p - 450 + 700);
}

/* The value a point was filled with; false for text and the numeric serial. */
static bool expected(const struct modbus_map_point *p, double *ret)
{
	if (p->source < _READING_FIELD_MAX) {
		*ret = reading_get(&v, (enum reading_field) p->source);
		return true;
	}
	switch ((enum modbus_map_source) p->source) {
	case MODBUS_MAP_SRC_CONST:
		*ret = p->constant;
		return true;
	case MODBUS_MAP_SRC_I_SUM:
		*ret =
		    reading_get(&v, READING_I1) + reading_get(&v, READING_I2) + reading_get(&v, READING_I3);
		return true;
	case MODBUS_MAP_SRC_E_TOTAL:
		*ret = reading_get(&v, READING_E_IMPORT) + reading_get(&v, READING_E_EXPORT);
		return true;
	case MODBUS_MAP_SRC_WRITABLE:
		*ret = written[0];
		return true;
	case MODBUS_MAP_SRC_PHASES:
		*ret = 3;
		return true;
	case MODBUS_MAP_SRC_CG_SYSTEM:
		*ret = 0; /* 3P.n */
		return true;
	default:
		return false;
	}
}

/* What the type keeps of a value: float precision, or the step of the scaled integer. */
static double tolerance(const struct modbus_map_point *p, const struct modbus_view_point *d, double want)
{
	if (p->type == MODBUS_MAP_F32_CDAB || p->type == MODBUS_MAP_F32_ABCD)
		return fabs(want) * 1e-7 + 1e-9;
	if (p->type == MODBUS_MAP_I16_SSF) /* 0.01 A, 0.1 V, 1 W; 10 W once P needs a larger factor */
		return strcmp(d->unit, "A") == 0 ? 0.005 : strcmp(d->unit, "V") == 0 ? 0.05 : 5;
	return 0.5 * pow(10.0, -p->exp) + 1e-9;
}

static const struct modbus_map_point *point_of(const struct modbus_map_template *t, size_t i)
{
	return i < t->n_points ? &t->points[i] : &t->holding[i - t->n_points];
}

/* Every point of t filled from v reads back as its value; returns the points that do not. */
static unsigned check_template(const struct modbus_map_template *t)
{
	unsigned bad = 0;

	modbus_map_fill(t, &v, &ident, written, input, holding);
	for (size_t i = 0; i < modbus_view_count(t); i++) {
		const struct modbus_map_point *p = point_of(t, i);
		struct modbus_view_point d;
		double want;

		modbus_view_decode(t, i, input, holding, &d);
		if (p->type == MODBUS_MAP_STR) {
			const char *s = p->source == MODBUS_MAP_SRC_SERIAL    ? ident.serial
					: p->source == MODBUS_MAP_SRC_VERSION ? ident.version
									      : p->text;
			if (d.kind != MODBUS_VIEW_TEXT || strcmp(d.text, s) != 0)
				bad++, tap_diag("%s 0x%04X: text \"%s\", want \"%s\"", t->name, p->addr,
						d.text, s);
		} else if (p->type == MODBUS_MAP_SSF) {
			if (d.kind != MODBUS_VIEW_NUMBER || d.number < -10 || d.number > 10)
				bad++, tap_diag("%s 0x%04X: scale factor %g", t->name, p->addr, d.number);
		} else if (!expected(p, &want)) {
			if (d.kind != MODBUS_VIEW_NUMBER || d.number != 123456789) /* the serial's digits */
				bad++, tap_diag("%s 0x%04X: serial %g", t->name, p->addr, d.number);
		} else if (d.kind != MODBUS_VIEW_NUMBER || fabs(d.number - want) > tolerance(p, &d, want)) {
			bad++,
			    tap_diag("%s 0x%04X %s: %g, want %g", t->name, p->addr, d.type, d.number, want);
		}
	}
	return bad;
}

static void test_names(void)
{
	for (const struct modbus_map_template *const *t = modbus_map_templates(); *t; t++) {
		unsigned unnamed = 0;

		for (size_t i = 0; i < modbus_view_count(*t); i++) {
			const char *unit = NULL, *name = modbus_map_point_name(point_of(*t, i), &unit);

			if (!name || !*name || !unit)
				unnamed++,
				    tap_diag("%s 0x%04X has no name", (*t)->name, point_of(*t, i)->addr);
		}
		tap_ok(unnamed == 0 && modbus_view_count(*t) > 0, "%s: all %zu points are named", (*t)->name,
		       modbus_view_count(*t));
	}
}

static void test_round_trip(void)
{
	for (int round = 0; round < 2; round++) {
		/* -1234.5 W fits SunSpec's int16 in W; 50000 W needs a scale factor of 1 */
		set_values(round == 0 ? -1234.5 : 50000);
		for (const struct modbus_map_template *const *t = modbus_map_templates(); *t; t++)
			tap_ok(check_template(*t) == 0, "%s, P %s: every point decodes to its value",
			       (*t)->name, round == 0 ? "-1234.5 W" : "50000 W");
	}
}

static const struct modbus_view_point *find(const struct modbus_map_template *t, unsigned addr,
					    struct modbus_view_point *d)
{
	for (size_t i = 0; i < modbus_view_count(t); i++) {
		modbus_view_decode(t, i, input, holding, d);
		if (d->addr == addr)
			return d;
	}
	return NULL;
}

static void test_sunspec_markers(void)
{
	const struct modbus_map_template *t = modbus_map_find("SunSpec");
	struct modbus_view_point d;
	unsigned nulls = 0, n_ssf = 0;
	bool found;

	modbus_map_fill(t, NULL, &ident, NULL, input, holding);
	for (size_t i = 0; i < t->n_points; i++)
		if (t->points[i].type == MODBUS_MAP_I16_SSF) {
			modbus_view_decode(t, i, input, holding, &d);
			n_ssf++;
			nulls += d.kind == MODBUS_VIEW_NULL && d.words[0] == 0x8000;
		}
	tap_ok(n_ssf == 14 && nulls == n_ssf,
	       "SunSpec without data: %u of %u int16 values are 0x8000 and null", nulls, n_ssf);
	found = find(t, 40004, &d) != NULL;
	tap_ok(found && d.kind == MODBUS_VIEW_TEXT && strcmp(d.text, "smartconnectd") == 0,
	       "identification stays: manufacturer \"%s\"", d.text);

	set_values(100);
	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	input[40071 + 4] = 0x8000; /* the current scale factor not implemented */
	found = find(t, 40071 + 1, &d) != NULL;
	tap_ok(found && d.kind == MODBUS_VIEW_NULL && d.words[0] != 0x8000,
	       "a value whose scale factor is 0x8000 is null (words %u)", d.words[0]);
	found = find(t, 40071 + 4, &d) != NULL;
	tap_ok(found && d.kind == MODBUS_VIEW_NULL, "the scale factor 0x8000 itself is null");
	found = find(t, 40071 + 6, &d) != NULL;
	tap_ok(found && d.kind == MODBUS_VIEW_NUMBER && d.number == 231.5,
	       "another group keeps its value: %g V", d.number);
}

/* Words written by hand, not by modbus_map_fill(): the byte orders and signs on their own. */
static void test_words(void)
{
	const struct modbus_map_template *empro = modbus_map_find("PhoenixContact-EMPro"),
					 *sdm = modbus_map_find("Eastron-SDM630"),
					 *em24 = modbus_map_find("CarloGavazzi-EM24");
	struct modbus_view_point d;
	bool found;

	memset(input, 0, sizeof(input));
	memset(holding, 0, sizeof(holding));
	input[0x8006] = 0x8000; /* 231.5f = 0x43678000, low word first */
	input[0x8007] = 0x4367;
	found = find(empro, 0x8006, &d) != NULL;
	tap_ok(found && d.number == 231.5 && d.n_words == 2 && strcmp(d.type, "float32 CDAB") == 0 &&
		   strcmp(d.name, "Voltage L1-N") == 0 && strcmp(d.unit, "V") == 0,
	       "float32 CDAB 8000 4367: %g %s (%s)", d.number, d.unit, d.name);
	input[0x0000] = 0x4367; /* high word first */
	input[0x0001] = 0x8000;
	found = find(sdm, 0x0000, &d) != NULL;
	tap_ok(found && d.number == 231.5, "float32 ABCD 4367 8000: %g", d.number);
	{
		float f = 3580.245f;
		uint32_t bits;

		memcpy(&bits, &f, sizeof(bits));
		input[0x8100] = (uint16_t) bits;
		input[0x8101] = (uint16_t) (bits >> 16);
	}
	found = find(empro, 0x8100, &d) != NULL;
	tap_ok(found && d.number == 3580.245, "a float shows as its shortest decimal: %.10g", d.number);
	input[0x0012] = 0xCF2E; /* -12498 (0xFFFFCF2E, low word first) / 10 */
	input[0x0013] = 0xFFFF;
	found = find(em24, 0x0012, &d) != NULL;
	tap_ok(found && d.number == -1249.8 && strcmp(d.type, "int32 CDAB") == 0,
	       "int32 CDAB CF2E FFFF, exp 1: %g", d.number);
	holding[0x0014] = 0x3F80; /* 1.0f on FC 0x03 only */
	found = find(sdm, 0x0014, &d) != NULL;
	tap_ok(found && d.holding_only && d.number == 1 && strcmp(d.name, "Modbus node address") == 0,
	       "a holding-only point reads the holding image: %g (%s)", d.number, d.name);
	input[0x5000] = 0x5343;
	input[0x5001] = 0x0731; /* a control character */
	input[0x5002] = 0x0041; /* the text ends at its first NUL */
	found = find(em24, 0x5000, &d) != NULL;
	tap_ok(found && d.kind == MODBUS_VIEW_TEXT && strcmp(d.text, "SC?1") == 0 && d.n_words == 7,
	       "string: \"%s\" (control characters as '?', ends at NUL)", d.text);
}

static void test_json(void)
{
	const struct modbus_map_template *t = modbus_map_find("Eastron-SDM630");
	json_t *j, *regs;
	size_t i, n_holding = 0, n_both = 0;
	json_t *r;

	set_values(100);
	modbus_map_fill(t, &v, &ident, written, input, holding);
	j = modbus_view_json(&(struct modbus_view_image){
	    .template = t, .input = input, .holding = holding, .port = 502, .stale_policy = "error" });
	regs = json_object_get(j, "registers");
	json_array_foreach (regs, i, r) {
		size_t nf = json_array_size(json_object_get(r, "functions"));

		n_holding +=
		    nf == 1 && json_integer_value(json_array_get(json_object_get(r, "functions"), 0)) == 3;
		n_both += nf == 2;
	}
	tap_ok(j && json_array_size(regs) == modbus_view_count(t) && n_holding == t->n_holding &&
		   n_both == t->n_points,
	       "JSON: %zu registers, %zu on FC 3 only", json_array_size(regs), n_holding);
	r = json_array_get(regs, 0);
	tap_ok(json_integer_value(json_object_get(r, "address")) == 0 &&
		   json_real_value(json_object_get(r, "value")) == 231.5 &&
		   json_array_size(json_object_get(r, "words")) == 2 &&
		   strcmp(json_string_value(json_object_get(j, "meter_type")), "Eastron-SDM630") == 0 &&
		   json_is_true(json_object_get(j, "answered")) &&
		   json_is_false(json_object_get(j, "stale")) &&
		   json_integer_value(json_object_get(j, "port")) == 502,
	       "JSON: the first register, its words and value, the template and port");
	json_decref(j);
}

int main(void)
{
	test_names();
	test_round_trip();
	test_sunspec_markers();
	test_words();
	test_json();
	return tap_done();
}
