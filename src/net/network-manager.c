/* SPDX-License-Identifier: MIT */
/*
 * The NetworkManager adapter (see network-manager.h): the bus connection,
 * NetworkManager's presence (NameHasOwner at start, NameOwnerChanged after),
 * the device and connectivity state, refreshed one call after the other on
 * every PropertiesChanged NetworkManager sends (debounced), and the status.
 * The profiles and the checkpoint are in network-manager-apply.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/log.h"

#include "network-manager-internal.h"

#define REFRESH_DELAY_USEC (200 * 1000) /* PropertiesChanged come in bursts */

/* Positions of the refresh chain: one call each, in this order. */
enum {
	P_DEVICES = 0,
	P_DEVICE = 1,                      /* + index into scan[] */
	P_IP4 = P_DEVICE + NM_DEVICES_MAX, /* + role */
	P_ACTIVE = P_IP4 + _NM_ROLE_MAX,   /* + role */
	P_CONNECTIVITY = P_ACTIVE + _NM_ROLE_MAX,
	P_DONE,
};

static void refresh_next(struct network_manager *nm);

void nm_notify(struct network_manager *nm)
{
	if (nm->cb)
		nm->cb(nm, nm->userdata);
}

void nm_set_error(struct network_manager *nm, const char *what, const sd_bus_error *e)
{
	snprintf(nm->error, sizeof(nm->error), "%s: %s", what, e && e->message ? e->message : "failed");
	log_warning("NetworkManager: %s", nm->error);
}

/* ---- a{sv} ------------------------------------------------------------------------------------ */

typedef int (*prop_fn)(const char *key, sd_bus_message *m, void *userdata); /* 1: consumed */

