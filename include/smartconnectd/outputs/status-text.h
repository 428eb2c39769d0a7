/* SPDX-License-Identifier: MIT */
/*
 * The status object's sections as JSON text (jbuf.h), for GET /api/v1/status:
 * the same keys, order and values as the trees of status.h, written without
 * a tree. Each writes the members of a section whose object the caller has
 * opened, so the caller can add its own members before closing it.
 *
 * Pure. No I/O but gethostname(). Never logs.
 */
#pragma once

#include "smartconnectd/outputs/jbuf.h"
#include "smartconnectd/outputs/status.h"

void status_text_system(struct jbuf *j, const char *serial, const char *version, uint64_t uptime_sec);
void status_text_meter(struct jbuf *j, const struct status_meter_report *r);
void status_text_network(struct jbuf *j, const struct netinfo *ni, int gateway_reachable,
			 int internet_reachable);
void status_text_mqtt(struct jbuf *j, bool enabled, const char *state, const char *last_error);
void status_text_modbus(struct jbuf *j, unsigned clients, uint16_t port, const char *meter_type);
void status_text_modbus_rtu(struct jbuf *j, const struct status_rtu_report *r);
