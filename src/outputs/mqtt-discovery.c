/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant discovery configs (see mqtt_discovery.h), from one table. Units and
 * device classes follow Home Assistant's sensor documentation: power W,
 * apparent_power VA, energy kWh or GJ (total_increasing), gas and water m³,
 * voltage V, current A, duration s, data_size B.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* The capacity tariff, read from data/capacity (mqtt-capacity.c): the running
 * quarter-hour's demand, the month's peak and where the quarter ends at the
 * present rate, in kW as the bill and the meter give them. Every meter has
 * them (computed from the import register when the meter sends none). */
static const struct sensor capacity[] = {
	{ "capacity_demand", "Quarter-hour demand", FIELD(demand_kw), "power", "measurement", "kW", false },
	{ "capacity_month_peak", "Month peak demand", FIELD(month_peak_kw), "power", "measurement", "kW",
	  false },
	{ "capacity_projection", "Quarter-hour demand projected", FIELD(projection_kw), "power",
	  "measurement", "kW", false },
};

static bool is_capacity(const struct sensor *s)
{
	return s >= capacity && s < capacity + ARRAY_SIZE(capacity);
}

/*
 * A meter that only gives apparent power (TIC, flag p_apparent) publishes it
 * as "S" in VA (reading-json.c): its power sensors read that, as Home
 * Assistant's apparent_power class. Same object ids, so the entities keep
 * their history when the class is corrected.
 */
static const struct sensor apparent[] = {
	{ "power", "Apparent power", FIELD(S), "apparent_power", "measurement", "VA", false },
	{ "l1_power", "L1 apparent power", PHASE(1, S), "apparent_power", "measurement", "VA", false },
	{ "l2_power", "L2 apparent power", PHASE(2, S), "apparent_power", "measurement", "VA", false },
	{ "l3_power", "L3 apparent power", PHASE(3, S), "apparent_power", "measurement", "VA", false },
};

/* The M-Bus channels, one sensor per kind the meter has (enum reading_mbus_kind order). */
#define MBUS(k) "{{ value_json." #k ".value if value_json." #k " else None }}"
static const struct sensor mbus[_READING_MBUS_KIND_MAX] = {
	[READING_MBUS_GAS] = { "gas", "Gas", MBUS(gas), "gas", "total_increasing", NULL, false },
	[READING_MBUS_WATER] = { "water", "Water", MBUS(water), "water", "total_increasing", NULL, false },
	[READING_MBUS_HEAT] = { "heat", "Heat", MBUS(heat), "energy", "total_increasing", NULL, false },
	[READING_MBUS_COLD] = { "cold", "Cooling", MBUS(cold), "energy", "total_increasing", NULL, false },
};

/* The meter's unit as Home Assistant spells it; NULL when it has no spelling for it. */
static const char *ha_unit(const struct reading *v, struct reading_span u, const char *device_class)
{
	static const struct {
		const char *meter, *ha, *device_class;
	} units[] = {
		{ "m3", "m³", "gas" },      { "m3", "m³", "water" },  { "l", "L", "water" },
		{ "GJ", "GJ", "energy" },   { "MJ", "MJ", "energy" }, { "kWh", "kWh", "energy" },
		{ "MWh", "MWh", "energy" }, { "Wh", "Wh", "energy" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i].meter) == u.len &&
		    strncasecmp(reading_str(v, u), units[i].meter, u.len) == 0 &&
		    strcmp(units[i].device_class, device_class) == 0)
			return units[i].ha;
	return NULL;
}

size_t mqtt_discovery_count(void)
{
	return ARRAY_SIZE(sensors) + ARRAY_SIZE(capacity);
}

size_t mqtt_discovery_count_for(const struct mqtt_discovery_ctx *c)
{
	size_t n = mqtt_discovery_count();

	for (unsigned k = 0; c->reading && k < _READING_MBUS_KIND_MAX; k++)
		n += c->reading->mbus[k].channel != 0;
	return n;
}

uint32_t mqtt_discovery_shape(const struct reading *v)
{
	uint32_t shape = 0;

	if (!v)
		return 0;
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++)
		if (v->mbus[k].channel)
			shape |= 1u << k;
	if (v->flags & READING_FLAG_P_APPARENT)
		shape |= 1u << _READING_MBUS_KIND_MAX;
	return shape;
}

/* Sensor i for c's meter: the table, corrected for apparent power, then the
 * M-Bus kinds the meter has. *tmp holds a sensor with the meter's unit. */
static const struct sensor *sensor_at(const struct mqtt_discovery_ctx *c, size_t i, struct sensor *tmp)
{
	const struct reading *v = c->reading;

	if (i < ARRAY_SIZE(sensors)) {
		for (size_t k = 0; v && (v->flags & READING_FLAG_P_APPARENT) && k < ARRAY_SIZE(apparent); k++)
			if (strcmp(apparent[k].object, sensors[i].object) == 0)
				return &apparent[k];
		return &sensors[i];
	}
	i -= ARRAY_SIZE(sensors);
	if (i < ARRAY_SIZE(capacity))
		return &capacity[i];
	i -= ARRAY_SIZE(capacity);
	for (unsigned k = 0; v && k < _READING_MBUS_KIND_MAX; k++) {
		if (!v->mbus[k].channel || i-- > 0)
			continue;
		*tmp = mbus[k];
		tmp->unit = ha_unit(v, v->mbus[k].unit, mbus[k].device_class);
		/* Home Assistant refuses a gas, water or energy class without its unit. */
		if (!tmp->unit)
			tmp->device_class = NULL;
		return tmp;
	}
	return NULL;
}