static int read_props(sd_bus_message *m, prop_fn fn, void *userdata)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		r = fn(key, m, userdata);
		if (r == 0)
			r = sd_bus_message_skip(m, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_string_into(sd_bus_message *m, const char *type, char *buf, size_t size)
{
	const char *s;
	int r;

	r = sd_bus_message_read(m, "v", type, &s);
	if (r < 0)
		return r;
	snprintf(buf, size, "%s", s);
	return 1;
}

static int device_prop(const char *key, sd_bus_message *m, void *userdata)
{
	struct nm_device *d = userdata;

	if (strcmp(key, "Interface") == 0)
		return read_string_into(m, "s", d->iface, sizeof(d->iface));
	if (strcmp(key, "Ip4Config") == 0)
		return read_string_into(m, "o", d->ip4, sizeof(d->ip4));
	if (strcmp(key, "ActiveConnection") == 0)
		return read_string_into(m, "o", d->active, sizeof(d->active));
	if (strcmp(key, "DeviceType") == 0)
		return sd_bus_message_read(m, "v", "u", &d->type);
	if (strcmp(key, "State") == 0)
		return sd_bus_message_read(m, "v", "u", &d->state);
	return 0;
}

/* The first entry's "address" (and "prefix") of an aa{sv}. */
static int read_first_address(sd_bus_message *m, char *buf, size_t size, uint32_t *prefix)
{
	int r;

	r = sd_bus_message_enter_container(m, 'v', "aa{sv}");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(m, 'a', "a{sv}");
	if (r < 0)
		return r;
	for (bool first = true; (r = sd_bus_message_enter_container(m, 'a', "{sv}")) > 0; first = false) {
		while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
			const char *key;

			r = sd_bus_message_read(m, "s", &key);
			if (r >= 0 && first && strcmp(key, "address") == 0)
				r = read_string_into(m, "s", buf, size);
			else if (r >= 0 && first && prefix && strcmp(key, "prefix") == 0)
				r = sd_bus_message_read(m, "v", "u", prefix);
			else if (r >= 0)
				r = sd_bus_message_skip(m, "v");
			if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
				return r;
		}
		if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	return r < 0 ? r : 1;
}

static int ip4_prop(const char *key, sd_bus_message *m, void *userdata)
{
	struct nm_device *d = userdata;

	if (strcmp(key, "AddressData") == 0)
		return read_first_address(m, d->address, sizeof(d->address), &d->prefix);
	if (strcmp(key, "NameserverData") == 0)
		return read_first_address(m, d->dns, sizeof(d->dns), NULL);
	if (strcmp(key, "Gateway") == 0)
		return read_string_into(m, "s", d->gateway, sizeof(d->gateway));
	return 0;
}

static int active_prop(const char *key, sd_bus_message *m, void *userdata)
{
	struct nm_device *d = userdata;

	if (strcmp(key, "Uuid") == 0)
		return read_string_into(m, "s", d->active_uuid, sizeof(d->active_uuid));
	return 0;
}

/* ---- the refresh chain ------------------------------------------------------------------------- */

static bool wanted(const char *setting, const struct nm_device *d, uint32_t type)
{
	if (strcmp(setting, "auto") == 0)
		return d->type == type;
	return strcmp(setting, d->iface) == 0;
}

/* Pick the Ethernet and Wi-Fi devices out of the scan. */
void nm_choose_devices(struct network_manager *nm)
{
	bool found[_NM_ROLE_MAX] = { false, false };

	for (size_t i = 0; i < nm->n_scan; i++) {
		const struct nm_device *d = &nm->scan[i];

		if (!found[NM_ROLE_ETHERNET] &&
		    wanted(nm->s.ethernet_interface, d, NM_DEVICE_TYPE_ETHERNET)) {
			nm->dev[NM_ROLE_ETHERNET] = *d;
			found[NM_ROLE_ETHERNET] = true;
		} else if (!found[NM_ROLE_WIFI] && wanted(nm->s.wifi_interface, d, NM_DEVICE_TYPE_WIFI)) {
			nm->dev[NM_ROLE_WIFI] = *d;
			found[NM_ROLE_WIFI] = true;
		}
	}
	for (int r = 0; r < _NM_ROLE_MAX; r++)
		if (!found[r])
			nm->dev[r] = (struct nm_device){ 0 };
}

static int refresh_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int refresh_call(struct network_manager *nm, const char *path, const char *iface, const char *member,
			const char *prop_iface)
{
	sd_bus_slot *slot = NULL;
	int r;

	if (prop_iface)
		r = sd_bus_call_method_async(nm->bus, &slot, NM_BUS, path, "org.freedesktop.DBus.Properties",
					     member, refresh_on_reply, nm, "s", prop_iface);
	else
		r = sd_bus_call_method_async(nm->bus, &slot, NM_BUS, path, iface, member, refresh_on_reply,
					     nm, NULL);
	if (r < 0)
		return log_warning_errno(r, "NetworkManager: cannot ask for the device state: %m");
	sd_bus_slot_unref(nm->refresh_slot);
	nm->refresh_slot = slot;
	return 0;
}

/* The next position that has something to ask, from pos on. */
static int refresh_skip(const struct network_manager *nm, int pos)
{
	for (;; pos++) {
		if (pos >= P_DEVICE && pos < P_IP4 && (size_t) (pos - P_DEVICE) >= nm->n_scan)
			pos = P_IP4;
		if (pos >= P_IP4 && pos < P_ACTIVE) {
			const struct nm_device *d = &nm->dev[pos - P_IP4];

			if (d->path[0] && d->ip4[0] && strcmp(d->ip4, "/") != 0)
				return pos;
			continue;
		}
		if (pos >= P_ACTIVE && pos < P_CONNECTIVITY) {
			const struct nm_device *d = &nm->dev[pos - P_ACTIVE];

			if (d->path[0] && d->active[0] && strcmp(d->active, "/") != 0)
				return pos;
			continue;
		}
		return pos;
	}
}

static int refresh_read_devices(struct network_manager *nm, sd_bus_message *m)
{
	const char *path;
	int r;

	nm->n_scan = 0;
	r = sd_bus_message_enter_container(m, 'a', "o");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "o", &path)) > 0)
		if (nm->n_scan < NM_DEVICES_MAX) {
			struct nm_device *d = &nm->scan[nm->n_scan++];

			*d = (struct nm_device){ 0 };
			snprintf(d->path, sizeof(d->path), "%s", path);
		}
	return r;
}

