/* SPDX-License-Identifier: MIT */
/*
 * The meter's status line (see meter_status() in meter.h): what the status
 * JSON, systemd's STATUS= and the page say about the meter input.
 */
#include <inttypes.h>
#include <stdio.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/source-tcp.h"
#include "smartconnectd/meter/store.h"
#include "meter-internal.h"

/* What went wrong with encrypted frames, for the status line: ", encrypted
 * (2 wrong key (tag mismatch), 1 tag not verified)". Nothing for plain meters. */
static void meter_status_encrypted(const struct meter *m, char *buf, size_t size)
{
	static const enum telegram_error reasons[] = {
		TELEGRAM_ERR_NO_KEY,
		TELEGRAM_ERR_WRONG_KEY,
		TELEGRAM_ERR_LENGTH,
		TELEGRAM_ERR_REPLAY,
	};
	const struct telegram_counters *c = telegram_counters(m->framer);
	const char *sep = " (";
	size_t k;

	if (!c->encrypted) {
		buf[0] = '\0';
		return;
	}
	k = (size_t) snprintf(buf, size, ", encrypted");
	for (size_t i = 0; i < ARRAY_SIZE(reasons) && k < size; i++)
		if (c->by_error[reasons[i]]) {
			k += (size_t) snprintf(buf + k, size - k, "%s%" PRIu64 " %s", sep,
					       c->by_error[reasons[i]], telegram_error_to_string(reasons[i]));
			sep = ", ";
		}
	if (c->tag_unverified && k < size) {
		k += (size_t) snprintf(buf + k, size - k, "%s%" PRIu64 " tag not verified", sep,
				       c->tag_unverified);
		sep = ", ";
	}
	if (sep[0] == ',' && k < size)
		snprintf(buf + k, size - k, ")");
}

/* Values accepted frames could not give (null with a reason): ", 2 telegrams
 * with a negative energy register (left null)". Nothing when there were none. */
static const char *meter_status_dropped(const struct meter *m, char *buf, size_t size)
{
	const struct telegram_counters *c = telegram_counters(m->framer);

	buf[0] = '\0';
	if (c->energy_negative)
		snprintf(buf, size, ", %" PRIu64 " with a negative energy register (left null)",
			 c->energy_negative);
	return buf;
}

const char *meter_status(const struct meter *m, char *buf, size_t size)
{
	const struct snapshot *snap;
	char name[READING_VERSION_MAX + 16], enc[160], drop[80];

	/* Said instead of "no meter data": the one thing the user can fix. */
	if (m->no_key && (m->state == METER_STATE_NO_DATA || m->state == METER_STATE_STALE)) {
		snprintf(buf, size, "encrypted meter, no DecryptionKey set");
		return buf;
	}

	switch (m->state) {
	case METER_STATE_STOPPED:
		snprintf(buf, size, "stopped");
		break;
	case METER_STATE_DEVICE_MISSING:
		snprintf(buf, size,
			 source_tcp_is(m->settings.device) ? "meter source unreachable, retrying"
							   : "meter device missing, retrying");
		break;
	case METER_STATE_NO_DATA:
		snprintf(buf, size, "no meter data");
		break;
	case METER_STATE_RECEIVING:
		/* From the data itself: after a device switch it is what we still serve. */
		snap = store_current(m->store);
		proto_describe(snap->v.protocol, snap->v.version, name, sizeof(name));
		meter_status_encrypted(m, enc, sizeof(enc));
		snprintf(buf, size, "receiving %s telegrams%s%s", name, enc,
			 meter_status_dropped(m, drop, sizeof(drop)));
		break;
	case METER_STATE_STALE:
		snprintf(buf, size, "meter data stale, no telegram for %us", meter_stale_sec(m));
		break;
	case _METER_STATE_MAX:
		snprintf(buf, size, "?");
		break;
	}
	return buf;
}
