/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics for the daemon: each adapter's counters copied out through
 * its getters into struct metrics_input, formatted by outputs/metrics.c.
 */
#include <stdlib.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/outputs/metrics.h"

#include "daemon-internal.h"

static void daemon_metrics_outputs(const struct daemon *d, struct metrics_input *in)
{
	const struct modbus_server_counters *mb =
	    d->modbus_server ? modbus_server_counters(d->modbus_server) : NULL;
	const struct mqtt_counters *mq = d->mqtt ? mqtt_get_counters(d->mqtt) : NULL;
	const struct reachability_counters *rc = reachability_counters(d->reachability);
	const struct passthrough_counters *pt = d->passthrough ? passthrough_counters(d->passthrough) : NULL;
	const struct httpd_counters *hc = httpd_counters(d->httpd);

	if (mb)
		in->modbus = *mb;
	in->modbus_clients = d->modbus_server ? modbus_server_clients(d->modbus_server) : 0;
	in->mqtt_enabled = d->config->mqtt_enabled;
	in->mqtt_connected = d->mqtt && mqtt_get_state(d->mqtt) == MQTT_STATE_CONNECTED;
	if (mq)
		in->mqtt = *mq;
	if (rc)
		in->reach = *rc;
	if (pt)
		in->passthrough = *pt;
	in->passthrough_clients = d->passthrough ? passthrough_clients(d->passthrough) : 0;
	if (hc)
		in->http = *hc;
	in->live_clients = httpd_live_clients(d->httpd);
}

char *daemon_metrics_text(struct daemon *d)
{
	const struct snapshot *snap = store_current(d->store);
	const struct telegram_counters *tc = meter_counters(d->meter);
	uint64_t now = 0;
	struct metrics_input *in;
	char *text;

	/* On the heap: the HTTP counters make it a few kilobytes. */
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	(void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	if (snap) {
		in->reading = &snap->v;
		in->data_age_usec = now > snap->mono_usec ? now - snap->mono_usec : 0;
		in->stale = store_is_stale(d->store, now);
	}
	in->meter_receiving = meter_get_state(d->meter) == METER_STATE_RECEIVING;
	in->device_opens = meter_device_opens(d->meter);
	if (tc)
		in->telegram = *tc;
	daemon_metrics_outputs(d, in);
	in->uptime_usec = now - d->start_usec;
	in->oom = log_oom_count();
	text = metrics_format(in);
	free(in);
	return text;
}