static int refresh_read(struct network_manager *nm, sd_bus_message *m)
{
	int pos = nm->refresh_pos;

	if (pos == P_DEVICES)
		return refresh_read_devices(nm, m);
	if (pos < P_IP4) {
		int r = read_props(m, device_prop, &nm->scan[pos - P_DEVICE]);

		if (r >= 0 && (size_t) (pos - P_DEVICE) + 1 == nm->n_scan)
			nm_choose_devices(nm);
		return r;
	}
	if (pos < P_ACTIVE)
		return read_props(m, ip4_prop, &nm->dev[pos - P_IP4]);
	if (pos < P_CONNECTIVITY)
		return read_props(m, active_prop, &nm->dev[pos - P_ACTIVE]);
	return sd_bus_message_read(m, "v", "u", &nm->connectivity);
}

static int refresh_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct network_manager *nm = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	int r;

	(void) ret_error;
	nm->refresh_slot = sd_bus_slot_unref(nm->refresh_slot);
	if (e)
		log_debug("NetworkManager: state query %d failed: %s", nm->refresh_pos, e->message);
	else {
		r = refresh_read(nm, m);
		if (r < 0)
			log_debug_errno(r, "NetworkManager: unexpected answer to state query %d: %m",
					nm->refresh_pos);
	}
	/* A device list that found none still has to pick (none). */
	if (nm->refresh_pos == P_DEVICES && nm->n_scan == 0)
		nm_choose_devices(nm);
	nm->refresh_pos = refresh_skip(nm, nm->refresh_pos + 1);
	refresh_next(nm);
	return 0;
}

static void refresh_done(struct network_manager *nm)
{
	nm->refresh_pos = P_DONE;
	if (nm->refresh_again) {
		nm->refresh_again = false;
		nm_refresh_soon(nm);
	}
	nm_notify(nm);
	nm_ap_settle(nm);
	/* An apply waits for the first device list. */
	nm_apply_kick(nm);
}

static void refresh_next(struct network_manager *nm)
{
	int pos = nm->refresh_pos;
	int r;

	if (pos == P_DEVICES)
		r = refresh_call(nm, NM_PATH, NM_BUS, "GetDevices", NULL);
	else if (pos < P_IP4)
		r = refresh_call(nm, nm->scan[pos - P_DEVICE].path, NULL, "GetAll", NM_BUS ".Device");
	else if (pos < P_ACTIVE) {
		struct nm_device *d = &nm->dev[pos - P_IP4];

		d->address[0] = d->gateway[0] = d->dns[0] = '\0';
		d->prefix = 0;
		r = refresh_call(nm, d->ip4, NULL, "GetAll", NM_BUS ".IP4Config");
	} else if (pos < P_CONNECTIVITY) {
		nm->dev[pos - P_ACTIVE].active_uuid[0] = '\0';
		r = refresh_call(nm, nm->dev[pos - P_ACTIVE].active, NULL, "GetAll",
				 NM_BUS ".Connection.Active");
	} else if (pos == P_CONNECTIVITY)
		r = sd_bus_call_method_async(nm->bus, &nm->refresh_slot, NM_BUS, NM_PATH,
					     "org.freedesktop.DBus.Properties", "Get", refresh_on_reply, nm,
					     "ss", NM_BUS, "Connectivity");
	else {
		refresh_done(nm);
		return;
	}
	if (r < 0)
		refresh_done(nm);
}

static int refresh_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct network_manager *nm = userdata;

	(void) s;
	(void) usec;
	if (!nm->present)
		return 0;
	if (nm->refresh_pos != P_DONE) {
		nm->refresh_again = true;
		return 0;
	}
	nm->refresh_pos = P_DEVICES;
	refresh_next(nm);
	return 0;
}

