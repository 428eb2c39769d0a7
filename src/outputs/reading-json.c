/* SPDX-License-Identifier: MIT */
/*
 * Decoded frames to JSON (see reading-json.h). What an object holds beyond
 * its raw values is asked of the frame's protocol driver (proto.h). Numbers
 * that are whole in their unit become JSON integers ("P": 433), the others
 * reals; dump with READING_JSON_DUMP_FLAGS so a real prints as the decimal the
 * meter sent (6657.461, not 6657.4610000000002).
 *
 * Pure. No I/O. Never logs.
 */
#include <math.h>
#include <string.h>

#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/meter/meter-time.h"

static json_t *field_json(const struct reading *v, enum reading_field f)
{
	if (!reading_has(v, f))
		return json_null();
	if (v->field[f] % READING_SCALE == 0)
		return json_integer(v->field[f] / READING_SCALE);
	return json_real(reading_get(v, f));
}

static json_t *span_json(const struct reading *v, struct reading_span s)
{
	return json_stringn(reading_str(v, s), s.len);
}

/* A parsed value: a number with its unit (possibly empty). */
static json_t *number_json(const struct reading_number *num)
{
	int64_t div = 1;

	/* More than 18 decimals (leading zeros after the point) only fits a double,
	 * but a zero stays the integer the text writer gives ("0.000...0" is 0). */
	if (num->decimals > 18 && num->mant == 0)
		return json_integer(0);
	if (num->decimals > 18)
		return json_real((double) num->mant / pow(10.0, num->decimals));
	for (unsigned i = 0; i < num->decimals; i++)
		div *= 10;
	if (num->mant % div == 0)
		return json_integer(num->mant / div);
	return json_real((double) num->mant / (double) div);
}

/*
 * A power as JSON: active power under "P" (W). Where the meter gives only
 * apparent power (TIC, flag p_apparent), "P" is null, since no active power is
 * known, and the value goes under "S" in VA, so no consumer reads VA as W.
 */
static void power_json(json_t *j, const struct reading *v, enum reading_field f)
{
	bool apparent = v->flags & READING_FLAG_P_APPARENT;

	json_object_set_new(j, "P", apparent ? json_null() : field_json(v, f));
	if (apparent)
		json_object_set_new(j, "S", field_json(v, f));
}

static json_t *phase_json(const struct reading *v, unsigned x)
{
	json_t *j = json_pack("{s:o, s:o}", "U", field_json(v, (enum reading_field)(READING_U1 + x)), "I",
			      field_json(v, (enum reading_field)(READING_I1 + x)));

	if (j)
		power_json(j, v, (enum reading_field)(READING_P1 + x));
	return j;
}

/* An M-Bus channel's id: hex-encoded text decoded, else as written when printable. */
static json_t *mbus_id_json(const struct reading *v, struct reading_span s)
{
	char text[READING_ID_MAX];

	if (s.len == 0)
		return json_null();
	if (reading_hex_to_text(reading_str(v, s), s.len, text, sizeof(text)) > 0)
		return json_string(text);
	for (unsigned i = 0; i < s.len; i++)
		if ((unsigned char) reading_str(v, s)[i] < 0x20)
			return json_null();
	return span_json(v, s);
}

static json_t *mbus_json(const struct reading *v, const struct reading_mbus *m)
{
	struct reading_number num = { .mant = m->mant, .decimals = m->decimals };

	return json_pack("{s:o, s:o, s:I, s:i, s:o}", "value", number_json(&num), "unit",
			 m->unit.len ? span_json(v, m->unit) : json_null(), "timestamp", (json_int_t) m->ts,
			 "channel", (int) m->channel, "id", mbus_id_json(v, m->id));
}

json_t *reading_json_power_instant(const struct reading *v)
{
	json_t *j = json_pack("{s:I, s:n, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ts", (json_int_t) v->ts,
			      "P", "E_IMPORT", field_json(v, READING_E_IMPORT), "E_EXPORT",
			      field_json(v, READING_E_EXPORT), "U12", field_json(v, READING_U12), "U31",
			      field_json(v, READING_U31), "U32", field_json(v, READING_U32), "l1",
			      phase_json(v, 0), "l2", phase_json(v, 1), "l3", phase_json(v, 2));

	if (!j)
		return NULL;
	power_json(j, v, READING_P);
	/* Only the kinds the meter has: a meter without gas has no "gas" key. */
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++)
		if (v->mbus[k].channel &&
		    json_object_set_new(j, reading_mbus_kind_to_string(k), mbus_json(v, &v->mbus[k])) < 0) {
			json_decref(j);
			return NULL;
		}
	return j;
}

