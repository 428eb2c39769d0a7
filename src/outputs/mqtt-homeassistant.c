/* SPDX-License-Identifier: MIT */
/*
 * Home Assistant discovery on the MQTT connection (see mqtt-internal.h): the
 * configs of mqtt-discovery.c published retained when connected, published
 * again when the meter's shape changes (a TIC meter's apparent power, an
 * M-Bus channel appearing), and a sensor that went away cleared with an empty
 * retained config, so Home Assistant keeps no stale entity. The topics last
 * published are kept in a file of the state directory, so that after a
 * restart with another serial the old device's configs are cleared too.
 * The meter's freshness goes to <base>/meter ("fresh"/"stale", retained),
 * which the meter's sensors take as a second availability topic.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/mqtt-discovery.h"

#include "mqtt-internal.h"

#define HA_STATE_MAX (64 * 1024)

static struct mqtt_discovery_ctx mqtt_homeassistant_ctx(struct mqtt *m, const struct snapshot *snap)
{
	uint64_t max_age = store_get_max_age(m->store);

	if (snprintf(m->meter_topic, sizeof(m->meter_topic), "%s/meter", m->base) < 0)
		m->meter_topic[0] = '\0';
	return (struct mqtt_discovery_ctx){
		.prefix = m->set.discovery_prefix,
		.serial = m->set.serial,
		.power_topic = m->power_topic,
		.counters_topic = m->counters_topic,
		.capacity_topic = m->capacity_topic,
		.avail_topic = m->status_topic,
		.meter_topic = m->meter_topic,
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

/* The topics a previous run published, once per process. Only lines that
 * look like discovery config topics are taken. */
static void mqtt_homeassistant_load(struct mqtt *m)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, n = 0;
	char *save = NULL;

	m->ha_loaded = true;
	if (!m->set.ha_state_file[0] || m->ha_topics ||
	    file_read_regular(m->set.ha_state_file, HA_STATE_MAX, &text, &len) < 0)
		return;
	m->ha_topics = calloc(len / 8 + 1, TOPIC_MAX);
	if (!m->ha_topics) {
		(void) log_oom();
		return;
	}
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t k = strlen(l);

		if (k < TOPIC_MAX && k > 7 && strcmp(l + k - 7, "/config") == 0 && !strpbrk(l, "+#") &&
		    strstr(l, "/sensor/"))
			memcpy(m->ha_topics[n++], l, k + 1);
	}
	m->n_ha_topics = n;
}

/* Written to a temporary file and renamed: never a half list. */
static void mqtt_homeassistant_save(const struct mqtt *m)
{
	char tmp[PATH_MAX];
	FILE *f;
	bool ok;

	if (!m->set.ha_state_file[0] ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", m->set.ha_state_file) >= (int) sizeof(tmp))
		return;
	f = fopen(tmp, "we");
	if (!f) {
		log_debug_errno(errno, "Cannot write %s: %m", tmp);
		return;
	}
	for (size_t i = 0; i < m->n_ha_topics; i++)
		fprintf(f, "%s\n", m->ha_topics[i]);
	ok = fflush(f) == 0 && !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, m->set.ha_state_file) < 0) {
		log_debug_errno(errno, "Cannot write %s: %m", m->set.ha_state_file);
		(void) unlink(tmp);
	}
}

/* Publish the new set (none with HomeAssistant=no) into topics, then clear
 * with an empty retained config each one of the old set that is not in it. */
static size_t mqtt_homeassistant_send(struct mqtt *m, const struct mqtt_discovery_ctx *c,
				      char (*topics)[TOPIC_MAX], size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;

		if (mqtt_discovery_entry(c, i, topics[k], TOPIC_MAX, &o) < 0) {
			m->counters.send_fail++;
			continue;
		}
		(void) mqtt_send_json(m, topics[k++], o, 0, true);
	}
	/* An empty retained config removes the entity from Home Assistant. */
	for (size_t i = 0; i < m->n_ha_topics; i++)
		if (!mqtt_homeassistant_in(topics, k, m->ha_topics[i]))
			(void) mqtt_send(m, m->ha_topics[i], "", 0, true);
	return k;
}

void mqtt_homeassistant_publish(struct mqtt *m, const struct snapshot *snap)
{
	struct mqtt_discovery_ctx c = mqtt_homeassistant_ctx(m, snap);
	size_t n = m->set.homeassistant ? mqtt_discovery_count_for(&c) : 0, k;
	char(*topics)[TOPIC_MAX] = calloc(n ? n : 1, TOPIC_MAX);
	bool changed;

	if (!topics) {
		m->counters.send_fail++;
		(void) log_oom();
		return;
	}
	if (!m->ha_loaded)
		mqtt_homeassistant_load(m);
	if (m->set.homeassistant) {
		(void) mqtt_send(m, m->meter_topic, m->meter_fresh ? "fresh" : "stale", 0, true);
		m->meter_sent = m->meter_fresh;
	}
	k = mqtt_homeassistant_send(m, &c, topics, n);
	changed = k != m->n_ha_topics;
	for (size_t i = 0; !changed && i < k; i++)
		changed = strcmp(topics[i], m->ha_topics[i]) != 0;
	free(m->ha_topics);
	m->ha_topics = topics;
	m->n_ha_topics = k;
	m->ha_shape = mqtt_discovery_shape(c.reading);
	if (changed)
		mqtt_homeassistant_save(m);
}

void mqtt_homeassistant_follow(struct mqtt *m, const struct snapshot *snap)
{
	if (m->state != MQTT_STATE_CONNECTED || mqtt_discovery_shape(&snap->v) == m->ha_shape)
		return;
	log_info("MQTT: the meter's sensors changed, publishing the Home Assistant configs again");
	mqtt_homeassistant_publish(m, snap);
}

void mqtt_set_meter_fresh(struct mqtt *m, bool fresh)
{
	m->meter_fresh = fresh;
	if (m->state != MQTT_STATE_CONNECTED || !m->set.homeassistant || m->meter_sent == fresh)
		return;
	if (mqtt_send(m, m->meter_topic, fresh ? "fresh" : "stale", 0, true) == 0)
		m->meter_sent = fresh;
}
