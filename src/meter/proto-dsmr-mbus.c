/* SPDX-License-Identifier: MIT */
/*
 * M-Bus channels of DSMR telegrams by device type (see proto-dsmr-mbus.h).
 * A swapped gas meter can leave its old channel in the telegram with a
 * placeholder time and a frozen or empty value; position says nothing about
 * which channel is the meter in use, so the kind comes from 0-n:24.1.0 and
 * the choice from the channel's own capture time.
 */
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/meter-time.h"
#include "smartconnectd/meter/proto-dsmr-mbus.h"

/* Device type written as decimal digits ("003", "03", "3"); -1 when not. */
static int parse_type(const struct reading *v, const struct reading_object *obj)
{
	struct reading_span s;
	int t = 0;

	if (obj->count == 0)
		return -1;
	s = v->values[obj->first];
	if (s.len == 0 || s.len > 3)
		return -1;
	for (unsigned i = 0; i < s.len; i++) {
		char ch = reading_str(v, s)[i];
		if (ch < '0' || ch > '9')
			return -1;
		t = t * 10 + (ch - '0');
	}
	return t;
}

void proto_dsmr_mbus_take(struct proto_dsmr_mbus *m, const struct reading *v,
			  const struct reading_object *obj, unsigned b, unsigned c, unsigned d)
{
	unsigned n = b - 1;

	if (n >= PROTO_DSMR_MBUS_CHANNELS)
		return;
	if (c == 24 && d == 1)
		m->ch[n].type = parse_type(v, obj);
	else if (c == 96 && d == 1 && !m->ch[n].id)
		m->ch[n].id = obj; /* 96.1.0 (DSMR) or 96.1.1 (e-MUCS) */
	else if (c == 24 && (d == 2 || d == 3) && !m->ch[n].value) {
		m->ch[n].value = obj; /* 24.2.x reading, or the 2.2/3.0 24.3.0 profile */
		m->ch[n].profile = d == 3;
	}
}

/* EN 13757-3 device types (written in decimal by DSMR) to what they measure. */
static int kind_of(int type)
{
	switch (type) {
	case 0x03:
		return READING_MBUS_GAS;
	case 0x07:
	case 0x16:
		return READING_MBUS_WATER;
	case 0x04:
	case 0x0C:
	case 0x0D:
		return READING_MBUS_HEAT;
	case 0x0A:
	case 0x0B:
		return READING_MBUS_COLD;
	default:
		return -1;
	}
}

/*
 * The channel's reading, when it is live: 24.2.x is (capture time)(value*unit);
 * the 2.2/3.0 profile is (time)(00)(60)(1)(0-n:24.2.1)(unit) with the value
 * last. A placeholder time or a value that is no number makes it dead.
 */
static bool channel_reading(const struct reading *v, const struct reading_object *obj, bool profile,
			    int std_offset_min, struct reading_mbus *ret)
{
	struct reading_span t, val;
	struct reading_number num;

	if (!obj || obj->count < (profile ? 7 : 2))
		return false;
	t = v->values[obj->first];
	val = v->values[obj->first + obj->count - 1];
	if (meter_time_parse_tst(reading_str(v, t), t.len, std_offset_min, &ret->ts) < 0 ||
	    reading_parse_number(reading_str(v, val), val.len, &num) < 0 || num.mant < 0 || num.decimals > 18)
		return false;

	ret->mant = num.mant;
	ret->decimals = (uint8_t) num.decimals;
	if (num.unit_len > 0)
		ret->unit = (struct reading_span){ (uint16_t) (num.unit - v->text), (uint16_t) num.unit_len };
	else if (profile)
		ret->unit = v->values[obj->first + 5];
	else
		ret->unit = (struct reading_span){ 0, 0 };
	return true;
}

void proto_dsmr_mbus_normalise(const struct proto_dsmr_mbus *m, struct reading *v, int std_offset_min)
{
	for (unsigned n = 0; n < PROTO_DSMR_MBUS_CHANNELS; n++) {
		int kind = kind_of(m->ch[n].type);
		struct reading_mbus r = { .channel = (uint8_t) (n + 1) };

		if (kind < 0 || !channel_reading(v, m->ch[n].value, m->ch[n].profile, std_offset_min, &r))
			continue;
		if (m->ch[n].id && m->ch[n].id->count > 0)
			r.id = v->values[m->ch[n].id->first];
		/* Channels are walked upwards: a later one wins only when newer. */
		if (v->mbus[kind].channel == 0 || r.ts > v->mbus[kind].ts)
			v->mbus[kind] = r;
	}
}
