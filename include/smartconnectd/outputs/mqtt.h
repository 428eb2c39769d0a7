/* SPDX-License-Identifier: MIT */
/*
 * The MQTT publisher: libmosquitto driven by the daemon's sd-event loop, with
 * no library thread. The broker's socket is an io source (EPOLLOUT only while
 * libmosquitto wants to write), a timer runs loop_misc (keepalive) every
 * quarter of KeepAlive (1 to 15 s), and
 * nothing waits on the network:
 *
 *  - the broker's host name is resolved on a helper thread (resolve.h) and
 *    libmosquitto connects to the numeric address, non-blocking
 *    (mosquitto_connect_bind_async); TLS still verifies the certificate
 *    against the configured host name, which is also sent as SNI;
 *  - resolution, TCP connect, TLS handshake and CONNACK together must finish
 *    within ConnectTimeout, or the attempt is cut;
 *  - a lost or failed connection is retried after a capped exponential
 *    back-off with jitter (1 s doubling to 60 s, each delay drawn from its
 *    upper half).
 *
 * Topics, under devices/<Site>/smart-connect/<serial>/ (Site "default" when
 * empty):
 *   data/power_instant   every accepted, fresh telegram (QoS 0); over MQTT 5
 *                        under topic alias 1 when the broker allows aliases
 *                        (the topic itself once per connection)
 *   data/device_counters every CountersInterval (QoS 0)
 *   status               "online"/"offline", retained, QoS 0; "offline" is
 *                        also the last will (QoS 1)
 * and, with HomeAssistant=yes, retained discovery configs (mqtt-discovery.h).
 *
 * Log lines tests rely on: "MQTT connected to <host>:<port>",
 * "MQTT connection to <host>:<port> failed: <why>, retrying in <n> ms".
 *
 * An adapter owned by the daemon; talks to the store, reading-json, mqtt-discovery,
 * resolve and libmosquitto.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/listener.h"

#define MQTT_BROKER_URL_MAX 512

/* "mqtt://host:port" or "mqtts://host:port"; the port defaults to 1883/8883.
 * url is empty when no broker is configured. Plain data: copy it by value. */
struct mqtt_broker {
	char url[MQTT_BROKER_URL_MAX];
	char host[LISTENER_HOST_MAX];
	uint16_t port;
	bool tls;
};

/* What the publisher is made from; built by the daemon. Strings are copied
 * (NULL counts as empty). */
struct mqtt_settings {
	bool enabled;
	struct mqtt_broker broker;
	const char *serial;   /* the gateway's, in topics and the client id */
	const char *site;     /* topic level; empty = "default" */
	const char *username; /* empty: none; with one the client certificate is not sent */
	const char *password;
	const char *ca_file; /* both empty: the system's CAs */
	const char *ca_path;
	const char *cert_file; /* mutual TLS */
	const char *key_file;
	unsigned keepalive_sec;
	unsigned connect_timeout_sec; /* resolution, connect, TLS and CONNACK together */
	unsigned counters_sec;        /* device_counters interval */
	bool homeassistant;           /* publish discovery configs */
	bool commands;                /* subscribe to <base>/cmd/+ (mqtt-commands.c) */
	const char *discovery_prefix;
	const char *ha_state_file; /* the discovery topics last published; empty: not kept */
};

enum mqtt_state {
	MQTT_STATE_DISABLED,
	MQTT_STATE_CONNECTING,   /* resolving, connecting, TLS, waiting for CONNACK */
	MQTT_STATE_CONNECTED,    /* CONNACK accepted */
	MQTT_STATE_DISCONNECTED, /* lost or failed, waiting to retry */
	_MQTT_STATE_MAX,
};

struct mqtt_counters {
	uint64_t event_connect;    /* CONNACKs accepted */
	uint64_t event_errors;     /* failed attempts and lost connections */
	uint64_t send_pass;        /* messages handed to the connection */
	uint64_t send_fail;        /* messages due while not connected, or refused by the library */
	uint64_t rx_refused;       /* connections dropped for a packet over the bound or a malformed header */
	uint64_t commands;         /* commands received and answered */
	uint64_t commands_refused; /* of those, answered with an error */
};

/* What device_counters reports besides MQTT's own figures; filled by the daemon. */
struct mqtt_extra_counters {
	uint64_t gw_ping_pass, gw_ping_fail;
	uint64_t internet_ping_pass, internet_ping_fail;
	uint64_t telegrams_pass, telegrams_fail, telegrams_frame_fail;
};
typedef void (*mqtt_extra_fn)(struct mqtt_extra_counters *ret, void *userdata);

