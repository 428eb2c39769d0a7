/* SPDX-License-Identifier: MIT */
/*
 * The status object's sections (see status.h). The meter's power_instant is
 * the same object MQTT publishes (reading_json), so both outputs agree.
 */
#include <string.h>
#include <unistd.h>

#include "smartconnectd/meter/source-tcp.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/status.h"

static const char *const meter_state_names[_STATUS_METER_STATE_MAX] = {
	[STATUS_METER_STOPPED] = "stopped", [STATUS_METER_DEVICE_MISSING] = "device-missing",
	[STATUS_METER_NO_DATA] = "no-data", [STATUS_METER_RECEIVING] = "receiving",
	[STATUS_METER_STALE] = "stale",
};

DEFINE_STRING_TABLE_TO(status_meter_state, enum status_meter_state, meter_state_names)

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

json_t *status_meter(const struct status_meter_report *r)
{
	const struct snapshot *snap = r->snap;
	json_t *pi = NULL, *last = NULL;

	if (snap) {
		pi = reading_json_power_instant(&snap->v);
		if (!pi)
			return NULL;
		last = json_integer((json_int_t) (snap->real_usec / USEC_PER_SEC));
	}

	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:I,s:I,s:I,s:o}", "state",
			 status_meter_state_to_string(r->state), "status", r->status, "device", r->device,
			 "source", source_tcp_is(r->device) ? "tcp" : "tty", "protocol",
			 string_or_null(r->protocol), "version",
			 snap ? string_or_null(snap->v.version) : json_null(), "id",
			 snap ? string_or_null(snap->v.id) : json_null(), "last_telegram",
			 last ?: json_null(), "stale", r->stale, "telegrams_pass",
			 (json_int_t) r->telegrams_pass, "telegrams_fail", (json_int_t) r->telegrams_fail,
			 "frame_fail", (json_int_t) r->frame_fail, "power_instant", pi ?: json_null());
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

json_t *status_modbus_rtu(const struct status_rtu_report *r)
{
	return json_pack("{s:b,s:o,s:b,s:I,s:s,s:I,s:I,s:I,s:I}", "enabled", r->enabled, "device",
			 string_or_null(r->device), "open", r->open, "unit_id", (json_int_t) r->unit_id,
			 "meter_type", r->meter_type, "requests", (json_int_t) r->requests, "exceptions",
			 (json_int_t) r->exceptions, "ignored", (json_int_t) r->ignored, "bad_frames",
			 (json_int_t) r->bad_frames);
}
