/* SPDX-License-Identifier: MIT */
/*
 * Which MQTT version the connection speaks. MQTT 5 first: it carries the
 * Maximum Packet Size the broker must respect and the response topics of the
 * remote commands. A broker that only knows MQTT 3.1.1 (older mosquitto,
 * some cloud IoT endpoints) answers a version 5 CONNECT with "unacceptable
 * protocol version", or closes the connection before any CONNACK; the next
 * attempt then speaks 3.1.1. Until a CONNACK has accepted one version, each
 * such failure switches to the other, so a broker that simply refuses us for
 * another reason costs nothing more than its usual back-off. A packet header
 * the read-ahead refused as too big or malformed (mqtt-limits.c) means the
 * peer took our version. The
 * version found is kept until the connection settings change or a soft reset.
 *
 * Over MQTT 5, power_instant (a message per telegram, always on one topic)
 * goes under topic alias 1 when the broker's CONNACK allows aliases: the
 * first message of a connection carries the topic and the alias, the later
 * ones the alias alone. That spares the broker the topic's bytes, and
 * libmosquitto its UTF-8 and topic checks, per message; subscribers still get
 * the whole topic (the broker resolves the alias, per connection). A broker
 * forgets the alias when the connection ends, so every connection binds it
 * again.
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "smartconnectd/base/log.h"

#include "mqtt-internal.h"

#define CONNACK_V3_BAD_PROTOCOL 1    /* MQTT 3.1.1: unacceptable protocol version */
#define CONNACK_V5_BAD_PROTOCOL 0x84 /* MQTT 5: unsupported protocol version */
#define POWER_ALIAS 1

bool mqtt_protocol_v5(const struct mqtt *m)
{
	return !m->v311;
}

void mqtt_protocol_reset(struct mqtt *m)
{
	m->v311 = false;
	m->protocol_known = false;
}

void mqtt_protocol_accepted(struct mqtt *m)
{
	if (!m->protocol_known && m->v311)
		log_notice("MQTT: %s:%u speaks MQTT 3.1.1, not 5: no Maximum Packet Size is asked of it, "
			   "and command answers go to the fixed response topics",
			   m->set.broker.host, m->set.broker.port);
	m->protocol_known = true;
}

void mqtt_protocol_failed(struct mqtt *m)
{
	bool refused_version = m->connack && (m->connack_rc == CONNACK_V3_BAD_PROTOCOL ||
					      m->connack_rc == CONNACK_V5_BAD_PROTOCOL);

	/* Only a broker that was reached and gave no verdict, or refused the version. */
	if (m->protocol_known || m->state != MQTT_STATE_CONNECTING || !m->tcp_up)
		return;
	if (m->connack && !refused_version)
		return;
	m->v311 = !m->v311;
	log_info("MQTT: %s:%u did not take an MQTT %s CONNECT; the next attempt speaks MQTT %s",
		 m->set.broker.host, m->set.broker.port, m->v311 ? "5" : "3.1.1", m->v311 ? "3.1.1" : "5");
}

void mqtt_protocol_on_connack(struct mqtt *m, const mosquitto_property *props)
{
	uint16_t max = 0;

	m->alias_ok = false;
	m->alias_bound = false;
	if (!props || !mqtt_protocol_v5(m) || !m->power_topic[0])
		return;
	/* Absent: the broker takes no alias (MQTT 5, 3.2.2.3.8). */
	if (!mosquitto_property_read_int16(props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM, &max, false) ||
	    max < POWER_ALIAS)
		return;
	/* Made once, kept for every later connection: no allocation per message. */
	if (!m->power_alias && mosquitto_property_add_int16(&m->power_alias, MQTT_PROP_TOPIC_ALIAS,
							    POWER_ALIAS) != MOSQ_ERR_SUCCESS) {
		mosquitto_property_free_all(&m->power_alias);
		return;
	}
	m->alias_ok = true;
}

const char *mqtt_protocol_power_topic(struct mqtt *m, const mosquitto_property **ret_alias)
{
	if (!m->alias_ok) {
		*ret_alias = NULL;
		return m->power_topic;
	}
	*ret_alias = m->power_alias;
	return m->alias_bound ? NULL : m->power_topic;
}

void mqtt_protocol_power_sent(struct mqtt *m)
{
	m->alias_bound = m->alias_ok;
}

void mqtt_protocol_disconnected(struct mqtt *m)
{
	m->alias_ok = false;
	m->alias_bound = false;
}

void mqtt_protocol_free(struct mqtt *m)
{
	mosquitto_property_free_all(&m->power_alias);
}
