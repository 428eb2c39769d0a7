/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant discovery configs (see mqtt_discovery.h), from one table. Units and
 * device classes follow Home Assistant's sensor documentation: power W,
 * energy kWh (total_increasing), voltage V, current A, duration s, data_size B.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/mqtt-discovery.h"

struct sensor {
	const char *object; /* object id, also the unique id's suffix */
	const char *name;
	const char *template;
	const char *device_class; /* NULL: none */
	const char *state_class;
	const char *unit; /* NULL: none */
	bool counters;    /* reads device_counters, a diagnostic entity */
};

/* A phase may be null as a whole in power_instant (single-phase meters). */
#define PHASE(n, k) "{{ value_json.l" #n "." #k " if value_json.l" #n " else None }}"
#define FIELD(k) "{{ value_json." #k " }}"

static const struct sensor sensors[] = {
	{ "power", "Power", FIELD(P), "power", "measurement", "W", false },
	{ "energy_import", "Energy import", FIELD(E_IMPORT), "energy", "total_increasing", "kWh", false },
	{ "energy_export", "Energy export", FIELD(E_EXPORT), "energy", "total_increasing", "kWh", false },
	{ "l1_voltage", "L1 voltage", PHASE(1, U), "voltage", "measurement", "V", false },
	{ "l2_voltage", "L2 voltage", PHASE(2, U), "voltage", "measurement", "V", false },
	{ "l3_voltage", "L3 voltage", PHASE(3, U), "voltage", "measurement", "V", false },
	{ "l1_current", "L1 current", PHASE(1, I), "current", "measurement", "A", false },
	{ "l2_current", "L2 current", PHASE(2, I), "current", "measurement", "A", false },
	{ "l3_current", "L3 current", PHASE(3, I), "current", "measurement", "A", false },
	{ "l1_power", "L1 power", PHASE(1, P), "power", "measurement", "W", false },
	{ "l2_power", "L2 power", PHASE(2, P), "power", "measurement", "W", false },
	{ "l3_power", "L3 power", PHASE(3, P), "power", "measurement", "W", false },
	{ "uptime", "Uptime", FIELD(uptime), "duration", "total_increasing", "s", true },
	{ "telegrams_pass", "Telegrams accepted", FIELD(telegrams_pass), NULL, "total_increasing", NULL,
	  true },
	{ "telegrams_fail", "Telegrams rejected", FIELD(telegrams_fail), NULL, "total_increasing", NULL,
	  true },
	{ "telegrams_frame_fail", "Telegram framing errors", FIELD(telegrams_frame_fail), NULL,
	  "total_increasing", NULL, true },
	{ "mqtt_send_fail", "MQTT messages not sent", FIELD(mqtt_send_fail), NULL, "total_increasing", NULL,
	  true },
	{ "internet_ping_fail", "Internet checks failed", FIELD(internet_ping_fail), NULL, "total_increasing",
	  NULL, true },
	{ "heap_free", "Heap free", FIELD(heap_free), "data_size", "measurement", "B", true },
};

size_t mqtt_discovery_count(void)
{
	return ARRAY_SIZE(sensors);
}

static json_t *mqtt_discovery_device(const struct mqtt_discovery_ctx *c)
{
	char id[128], name[128];

	snprintf(id, sizeof(id), "smartconnect_%s", c->serial);
	snprintf(name, sizeof(name), "Smart Connect %s", c->serial);
	return json_pack("{s:[s],s:s,s:s,s:s,s:s}", "identifiers", id, "name", name, "manufacturer",
			 "smartconnectd", "model", "P1/TIC meter gateway", "sw_version", c->sw_version);
}

int mqtt_discovery_entry(const struct mqtt_discovery_ctx *c, size_t i, char *topic, size_t tsize,
			 json_t **ret_payload)
{
	const struct sensor *s;
	char uid[160];
	json_t *o;
	int n;

	if (i >= ARRAY_SIZE(sensors))
		return -ERANGE;
	s = &sensors[i];
	n = snprintf(topic, tsize, "%s/sensor/smartconnect_%s/%s/config", c->prefix, c->serial, s->object);
	if (n < 0 || (size_t) n >= tsize)
		return -ERANGE;
	snprintf(uid, sizeof(uid), "smartconnect_%s_%s", c->serial, s->object);

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o*}", "name", s->name, "unique_id", uid,
		      "object_id", uid, "state_topic", s->counters ? c->counters_topic : c->power_topic,
		      "value_template", s->template, "state_class", s->state_class, "availability_topic",
		      c->avail_topic, "payload_available", "online", "device", mqtt_discovery_device(c));
	if (!o)
		return -ENOMEM;
	if ((s->device_class && json_object_set_new(o, "device_class", json_string(s->device_class)) < 0) ||
	    (s->unit && json_object_set_new(o, "unit_of_measurement", json_string(s->unit)) < 0) ||
	    json_object_set_new(o, "payload_not_available", json_string("offline")) < 0 ||
	    (s->counters && json_object_set_new(o, "entity_category", json_string("diagnostic")) < 0) ||
	    (!s->counters && c->expire_after &&
	     json_object_set_new(o, "expire_after", json_integer(c->expire_after)) < 0)) {
		json_decref(o);
		return -ENOMEM;
	}
	*ret_payload = o;
	return 0;
}