struct mqtt;

/* Called after every change of mqtt_get_state() or of the last error. */
typedef void (*mqtt_state_fn)(struct mqtt *m, void *userdata);

/*
 * Takes a copy of s. The store is borrowed and must outlive the publisher.
 * Nothing happens before mqtt_start(). -ENOMEM or 0.
 */
int mqtt_new(sd_event *e, struct store *store, const struct mqtt_settings *s, mqtt_state_fn on_state,
	     void *userdata, struct mqtt **ret);
/* Publishes "offline" and disconnects when connected (best effort, without
 * waiting), then frees. NULL-safe, returns NULL. */
struct mqtt *mqtt_free(struct mqtt *m);
DEFINE_FREEP(struct mqtt, mqtt_free)

/* Where device_counters takes the figures that are not MQTT's own. */
void mqtt_set_extra(struct mqtt *m, mqtt_extra_fn fn, void *userdata);

/* Connect when enabled. Failures to reach the broker are states, not errors:
 * returns 0, or a negative errno for loop or memory failures (logged). */
int mqtt_start(struct mqtt *m);

/* New settings (copied): disconnect cleanly and start over with them.
 * Same returns as mqtt_start(). */
int mqtt_reconfigure(struct mqtt *m, const struct mqtt_settings *s);

/* Soft reset: drop the connection and connect again at once. */
int mqtt_reconnect(struct mqtt *m);

enum mqtt_state mqtt_get_state(const struct mqtt *m);
const char *mqtt_state_to_string(enum mqtt_state s) __attribute__((const));
/* Borrowed; NULL when there was none since the last successful connect. */
const char *mqtt_last_error(const struct mqtt *m);
const struct mqtt_counters *mqtt_get_counters(const struct mqtt *m);

/* One line for systemd STATUS=: "MQTT connected to host:port", "MQTT disabled",
 * "MQTT connecting to host:port", "MQTT error: <last error>". Returns buf. */
const char *mqtt_status(const struct mqtt *m, char *buf, size_t size);

/* {"enabled": bool, "state": "disabled|connecting|connected|disconnected",
 *  "last_error": string|null}. New reference; NULL on OOM. */
json_t *mqtt_status_json(const struct mqtt *m);

/* A remote command received on <base>/cmd/<name>, for the daemon to carry
 * out. Its strings are valid for the call only; payload is NUL-terminated. */
struct mqtt_command {
	const char *name;  /* <name>: lower case letters and "_", at most 32 */
	const char *topic; /* the topic it came on, for the log */
	const char *payload;
	size_t len;
	bool repeated; /* the same name, payload and correlation data within MQTT_COMMAND_REPEAT_SEC */
};

#define MQTT_COMMAND_MAX (16 * 1024) /* payload bytes; a bigger command is refused unread */
#define MQTT_COMMAND_REPEAT_SEC 10
#define MQTT_COMMAND_QUEUE 8 /* received and not yet carried out; more are answered "busy" */

/* Carries out one command and returns the response object (a new reference;
 * NULL: out of memory). Called from the loop, never from inside the library,
 * so it may reconfigure or reconnect the publisher. */
typedef json_t *(*mqtt_command_fn)(struct mqtt *m, const struct mqtt_command *c, void *userdata);

/* Who carries out the commands (with Commands=yes). */
void mqtt_set_commands(struct mqtt *m, mqtt_command_fn fn, void *userdata);

/* The meter's data are fresh (a telegram within the stale limit) or not:
 * with HomeAssistant=yes, <base>/meter says "fresh" or "stale" (retained),
 * the second availability topic of the meter's sensors. */
void mqtt_set_meter_fresh(struct mqtt *m, bool fresh);

struct capacity_view;

/* The capacity tariff (mqtt-capacity.c): <base>/data/capacity, retained, the
 * status's "capacity" object, sent when it differs from the last one sent;
 * the daemon calls it once per accepted telegram. Nothing while not
 * connected. Returns 1 sent, 0 unchanged or not connected, < 0 error. */
int mqtt_publish_capacity(struct mqtt *m, const struct capacity_view *cap);

/* The topic of a metric ("power_instant") into buf. Returns buf. */
const char *mqtt_topic(const struct mqtt *m, const char *metric, char *buf, size_t size);