char *reading_json_power_instant_dump(const struct reading *v)
{
	json_t *j = reading_json_power_instant(v);
	char *s = j ? json_dumps(j, READING_JSON_DUMP_FLAGS) : NULL;

	json_decref(j);
	return s;
}

json_t *reading_json_meter(const struct reading *v)
{
	json_t *m = json_pack("{s:s, s:s, s:o}", "protocol", reading_protocol_to_string(v->protocol),
			      "version", v->version, "id", v->id[0] ? json_string(v->id) : json_null());

	if (m && v->ident.len > 0)
		json_object_set_new(m, "ident", span_json(v, v->ident));
	/* Which bytes the DSMR CRC matched: as received, or with bit 7 (parity) cleared. */
	if (m && (v->flags & READING_FLAG_CRC_PRESENT))
		json_object_set_new(m, "crc",
				    json_string(v->flags & READING_FLAG_CRC_7BIT ? "7-bit" : "8-bit"));
	if (m && (v->flags & READING_FLAG_ENCRYPTED))
		json_object_set_new(m, "encrypted",
				    json_string(v->flags & READING_FLAG_TAG_UNVERIFIED ? "tag not verified"
										       : "authenticated"));
	return m;
}

const struct reading_json_flag reading_json_flags[READING_JSON_N_FLAGS] = {
	{ READING_FLAG_TS_HOST, "ts_host" },
	{ READING_FLAG_P_APPARENT, "p_apparent" },
	{ READING_FLAG_I_UNSIGNED, "i_unsigned" },
	{ READING_FLAG_DELTA_GRID, "delta_grid" },
	{ READING_FLAG_SHORT_FRAME, "short_frame" },
	{ READING_FLAG_CRC_7BIT, "crc_7bit" },
	{ READING_FLAG_ENCRYPTED, "encrypted" },
	{ READING_FLAG_TAG_UNVERIFIED, "tag_unverified" },
	{ READING_FLAG_ENERGY_NEGATIVE, "energy_negative" },
};

static json_t *flags_json(const struct reading *v)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < READING_JSON_N_FLAGS; i++)
		if (v->flags & reading_json_flags[i].flag)
			json_array_append_new(a, json_string(reading_json_flags[i].name));
	return a;
}

static json_t *time_json(const struct reading *v, struct reading_span s, const struct decode_opts *o)
{
	int64_t t;

	if (meter_time_parse_tst(reading_str(v, s), s.len, o->std_offset_min, &t) < 0)
		return json_null();
	return json_integer(t);
}