/* FNV-1a: a short, stable tag for a serial whose characters had to be mapped. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t) *s) * 16777619u;
	return h;
}

int mqtt_discovery_node_id(const char *serial, char *buf, size_t size)
{
	size_t n = strlen("smartconnect_");
	bool mapped = false;
	int r;

	if (size <= n)
		return -ERANGE;
	memcpy(buf, "smartconnect_", n);
	for (const char *p = serial; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '-';

		if (n + 1 >= size)
			return -ERANGE;
		buf[n++] = ok ? *p : '_';
		mapped |= !ok;
	}
	buf[n] = '\0';
	if (!mapped)
		return 0;
	/* "GW.1" and "GW_1" must not become the same device. */
	r = snprintf(buf + n, size - n, "_%08x", fnv1a(serial));
	return r < 0 || (size_t) r >= size - n ? -ERANGE : 0;
}

/* Home Assistant's entity ids: lower case letters, digits and single
 * underscores, none at either end, after "sensor.". */
static void entity_id(const char *node, const char *object, char *buf, size_t size)
{
	char raw[160];
	size_t n = 0;

	snprintf(raw, sizeof(raw), "%s_%s", node, object);
	n = (size_t) snprintf(buf, size, "sensor.");
	for (const char *p = raw; *p && n + 1 < size; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char) (*p - 'A' + 'a') : *p;

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '_';
		if (c == '_' && (buf[n - 1] == '_' || buf[n - 1] == '.'))
			continue;
		buf[n++] = c;
	}
	while (buf[n - 1] == '_')
		n--;
	buf[n] = '\0';
}

static json_t *mqtt_discovery_device(const struct mqtt_discovery_ctx *c, const char *node)
{
	char name[128];

	snprintf(name, sizeof(name), "Smart Connect %s", c->serial);
	return json_pack("{s:[s],s:s,s:s,s:s,s:s,s:s}", "identifiers", node, "name", name, "manufacturer",
			 "smartconnectd", "model", "P1/TIC meter gateway", "serial_number", c->serial,
			 "sw_version", c->sw_version);
}

/* The daemon's status for every sensor; the meter's freshness as well for
 * the meter's own (not the diagnostic ones, which the daemon keeps). */
static json_t *mqtt_discovery_availability(const struct mqtt_discovery_ctx *c, bool counters)
{
	json_t *a = json_pack("[{s:s,s:s,s:s}]", "topic", c->avail_topic, "payload_available", "online",
			      "payload_not_available", "offline");

	if (a && !counters && c->meter_topic &&
	    json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "topic", c->meter_topic, "payload_available",
					       "fresh", "payload_not_available", "stale")) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int mqtt_discovery_entry(const struct mqtt_discovery_ctx *c, size_t i, char *topic, size_t tsize,
			 json_t **ret_payload)
{
	struct sensor tmp;
	const struct sensor *s = sensor_at(c, i, &tmp);
	char node[128], uid[192], eid[192];
	json_t *o;
	int n;

	if (!s || mqtt_discovery_node_id(c->serial, node, sizeof(node)) < 0)
		return -ERANGE;
	n = snprintf(topic, tsize, "%s/sensor/%s/%s/config", c->prefix, node, s->object);
	if (n < 0 || (size_t) n >= tsize)
		return -ERANGE;
	snprintf(uid, sizeof(uid), "%s_%s", node, s->object);
	entity_id(node, s->object, eid, sizeof(eid));

	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o*,s:s,s:o*}", "name", s->name, "unique_id", uid,
		      "default_entity_id", eid, "state_topic",
		      s->counters      ? c->counters_topic
		      : is_capacity(s) ? c->capacity_topic
				       : c->power_topic,
		      "value_template", s->template, "state_class", s->state_class, "availability",
		      mqtt_discovery_availability(c, s->counters), "availability_mode", "all", "device",
		      mqtt_discovery_device(c, node));
	if (!o)
		return -ENOMEM;
	if ((s->device_class && json_object_set_new(o, "device_class", json_string(s->device_class)) < 0) ||
	    (s->unit && json_object_set_new(o, "unit_of_measurement", json_string(s->unit)) < 0) ||
	    (s->counters && json_object_set_new(o, "entity_category", json_string("diagnostic")) < 0) ||
	    (!s->counters && c->expire_after &&
	     json_object_set_new(o, "expire_after", json_integer(c->expire_after)) < 0)) {
		json_decref(o);
		return -ENOMEM;
	}
	*ret_payload = o;
	return 0;
}
