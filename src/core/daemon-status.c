/* SPDX-License-Identifier: MIT */
/*
 * What the daemon says about itself: the systemd STATUS= line and the status
 * object of the HTTP API, assembled from copies of what each subsystem
 * reports (status.h).
 */
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/netinfo.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/outputs/mqtt.h"
#include "smartconnectd/outputs/passthrough.h"
#include "smartconnectd/outputs/status.h"

#include "daemon-internal.h"

/* One STATUS= line from its parts, in order, "; " between them; empty parts
 * (nothing worth saying) are left out. */
static void daemon_status_line(char *buf, size_t size, const char *const *parts, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && k < size; i++)
		if (parts[i] && parts[i][0])
			k += (size_t) snprintf(buf + k, size - k, "%s%s", k ? "; " : "", parts[i]);
}

static const char *daemon_modbus_status(const struct daemon *d, char *buf, size_t size)
{
	unsigned n = d->modbus_server ? modbus_server_clients(d->modbus_server) : 0;

	buf[0] = '\0';
	if (n > 0)
		snprintf(buf, size, "%u Modbus client%s", n, n == 1 ? "" : "s");
	return buf;
}

/* Nothing while MQTT is disabled: the line speaks of what runs. */
static const char *daemon_mqtt_status(const struct daemon *d, char *buf, size_t size)
{
	buf[0] = '\0';
	if (d->mqtt && mqtt_get_state(d->mqtt) != MQTT_STATE_DISABLED)
		mqtt_status(d->mqtt, buf, size);
	return buf;
}

void daemon_status_send(struct daemon *d, const char *extra)
{
	char meter[128], mqtt[128], modbus[64], status[STATUS_MAX];
	const char *const parts[] = {
		meter_status(d->meter, meter, sizeof(meter)),
		daemon_mqtt_status(d, mqtt, sizeof(mqtt)),
		daemon_modbus_status(d, modbus, sizeof(modbus)),
	};
	int r;

	daemon_status_line(status, sizeof(status), parts, ARRAY_SIZE(parts));
	if (!extra && strcmp(status, d->status) == 0)
		return;
	snprintf(d->status, sizeof(d->status), "%s", status);

	r = sd_notifyf(0, "%sSTATUS=%s", extra ?: "", status);
	if (r < 0)
		log_debug_errno(r, "Failed to notify the service manager, ignoring: %m");
}

static enum status_meter_state daemon_status_meter_state(enum meter_state s)
{
	static const enum status_meter_state map[_METER_STATE_MAX] = {
		[METER_STATE_STOPPED] = STATUS_METER_STOPPED,
		[METER_STATE_DEVICE_MISSING] = STATUS_METER_DEVICE_MISSING,
		[METER_STATE_NO_DATA] = STATUS_METER_NO_DATA,
		[METER_STATE_RECEIVING] = STATUS_METER_RECEIVING,
		[METER_STATE_STALE] = STATUS_METER_STALE,
	};

	return (size_t) s < ARRAY_SIZE(map) ? map[s] : STATUS_METER_STOPPED;
}

/* The meter's part of the status, copied out of the meter. telegrams_fail
 * counts bad or missing CRCs and checksums, frame_fail the other rejections. */
void daemon_meter_report(const struct daemon *d, const struct snapshot *snap, uint64_t now,
			 struct status_meter_report *r)
{
	const struct telegram_counters *tc = meter_counters(d->meter);
	uint64_t bad = 0;

	if (tc)
		bad = tc->by_error[TELEGRAM_ERR_CRC] + tc->by_error[TELEGRAM_ERR_CRC_MISSING] +
		      tc->by_error[TELEGRAM_ERR_CHECKSUM];
	*r = (struct status_meter_report){
		.state = daemon_status_meter_state(meter_get_state(d->meter)),
		.device = d->config->device,
		.protocol = snap ? reading_protocol_to_string(snap->v.protocol) : NULL,
		.stale = snap && store_is_stale(d->store, now),
		.telegrams_pass = tc ? tc->accepted : 0,
		.telegrams_fail = bad,
		.frame_fail = tc ? tc->rejected - bad : 0,
		.snap = snap,
	};
	meter_status(d->meter, r->status, sizeof(r->status));
}

json_t *daemon_status_json(struct daemon *d)
{
	const struct snapshot *snap = store_current(d->store);
	struct status_meter_report mr;
	struct netinfo ni;
	uint64_t now = 0;
	json_auto_t *st = NULL;

	(void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	(void) netinfo_read(&ni);
	daemon_meter_report(d, snap, now, &mr);
	st = json_pack("{s:o,s:o,s:o,s:o,s:o}", "system",
		       status_system(d->serial, PACKAGE_VERSION, (now - d->start_usec) / USEC_PER_SEC),
		       "meter", status_meter(&mr), "network",
		       status_network(&ni, reachability_gateway_reachable(d->reachability),
				      reachability_internet_reachable(d->reachability)),
		       "mqtt",
		       status_mqtt(d->config->mqtt_enabled, mqtt_state_to_string(mqtt_get_state(d->mqtt)),
				   mqtt_last_error(d->mqtt)),
		       "modbus",
		       status_modbus(modbus_server_clients(d->modbus_server),
				     modbus_server_port(d->modbus_server),
				     config_meter_type_to_string(d->config->meter_type)));
	if (!st)
		return NULL;
	if (json_object_set_new(json_object_get(st, "system"), "resets",
				json_integer((json_int_t) d->resets)) < 0 ||
	    json_object_set_new(json_object_get(st, "system"), "led",
				json_string(daemon_device_pattern(d, &ni))) < 0)
		return NULL;
	/* Counted by the MQTT adapter; in the status so an operator sees a
	 * broker (or an impostor) that sent what the bound refused. */
	if (d->mqtt &&
	    json_object_set_new(json_object_get(st, "mqtt"), "packets_refused",
				json_integer((json_int_t) mqtt_get_counters(d->mqtt)->rx_refused)) < 0)
		return NULL;
	daemon_network_status(d, json_object_get(st, "network"), now);
	json_t *pt = json_object();
	if (!pt)
		return NULL;
	if (passthrough_status_json(d->passthrough, pt) < 0) {
		json_decref(pt);
		return NULL;
	}
	if (json_object_set_new(st, "passthrough", pt) < 0) /* takes pt, also on failure */
		return NULL;
	if (json_object_set_new(st, "modbus_rtu", daemon_modbus_rtu_status(d)) < 0 ||
	    json_object_set_new(st, "capacity", daemon_history_capacity_json(d)) < 0)
		return NULL;
	return json_incref(st);
}
