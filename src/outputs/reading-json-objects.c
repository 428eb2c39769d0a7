/* SPDX-License-Identifier: MIT */
/*
 * One line of smartconnect-decode as text (see reading-json-text.h): the
 * power_instant members, "meter", "flags" and every object with its raw
 * values and what the frame's driver says it is. Mirrors reading-json.c's
 * tree key for key; numbers are the exact decimals the meter wrote.
 *
 * Pure. No I/O. Never logs.
 */
#include "smartconnectd/meter/meter-time.h"
#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/outputs/reading-json.h"

static void span(struct jbuf *j, const char *key, const struct reading *v, struct reading_span s)
{
	jbuf_string(j, key, reading_str(v, s), s.len);
}

static void meter(struct jbuf *j, const struct reading *v)
{
	jbuf_object(j, "meter");
	jbuf_cstring(j, "protocol", reading_protocol_to_string(v->protocol));
	jbuf_cstring(j, "version", v->version);
	jbuf_cstring(j, "id", v->id[0] ? v->id : NULL);
	if (v->ident.len > 0)
		span(j, "ident", v, v->ident);
	if (v->flags & READING_FLAG_CRC_PRESENT)
		jbuf_cstring(j, "crc", v->flags & READING_FLAG_CRC_7BIT ? "7-bit" : "8-bit");
	if (v->flags & READING_FLAG_ENCRYPTED)
		jbuf_cstring(j, "encrypted",
			     v->flags & READING_FLAG_TAG_UNVERIFIED ? "tag not verified" : "authenticated");
	jbuf_end_object(j);
}

static void flags(struct jbuf *j, const struct reading *v)
{
	jbuf_array(j, "flags");
	for (size_t i = 0; i < READING_JSON_N_FLAGS; i++)
		if (v->flags & reading_json_flags[i].flag)
			jbuf_cstring(j, NULL, reading_json_flags[i].name);
	jbuf_end_array(j);
}

static void time_value(struct jbuf *j, const char *key, const struct reading *v, struct reading_span s,
		       const struct decode_opts *o)
{
	int64_t t;

	if (meter_time_parse_tst(reading_str(v, s), s.len, o->std_offset_min, &t) < 0)
		jbuf_null(j, key);
	else
		jbuf_int(j, key, t);
}

/* "value" and, when the value carries one, "unit". True when a unit was written. */
static bool number(struct jbuf *j, const struct reading *v, struct reading_span s)
{
	struct reading_number num;

	if (reading_parse_number(reading_str(v, s), s.len, &num) < 0)
		return false;
	jbuf_decimal(j, "value", num.mant, num.decimals);
	if (num.unit_len)
		jbuf_string(j, "unit", num.unit, num.unit_len);
	return num.unit_len > 0;
}

/* Failure log (every 2 values: end, duration) or demand history (every 3:
 * month, peak time, value), after first values of header. */
static void entries(struct jbuf *j, const struct reading *v, const struct reading_object *o,
		    const struct decode_opts *opts, unsigned first, unsigned step)
{
	jbuf_array(j, "entries");
	for (unsigned i = first; i + step - 1 < o->count; i += step) {
		jbuf_object(j, NULL);
		if (step == 2) {
			time_value(j, "end", v, v->values[o->first + i], opts);
		} else {
			time_value(j, "month", v, v->values[o->first + i], opts);
			time_value(j, "time", v, v->values[o->first + i + 1], opts);
		}
		(void) number(j, v, v->values[o->first + i + step - 1]);
		jbuf_end_object(j);
	}
	jbuf_end_array(j);
}

static void measure_details(struct jbuf *j, const struct reading *v, const struct reading_object *o,
			    enum proto_object_kind kind, const struct decode_opts *opts)
{
	struct reading_span last = v->values[o->first + o->count - 1];
	bool unit = false;

	for (unsigned i = 0; i < o->count; i++)
		if (reading_json_looks_like_tst(v, v->values[o->first + i])) {
			time_value(j, "time", v, v->values[o->first + i], opts);
			break;
		}
	if (!reading_json_looks_like_tst(v, last))
		unit = number(j, v, last);
	/* The 2.2/3.0 gas profile gives its unit as a separate value. */
	if (kind == PROTO_OBJECT_PROFILE && o->count >= 7 && !unit)
		span(j, "unit", v, v->values[o->first + 5]);
}

static void text_details(struct jbuf *j, const struct reading *v, const struct reading_object *o)
{
	struct reading_span s = v->values[o->first];
	char text[1100];
	int n;

	if (s.len > 0 && (n = reading_hex_to_text(reading_str(v, s), s.len, text, sizeof(text))) >= 0)
		jbuf_string(j, "text", text, (size_t) n);
}

static void labelled_details(struct jbuf *j, const struct reading *v, const struct reading_object *o,
			     const struct proto_driver *d, const struct decode_opts *opts)
{
	const char *unit = d->unit ? d->unit(reading_str(v, o->id), o->id.len) : NULL;
	struct reading_number num;
	struct reading_span s;
	int64_t t;

	if (o->stamp.len > 0) {
		span(j, "horodate", v, o->stamp);
		if (meter_time_parse_horodate(reading_str(v, o->stamp), o->stamp.len, opts->std_offset_min,
					      &t) >= 0)
			jbuf_int(j, "time", t);
	}
	if (o->count == 0)
		return;
	s = v->values[o->first];
	if (unit && reading_parse_number(reading_str(v, s), s.len, &num) >= 0 && num.unit_len == 0) {
		jbuf_decimal(j, "value", num.mant, num.decimals);
		jbuf_cstring(j, "unit", unit);
	}
}

static void object(struct jbuf *j, const struct reading *v, const struct reading_object *o,
		   const struct proto_driver *d, const struct decode_opts *opts)
{
	enum proto_object_kind kind = d ? d->object_kind(v, o) : PROTO_OBJECT_MEASURE;

	jbuf_object(j, NULL);
	span(j, "id", v, o->id);
	jbuf_array(j, "raw");
	for (unsigned k = 0; k < o->count; k++)
		span(j, NULL, v, v->values[o->first + k]);
	jbuf_end_array(j);
	if (kind == PROTO_OBJECT_LABELLED)
		labelled_details(j, v, o, d, opts);
	else if (o->count > 0 && kind == PROTO_OBJECT_TEXT)
		text_details(j, v, o);
	else if (o->count > 0 && kind == PROTO_OBJECT_FAILURE_LOG)
		entries(j, v, o, opts, 2, 2);
	else if (o->count > 0 && kind == PROTO_OBJECT_PEAK_HISTORY)
		entries(j, v, o, opts, 3, 3);
	else if (o->count > 0)
		measure_details(j, v, o, kind, opts);
	jbuf_end_object(j);
}

int reading_json_text_telegram(const struct reading *v, const struct decode_opts *opts, char *buf,
			       size_t size)
{
	const struct proto_driver *d = proto_driver(v->protocol);
	struct jbuf j;

	jbuf_init(&j, buf, size);
	jbuf_object(&j, NULL);
	reading_json_text_power_instant_members(&j, v);
	meter(&j, v);
	flags(&j, v);
	jbuf_array(&j, "objects");
	for (unsigned i = 0; i < v->n_objects; i++)
		object(&j, v, &v->objects[i], d, opts);
	jbuf_end_array(&j);
	jbuf_end_object(&j);
	return jbuf_finish(&j);
}
