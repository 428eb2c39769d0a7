/* SPDX-License-Identifier: MIT */
/*
 * The HomeWizard-compatible API for the daemon: its settings from
 * [HomeWizard], and what mDNS announces of it.
 *
 * Listen= empty picks the port clients of the original expect, 80, unless
 * the main API has it ([HTTP] Listen= on port 80, the default): then 8080,
 * and clients that only know port 80 need the main API moved.
 */
#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/homewizard-json.h"
#include "smartconnectd/outputs/homewizard.h"

#include "daemon-internal.h"

#define DAEMON_HOMEWIZARD_PORT 80
#define DAEMON_HOMEWIZARD_PORT_ALT 8080

static struct homewizard_settings daemon_homewizard_settings(const struct daemon *d)
{
	const struct config *c = d->config;
	struct homewizard_settings s = {
		.enabled = c->homewizard_enabled,
		.host = c->homewizard_listen.host,
		.port = c->homewizard_listen.port,
		.allow = c->homewizard_allow,
		.serial = d->serial,
		.version = PACKAGE_VERSION,
	};

	if (!s.host[0] && s.port == 0)
		s.port = c->http_listen.port == DAEMON_HOMEWIZARD_PORT ? DAEMON_HOMEWIZARD_PORT_ALT
								       : DAEMON_HOMEWIZARD_PORT;
	return s;
}

int daemon_apply_homewizard(struct daemon *d)
{
	struct homewizard_settings s;
	int r;

	if (!d->homewizard) {
		if (!d->config->homewizard_enabled)
			return 0;
		r = homewizard_new(d->event, d->store, &d->homewizard);
		if (r < 0)
			return log_oom();
	}
	s = daemon_homewizard_settings(d);
	return homewizard_apply(d->homewizard, &s);
}

void daemon_homewizard_mdns(const struct daemon *d, struct mdns_settings *ms)
{
	ms->homewizard_port = homewizard_port(d->homewizard);
	ms->homewizard_product_name = HOMEWIZARD_PRODUCT_NAME;
	ms->homewizard_product_type = HOMEWIZARD_PRODUCT_TYPE;
}
