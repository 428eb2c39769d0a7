/* SPDX-License-Identifier: MIT */
/*
 * The Home Assistant discovery configs: every entry's topic has the shape
 * <prefix>/sensor/smartconnect_<serial>/<object>/config; every payload is a
 * JSON object that survives a dump and a re-parse, with a unique_id of its
 * own, the state topic of its data, the shared availability topic and device;
 * and every device_class / unit / state_class combination is one Home
 * Assistant's sensor platform accepts (power W measurement, energy kWh
 * total_increasing, voltage V, current A, gas m³ total, ...).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "decode-frame.h"
#include "smartconnectd/outputs/mqtt-discovery.h"
#include "tap.h"

#define SERIAL "GW0042"
#define POWER_TOPIC "devices/home/smart-connect/" SERIAL "/data/power_instant"
#define COUNTERS_TOPIC "devices/home/smart-connect/" SERIAL "/data/device_counters"
#define CAPACITY_TOPIC "devices/home/smart-connect/" SERIAL "/data/capacity"
#define AVAIL_TOPIC "devices/home/smart-connect/" SERIAL "/status"
#define METER_TOPIC "devices/home/smart-connect/" SERIAL "/meter"

static const struct mqtt_discovery_ctx ctx = {
	.prefix = "homeassistant",
	.serial = SERIAL,
	.power_topic = POWER_TOPIC,
	.counters_topic = COUNTERS_TOPIC,
	.capacity_topic = CAPACITY_TOPIC,
	.avail_topic = AVAIL_TOPIC,
	.meter_topic = METER_TOPIC,
	.sw_version = "9.8.7",
	.expire_after = 30,
};

/*
 * What Home Assistant's sensor platform accepts for the device classes a meter
 * gateway can use: the state classes allowed with the class, and its units,
 * as homeassistant/components/sensor/const.py (DEVICE_CLASS_UNITS,
 * DEVICE_CLASS_STATE_CLASSES) of Home Assistant Core 2025/2026 has them.
 * A sensor without a device class may have any unit and state class.
 */
static const struct ha_rule {
	const char *device_class;
	const char *state_classes[3];
	const char *units[8];
} ha_rules[] = {
	{ "power", { "measurement" }, { "W", "kW", "MW", "GW", "TW" } },
	{ "apparent_power", { "measurement" }, { "VA" } },
	{ "energy", { "total", "total_increasing" }, { "Wh", "kWh", "MWh", "GWh", "mWh", "MJ", "GJ" } },
	{ "voltage", { "measurement" }, { "V", "mV", "kV", "µV", "MV" } },
	{ "current", { "measurement" }, { "A", "mA" } },
	{ "frequency", { "measurement" }, { "Hz", "kHz" } },
	{ "gas", { "total", "total_increasing" }, { "m³", "ft³", "CCF" } },
	{ "water", { "total", "total_increasing" }, { "m³", "L", "ft³", "gal", "CCF" } },
	{ "duration", { "measurement", "total", "total_increasing" }, { "d", "h", "min", "s", "ms" } },
	{ "data_size", { "measurement", "total", "total_increasing" }, { "B", "kB", "KiB", "MB", "MiB" } },
};

