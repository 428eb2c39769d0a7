/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff on MQTT (see mqtt.h): <base>/data/capacity, retained,
 * the same object as the status's "capacity". Retained because it is a
 * state, not a stream: a subscriber that comes later (Home Assistant
 * restarted) has the month's peak at once instead of at the next telegram.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/history-json.h"
#include "smartconnectd/outputs/jbuf.h"

#include "mqtt-internal.h"

/* FNV-1a 64 of the payload: whether it changed since the last one sent. */
static uint64_t payload_hash(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		x = (x ^ (uint8_t) *s) * 0x100000001b3ULL;
	return x;
}

static bool figures_same(const struct capacity_figures *a, const struct capacity_figures *b)
{
	return a->has_demand == b->has_demand && a->has_peak == b->has_peak && a->demand_w == b->demand_w &&
	       a->peak_w == b->peak_w && a->peak_time == b->peak_time;
}

/* Field by field (padding is not compared): the payload is a function of the
 * view alone, so an equal view needs no text to know nothing changed. */
static bool view_same(const struct capacity_view *a, const struct capacity_view *b)
{
	if (a->measured != b->measured || !figures_same(&a->now, &b->now) ||
	    !figures_same(&a->computed, &b->computed) || a->quarter_start != b->quarter_start ||
	    a->quarter_end != b->quarter_end || a->has_projection != b->has_projection ||
	    a->projection_w != b->projection_w || a->has_over_peak != b->has_over_peak ||
	    a->over_peak_w != b->over_peak_w || a->n_months != b->n_months)
		return false;
	for (unsigned i = 0; i < a->n_months && i < CAPACITY_MONTHS; i++)
		if (a->months[i].month != b->months[i].month || a->months[i].peak_w != b->months[i].peak_w ||
		    a->months[i].peak_time != b->months[i].peak_time)
			return false;
	return true;
}

int mqtt_publish_capacity(struct mqtt *m, const struct capacity_view *cap)
{
	char text[HISTORY_CAPACITY_TEXT_MAX];
	struct jbuf j;
	uint64_t h;
	int r;

	/* Nothing is counted as lost while there is no connection: the
	 * retained value is sent at the first change once connected. */
	if (!m || m->state != MQTT_STATE_CONNECTED || !m->mosq)
		return 0;
	if (m->has_capacity_sent && view_same(cap, &m->capacity_sent))
		return 0;
	/* Written on the stack: a telegram costs no allocation here. */
	jbuf_init(&j, text, sizeof(text));
	history_capacity_text(&j, NULL, cap);
	if (jbuf_finish(&j) < 0)
		return log_warning_errno(ENOBUFS, "MQTT: the capacity object does not fit, not sent");
	h = payload_hash(text);
	if (h == m->capacity_hash) {
		m->capacity_sent = *cap;
		m->has_capacity_sent = true;
		return 0;
	}
	r = mqtt_send(m, m->capacity_topic, text, 0, true);
	if (r < 0)
		return r;
	m->capacity_hash = h;
	m->capacity_sent = *cap;
	m->has_capacity_sent = true;
	mqtt_flush(m);
	return 1;
}
