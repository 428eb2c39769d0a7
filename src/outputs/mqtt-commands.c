/* SPDX-License-Identifier: MIT */
/*
 * Remote commands over MQTT (with [MQTT] Commands=yes). The daemon
 * subscribes to <base>/cmd/+ once connected; each message is copied by the
 * library callback into a small queue and carried out later from a defer
 * source on the loop, never inside the library call, because a command may
 * reconfigure or reconnect the very connection it came on. What a command
 * does is the daemon's (mqtt_set_commands()); here are the checks every
 * command gets the same (size, name, repetition) and the answer: on the
 * MQTT 5 response topic with the correlation data when the request has
 * them, else on <base>/cmd/<name>/response, QoS 0 like everything we send
 * (mqtt-limits.h). An answer due while not connected waits for the next
 * connection (one; a newer one replaces it). Authorization is the broker's.
 */
#include <errno.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/reading-json.h"

#include "mqtt-internal.h"

#define COMMAND_NAME_MAX 32

struct mqtt_cmd {
	char *topic;
	char *payload; /* NULL when too big */
	size_t len;
	char *response_topic; /* from the request, or NULL */
	void *corr;           /* correlation data, or NULL */
	uint16_t corr_len;
	char *answer;  /* the response, once made: waits here for a connection */
	bool retained; /* a command left on the broker: never carried out */
};

static struct mqtt_cmd *mqtt_cmd_free(struct mqtt_cmd *c)
{
	if (c) {
		free(c->topic);
		free(c->payload);
		free(c->response_topic);
		free(c->corr);
		free(c->answer);
		free(c);
	}
	return NULL;
}

/* ---- receiving: the library callback records only ---- */

static int mqtt_commands_run(sd_event_source *s, void *userdata);

static struct mqtt_cmd *mqtt_cmd_copy(const struct mosquitto_message *msg, const mosquitto_property *props)
{
	struct mqtt_cmd *c = calloc(1, sizeof(*c));

	if (!c || !(c->topic = strdup(msg->topic)))
		return mqtt_cmd_free(c);
	c->retained = msg->retain;
	if (msg->payloadlen >= 0 && (size_t) msg->payloadlen <= MQTT_COMMAND_MAX) {
		c->len = (size_t) msg->payloadlen;
		c->payload = malloc(c->len + 1);
		if (!c->payload)
			return mqtt_cmd_free(c);
		memcpy(c->payload, msg->payload ?: "", c->len);
		c->payload[c->len] = '\0';
	}
	/* The library has checked both properties' form; absent ones stay NULL. */
	(void) mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, &c->response_topic, false);
	(void) mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &c->corr, &c->corr_len,
					      false);
	return c;
}

static void mqtt_lib_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
				const mosquitto_property *props)
{
	struct mqtt *m = obj;
	struct mqtt_cmd *c;

	(void) mosq;
	if (!m->set.commands)
		return;
	if (m->n_cmd >= MQTT_COMMAND_QUEUE) {
		m->counters.commands_refused++;
		log_warning("MQTT command on %s dropped: %u commands are waiting already", msg->topic,
			    MQTT_COMMAND_QUEUE);
		return;
	}
	c = mqtt_cmd_copy(msg, props);
	if (!c) {
		(void) log_oom();
		return;
	}
	if (!m->cmd_defer && sd_event_add_defer(m->event, &m->cmd_defer, mqtt_commands_run, m) < 0) {
		mqtt_cmd_free(c);
		(void) log_oom();
		return;
	}
	m->cmd_queue[m->n_cmd++] = c;
	(void) sd_event_source_set_enabled(m->cmd_defer, SD_EVENT_ONESHOT);
}

void mqtt_commands_setup(struct mqtt *m)
{
	mosquitto_message_v5_callback_set(m->mosq, mqtt_lib_on_message);
}

void mqtt_set_commands(struct mqtt *m, mqtt_command_fn fn, void *userdata)
{
	m->cmd_fn = fn;
	m->cmd_userdata = userdata;
}

/* ---- answering ---- */

/* Hand the answer to the connection; 0, or -ENOTCONN when it must wait. */
static int mqtt_cmd_send(struct mqtt *m, struct mqtt_cmd *c)
{
	char fixed[TOPIC_MAX + COMMAND_NAME_MAX + 16];
	const char *topic = c->response_topic;
	mosquitto_property *props = NULL;
	int rc;

	if (m->state != MQTT_STATE_CONNECTED || !m->mosq)
		return -ENOTCONN;
	if (!topic || strlen(topic) >= TOPIC_MAX || mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS) {
		snprintf(fixed, sizeof(fixed), "%s/response", c->topic);
		topic = fixed;
	}
	if (c->corr && mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, c->corr,
						     c->corr_len) != MOSQ_ERR_SUCCESS)
		return log_oom();
	rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int) strlen(c->answer), c->answer, 0, false, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_SUCCESS) {
		m->counters.send_fail++;
		return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ? -ENOTCONN : -EIO;
	}
	m->counters.send_pass++;
	mqtt_flush(m);
	return 0;
}

static void mqtt_cmd_answer(struct mqtt *m, struct mqtt_cmd *c, json_t *answer)
{
	c->answer = answer ? json_dumps(answer, READING_JSON_DUMP_FLAGS) : NULL;
	json_decref(answer);
	if (!c->answer) {
		(void) log_oom();
		mqtt_cmd_free(c);
		return;
	}
	if (mqtt_cmd_send(m, c) != -ENOTCONN) {
		mqtt_cmd_free(c);
		return;
	}
	if (m->cmd_waiting)
		m->counters.send_fail++; /* the older answer is dropped */
	mqtt_cmd_free(m->cmd_waiting);
	m->cmd_waiting = c;
}

