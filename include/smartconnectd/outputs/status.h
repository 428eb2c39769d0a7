/* SPDX-License-Identifier: MIT */
/*
 * The sections of GET /api/v1/status, one function each, so the daemon
 * assembles the object from what each subsystem knows:
 *
 *   {"system":{...},"meter":{...},"network":{...},"mqtt":{...},"modbus":{...}}
 *
 * Returned objects are new references, NULL only on OOM. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "smartconnectd/meter/meter.h"
#include "smartconnectd/net/netinfo.h"
#include "smartconnectd/meter/store.h"

/* {"serial","version","uptime" (seconds),"hostname"} */
json_t *status_system(const char *serial, const char *version, uint64_t uptime_sec);

/* {"state","status","device","protocol","version","id","last_telegram","stale",
 *  "telegrams_pass","telegrams_fail","frame_fail","power_instant"}. The
 * snapshot may be NULL (nothing received yet). telegrams_fail counts frames
 * with a bad CRC or checksum; frame_fail every other rejected frame. */
json_t *status_meter(const struct meter *m, const struct snapshot *snap, bool stale, const char *device);

/* {"interface","link","address","gateway","gateway_reachable","internet_reachable"};
 * reachability: 1 yes, 0 no, < 0 unknown (null). */
json_t *status_network(const struct netinfo *ni, int gateway_reachable, int internet_reachable);

/* {"enabled","state","last_error"}; last_error NULL gives null. */
json_t *status_mqtt(bool enabled, const char *state, const char *last_error);

/* {"clients","port","meter_type"} */
json_t *status_modbus(unsigned clients, uint16_t port, const char *meter_type);

const char *status_meter_state_to_string(enum meter_state s) __attribute__((const));
