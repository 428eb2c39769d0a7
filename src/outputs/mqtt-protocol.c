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
 */
#include <mosquitto.h>

#include "smartconnectd/base/log.h"

#include "mqtt-internal.h"

#define CONNACK_V3_BAD_PROTOCOL 1    /* MQTT 3.1.1: unacceptable protocol version */
#define CONNACK_V5_BAD_PROTOCOL 0x84 /* MQTT 5: unsupported protocol version */

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