bool reading_json_looks_like_tst(const struct reading *v, struct reading_span s)
{
	const char *p = reading_str(v, s);

	if (s.len != 12 && s.len != 13)
		return false;
	for (unsigned i = 0; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return s.len == 12 || p[12] == 'S' || p[12] == 'W';
}

static void set_number(json_t *j, const struct reading *v, struct reading_span s)
{
	struct reading_number num;

	if (reading_parse_number(reading_str(v, s), s.len, &num) < 0)
		return;
	json_object_set_new(j, "value", number_json(&num));
	if (num.unit_len)
		json_object_set_new(j, "unit", json_stringn(num.unit, num.unit_len));
}

/* 1-0:99.97.0(z)(0-0:96.7.19)(end)(duration*s)...: failures, end time and length. */
static json_t *failure_entries(const struct reading *v, const struct reading_object *o,
			       const struct decode_opts *opts)
{
	json_t *a = json_array();

	for (unsigned i = 2; a && i + 1 < o->count; i += 2) {
		json_t *e = json_pack("{s:o}", "end", time_json(v, v->values[o->first + i], opts));
		set_number(e, v, v->values[o->first + i + 1]);
		json_array_append_new(a, e);
	}
	return a;
}

/* 0-0:98.1.0(z)(1-0:1.6.0)(1-0:1.6.0)(month)(peak time)(value*kW)...: e-MUCS demand history. */
static json_t *demand_entries(const struct reading *v, const struct reading_object *o,
			      const struct decode_opts *opts)
{
	json_t *a = json_array();

	for (unsigned i = 3; a && i + 2 < o->count; i += 3) {
		json_t *e = json_pack("{s:o, s:o}", "month", time_json(v, v->values[o->first + i], opts),
				      "time", time_json(v, v->values[o->first + i + 1], opts));
		set_number(e, v, v->values[o->first + i + 2]);
		json_array_append_new(a, e);
	}
	return a;
}

/* Values that carry their units: a capture time where one is given, the last
 * value as the reading. The 2.2/3.0 gas profile gives its unit as a separate
 * value before it. */
static void measure_details(json_t *j, const struct reading *v, const struct reading_object *o,
			    enum proto_object_kind kind, const struct decode_opts *opts)
{
	for (unsigned i = 0; i < o->count; i++)
		if (reading_json_looks_like_tst(v, v->values[o->first + i])) {
			json_object_set_new(j, "time", time_json(v, v->values[o->first + i], opts));
			break;
		}
	struct reading_span last = v->values[o->first + o->count - 1];
	if (!reading_json_looks_like_tst(v, last))
		set_number(j, v, last);
	if (kind == PROTO_OBJECT_PROFILE && o->count >= 7 && !json_object_get(j, "unit"))
		json_object_set_new(j, "unit", span_json(v, v->values[o->first + 5]));
}

static void text_details(json_t *j, const struct reading *v, const struct reading_object *o)
{
	struct reading_span s = v->values[o->first];
	char text[1100];

	if (s.len > 0 && reading_hex_to_text(reading_str(v, s), s.len, text, sizeof(text)) >= 0)
		json_object_set_new(j, "text", json_string(text));
}

/* A value whose unit the protocol fixes by the object's label (TIC), and the
 * label's horodate. */
static void labelled_details(json_t *j, const struct reading *v, const struct reading_object *o,
			     const struct proto_driver *d, const struct decode_opts *opts)
{
	const char *unit = d->unit ? d->unit(reading_str(v, o->id), o->id.len) : NULL;

	if (o->stamp.len > 0) {
		int64_t t;
		json_object_set_new(j, "horodate", span_json(v, o->stamp));
		if (meter_time_parse_horodate(reading_str(v, o->stamp), o->stamp.len, opts->std_offset_min,
					      &t) >= 0)
			json_object_set_new(j, "time", json_integer(t));
	}
	if (o->count == 0)
		return;

	struct reading_span s = v->values[o->first];
	struct reading_number num;
	if (unit && reading_parse_number(reading_str(v, s), s.len, &num) >= 0 && num.unit_len == 0) {
		json_object_set_new(j, "value", number_json(&num));
		json_object_set_new(j, "unit", json_string(unit));
	}
}

/* What the frame's driver says the object is (proto.h), as JSON keys. */
static void object_details(json_t *j, const struct reading *v, const struct reading_object *o,
			   const struct decode_opts *opts)
{
	const struct proto_driver *d = proto_driver(v->protocol);
	enum proto_object_kind kind = d ? d->object_kind(v, o) : PROTO_OBJECT_MEASURE;

	/* Only a labelled object has something (its stamp) besides its values. */
	if (kind != PROTO_OBJECT_LABELLED && o->count == 0)
		return;

	switch (kind) {
	case PROTO_OBJECT_LABELLED:
		labelled_details(j, v, o, d, opts);
		break;
	case PROTO_OBJECT_TEXT:
		text_details(j, v, o);
		break;
	case PROTO_OBJECT_FAILURE_LOG:
		json_object_set_new(j, "entries", failure_entries(v, o, opts));
		break;
	case PROTO_OBJECT_PEAK_HISTORY:
		json_object_set_new(j, "entries", demand_entries(v, o, opts));
		break;
	case PROTO_OBJECT_MEASURE:
	case PROTO_OBJECT_PROFILE:
		measure_details(j, v, o, kind, opts);
		break;
	}
}

json_t *reading_json_objects(const struct reading *v, const struct decode_opts *opts)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < v->n_objects; i++) {
		const struct reading_object *o = &v->objects[i];
		json_t *raw = json_array();

		for (unsigned k = 0; raw && k < o->count; k++)
			json_array_append_new(raw, span_json(v, v->values[o->first + k]));

		json_t *j = json_pack("{s:o, s:o}", "id", span_json(v, o->id), "raw", raw);
		if (!j) {
			json_decref(a);
			return NULL;
		}
		object_details(j, v, o, opts);
		json_array_append_new(a, j);
	}
	return a;
}

json_t *reading_json_telegram(const struct reading *v, const struct decode_opts *opts)
{
	json_t *j = reading_json_power_instant(v);

	if (!j)
		return NULL;
	if (json_object_set_new(j, "meter", reading_json_meter(v)) < 0 ||
	    json_object_set_new(j, "flags", flags_json(v)) < 0 ||
	    json_object_set_new(j, "objects", reading_json_objects(v, opts)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}