/* ---- carrying out ---- */

static uint64_t mqtt_cmd_hash(const struct mqtt_cmd *c)
{
	const char *parts[] = { c->topic, c->payload ?: "", c->corr };
	size_t lens[] = { strlen(c->topic), c->len, c->corr_len };
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		for (size_t k = 0; k < lens[i]; k++)
			h = (h ^ (uint8_t) parts[i][k]) * 1099511628211ULL;
	return h;
}

/* The same command (topic, payload, correlation data) within the window. */
static bool mqtt_cmd_repeated(struct mqtt *m, const struct mqtt_cmd *c, uint64_t now)
{
	uint64_t h = mqtt_cmd_hash(c);
	bool seen = false;

	for (size_t i = 0; i < ARRAY_SIZE(m->cmd_seen); i++)
		seen |= m->cmd_seen[i].hash == h && m->cmd_seen[i].usec &&
			now - m->cmd_seen[i].usec < MQTT_COMMAND_REPEAT_SEC * USEC_PER_SEC;
	m->cmd_seen[m->cmd_seen_next].hash = h;
	m->cmd_seen[m->cmd_seen_next].usec = now;
	m->cmd_seen_next = (m->cmd_seen_next + 1) % ARRAY_SIZE(m->cmd_seen);
	return seen;
}

/* The name after <base>/cmd/, or NULL when the topic is not one of ours. */
static const char *mqtt_cmd_name(const struct mqtt *m, const char *topic)
{
	size_t n = strlen(m->base), k;

	if (strncmp(topic, m->base, n) != 0 || strncmp(topic + n, "/cmd/", 5) != 0)
		return NULL;
	topic += n + 5;
	k = strspn(topic, "abcdefghijklmnopqrstuvwxyz_");
	return k && k <= COMMAND_NAME_MAX && !topic[k] ? topic : NULL;
}

static json_t *mqtt_cmd_error(const char *why)
{
	return json_pack("{s:b,s:s}", "ok", false, "error", why);
}

static void mqtt_cmd_run(struct mqtt *m, struct mqtt_cmd *c, uint64_t now)
{
	const char *name = mqtt_cmd_name(m, c->topic);
	struct mqtt_command cmd = { .name = name, .topic = c->topic, .payload = c->payload, .len = c->len };
	json_t *answer;

	m->counters.commands++;
	if (!name) {
		log_warning("MQTT command on %s refused: not a command topic of this gateway", c->topic);
		answer = mqtt_cmd_error("malformed command topic");
	} else if (c->retained) {
		/* It would run again at every connect: a retained reset would never end. */
		log_warning("MQTT command '%s' on %s refused: retained on the broker", name, c->topic);
		answer = mqtt_cmd_error("retained command ignored");
	} else if (!c->payload) {
		log_warning("MQTT command '%s' on %s refused: larger than %u bytes", name, c->topic,
			    MQTT_COMMAND_MAX);
		answer = mqtt_cmd_error("command too large");
	} else if (!m->cmd_fn) {
		answer = mqtt_cmd_error("commands not available");
	} else {
		cmd.repeated = mqtt_cmd_repeated(m, c, now);
		answer = m->cmd_fn(m, &cmd, m->cmd_userdata);
	}
	if (answer && !json_is_true(json_object_get(answer, "ok")))
		m->counters.commands_refused++;
	if (answer && name)
		(void) json_object_set_new(answer, "command", json_string(name));
	mqtt_cmd_answer(m, c, answer);
}

static int mqtt_commands_run(sd_event_source *s, void *userdata)
{
	struct mqtt *m = userdata;
	uint64_t now = 0;

	(void) s;
	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	/* One at a time from the front: a command may receive more. */
	while (m->n_cmd > 0) {
		struct mqtt_cmd *c = m->cmd_queue[0];

		memmove(m->cmd_queue, m->cmd_queue + 1, --m->n_cmd * sizeof(m->cmd_queue[0]));
		mqtt_cmd_run(m, c, now);
	}
	return 0;
}

/* ---- the connection ---- */

void mqtt_commands_on_connected(struct mqtt *m)
{
	char topic[TOPIC_MAX + 8];
	struct mqtt_cmd *c = TAKE_PTR(m->cmd_waiting);

	if (m->set.commands) {
		snprintf(topic, sizeof(topic), "%s/cmd/+", m->base);
		/* Retained messages are not commands: an MQTT 5 broker keeps them
		 * back; from a 3.1.1 broker they are refused when they come. */
		if (mosquitto_subscribe_v5(m->mosq, NULL, topic, 1,
					   mqtt_protocol_v5(m) ? MQTT_SUB_OPT_SEND_RETAIN_NEVER : 0,
					   NULL) != MOSQ_ERR_SUCCESS)
			log_warning("MQTT: cannot subscribe to %s, remote commands are off", topic);
		else
			log_info("MQTT: remote commands on %s", topic);
	}
	if (c && mqtt_cmd_send(m, c) == -ENOTCONN)
		m->cmd_waiting = TAKE_PTR(c);
	mqtt_cmd_free(c);
}

void mqtt_commands_free(struct mqtt *m)
{
	for (size_t i = 0; i < m->n_cmd; i++)
		mqtt_cmd_free(m->cmd_queue[i]);
	m->n_cmd = 0;
	m->cmd_waiting = mqtt_cmd_free(m->cmd_waiting);
	m->cmd_defer = sd_event_source_disable_unref(m->cmd_defer);
}