static const struct ha_rule *ha_rule(const char *device_class)
{
	for (size_t i = 0; i < ARRAY_SIZE(ha_rules); i++)
		if (strcmp(ha_rules[i].device_class, device_class) == 0)
			return &ha_rules[i];
	return NULL;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* Does Home Assistant accept this combination? why says what is wrong. */
static bool ha_accepts(const char *device_class, const char *unit, const char *state_class, const char **why)
{
	static const char *const state_classes[] = { "measurement", "total", "total_increasing" };
	const struct ha_rule *r;

	if (state_class && !in_list(state_classes, ARRAY_SIZE(state_classes), state_class)) {
		*why = "unknown state_class";
		return false;
	}
	if (!device_class)
		return true;
	r = ha_rule(device_class);
	if (!r) {
		*why = "device_class not known to this test";
		return false;
	}
	if (!unit || !in_list(r->units, ARRAY_SIZE(r->units), unit)) {
		*why = "unit not allowed for the device_class";
		return false;
	}
	if (state_class && !in_list(r->state_classes, ARRAY_SIZE(r->state_classes), state_class)) {
		*why = "state_class not allowed for the device_class";
		return false;
	}
	return true;
}

static void test_rules_themselves(void)
{
	const char *why = "";

	/* The table must say no where Home Assistant says no, or the test proves nothing. */
	tap_ok(ha_accepts("power", "W", "measurement", &why), "power W measurement accepted");
	tap_ok(ha_accepts("energy", "kWh", "total_increasing", &why), "energy kWh total_increasing accepted");
	tap_ok(ha_accepts("gas", "m³", "total_increasing", &why), "gas m³ total_increasing accepted");
	tap_ok(ha_accepts(NULL, NULL, "total_increasing", &why), "a plain counter accepted");
	tap_ok(!ha_accepts("energy", "kWh", "measurement", &why), "energy as measurement refused");
	tap_ok(!ha_accepts("power", "kWh", "measurement", &why), "power in kWh refused");
	tap_ok(!ha_accepts("power", "W", "total_increasing", &why), "power as total_increasing refused");
	tap_ok(!ha_accepts("power", "mW", "measurement", &why),
	       "power in mW refused (not a power unit any more)");
	tap_ok(!ha_accepts("apparent_power", "W", "measurement", &why), "apparent power in W refused");
	tap_ok(!ha_accepts("power", "VA", "measurement", &why), "power in VA refused");
	tap_ok(!ha_accepts("gas", "m3", "total", &why), "gas in m3 (not m³) refused");
	tap_ok(!ha_accepts("voltage", NULL, "measurement", &why), "voltage without unit refused");
	tap_ok(!ha_accepts(NULL, NULL, "sum", &why), "an unknown state class refused");
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The topic must be <prefix>/sensor/smartconnect_<serial>/<object>/config with a
 * plain object id. Returns the object id in buf, or false. */
static bool topic_object(const char *topic, char *buf, size_t size)
{
	static const char head[] = "homeassistant/sensor/smartconnect_" SERIAL "/";
	static const char tail[] = "/config";
	size_t n = strlen(topic), k;

	if (strncmp(topic, head, sizeof(head) - 1) != 0 || n < sizeof(head) - 1 + sizeof(tail) ||
	    strcmp(topic + n - (sizeof(tail) - 1), tail) != 0)
		return false;
	k = n - (sizeof(head) - 1) - (sizeof(tail) - 1);
	if (k == 0 || k >= size)
		return false;
	memcpy(buf, topic + sizeof(head) - 1, k);
	buf[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if (!((buf[i] >= 'a' && buf[i] <= 'z') || (buf[i] >= '0' && buf[i] <= '9') || buf[i] == '_'))
			return false;
	return true;
}

/* An entity id as Home Assistant's valid_entity_id() takes it: domain "." object,
 * each of [a-z0-9_], no "__", no "_" at either end. */
static bool valid_entity_id(const char *id)
{
	const char *dot = strchr(id ?: "", '.');

	if (!dot || strncmp(id, "sensor.", 7) != 0 || !dot[1] || strstr(id, "__") || dot[1] == '_' ||
	    id[strlen(id) - 1] == '_')
		return false;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static bool availability_entry(json_t *a, const char *topic, const char *yes, const char *no)
{
	return json_is_object(a) && !strcmp(str(a, "topic") ?: "", topic) &&
	       !strcmp(str(a, "payload_available") ?: "", yes) &&
	       !strcmp(str(a, "payload_not_available") ?: "", no) && json_object_size(a) == 3;
}

/* The keys of Home Assistant's MQTT sensor schema (mqtt/sensor.py with
 * schemas.py) that a config may carry, the deprecated object_id no more. */
static void check_schema(json_t *p, const char *object, bool counters)
{
	static const char *const keys[] = {
		"name",           "unique_id",    "default_entity_id",   "state_topic",
		"value_template", "state_class",  "availability",        "availability_mode",
		"device",         "device_class", "unit_of_measurement", "entity_category",
		"expire_after",
	};
	json_t *a = json_object_get(p, "availability"), *v;
	const char *k;

	json_object_foreach (p, k, v) {
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			known |= strcmp(keys[i], k) == 0;
		tap_ok(known, "%s: key %s is in Home Assistant's MQTT sensor schema", object, k);
	}
	tap_ok(!json_object_get(p, "object_id") && !json_object_get(p, "availability_topic"),
	       "%s: no object_id (gone in 2026.4), no availability_topic beside the list", object);
	tap_ok(valid_entity_id(str(p, "default_entity_id")), "%s: default_entity_id %s is a valid entity id",
	       object, str(p, "default_entity_id") ?: "(none)");
	TAP_EQ_STR(str(p, "availability_mode") ?: "", "all", "availability_mode");
	tap_ok(json_is_array(a) && json_array_size(a) == (counters ? 1u : 2u) &&
		   availability_entry(json_array_get(a, 0), AVAIL_TOPIC, "online", "offline") &&
		   (counters || availability_entry(json_array_get(a, 1), METER_TOPIC, "fresh", "stale")),
	       "%s: available while the daemon is online%s", object, counters ? "" : " and the meter fresh");
}

static void check_device(json_t *device, const char *object)
{
	json_t *ids = json_object_get(device, "identifiers");

	tap_ok(json_is_object(device), "%s: has a device object", object);
	tap_ok(json_is_array(ids) && json_array_size(ids) >= 1 &&
		   strcmp(json_string_value(json_array_get(ids, 0)) ?: "", "smartconnect_" SERIAL) == 0,
	       "%s: device identified by the serial", object);
	tap_ok(str(device, "name") && str(device, "manufacturer") && str(device, "model"),
	       "%s: device has name, manufacturer and model", object);
	TAP_EQ_STR(str(device, "sw_version") ?: "", "9.8.7", "device sw_version");
}

/* Re-parse the dump: what the broker carries must be valid JSON, an object. */
static json_t *round_trip(json_t *o, const char *object)
{
	char *text = json_dumps(o, JSON_COMPACT);
	json_error_t err;
	json_t *back = text ? json_loads(text, 0, &err) : NULL;

	tap_ok(back && json_is_object(back), "%s: payload is a valid JSON object", object);
	free(text);
	return back;
}

static void check_entry(const struct mqtt_discovery_ctx *c, size_t i, char (*seen)[64], size_t *n_seen)
{
	char topic[256], object[64], uid[128];
	const char *why = "";
	json_t *o = NULL, *p;
	bool counters;
	int r;

	r = mqtt_discovery_entry(c, i, topic, sizeof(topic), &o);
	if (!TAP_EQ_INT(r, 0, "entry returns 0"))
		return;

	if (!tap_ok(topic_object(topic, object, sizeof(object)), "topic has the discovery shape: %s", topic))
		snprintf(object, sizeof(object), "entry %zu", i);

	p = round_trip(o, object);
	json_decref(o);
	if (!p)
		return;

	snprintf(uid, sizeof(uid), "smartconnect_" SERIAL "_%s", object);
	TAP_EQ_STR(str(p, "unique_id") ?: "", uid, "unique_id is serial and object");
	snprintf(uid, sizeof(uid), "sensor.smartconnect_" SERIAL "_%s", object);
	for (char *q = uid; *q; q++)
		*q = (char) (*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
	TAP_EQ_STR(str(p, "default_entity_id") ?: "", uid, "default_entity_id is sensor.<unique_id>");
	for (size_t k = 0; k < *n_seen; k++)
		if (strcmp(seen[k], object) == 0)
			tap_ok(false, "%s: object id used twice", object);
	if (*n_seen < 64)
		snprintf(seen[(*n_seen)++], 64, "%s", object);

	tap_ok(str(p, "name") && *str(p, "name"), "%s: has a name", object);
	counters = str(p, "state_topic") && strcmp(str(p, "state_topic"), COUNTERS_TOPIC) == 0;
	tap_ok(counters || (str(p, "state_topic") && strcmp(str(p, "state_topic"), POWER_TOPIC) == 0) ||
		   (str(p, "state_topic") && strcmp(str(p, "state_topic"), CAPACITY_TOPIC) == 0 &&
		    strncmp(object, "capacity_", 9) == 0),
	       "%s: state_topic is power_instant, device_counters or (capacity_*) capacity", object);
	tap_ok(str(p, "value_template") && strstr(str(p, "value_template"), "value_json."),
	       "%s: value_template reads the JSON", object);
	check_schema(p, object, counters);
	check_device(json_object_get(p, "device"), object);

	tap_ok(ha_accepts(str(p, "device_class"), str(p, "unit_of_measurement"), str(p, "state_class"), &why),
	       "%s: Home Assistant accepts device_class %s, unit %s, state_class %s%s%s", object,
	       str(p, "device_class") ?: "(none)", str(p, "unit_of_measurement") ?: "(none)",
	       str(p, "state_class") ?: "(none)", why[0] ? ": " : "", why);

	/* Meter values go unavailable with the meter data; counters are diagnostics. */
	if (counters) {
		TAP_EQ_STR(str(p, "entity_category") ?: "", "diagnostic", "counters are diagnostic");
		tap_ok(!json_object_get(p, "expire_after"), "%s: counters do not expire", object);
	} else {
		tap_ok(!json_object_get(p, "entity_category"), "%s: a measurement is a primary entity",
		       object);
		TAP_EQ_INT(json_integer_value(json_object_get(p, "expire_after")), 30, "expire_after");
	}
	json_decref(p);
}

static void test_entries(void)
{
	char seen[64][64];
	size_t n_seen = 0, n = mqtt_discovery_count();

	tap_ok(n > 0, "there are discovery entries (%zu)", n);
	for (size_t i = 0; i < n; i++)
		check_entry(&ctx, i, seen, &n_seen);
	TAP_EQ_INT(n_seen, n, "every entry has its own object id");
}

/* The values the meter side needs most, with the classes Home Assistant's energy dashboard wants. */
static void test_expected_sensors(void)
{
	static const struct {
		const char *object, *device_class, *unit, *state_class;
	} want[] = {
		{ "power", "power", "W", "measurement" },
		{ "energy_import", "energy", "kWh", "total_increasing" },
		{ "energy_export", "energy", "kWh", "total_increasing" },
		{ "l1_voltage", "voltage", "V", "measurement" },
		{ "l3_current", "current", "A", "measurement" },
		{ "l2_power", "power", "W", "measurement" },
		{ "capacity_demand", "power", "kW", "measurement" },
		{ "capacity_month_peak", "power", "kW", "measurement" },
		{ "capacity_projection", "power", "kW", "measurement" },
	};

	for (size_t w = 0; w < ARRAY_SIZE(want); w++) {
		bool found = false;

		for (size_t i = 0; i < mqtt_discovery_count() && !found; i++) {
			char topic[256], object[64];
			json_t *o = NULL;

			if (mqtt_discovery_entry(&ctx, i, topic, sizeof(topic), &o) < 0)
				continue;
			if (topic_object(topic, object, sizeof(object)) &&
			    strcmp(object, want[w].object) == 0) {
				found = true;
				tap_ok(strcmp(str(o, "device_class") ?: "", want[w].device_class) == 0 &&
					   strcmp(str(o, "unit_of_measurement") ?: "", want[w].unit) == 0 &&
					   strcmp(str(o, "state_class") ?: "", want[w].state_class) == 0,
				       "%s is %s in %s, %s", want[w].object, want[w].device_class,
				       want[w].unit, want[w].state_class);
			}
			json_decref(o);
		}
		tap_ok(found, "there is a %s sensor", want[w].object);
	}
}

static void test_limits(void)
{
	struct mqtt_discovery_ctx c = ctx;
	char topic[256], tiny[16];
	json_t *o = NULL;

	int r;

	r = mqtt_discovery_entry(&ctx, mqtt_discovery_count(), topic, sizeof(topic), &o);
	TAP_EQ_INT(r, -ERANGE, "an index past the end is -ERANGE");
	tap_ok(!o, "and returns no payload");
	r = mqtt_discovery_entry(&ctx, 0, tiny, sizeof(tiny), &o);
	TAP_EQ_INT(r, -ERANGE, "a topic that does not fit is -ERANGE");
	tap_ok(!o, "and returns no payload");

	c.expire_after = 0;
	r = mqtt_discovery_entry(&c, 0, topic, sizeof(topic), &o);
	if (TAP_EQ_INT(r, 0, "entry without expiry")) {
		tap_ok(!json_object_get(o, "expire_after"), "expire_after 0 leaves the key out");
		json_decref(o);
	}

	c.prefix = "ha-test";
	o = NULL;
	r = mqtt_discovery_entry(&c, 0, topic, sizeof(topic), &o);
	if (TAP_EQ_INT(r, 0, "entry with another prefix")) {
		tap_ok(strncmp(topic, "ha-test/sensor/", 15) == 0, "the prefix starts the topic: %s", topic);
		json_decref(o);
	}
}

static struct reading meter;

static void decode_meter(const char *frame)
{
	if (decode_frame(&meter, frame, 1700000000) < 0)
		abort();
}

/* The config of object `want` for c's meter, or NULL. */
static json_t *find(const struct mqtt_discovery_ctx *c, const char *want)
{
	for (size_t i = 0; i < mqtt_discovery_count_for(c); i++) {
		char topic[256], object[64];
		json_t *o = NULL;

		if (mqtt_discovery_entry(c, i, topic, sizeof(topic), &o) == 0 &&
		    topic_object(topic, object, sizeof(object)) && !strcmp(object, want))
			return o;
		json_decref(o);
	}
	return NULL;
}

/* TIC historique gives apparent power only: the power sensors say VA and read "S". */
static void test_apparent(void)
{
	struct mqtt_discovery_ctx c = ctx;
	char seen[64][64];
	size_t n_seen = 0;
	json_t *o;

	decode_meter("\x02\nADCO 021528603314 :\r\nBASE 012345678 /\r\nIINST 005 \\\r\nPAPP 01250 )\r\x03");
	c.reading = &meter;
	TAP_EQ_INT(mqtt_discovery_count_for(&c), mqtt_discovery_count(), "TIC: no M-Bus sensors");
	for (size_t i = 0; i < mqtt_discovery_count_for(&c); i++)
		check_entry(&c, i, seen, &n_seen);
	o = find(&c, "power");
	tap_ok(o && !strcmp(str(o, "device_class") ?: "", "apparent_power") &&
		   !strcmp(str(o, "unit_of_measurement") ?: "", "VA") &&
		   !strcmp(str(o, "value_template") ?: "", "{{ value_json.S }}"),
	       "TIC power: apparent_power in VA, from S");
	json_decref(o);
	o = find(&c, "l1_power");
	tap_ok(o && !strcmp(str(o, "unit_of_measurement") ?: "", "VA") &&
		   strstr(str(o, "value_template"), "l1.S"),
	       "TIC L1 power: VA, from l1.S");
	json_decref(o);
	o = find(&c, "energy_import");
	tap_ok(o && !strcmp(str(o, "unit_of_measurement") ?: "", "kWh"), "energy unchanged");
	json_decref(o);
	o = find(&ctx, "power");
	tap_ok(o && !strcmp(str(o, "unit_of_measurement") ?: "", "W"), "without a meter: power in W");
	json_decref(o);
}

/* Gas, water and heat sensors exist only for a meter that has them. */
static void test_mbus(void)
{
	struct mqtt_discovery_ctx c = ctx;
	char seen[64][64];
	size_t n_seen = 0;
	json_t *o;

	decode_meter("/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(00.338*kW)\r\n"
		     "0-1:24.1.0(007)\r\n0-1:24.2.1(231102121532W)(00008.579*m3)\r\n"
		     "0-2:24.1.0(004)\r\n0-2:24.2.1(231102120000W)(00012.345*GJ)\r\n"
		     "0-3:24.1.0(003)\r\n0-3:24.2.3(231102121002W)(00092.287*m3)\r\n!");
	c.reading = &meter;
	TAP_EQ_INT(mqtt_discovery_count_for(&c), mqtt_discovery_count() + 3, "three M-Bus sensors");
	for (size_t i = 0; i < mqtt_discovery_count_for(&c); i++)
		check_entry(&c, i, seen, &n_seen);
	o = find(&c, "gas");
	tap_ok(o && !strcmp(str(o, "device_class") ?: "", "gas") &&
		   !strcmp(str(o, "unit_of_measurement") ?: "", "m³") &&
		   !strcmp(str(o, "state_class") ?: "", "total_increasing") &&
		   !strcmp(str(o, "value_template") ?: "",
			   "{{ value_json.gas.value if value_json.gas else None }}"),
	       "gas: m³, total_increasing, null-safe template");
	json_decref(o);
	o = find(&c, "water");
	tap_ok(o && !strcmp(str(o, "device_class") ?: "", "water"), "water sensor");
	json_decref(o);
	o = find(&c, "heat");
	tap_ok(o && !strcmp(str(o, "device_class") ?: "", "energy") &&
		   !strcmp(str(o, "unit_of_measurement") ?: "", "GJ"),
	       "heat: energy in GJ");
	json_decref(o);
	tap_ok(!find(&c, "cold"), "no cooling meter, no cooling sensor");
	tap_ok(!find(&ctx, "gas"), "without a meter, no gas sensor");
	tap_ok(mqtt_discovery_shape(&meter) != mqtt_discovery_shape(NULL),
	       "the shape tells this meter apart");
	json_t *x = NULL;
	char topic[256];
	TAP_EQ_INT(mqtt_discovery_entry(&c, mqtt_discovery_count_for(&c), topic, sizeof(topic), &x), -ERANGE,
		   "past the meter's sensors: -ERANGE");
}

static bool node_id_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

/* A serial Home Assistant would not take in a node id ("Serial=" allows a dot). */
static void test_node_id(void)
{
	static const char *const serials[] = { "GW.0042", "GW_0042", "GW-0042", "gw..0042.", "A" };
	char ids[ARRAY_SIZE(serials)][128], topic[256], node[128];
	struct mqtt_discovery_ctx c = ctx;

	for (size_t i = 0; i < ARRAY_SIZE(serials); i++) {
		tap_ok(mqtt_discovery_node_id(serials[i], ids[i], sizeof(ids[i])) == 0 && node_id_ok(ids[i]),
		       "serial %s: node id %s matches [a-zA-Z0-9_-]+", serials[i], ids[i]);
		for (size_t k = 0; k < i; k++)
			tap_ok(strcmp(ids[i], ids[k]) != 0, "%s and %s: different node ids", serials[i],
			       serials[k]);
	}
	TAP_EQ_STR(ids[1], "smartconnect_GW_0042", "a valid serial is kept as it is");
	TAP_EQ_STR(ids[2], "smartconnect_GW-0042", "a dash is kept");
	tap_ok(mqtt_discovery_node_id("GW.0042", node, 20) == -ERANGE,
	       "a node id that does not fit: -ERANGE");

	c.serial = "GW.0042";
	for (size_t i = 0; i < mqtt_discovery_count(); i++) {
		json_t *o = NULL;
		const char *n;
		size_t len;

		if (mqtt_discovery_entry(&c, i, topic, sizeof(topic), &o) < 0) {
			tap_ok(false, "entry %zu for a dotted serial", i);
			continue;
		}
		n = topic + strlen("homeassistant/sensor/");
		len = strcspn(n, "/");
		snprintf(node, sizeof(node), "%.*s", (int) len, n);
		tap_ok(!strcmp(node, ids[0]) && valid_entity_id(str(o, "default_entity_id")),
		       "dotted serial: topic %s, entity %s", topic, str(o, "default_entity_id") ?: "");
		json_decref(o);
	}
}

int main(void)
{
	test_node_id();
	test_apparent();
	test_mbus();
	test_rules_themselves();
	test_entries();
	test_expected_sensors();
	test_limits();
	return tap_done();
}