void nm_refresh_soon(struct network_manager *nm)
{
	int r;

	r = sd_event_source_set_time_relative(nm->refresh_timer, REFRESH_DELAY_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(nm->refresh_timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "NetworkManager: cannot schedule a state query, ignoring: %m");
}

/* ---- presence ------------------------------------------------------------------------------- */

static void nm_appeared(struct network_manager *nm)
{
	if (nm->present)
		return;
	nm->present = true;
	nm->said_absent = false;
	nm->error[0] = '\0';
	log_info("NetworkManager: on the bus");
	nm->apply_wanted = true; /* its profiles may be gone or old: apply again */
	nm_refresh_soon(nm);
}

static void nm_vanished(struct network_manager *nm)
{
	if (!nm->said_absent)
		log_warning("NetworkManager: not on the bus, the network settings wait for it");
	nm->said_absent = true;
	nm->present = false;
	nm->refresh_slot = sd_bus_slot_unref(nm->refresh_slot);
	nm->refresh_pos = P_DONE;
	nm->refresh_again = false;
	memset(nm->dev, 0, sizeof(nm->dev));
	nm->connectivity = 0;
	nm_apply_reset(nm);
	nm_notify(nm);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct network_manager *nm = userdata;
	const char *name, *old_owner, *new_owner;

	(void) ret_error;
	if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
		return 0;
	if (strcmp(name, NM_BUS) != 0)
		return 0;
	if (new_owner[0]) {
		if (nm->present) /* restarted between two signals: start over */
			nm_vanished(nm);
		nm_appeared(nm);
	} else
		nm_vanished(nm);
	return 0;
}

static int on_has_owner(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct network_manager *nm = userdata;
	int has = 0;

	(void) ret_error;
	nm->refresh_slot = sd_bus_slot_unref(nm->refresh_slot);
	if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "b", &has) < 0)
		has = 0;
	if (has)
		nm_appeared(nm);
	else
		nm_vanished(nm);
	return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(void) m;
	(void) ret_error;
	nm_refresh_soon(userdata);
	return 0;
}

/* ---- the object -------------------------------------------------------------------------------- */

int network_manager_new(sd_event *e, network_manager_state_fn cb, void *userdata,
			struct network_manager **ret)
{
	struct network_manager *nm;
	int r;

