/* SPDX-License-Identifier: MIT */
/*
 * The table of protocol drivers (see proto.h) and what is derived from it:
 * names, the framer's hunt mask and the serial settings of a Protocol=
 * setting, the human description of a frame's protocol.
 *
 * Pure. No I/O. Never logs.
 */
#include <stdio.h>
#include <strings.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"

/* Indexed by enum reading_protocol; the order is the detection order. */
static const struct proto_driver *const drivers[_READING_PROTO_MAX] = {
	[READING_PROTO_DSMR] = &proto_dsmr,
	[READING_PROTO_TIC_HISTORIQUE] = &proto_tic_historique,
	[READING_PROTO_TIC_STANDARD] = &proto_tic_standard,
};

const struct proto_driver *proto_driver(enum reading_protocol p)
{
	return (size_t) p < ARRAY_SIZE(drivers) ? drivers[p] : NULL;
}

enum reading_protocol proto_from_name(const char *name)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(drivers); i++)
		if (drivers[i] && strcasecmp(name, drivers[i]->name) == 0)
			return (enum reading_protocol) i;
	return _READING_PROTO_MAX;
}

const char *proto_setting_to_string(enum reading_protocol p)
{
	const struct proto_driver *d = proto_driver(p);

	if (p == READING_PROTO_NONE)
		return "auto";
	return d ? d->name : NULL;
}

unsigned proto_setting_hunt(enum reading_protocol p)
{
	const struct proto_driver *d = proto_driver(p);
	unsigned hunt = 0;

	if (d)
		return d->hunt;
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (drivers[i])
			hunt |= drivers[i]->hunt;
	return hunt;
}

/* Append the driver's settings that ret does not hold yet. */
static size_t add_serial(const struct proto_driver *d, enum tty_setting ret[_TTY_SETTING_MAX], size_t n)
{
	for (size_t i = 0; i < d->n_settings; i++) {
		bool seen = false;

		for (size_t k = 0; k < n && !seen; k++)
			seen = ret[k] == d->settings[i];
		if (!seen && n < _TTY_SETTING_MAX)
			ret[n++] = d->settings[i];
	}
	return n;
}

size_t proto_setting_serial(enum reading_protocol p, enum tty_setting ret[_TTY_SETTING_MAX])
{
	const struct proto_driver *d = proto_driver(p);
	size_t n = 0;

	if (d)
		return add_serial(d, ret, 0);
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++)
		if (drivers[i])
			n = add_serial(drivers[i], ret, n);
	return n;
}

const char *proto_describe(enum reading_protocol p, const char *version, char *buf, size_t size)
{
	const struct proto_driver *d = proto_driver(p);

	if (!d)
		snprintf(buf, size, "unknown");
	else if (!d->title_version || !version[0])
		snprintf(buf, size, "%s", d->title);
	else if (version[0] >= '0' && version[0] <= '9')
		snprintf(buf, size, "%s %s", d->title, version);
	else
		/* A version that names itself ("e-MUCS 1.7 (DSMR 5.0.2)"). */
		snprintf(buf, size, "%s", version);
	return buf;
}
