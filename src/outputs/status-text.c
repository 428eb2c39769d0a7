/* SPDX-License-Identifier: MIT */
/*
 * The status object's sections as text (see status-text.h), member for
 * member as status.c builds them.
 */
#include <unistd.h>

#include "smartconnectd/meter/source-tcp.h"
#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/outputs/status-text.h"

/* A string, or null when empty or NULL. */
static void string_or_null(struct jbuf *j, const char *key, const char *s)
{
	if (s && *s)
		jbuf_cstring(j, key, s);
	else
		jbuf_null(j, key);
}

static void tristate(struct jbuf *j, const char *key, int v)
{
	if (v < 0)
		jbuf_null(j, key);
	else
		jbuf_bool(j, key, v);
}

void status_text_system(struct jbuf *j, const char *serial, const char *version, uint64_t uptime_sec)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	jbuf_cstring(j, "serial", serial);
	jbuf_cstring(j, "version", version);
	jbuf_int(j, "uptime", (int64_t) uptime_sec);
	jbuf_cstring(j, "hostname", host);
}

void status_text_meter(struct jbuf *j, const struct status_meter_report *r)
{
	const struct snapshot *snap = r->snap;

	jbuf_cstring(j, "state", status_meter_state_to_string(r->state));
	jbuf_cstring(j, "status", r->status);
	jbuf_cstring(j, "device", r->device);
	jbuf_cstring(j, "source", source_tcp_is(r->device) ? "tcp" : "tty");
	string_or_null(j, "protocol", r->protocol);
	string_or_null(j, "version", snap ? snap->v.version : NULL);
	string_or_null(j, "id", snap ? snap->v.id : NULL);
	if (snap)
		jbuf_int(j, "last_telegram", (int64_t) (snap->real_usec / USEC_PER_SEC));
	else
		jbuf_null(j, "last_telegram");
	jbuf_bool(j, "stale", r->stale);
	jbuf_int(j, "telegrams_pass", (int64_t) r->telegrams_pass);
	jbuf_int(j, "telegrams_fail", (int64_t) r->telegrams_fail);
	jbuf_int(j, "frame_fail", (int64_t) r->frame_fail);
	if (snap)
		reading_json_text_power_instant_to(j, "power_instant", &snap->v);
	else
		jbuf_null(j, "power_instant");
}

void status_text_network(struct jbuf *j, const struct netinfo *ni, int gateway_reachable,
			 int internet_reachable)
{
	jbuf_cstring(j, "interface", ni->interface);
	jbuf_cstring(j, "link", netinfo_link_to_string(ni->link));
	jbuf_cstring(j, "address", ni->address);
	jbuf_cstring(j, "gateway", ni->gateway);
	tristate(j, "gateway_reachable", gateway_reachable);
	tristate(j, "internet_reachable", internet_reachable);
}

void status_text_mqtt(struct jbuf *j, bool enabled, const char *state, const char *last_error)
{
	jbuf_bool(j, "enabled", enabled);
	jbuf_cstring(j, "state", state);
	string_or_null(j, "last_error", last_error);
}

void status_text_modbus(struct jbuf *j, unsigned clients, uint16_t port, const char *meter_type)
{
	jbuf_int(j, "clients", clients);
	jbuf_int(j, "port", port);
	jbuf_cstring(j, "meter_type", meter_type);
}

void status_text_modbus_rtu(struct jbuf *j, const struct status_rtu_report *r)
{
	jbuf_bool(j, "enabled", r->enabled);
	string_or_null(j, "device", r->device);
	jbuf_bool(j, "open", r->open);
	jbuf_int(j, "unit_id", r->unit_id);
	jbuf_cstring(j, "meter_type", r->meter_type);
	jbuf_int(j, "requests", (int64_t) r->requests);
	jbuf_int(j, "exceptions", (int64_t) r->exceptions);
	jbuf_int(j, "ignored", (int64_t) r->ignored);
	jbuf_int(j, "bad_frames", (int64_t) r->bad_frames);
}
