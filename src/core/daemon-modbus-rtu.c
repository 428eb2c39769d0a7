/* SPDX-License-Identifier: MIT */
/*
 * The Modbus RTU server in the hub: its settings from [ModbusRTU], started
 * when Device= is set, reconfigured, stopped or started again on a reload.
 * It reads the same store as the TCP server and shows the same identity.
 */
#include <stdio.h>

#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/modbus-rtu.h"
#include "smartconnectd/outputs/status.h"

#include "daemon-internal.h"

static struct modbus_rtu_settings daemon_rtu_settings(const struct daemon *d, const struct config *c)
{
	struct modbus_rtu_settings s = {
		.baud = c->rtu_baud,
		.parity = config_parity_to_string(c->rtu_parity)[0],
		.stop_bits = c->rtu_stop_bits,
		.unit_id = c->rtu_unit_id,
		.template = modbus_map_find(config_meter_type_to_string(c->rtu_meter_type)),
		.stale_policy = c->rtu_stale_policy,
		.ident = { .serial = d->serial, .version = PACKAGE_VERSION },
	};

	snprintf(s.device, sizeof(s.device), "%s", c->rtu_device);
	return s;
}

int daemon_apply_modbus_rtu(struct daemon *d)
{
	struct modbus_rtu_settings s;
	int r;

	if (!d->config->rtu_device[0]) {
		if (!d->modbus_rtu)
			return 0;
		d->modbus_rtu = modbus_rtu_free(d->modbus_rtu);
		log_info("Modbus RTU server stopped"); /* the line is closed now */
		return 0;
	}
	s = daemon_rtu_settings(d, d->config);
	if (d->modbus_rtu) {
		r = modbus_rtu_reconfigure(d->modbus_rtu, &s);
		return r < 0 ? log_error_errno(r, "Failed to apply the Modbus RTU settings, ignoring: %m")
			     : 0;
	}
	r = modbus_rtu_new(d->event, d->store, &s, &d->modbus_rtu);
	if (r < 0)
		return log_oom();
	return modbus_rtu_start(d->modbus_rtu);
}

void daemon_modbus_rtu_report(const struct daemon *d, struct status_rtu_report *r)
{
	const struct modbus_rtu_counters *n = d->modbus_rtu ? modbus_rtu_counters(d->modbus_rtu) : NULL;
	const struct config *c = d->config;

	*r = (struct status_rtu_report){
		.enabled = n != NULL,
		.device = c->rtu_device,
		.open = d->modbus_rtu && modbus_rtu_is_open(d->modbus_rtu),
		.unit_id = c->rtu_unit_id,
		.meter_type = config_meter_type_to_string(c->rtu_meter_type),
		.requests = n ? n->requests : 0,
		.exceptions = n ? n->exceptions : 0,
		.ignored = n ? n->ignored : 0,
		.bad_frames = n ? n->bad : 0,
	};
}

json_t *daemon_modbus_rtu_status(const struct daemon *d)
{
	struct status_rtu_report r;

	daemon_modbus_rtu_report(d, &r);
	return status_modbus_rtu(&r);
}

void daemon_stop_modbus_rtu(struct daemon *d)
{
	d->modbus_rtu = modbus_rtu_free(d->modbus_rtu);
}
