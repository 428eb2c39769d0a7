/* SPDX-License-Identifier: MIT */
/*
 * The gateway's own network through NetworkManager, over the system bus with
 * sd-bus: the connection profiles "smartconnect-ethernet", "smartconnect-wifi"
 * and "smartconnect-ap" (fixed UUIDs, the only profiles it ever writes,
 * activates or deletes), the device and connectivity state for the status,
 * and the safe apply: a change made with safe set runs inside a
 * NetworkManager checkpoint that NetworkManager itself rolls back after the
 * confirm timeout unless network_manager_confirm() destroys it first.
 *
 * Every bus call is asynchronous on the daemon's sd-event loop. The object
 * is only created when the administrator hands the network over
 * ([Network] Manage=networkmanager): without it nothing here talks to the
 * bus. NetworkManager absent: logged once, reported in the status, picked up
 * when its name appears on the bus (NameOwnerChanged).
 *
 * Log lines tests rely on:
 *   "NetworkManager: not on the bus, ..."   "NetworkManager: on the bus"
 *   "NetworkManager: applied ..."           "NetworkManager: rolled back ..."
 *
 * An adapter owned by the daemon; talks to NetworkManager and
 * systemd-hostnamed. Secrets (PSKs) are never logged nor reported.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

#define NETWORK_MANAGER_IFNAME_MAX 16
#define NETWORK_MANAGER_AP_ADDRESS "192.168.71.1"
#define NETWORK_MANAGER_AP_PREFIX 24

/* IPv4 of one profile; strings empty when not set. */
struct network_manager_ipv4 {
	bool dhcp;        /* else static */
	char address[16]; /* dotted quad */
	uint32_t prefix;
	char gateway[16];
	char dns[16];
};

struct network_manager_settings {
	char ethernet_interface[NETWORK_MANAGER_IFNAME_MAX]; /* "auto": first device of type ethernet */
	char wifi_interface[NETWORK_MANAGER_IFNAME_MAX];     /* "auto": first device of type wifi */
	bool use_wifi;                                       /* DefaultNetIf: the other one is deactivated */
	struct network_manager_ipv4 ethernet, wifi;
	char wifi_ssid[33];
	char wifi_psk[64];
	char hostname[64];    /* set through systemd-hostnamed; empty: left alone */
	char ap_ssid[33];     /* access point mode: SC-<serial> */
	char ap_psk[64];      /* its per-device key */
	uint32_t confirm_sec; /* rollback timeout of a safe apply */
};

struct network_manager;

/* Called after any change of what network_manager_status_json() reports. */
typedef void (*network_manager_state_fn)(struct network_manager *nm, void *userdata);

/* -ENOMEM or 0. Talks to nothing until network_manager_start(). */
int network_manager_new(sd_event *e, network_manager_state_fn cb, void *userdata,
			struct network_manager **ret);
/* NULL-safe, returns NULL. Leaves NetworkManager as it is (a pending
 * checkpoint still rolls back by itself). */
struct network_manager *network_manager_free(struct network_manager *nm);
DEFINE_FREEP(struct network_manager, network_manager_free)

/* Connect to the system bus and apply s (copied) as soon as NetworkManager is
 * there, without a checkpoint. Errors connecting are logged and returned;
 * NetworkManager missing is not an error. */
int network_manager_start(struct network_manager *nm, const struct network_manager_settings *s);

/* Apply new settings (copied). With safe, inside a checkpoint that rolls back
 * after s->confirm_sec unless confirmed. -EBUSY while a previous safe apply
 * awaits confirmation. Progress and failures go to the log and the status. */
int network_manager_apply(struct network_manager *nm, const struct network_manager_settings *s, bool safe);

/* Keep a safe apply: destroys the checkpoint. -ENOENT when none is pending. */
int network_manager_confirm(struct network_manager *nm);

/* Factory reset: delete our three profiles (by their UUIDs; nobody else's)
 * at the start of the next apply, which then writes afresh only what the
 * settings want, and leave access point mode. Done when NetworkManager is
 * there; an apply cut short by its absence deletes them again. Returns 0. */
int network_manager_forget(struct network_manager *nm);

/* Start the access point (smartconnect-ap on the Wi-Fi device), instead of
 * the client profiles. A Wi-Fi client applied meanwhile is tried: the access
 * point mode ends when the client is connected, and the access point comes
 * back when the client fails or does not connect in time. */
int network_manager_start_ap(struct network_manager *nm);

enum network_manager_ap_outcome {
	NETWORK_MANAGER_AP_NONE,      /* no Wi-Fi client being tried */
	NETWORK_MANAGER_AP_WAIT,      /* still trying */
	NETWORK_MANAGER_AP_CONNECTED, /* the client is up: the access point mode ends */
	NETWORK_MANAGER_AP_FAILED,    /* the access point comes back */
};

/* The trial's decision from what NetworkManager reported: the Wi-Fi device's
 * NMDeviceState and whether its active connection is our client profile. */
enum network_manager_ap_outcome network_manager_ap_outcome(bool trying, bool applying, bool activation_failed,
							   bool timed_out, uint32_t wifi_state,
							   bool wifi_on_client) __attribute__((const));

/* A safe apply awaits confirmation; the callback is told when that ends. */
bool network_manager_pending(const struct network_manager *nm);
/* Whether the last safe apply was rolled back (cleared by the next apply). */
bool network_manager_rolled_back(const struct network_manager *nm);

/* The "network" status object (new reference, NULL on OOM). */
json_t *network_manager_status_json(const struct network_manager *nm, uint64_t now_usec);
