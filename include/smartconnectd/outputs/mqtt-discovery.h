/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant MQTT discovery: one device (the gateway) with one sensor per
 * measurement of power_instant (power, energy import and export, per-phase
 * voltage, current and power; apparent power in VA on a meter that gives
 * only that; gas, water, heat and cooling only when the meter has them) and
 * diagnostic sensors read from device_counters, and the capacity tariff's
 * demand, month peak and projection (kW) read from data/capacity. Each config goes to
 *   <prefix>/sensor/<node id>/<object>/config
 * (retained), where the node id is "smartconnect_" and the serial, with any
 * character Home Assistant does not take in a node id ([a-zA-Z0-9_-]) mapped
 * to "_" and then a tag of the original serial appended (mqtt_discovery_node_id());
 * reads its state topic with a value_template that turns a null into "None"
 * (unknown in Home Assistant); sets default_entity_id (object_id is gone
 * from Home Assistant 2026.4); and is available while the daemon's status
 * topic says "online" and, for the meter's sensors, the meter topic says
 * "fresh" (availability_mode "all").
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/reading.h"

struct mqtt_discovery_ctx {
	const char *prefix;         /* DiscoveryPrefix */
	const char *serial;         /* unique ids and the device identifier */
	const char *power_topic;    /* .../data/power_instant */
	const char *counters_topic; /* .../data/device_counters */
	const char *capacity_topic; /* .../data/capacity */
	const char *avail_topic;    /* .../status */
	const char *meter_topic;    /* .../meter: "fresh"/"stale"; NULL leaves it out */
	const char *sw_version;
	unsigned expire_after; /* seconds; 0 leaves it out */
	/* The meter's current frame (borrowed), which decides the power sensors'
	 * class and the M-Bus sensors; NULL: the sensors every meter has, as W. */
	const struct reading *reading;
};

/* Number of sensors every meter has: the first entries, whatever the meter. */
size_t mqtt_discovery_count(void);

/* Number of sensors for c's meter: mqtt_discovery_count() plus one per M-Bus
 * kind (gas, water, heat, cold) c->reading has. */
size_t mqtt_discovery_count_for(const struct mqtt_discovery_ctx *c);

/* What decides the set and classes of the sensors of a meter: publish the
 * configs again (and clear the ones that went) when it changes. 0 for NULL. */
uint32_t mqtt_discovery_shape(const struct reading *v);

/* "smartconnect_<serial>" with the serial mapped to [a-zA-Z0-9_-] (see
 * above). 0 or -ERANGE when it does not fit. */
int mqtt_discovery_node_id(const char *serial, char *buf, size_t size);

/* The topic and config of sensor i < mqtt_discovery_count_for(c). Returns 0,
 * -ERANGE when i or the topic does not fit, -ENOMEM. *ret_payload is a new
 * reference. */
int mqtt_discovery_entry(const struct mqtt_discovery_ctx *c, size_t i, char *topic, size_t tsize,
			 json_t **ret_payload);