	nm = calloc(1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	nm->event = sd_event_ref(e);
	nm->cb = cb;
	nm->userdata = userdata;
	nm->refresh_pos = P_DONE;
	r = sd_event_add_time_relative(e, &nm->refresh_timer, CLOCK_MONOTONIC, REFRESH_DELAY_USEC, 0,
				       refresh_on_timer, nm);
	if (r < 0) {
		network_manager_free(nm);
		return r;
	}
	(void) sd_event_source_set_enabled(nm->refresh_timer, SD_EVENT_OFF);
	*ret = nm;
	return 0;
}

struct network_manager *network_manager_free(struct network_manager *nm)
{
	if (!nm)
		return NULL;
	nm_apply_reset(nm);
	nm->refresh_slot = sd_bus_slot_unref(nm->refresh_slot);
	nm->match_owner = sd_bus_slot_unref(nm->match_owner);
	nm->match_props = sd_bus_slot_unref(nm->match_props);
	nm->bus = sd_bus_flush_close_unref(nm->bus);
	nm->refresh_timer = sd_event_source_disable_unref(nm->refresh_timer);
	nm->rollback_timer = sd_event_source_disable_unref(nm->rollback_timer);
	nm_ap_trial_stop(nm);
	sd_event_unref(nm->event);
	explicit_bzero(&nm->s, sizeof(nm->s));
	free(nm);
	return NULL;
}

/* The signals, then whether NetworkManager is there now (in that order, so
 * that an appearance in between is not missed). */
static int nm_watch(struct network_manager *nm)
{
	int r;

	r = sd_bus_match_signal_async(nm->bus, &nm->match_owner, "org.freedesktop.DBus",
				      "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
				      on_name_owner_changed, NULL, nm);
	if (r < 0)
		return r;
	r = sd_bus_match_signal_async(nm->bus, &nm->match_props, NM_BUS, NULL,
				      "org.freedesktop.DBus.Properties", "PropertiesChanged",
				      on_properties_changed, NULL, nm);
	if (r < 0)
		return r;
	return sd_bus_call_method_async(nm->bus, &nm->refresh_slot, "org.freedesktop.DBus",
					"/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
					on_has_owner, nm, "s", NM_BUS);
}

int network_manager_start(struct network_manager *nm, const struct network_manager_settings *s)
{
	int r;

	nm->s = *s;
	nm->apply_wanted = true;
	/* Connecting to a local socket; the bus's Hello and everything after
	 * are asynchronous. */
	r = sd_bus_open_system(&nm->bus);
	if (r < 0)
		return log_error_errno(r, "NetworkManager: cannot connect to the system bus: %m");
	r = sd_bus_attach_event(nm->bus, nm->event, 0);
	if (r < 0)
		return log_error_errno(r, "NetworkManager: cannot watch the system bus: %m");
	r = nm_watch(nm);
	if (r < 0)
		return log_error_errno(r, "NetworkManager: cannot watch its name on the bus: %m");
	log_info("NetworkManager: managing the network (Ethernet %s, Wi-Fi %s)", s->ethernet_interface,
		 s->wifi_interface);
	return 0;
}

/* ---- status ----------------------------------------------------------------------------------- */

static const char *device_state_name(uint32_t state)
{
	static const struct {
		uint32_t state;
		const char *name;
	} names[] = {
		{ 10, "unmanaged" },   { 20, "unavailable" }, { 30, "disconnected" },  { 40, "prepare" },
		{ 50, "config" },      { 60, "need-auth" },   { 70, "ip-config" },     { 80, "ip-check" },
		{ 90, "secondaries" }, { 100, "activated" },  { 110, "deactivating" }, { 120, "failed" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].state == state)
			return names[i].name;
	return "unknown";
}

static const char *connectivity_name(uint32_t c)
{
	static const char *const names[] = { "unknown", "none", "portal", "limited", "full" };

	return c < ARRAY_SIZE(names) ? names[c] : "unknown";
}

static json_t *device_json(const struct nm_device *d)
{
	const char *profile = NULL;

	if (!d->path[0])
		return json_null();
	for (int p = 0; p < _NM_PROFILE_MAX; p++)
		if (strcmp(d->active_uuid, nm_profile_uuid(p)) == 0)
			profile = nm_profile_id(p);
	return json_pack("{s:s,s:s,s:b,s:s?,s:i,s:s?,s:s?,s:s?}", "interface", d->iface, "state",
			 device_state_name(d->state), "link",
			 d->state >= NM_DEVICE_STATE_ACTIVATED && d->state < NM_DEVICE_STATE_FAILED,
			 "address", d->address[0] ? d->address : NULL, "prefix", (int) d->prefix, "gateway",
			 d->gateway[0] ? d->gateway : NULL, "dns", d->dns[0] ? d->dns : NULL, "profile",
			 profile);
}

json_t *network_manager_status_json(const struct network_manager *nm, uint64_t now_usec)
{
	const struct nm_device *active =
	    &nm->dev[nm->s.use_wifi || nm->ap_mode ? NM_ROLE_WIFI : NM_ROLE_ETHERNET];
	char error[sizeof(nm->error) + sizeof(nm->ap_error) + 2];
	json_t *j;

	/* The access point's own failure does not hide why the client was given up. */
	snprintf(error, sizeof(error), "%s%s%s", nm->error, nm->error[0] && nm->ap_error[0] ? "; " : "",
		 nm->ap_error);
	j = json_pack("{s:s,s:b,s:s,s:o,s:o,s:b,s:b,s:s?}", "managed_by", "networkmanager", "available",
		      nm->present, "connectivity", connectivity_name(nm->connectivity), "ethernet",
		      device_json(&nm->dev[NM_ROLE_ETHERNET]), "wifi", device_json(&nm->dev[NM_ROLE_WIFI]),
		      "access_point", nm->ap_mode, "rolled_back", nm->rolled_back, "error",
		      error[0] ? error : NULL);
	if (!j)
		return NULL;
	if (nm->checkpoint[0]) {
		uint64_t left = nm->deadline_usec > now_usec ? (nm->deadline_usec - now_usec) / 1000000 : 0;

		(void) json_object_set_new(j, "confirm_within_sec", json_integer((json_int_t) left));
	}
	(void) json_object_set_new(j, "interface", json_string(active->path[0] ? active->iface : ""));
	return j;
}

bool network_manager_pending(const struct network_manager *nm)
{
	return nm->checkpoint[0] != '\0';
}

bool network_manager_rolled_back(const struct network_manager *nm)
{
	return nm->rolled_back;
}
