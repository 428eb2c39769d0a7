/* SPDX-License-Identifier: MIT */
/*
 * The M-Bus channels of a DSMR telegram (see mbus-channel.h).
 * Pure. No I/O. Never logs.
 */
#include <stdio.h>

#include "smartconnectd/outputs/mbus-channel.h"

static bool value_at(const struct reading *v, const char *id, unsigned i, struct reading_span *ret)
{
	const struct reading_object *o = reading_find(v, id);

	if (!o || i >= o->count)
		return false;
	*ret = v->values[o->first + i];
	return true;
}

/* The first of the objects 0-<ch>:<suffix> the frame has, value i. */
static bool channel_value(const struct reading *v, unsigned ch, const char *const *suffixes, unsigned i,
			  struct reading_span *ret)
{
	char id[32];

	for (; *suffixes; suffixes++) {
		snprintf(id, sizeof(id), "0-%u:%s", ch, *suffixes);
		if (value_at(v, id, i, ret))
			return true;
	}
	return false;
}

static enum mbus_kind mbus_kind_of(int64_t type)
{
	switch (type) {
	case 3:
		return MBUS_GAS;
	case 4:
	case 5:
		return MBUS_HEAT;
	case 6:
		return MBUS_WARM_WATER;
	case 7:
		return MBUS_WATER;
	case 12:
		return MBUS_INLET_HEAT;
	default:
		return MBUS_OTHER;
	}
}

bool mbus_channel_read(const struct reading *v, unsigned ch, struct mbus_channel *ret)
{
	static const char *const type[] = { "24.1.0", NULL };
	static const char *const ids[] = { "96.1.0", "96.1.1", NULL };
	static const char *const readings[] = { "24.2.1", "24.2.3", NULL };
	struct reading_span s, val;
	struct reading_number n;

	*ret = (struct mbus_channel){ 0 };
	if (!channel_value(v, ch, type, 0, &s) || reading_parse_number(reading_str(v, s), s.len, &n) < 0)
		return false;
	ret->kind = mbus_kind_of(n.mant);
	if (!channel_value(v, ch, readings, 0, &ret->stamp) || !channel_value(v, ch, readings, 1, &val) ||
	    reading_parse_number(reading_str(v, val), val.len, &ret->value) < 0)
		return false;
	(void) channel_value(v, ch, ids, 0, &ret->id);
	return true;
}

double mbus_number(const struct reading_number *n)
{
	double d = (double) n->mant;

	for (unsigned i = 0; i < n->decimals; i++)
		d /= 10;
	return d;
}
