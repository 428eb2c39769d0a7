/* SPDX-License-Identifier: MIT */
/*
 * The MQTT publisher's object, shared by its files: mqtt.c (the connection
 * and the data topics) and mqtt-homeassistant.c (discovery configs). Not for
 * use outside src/outputs/mqtt*.c.
 */
#pragma once

#include <jansson.h>
#include <mosquitto.h>

#include "smartconnectd/meter/capacity.h"
#include "smartconnectd/net/resolve.h"
#include "smartconnectd/outputs/mqtt-limits.h"
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
/* The misc timer's accuracy: it fires on the next wake the loop has anyway
 * (a telegram's) within this slack, so a PINGREQ goes at most KeepAlive x
 * 1.375 after the last message, still before the broker's 1.5. */
#define MISC_SLACK_USEC(keepalive_sec) (MISC_USEC(keepalive_sec) / 2)

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
	char capacity_topic[TOPIC_MAX];     /* mqtt-capacity.c */
	uint64_t capacity_hash;             /* of the last capacity payload sent */
	struct capacity_view capacity_sent; /* what that payload was written from */
	bool has_capacity_sent;

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

	/* The MQTT version of the next attempt (mqtt-protocol.c). */
	bool v311, protocol_known;
	/* power_instant under a topic alias (mqtt-protocol.c): the property, made
	 * once; whether this connection's CONNACK allows an alias; whether the
	 * broker holds its topic yet (the first publish of a connection binds it). */
	mosquitto_property *power_alias;
	bool alias_ok, alias_bound;

	/* Recorded by library callbacks, acted on after the call returns. */
	bool connack;
	int connack_rc;
	bool lost;

	/* The read-ahead on a plain connection (mqtt-limits.c); rx_wait while
	 * a packet header is not complete yet. */
	struct mqtt_rx_guard rx;
	bool rx_wait;

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
	bool ha_loaded; /* the list of the previous run read from ha_state_file */
	char meter_topic[TOPIC_MAX];
	bool meter_fresh, meter_sent; /* the meter's freshness, and what <base>/meter says */

	/* Remote commands (mqtt-commands.c): received, not yet carried out;
	 * an answer waiting for a connection; recent ones, for repetitions. */
	mqtt_command_fn cmd_fn;
	void *cmd_userdata;
	struct mqtt_cmd *cmd_queue[MQTT_COMMAND_QUEUE];
	size_t n_cmd;
	sd_event_source *cmd_defer;
	struct mqtt_cmd *cmd_waiting;
	struct {
		uint64_t hash, usec;
	} cmd_seen[16];
	unsigned cmd_seen_next;
};

/* Hand one message to the connection; counted either way. 0 or -errno.
 * qos is always 0: no message of ours in flight keeps libmosquitto reading
 * one packet per call, which the read-ahead relies on (mqtt-limits.h). */
int mqtt_send(struct mqtt *m, const char *topic, const char *payload, int qos, bool retain);
/* The same for a JSON object, whose reference it takes (NULL: out of memory). */
int mqtt_send_json(struct mqtt *m, const char *topic, json_t *o, int qos, bool retain);

/* mosquitto_loop_read() behind the read-ahead on a plain connection: a
 * library return code, or MQTT_RX_REFUSED when the connection must end
 * (counted; the reason in m->lib_error). */
#define MQTT_RX_REFUSED (-1000)
int mqtt_read_bounded(struct mqtt *m);

/* After a publish from our own code: write what the socket takes, watch it
 * for the rest. */
void mqtt_flush(struct mqtt *m);

/* mqtt-protocol.c: MQTT 5, or 3.1.1 for a broker that does not take 5. */
bool mqtt_protocol_v5(const struct mqtt *m);
/* The connection settings changed: try MQTT 5 first again. */
void mqtt_protocol_reset(struct mqtt *m);
/* A CONNACK accepted the connection: its version is kept. */
void mqtt_protocol_accepted(struct mqtt *m);
/* Before a failure tears the connection down: switch versions if the broker
 * refused ours or closed without a CONNACK. */
void mqtt_protocol_failed(struct mqtt *m);
/* From the library's connect callback: an MQTT 5 CONNACK's properties (NULL
 * in 3.1.1). power_instant goes under a topic alias when they allow one. */
void mqtt_protocol_on_connack(struct mqtt *m, const mosquitto_property *props);
/* The topic of the next power_instant and, in *ret_alias, the alias property
 * to send with it (NULL: none): the whole topic while no alias is allowed or
 * bound, and NULL (the alias alone) once mqtt_protocol_power_sent() said
 * the broker has it. */
const char *mqtt_protocol_power_topic(struct mqtt *m, const mosquitto_property **ret_alias);
/* A power_instant sent with the alias was queued: the broker will know it. */
void mqtt_protocol_power_sent(struct mqtt *m);
/* The connection is gone: its alias with it. */
void mqtt_protocol_disconnected(struct mqtt *m);
void mqtt_protocol_free(struct mqtt *m);

/* mqtt-commands.c: the message callback on a new mosquitto object; on CONNACK
 * the subscription and an answer that waited; all freed. */
void mqtt_commands_setup(struct mqtt *m);
void mqtt_commands_on_connected(struct mqtt *m);
void mqtt_commands_free(struct mqtt *m);

/* Publish the discovery configs for the meter of snap (NULL: not known yet)
 * and clear the ones of sensors that are gone (all of them with
 * HomeAssistant=no); called on every connect. */
void mqtt_homeassistant_publish(struct mqtt *m, const struct snapshot *snap);
/* After each published snapshot: publish again when the meter's shape changed
 * (apparent power, M-Bus channels). */
void mqtt_homeassistant_follow(struct mqtt *m, const struct snapshot *snap);
