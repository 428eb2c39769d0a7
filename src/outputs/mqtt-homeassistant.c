/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant discovery on the MQTT connection (see mqtt-internal.h): the
 * configs of mqtt-discovery.c published retained when connected, published
 * again when the meter's shape changes (a TIC meter's apparent power, an
 * M-Bus channel appearing), and a sensor that went away cleared with an empty
 * retained config, so Home Assistant keeps no stale entity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/mqtt-discovery.h"

#include "mqtt-internal.h"

static struct mqtt_discovery_ctx mqtt_homeassistant_ctx(struct mqtt *m, const struct snapshot *snap)
{
	uint64_t max_age = store_get_max_age(m->store);

	return (struct mqtt_discovery_ctx){
		.prefix = m->set.discovery_prefix,
		.serial = m->set.serial,
		.power_topic = m->power_topic,
		.counters_topic = m->counters_topic,
		.avail_topic = m->status_topic,
		.sw_version = PACKAGE_VERSION,
		/* Sensors go unavailable when the meter data do. */
		.expire_after = (unsigned) MAX(10, (max_age + USEC_PER_SEC - 1) / USEC_PER_SEC),
		.reading = snap ? &snap->v : NULL,
	};
}

static bool mqtt_homeassistant_in(char (*topics)[TOPIC_MAX], size_t n, const char *topic)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(topics[i], topic) == 0)
			return true;
	return false;
}

void mqtt_homeassistant_publish(struct mqtt *m, const struct snapshot *snap)
{
	struct mqtt_discovery_ctx c = mqtt_homeassistant_ctx(m, snap);
	size_t n = mqtt_discovery_count_for(&c), k = 0;
	char(*topics)[TOPIC_MAX] = calloc(n ? n : 1, TOPIC_MAX);

	if (!topics) {
		m->counters.send_fail++;
		(void) log_oom();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;

		if (mqtt_discovery_entry(&c, i, topics[k], TOPIC_MAX, &o) < 0) {
			m->counters.send_fail++;
			continue;
		}
		(void) mqtt_send_json(m, topics[k++], o, 0, true);
	}
	/* An empty retained config removes the entity from Home Assistant. */
	for (size_t i = 0; i < m->n_ha_topics; i++)
		if (!mqtt_homeassistant_in(topics, k, m->ha_topics[i]))
			(void) mqtt_send(m, m->ha_topics[i], "", 0, true);
	free(m->ha_topics);
	m->ha_topics = topics;
	m->n_ha_topics = k;
	m->ha_shape = mqtt_discovery_shape(c.reading);
}

void mqtt_homeassistant_follow(struct mqtt *m, const struct snapshot *snap)
{
	if (m->state != MQTT_STATE_CONNECTED || mqtt_discovery_shape(&snap->v) == m->ha_shape)
		return;
	log_info("MQTT: the meter's sensors changed, publishing the Home Assistant configs again");
	mqtt_homeassistant_publish(m, snap);
}
