/* SPDX-License-Identifier: MIT */
/*
 * The status object's sections (see status.h). The meter's power_instant is
 * the same object MQTT publishes (reading_json), so both outputs agree.
 */
#include <string.h>
#include <unistd.h>

#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/status.h"

static const char *const meter_state_names[_METER_STATE_MAX] = {
	[METER_STATE_STOPPED] = "stopped", [METER_STATE_DEVICE_MISSING] = "device-missing",
	[METER_STATE_NO_DATA] = "no-data", [METER_STATE_RECEIVING] = "receiving",
	[METER_STATE_STALE] = "stale",
};

const char *status_meter_state_to_string(enum meter_state s)
{
	return (unsigned) s < ARRAY_SIZE(meter_state_names) ? meter_state_names[s] : "stopped";
}

/* A string, or null when empty or NULL. */
static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

static json_t *tristate(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

json_t *status_system(const char *serial, const char *version, uint64_t uptime_sec)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	return json_pack("{s:s,s:s,s:I,s:s}", "serial", serial, "version", version, "uptime",
			 (json_int_t) uptime_sec, "hostname", host);
}

json_t *status_meter(const struct meter *m, const struct snapshot *snap, bool stale, const char *device)
{
	const struct telegram_counters *tc = meter_counters(m);
	uint64_t bad_sum = 0;
	char status[256];
	json_t *pi = NULL, *last = NULL;

	if (tc)
		bad_sum = tc->by_error[TELEGRAM_ERR_CRC] + tc->by_error[TELEGRAM_ERR_CRC_MISSING] +
			  tc->by_error[TELEGRAM_ERR_CHECKSUM];
	if (snap) {
		pi = reading_json_power_instant(&snap->v);
		if (!pi)
			return NULL;
		last = json_integer((json_int_t) (snap->real_usec / USEC_PER_SEC));
	}

	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:I,s:o}", "state",
			 status_meter_state_to_string(meter_get_state(m)), "status",
			 meter_status(m, status, sizeof(status)), "device", device, "protocol",
			 snap ? string_or_null(reading_protocol_to_string(snap->v.protocol)) : json_null(),
			 "version", snap ? string_or_null(snap->v.version) : json_null(), "id",
			 snap ? string_or_null(snap->v.id) : json_null(), "last_telegram",
			 last ?: json_null(), "stale", stale, "telegrams_pass",
			 (json_int_t) (tc ? tc->accepted : 0), "telegrams_fail", (json_int_t) bad_sum,
			 "frame_fail", (json_int_t) (tc ? tc->rejected - bad_sum : 0), "power_instant",
			 pi ?: json_null());
}

json_t *status_network(const struct netinfo *ni, int gateway_reachable, int internet_reachable)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "interface", ni->interface, "link",
			 netinfo_link_to_string(ni->link), "address", ni->address, "gateway", ni->gateway,
			 "gateway_reachable", tristate(gateway_reachable), "internet_reachable",
			 tristate(internet_reachable));
}

json_t *status_mqtt(bool enabled, const char *state, const char *last_error)
{
	return json_pack("{s:b,s:s,s:o}", "enabled", enabled, "state", state, "last_error",
			 string_or_null(last_error));
}

json_t *status_modbus(unsigned clients, uint16_t port, const char *meter_type)
{
	return json_pack("{s:I,s:I,s:s}", "clients", (json_int_t) clients, "port", (json_int_t) port,
			 "meter_type", meter_type);
}
