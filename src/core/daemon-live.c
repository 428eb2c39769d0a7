/* SPDX-License-Identifier: MIT */
/*
 * What the daemon streams on GET /api/v1/live: a power_instant event per
 * accepted telegram (the same JSON as MQTT and the status), and the whole
 * status object when the meter, network or MQTT state changes, or another
 * meter (id, version) speaks. Nothing is
 * built while no stream is open.
 *
 * The network has no change callback: while streams are open its part of the
 * status is compared every DAEMON_LIVE_NET_SEC with the one last sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/netinfo.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/status.h"

#include "daemon-internal.h"

#define DAEMON_LIVE_NET_SEC 5

static void daemon_live_send(struct daemon *d, const char *event, json_t *j)
{
	char *text = j ? json_dumps(j, READING_JSON_DUMP_FLAGS) : NULL;

	if (!text || httpd_live_send(d->httpd, event, text) < 0)
		log_warning("Cannot send a live '%s' event (out of memory), ignoring", event);
	free(text);
}

static json_t *daemon_live_network(const struct daemon *d)
{
	struct netinfo ni;

	(void) netinfo_read(&ni);
	return status_network(&ni, reachability_gateway_reachable(d->reachability),
			      reachability_internet_reachable(d->reachability));
}

void daemon_live_status(struct daemon *d)
{
	json_t *st;

	if (httpd_live_clients(d->httpd) == 0)
		return;
	st = daemon_status_json(d);
	json_decref(d->live_network);
	d->live_network = st ? json_incref(json_object_get(st, "network")) : NULL;
	daemon_live_send(d, "status", st);
	json_decref(st);
}

static void daemon_live_on_snapshot(const struct snapshot *snap, void *userdata)
{
	struct daemon *d = userdata;
	json_t *pi;

	if (httpd_live_clients(d->httpd) == 0)
		return;
	/* Another meter, or the same one with a new version, is news for the
	 * status (its id and version are not in power_instant). */
	if (strcmp(d->live_meter_id, snap->v.id) != 0 ||
	    strcmp(d->live_meter_version, snap->v.version) != 0) {
		snprintf(d->live_meter_id, sizeof(d->live_meter_id), "%s", snap->v.id);
		snprintf(d->live_meter_version, sizeof(d->live_meter_version), "%s", snap->v.version);
		daemon_live_status(d);
	}
	pi = reading_json_power_instant(&snap->v);
	daemon_live_send(d, "power_instant", pi);
	json_decref(pi);
}

static int daemon_live_on_net_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	json_t *net;

	(void) usec;
	(void) sd_event_source_set_time_relative(s, DAEMON_LIVE_NET_SEC * USEC_PER_SEC);
	if (httpd_live_clients(d->httpd) == 0)
		return 0;
	net = daemon_live_network(d);
	if (net && (!d->live_network || !json_equal(net, d->live_network)))
		daemon_live_status(d);
	json_decref(net);
	return 0;
}

int daemon_live_start(struct daemon *d)
{
	int r;

	r = store_watch(d->store, daemon_live_on_snapshot, d, &d->live_watch);
	if (r < 0)
		return log_oom();
	/* It runs with no stream open too (there is no open callback): half a
	 * period of slack lets it ride on a telegram's wake rather than its own. */
	r = sd_event_add_time_relative(d->event, &d->live_net_timer, CLOCK_MONOTONIC,
				       DAEMON_LIVE_NET_SEC * USEC_PER_SEC,
				       DAEMON_LIVE_NET_SEC * USEC_PER_SEC / 2, daemon_live_on_net_timer, d);
	if (r < 0)
		return log_error_errno(r, "Cannot start the live network check: %m");
	return sd_event_source_set_enabled(d->live_net_timer, SD_EVENT_ON);
}

void daemon_live_stop(struct daemon *d)
{
	if (d->store)
		store_unwatch(d->store, d->live_watch);
	d->live_net_timer = sd_event_source_disable_unref(d->live_net_timer);
	d->live_network = (json_decref(d->live_network), NULL);
}
