/* SPDX-License-Identifier: MIT */
/*
 * The MQTT publisher's object, shared by its files: mqtt.c (the connection
 * and the data topics) and mqtt-homeassistant.c (discovery configs). Not for
 * use outside src/outputs/mqtt*.c.
 */
#pragma once

#include <jansson.h>
#include <mosquitto.h>

#include "smartconnectd/net/resolve.h"
#include "smartconnectd/outputs/mqtt.h"

#define BASE_MAX 160 /* "devices/" Site "/smart-connect/" serial: 151 with 64-character tokens */
#define TOPIC_MAX 192
#define ERROR_MAX 256
#define BACKOFF_MIN_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (60 * USEC_PER_SEC)
/* loop_misc sends the keep-alive PINGREQ once KeepAlive passed without a
 * message, and gives up when the answer is as late: a quarter of KeepAlive
 * is soon enough (the broker waits 1.5 x KeepAlive), and an idle daemon does
 * not wake every second for it. Between 1 s and 15 s. */
#define MISC_USEC(keepalive_sec) \
	MIN(MAX((uint64_t) (keepalive_sec) *USEC_PER_SEC / 4, USEC_PER_SEC), 15 * USEC_PER_SEC)

struct mqtt {
	sd_event *event;
	struct store *store;
	mqtt_state_fn on_state;
	void *userdata;
	mqtt_extra_fn extra_fn;
	void *extra_userdata;

	struct mqtt_settings set; /* its strings point into strings */
	char *strings;
	char base[BASE_MAX]; /* devices/<site>/smart-connect/<serial> */
	char status_topic[TOPIC_MAX];
	char power_topic[TOPIC_MAX];
	char counters_topic[TOPIC_MAX];

	enum mqtt_state state;
	char last_error[ERROR_MAX];
	char lib_error[ERROR_MAX]; /* the library's last error log line, for the next failure */
	struct mqtt_counters counters;

	struct mosquitto *mosq;
	int fd;
	bool tcp_up; /* the socket has been writable once: TCP connected */
	sd_event_source *io, *misc, *retry, *deadline, *tick;
	struct resolve *res;
	char addr[RESOLVE_ADDR_MAX];

	/* Recorded by library callbacks, acted on after the call returns. */
	bool connack;
	int connack_rc;
	bool lost;

	unsigned watch_id;
	bool watching;
	unsigned failures; /* consecutive, for the back-off */
	uint64_t rng;
	uint64_t start_usec;
	uint64_t heap_min_free;

	/* Home Assistant discovery configs now published (retained), and the
	 * meter shape they were made for (mqtt-homeassistant.c). */
	char (*ha_topics)[TOPIC_MAX];
	size_t n_ha_topics;
	uint32_t ha_shape;
};

/* Hand one message to the connection; counted either way. 0 or -errno. */
int mqtt_send(struct mqtt *m, const char *topic, const char *payload, int qos, bool retain);
/* The same for a JSON object, whose reference it takes (NULL: out of memory). */
int mqtt_send_json(struct mqtt *m, const char *topic, json_t *o, int qos, bool retain);

/* Publish the discovery configs for the meter of snap (NULL: not known yet)
 * and clear the ones of sensors that are gone. */
void mqtt_homeassistant_publish(struct mqtt *m, const struct snapshot *snap);
/* After each published snapshot: publish again when the meter's shape changed
 * (apparent power, M-Bus channels). */
void mqtt_homeassistant_follow(struct mqtt *m, const struct snapshot *snap);
