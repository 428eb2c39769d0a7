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

#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/netinfo.h"

/* The meter's state as the status names it. */
enum status_meter_state {
	STATUS_METER_STOPPED,        /* "stopped" */
	STATUS_METER_DEVICE_MISSING, /* "device-missing" */
	STATUS_METER_NO_DATA,        /* "no-data" */
	STATUS_METER_RECEIVING,      /* "receiving" */
	STATUS_METER_STALE,          /* "stale" */
	_STATUS_METER_STATE_MAX,
};

/* What the status shows of the meter: copied out by the daemon, so this
 * module never sees the meter itself. Pointers are borrowed for the call. */
struct status_meter_report {
	enum status_meter_state state;
	char status[256];            /* a line for humans (meter_status()) */
	const char *device;          /* the tty, or tcp://HOST:PORT */
	const char *protocol;        /* of the current snapshot; NULL: none */
	bool stale;                  /* the snapshot is older than the stale limit */
	uint64_t telegrams_pass;     /* frames accepted */
	uint64_t telegrams_fail;     /* frames with a bad or missing CRC or checksum */
	uint64_t frame_fail;         /* every other rejected frame */
	const struct snapshot *snap; /* the current one; NULL: nothing received yet */
};

/* {"serial","version","uptime" (seconds),"hostname"} */
json_t *status_system(const char *serial, const char *version, uint64_t uptime_sec);

/* {"state","status","device","source" ("tty" or "tcp"),"protocol","version","id","last_telegram","stale",
 *  "telegrams_pass","telegrams_fail","frame_fail","power_instant"}; version,
 * id, last_telegram and power_instant come from the snapshot, null without. */
json_t *status_meter(const struct status_meter_report *r);

/* {"interface","link","address","gateway","gateway_reachable","internet_reachable"};
 * reachability: 1 yes, 0 no, < 0 unknown (null). */
json_t *status_network(const struct netinfo *ni, int gateway_reachable, int internet_reachable);

/* {"enabled","state","last_error"}; last_error NULL gives null. */
json_t *status_mqtt(bool enabled, const char *state, const char *last_error);

/* {"clients","port","meter_type"} */
json_t *status_modbus(unsigned clients, uint16_t port, const char *meter_type);

/* What the status shows of the Modbus RTU server: copied out by the daemon. */
struct status_rtu_report {
	bool enabled;       /* a device is set and the server exists */
	const char *device; /* NULL or "": none set (null) */
	bool open;          /* the line is open */
	unsigned unit_id;
	const char *meter_type; /* the register map it serves */
	uint64_t requests, exceptions, ignored, bad_frames;
};

/* {"enabled","device","open","unit_id","meter_type","requests","exceptions","ignored","bad_frames"} */
json_t *status_modbus_rtu(const struct status_rtu_report *r);

/* NULL for a value out of range. */
const char *status_meter_state_to_string(enum status_meter_state s) __attribute__((const));
