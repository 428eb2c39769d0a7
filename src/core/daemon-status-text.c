/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/status as text straight from the subsystems' figures
 * (status-text.h): the object daemon_status_json() builds as a tree for the
 * live stream, key for key, without a node or a printf per value. The managed
 * network's part, present only under Manage=networkmanager, is still the
 * manager's tree, dumped in place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/netinfo.h"
#include "smartconnectd/net/network-manager.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/outputs/mqtt.h"
#include "smartconnectd/outputs/passthrough.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/status-text.h"

#include "daemon-internal.h"

/* A section that has only a tree, dumped in place; takes t. As the tree
 * status does, the key is left out when it cannot be built. */
static void daemon_status_text_tree(struct jbuf *j, const char *key, json_t *t)
{
	char *text = t ? json_dumps(t, READING_JSON_DUMP_FLAGS) : NULL;

	if (text)
		jbuf_raw(j, key, text, strlen(text));
	free(text);
	json_decref(t);
}

static void daemon_status_text_manager(struct daemon *d, struct jbuf *j, uint64_t now)
{
	if (!d->network) {
		jbuf_object(j, "manager");
		jbuf_cstring(j, "managed_by", "operating-system");
		jbuf_end_object(j);
		return;
	}
	daemon_status_text_tree(j, "manager", network_manager_status_json(d->network, now));
}

static void daemon_status_text_network(struct daemon *d, struct jbuf *j, const struct netinfo *ni,
				       uint64_t now)
{
	jbuf_object(j, "network");
	status_text_network(j, ni, reachability_gateway_reachable(d->reachability),
			    reachability_internet_reachable(d->reachability));
	daemon_status_text_manager(d, j, now);
	jbuf_end_object(j);
}

static void daemon_status_text_outputs(struct daemon *d, struct jbuf *j)
{
	struct status_rtu_report rtu;

	jbuf_object(j, "mqtt");
	status_text_mqtt(j, d->config->mqtt_enabled, mqtt_state_to_string(mqtt_get_state(d->mqtt)),
			 mqtt_last_error(d->mqtt));
	if (d->mqtt)
		jbuf_int(j, "packets_refused", (int64_t) mqtt_get_counters(d->mqtt)->rx_refused);
	jbuf_end_object(j);
	jbuf_object(j, "modbus");
	status_text_modbus(j, modbus_server_clients(d->modbus_server), modbus_server_port(d->modbus_server),
			   config_meter_type_to_string(d->config->meter_type));
	jbuf_end_object(j);
	jbuf_object(j, "passthrough");
	passthrough_status_text(d->passthrough, j);
	jbuf_end_object(j);
	jbuf_object(j, "modbus_rtu");
	daemon_modbus_rtu_report(d, &rtu);
	status_text_modbus_rtu(j, &rtu);
	jbuf_end_object(j);
	daemon_history_capacity_text(d, j);
}

int daemon_status_text(struct daemon *d, char *buf, size_t size)
{
	const struct snapshot *snap = store_current(d->store);
	struct status_meter_report mr;
	struct netinfo ni;
	uint64_t now = 0;
	struct jbuf j;

	(void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	/* Read once: the network section and the LED's pattern both show it. */
	(void) netinfo_read(&ni);
	daemon_meter_report(d, snap, now, &mr);
	jbuf_init(&j, buf, size);
	jbuf_object(&j, NULL);
	jbuf_object(&j, "system");
	status_text_system(&j, d->serial, PACKAGE_VERSION, (now - d->start_usec) / USEC_PER_SEC);
	jbuf_int(&j, "resets", (int64_t) d->resets);
	jbuf_cstring(&j, "led", daemon_device_pattern(d, &ni));
	jbuf_end_object(&j);
	jbuf_object(&j, "meter");
	status_text_meter(&j, &mr);
	jbuf_end_object(&j);
	daemon_status_text_network(d, &j, &ni, now);
	daemon_status_text_outputs(d, &j);
	jbuf_end_object(&j);
	return jbuf_finish(&j);
}
