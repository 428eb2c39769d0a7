/* SPDX-License-Identifier: MIT */
/*
 * The NetworkManager adapter's insides, shared by network-manager.c (bus,
 * presence, device state, status) and network-manager-apply.c (profiles,
 * activation, checkpoint). Nothing else includes this.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "smartconnectd/net/network-manager.h"

#define NM_BUS "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"
#define NM_SETTINGS_PATH "/org/freedesktop/NetworkManager/Settings"
#define NM_OBJ_MAX 128    /* object paths we keep */
#define NM_DEVICES_MAX 32 /* devices looked at; more are ignored */

/* NetworkManager's NMDeviceType values we look for. */
#define NM_DEVICE_TYPE_ETHERNET 1
#define NM_DEVICE_TYPE_WIFI 2
#define NM_DEVICE_STATE_ACTIVATED 100
#define NM_DEVICE_STATE_FAILED 120

enum nm_profile {
	NM_PROFILE_ETHERNET,
	NM_PROFILE_WIFI,
	NM_PROFILE_AP,
	_NM_PROFILE_MAX,
};

enum nm_role {
	NM_ROLE_ETHERNET,
	NM_ROLE_WIFI,
	_NM_ROLE_MAX,
};

/* What we know of one device: from GetDevices, then its properties. */
struct nm_device {
	char path[NM_OBJ_MAX];
	char iface[NETWORK_MANAGER_IFNAME_MAX];
	uint32_t type;
	uint32_t state;
	char ip4[NM_OBJ_MAX];    /* Ip4Config, "/" when none */
	char active[NM_OBJ_MAX]; /* ActiveConnection, "/" when none */
	char active_uuid[40];    /* its profile's UUID */
	char address[20];        /* first IPv4 address */
	uint32_t prefix;
	char gateway[16];
	char dns[16];
};

struct network_manager {
	sd_event *event;
	sd_bus *bus;
	sd_bus_slot *match_owner, *match_props;
	sd_event_source *refresh_timer;  /* debounces PropertiesChanged */
	sd_event_source *rollback_timer; /* a safe apply's deadline passed */
	network_manager_state_fn cb;
	void *userdata;
	struct network_manager_settings s;

	bool present;     /* NetworkManager owns its name on the bus */
	bool said_absent; /* logged once per absence */
	/* The refresh: one call at a time, position refresh_pos, cancelled
	 * by dropping refresh_slot; refresh_again when asked meanwhile. */
	sd_bus_slot *refresh_slot;
	int refresh_pos;
	bool refresh_again;
	struct nm_device scan[NM_DEVICES_MAX];
	size_t n_scan;
	struct nm_device dev[_NM_ROLE_MAX]; /* path empty: no such device */
	uint32_t connectivity;

	/* The apply sequence (network-manager-apply.c). */
	sd_bus_slot *apply_slot; /* the apply's call in flight */
	bool apply_wanted, apply_safe, applying, ap_mode;
	/* A Wi-Fi client tried from access point mode (network-manager-ap.c). */
	bool ap_trying, ap_trial_timed_out, activation_failed;
	sd_event_source *ap_trial_timer;
	char ap_error[128]; /* how the last trial failed, until the next one; in the status when error is
			       empty */
	bool forget_wanted, forgetting; /* delete our profiles first (factory reset) */
	int step;
	char profile_path[_NM_PROFILE_MAX][NM_OBJ_MAX]; /* empty: not in NetworkManager */
	char checkpoint[NM_OBJ_MAX];                    /* empty: none pending */
	uint64_t deadline_usec;                         /* CLOCK_MONOTONIC end of the window */
	bool rolled_back;
	char hostname_set[64]; /* what systemd-hostnamed last accepted from us */
	char error[192];       /* last failure, for the status; never holds a secret */
};

/* network-manager.c */
void nm_notify(struct network_manager *nm);
void nm_refresh_soon(struct network_manager *nm);
void nm_choose_devices(struct network_manager *nm);
void nm_set_error(struct network_manager *nm, const char *what, const sd_bus_error *e);

/* network-manager-ap.c */
void nm_ap_trial_start(struct network_manager *nm);
void nm_ap_trial_stop(struct network_manager *nm);
/* After an apply and after each refresh: end the trial either way when it is decided. */
void nm_ap_settle(struct network_manager *nm);

/* network-manager-apply.c */
void nm_apply_kick(struct network_manager *nm);
void nm_apply_reset(struct network_manager *nm);
const char *nm_profile_uuid(enum nm_profile p);
const char *nm_profile_id(enum nm_profile p);
