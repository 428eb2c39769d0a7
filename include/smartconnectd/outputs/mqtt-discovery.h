/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant MQTT discovery: one device (the gateway) with one sensor per
 * measurement of power_instant (power, energy import and export, per-phase
 * voltage, current and power) and diagnostic sensors read from
 * device_counters. Each config goes to
 *   <prefix>/sensor/smartconnect_<serial>/<object>/config
 * (retained), reads its state topic with a value_template that turns a null
 * into "None" (unknown in Home Assistant), and uses the gateway's
 * availability topic.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct mqtt_discovery_ctx {
	const char *prefix;         /* DiscoveryPrefix */
	const char *serial;         /* unique ids and the device identifier */
	const char *power_topic;    /* .../data/power_instant */
	const char *counters_topic; /* .../data/device_counters */
	const char *avail_topic;    /* .../status */
	const char *sw_version;
	unsigned expire_after; /* seconds; 0 leaves it out */
};

/* Number of sensors. */
size_t mqtt_discovery_count(void);

/* The topic and config of sensor i < mqtt_discovery_count(). Returns 0, -ERANGE when
 * i or the topic does not fit, -ENOMEM. *ret_payload is a new reference. */
int mqtt_discovery_entry(const struct mqtt_discovery_ctx *c, size_t i, char *topic, size_t tsize,
			 json_t **ret_payload);
