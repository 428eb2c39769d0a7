/* SPDX-License-Identifier: MIT */
/*
 * Applying the settings (see network-manager.h): one asynchronous call after
 * the other, in this order: after a factory reset each of our profiles
 * looked up and deleted, the checkpoint (safe apply only), each of our
 * profiles looked up by its fixed UUID and then updated or added, the wanted
 * profile activated (reapplied when it already is), ours on the other
 * device deactivated, the host name. Profiles of anyone else are never
 * named in any call: lookups are by our UUIDs only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/log.h"

#include "network-manager-internal.h"

#define ROLLBACK_GRACE_USEC (5 * 1000000ULL) /* after NetworkManager's own rollback */
#define CHECKPOINT_FLAGS 0x2                 /* NM_CHECKPOINT_CREATE_FLAG_DELETE_NEW_CONNECTIONS */
#define DHCP_TIMEOUT_INFINITY 2147483647     /* keep asking, with the link-local address meanwhile */
#define LINK_LOCAL_ENABLED 3                 /* NM_SETTING_IP4_LL_ENABLED, NetworkManager >= 1.40 */

enum step {
	ST_FORGET, /* + 2 * profile: GetConnectionByUuid, then Delete */
	ST_CHECKPOINT = ST_FORGET + 2 * _NM_PROFILE_MAX,
	ST_LOOKUP, /* + 2 * profile */
	ST_WRITE,  /* + 2 * profile */
	ST_ACTIVATE = ST_LOOKUP + 2 * _NM_PROFILE_MAX,
	ST_REACTIVATE, /* a Reapply that NetworkManager refused */
	ST_DEACTIVATE,
	ST_HOSTNAME,
	ST_DONE,
};

static const struct {
	const char *id, *uuid;
} profiles[_NM_PROFILE_MAX] = {
	[NM_PROFILE_ETHERNET] = { "smartconnect-ethernet", "5c0e7a1e-7e5a-4c6b-9a61-6e6574000001" },
	[NM_PROFILE_WIFI] = { "smartconnect-wifi", "5c0e7a1e-7e5a-4c6b-9a61-6e6574000002" },
	[NM_PROFILE_AP] = { "smartconnect-ap", "5c0e7a1e-7e5a-4c6b-9a61-6e6574000003" },
};

const char *nm_profile_uuid(enum nm_profile p)
{
	return profiles[p].uuid;
}

const char *nm_profile_id(enum nm_profile p)
{
	return profiles[p].id;
}

static enum nm_profile wanted_profile(const struct network_manager *nm)
{
	if (nm->ap_mode && !nm->ap_trying)
		return NM_PROFILE_AP;
	return nm->s.use_wifi ? NM_PROFILE_WIFI : NM_PROFILE_ETHERNET;
}

static const struct nm_device *profile_device(const struct network_manager *nm, enum nm_profile p)
{
	return &nm->dev[p == NM_PROFILE_ETHERNET ? NM_ROLE_ETHERNET : NM_ROLE_WIFI];
}

static bool profile_wanted(const struct network_manager *nm, enum nm_profile p)
{
	switch (p) {
	case NM_PROFILE_ETHERNET:
		return nm->dev[NM_ROLE_ETHERNET].path[0];
	case NM_PROFILE_WIFI:
		return nm->s.wifi_ssid[0];
	default:
		return nm->ap_mode;
	}
}

/* ---- the profile as a{sa{sv}} --------------------------------------------------------------- */

static int append_connection(const struct network_manager *nm, sd_bus_message *m, enum nm_profile p)
{
	const struct nm_device *d = profile_device(nm, p);
	const char *setting = p == NM_PROFILE_ETHERNET ? nm->s.ethernet_interface : nm->s.wifi_interface;
	const char *ifname = strcmp(setting, "auto") != 0 ? setting : d->path[0] ? d->iface : NULL;
	int r;

	r = sd_bus_message_open_container(m, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "connection");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(
		    m, "{sv}{sv}{sv}{sv}{sv}", "id", "s", profiles[p].id, "uuid", "s", profiles[p].uuid,
		    "type", "s", p == NM_PROFILE_ETHERNET ? "802-3-ethernet" : "802-11-wireless",
		    "autoconnect", "b", p == wanted_profile(nm), "autoconnect-priority", "i", 100);
	/* Bound to the device we chose, so "auto" keeps meaning that one. */
	if (r >= 0 && ifname)
		r = sd_bus_message_append(m, "{sv}", "interface-name", "s", ifname);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int append_ipv4(sd_bus_message *m, const struct network_manager_ipv4 *ip, bool ap)
{
	uint32_t dns = 0;
	int r;

	if (ap)
		return sd_bus_message_append(m, "{sa{sv}}", "ipv4", 2, "method", "s", "shared",
					     "address-data", "aa{sv}", 1, 2, "address", "s",
					     NETWORK_MANAGER_AP_ADDRESS, "prefix", "u",
					     (uint32_t) NETWORK_MANAGER_AP_PREFIX);
	if (ip->dhcp)
		return sd_bus_message_append(m, "{sa{sv}}", "ipv4", 3, "method", "s", "auto", "link-local",
					     "i", LINK_LOCAL_ENABLED, "dhcp-timeout", "i",
					     DHCP_TIMEOUT_INFINITY);
	r = sd_bus_message_open_container(m, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "ipv4");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}{sv}", "method", "s", "manual", "address-data", "aa{sv}", 1,
					  2, "address", "s", ip->address, "prefix", "u", ip->prefix);
	if (r >= 0 && ip->gateway[0])
		r = sd_bus_message_append(m, "{sv}", "gateway", "s", ip->gateway);
	if (r >= 0 && ip->dns[0] && inet_pton(AF_INET, ip->dns, &dns) == 1)
		r = sd_bus_message_append(m, "{sv}", "dns", "au", 1, dns);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

static int append_wireless(const struct network_manager *nm, sd_bus_message *m, enum nm_profile p)
{
	const char *ssid = p == NM_PROFILE_AP ? nm->s.ap_ssid : nm->s.wifi_ssid;
	const char *psk = p == NM_PROFILE_AP ? nm->s.ap_psk : nm->s.wifi_psk;
	int r;

	r = sd_bus_message_open_container(m, 'e', "sa{sv}");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "802-11-wireless");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'e', "sv");
	if (r >= 0)
		r = sd_bus_message_append(m, "s", "ssid");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(m, 'y', ssid, strlen(ssid));
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sv}", "mode", "s",
					  p == NM_PROFILE_AP ? "ap" : "infrastructure");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0 && psk[0])
		r = sd_bus_message_append(m, "{sa{sv}}", "802-11-wireless-security", 2, "key-mgmt", "s",
					  "wpa-psk", "psk", "s", psk);
	return r;
}

static int append_profile(const struct network_manager *nm, sd_bus_message *m, enum nm_profile p)
{
	int r;

	r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
	if (r >= 0)
		r = append_connection(nm, m, p);
	if (r >= 0 && p == NM_PROFILE_ETHERNET)
		r = sd_bus_message_append(m, "{sa{sv}}", "802-3-ethernet", 0);
	else if (r >= 0)
		r = append_wireless(nm, m, p);
	if (r >= 0)
		r = append_ipv4(m, p == NM_PROFILE_WIFI ? &nm->s.wifi : &nm->s.ethernet, p == NM_PROFILE_AP);
	if (r >= 0)
		r = sd_bus_message_append(m, "{sa{sv}}", "ipv6", 1, "method", "s", "disabled");
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r;
}

/* ---- the steps ------------------------------------------------------------------------------ */

static int apply_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int new_call(struct network_manager *nm, const char *dest, const char *path, const char *iface,
		    const char *member, sd_bus_message **ret)
{
	return sd_bus_message_new_method_call(nm->bus, ret, dest, path, iface, member);
}

static int send_call(struct network_manager *nm, sd_bus_message *m)
{
	return sd_bus_call_async(nm->bus, &nm->apply_slot, m, apply_on_reply, nm, 0);
}

static int step_checkpoint(struct network_manager *nm)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	r = new_call(nm, NM_BUS, NM_PATH, NM_BUS, "CheckpointCreate", &m);
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "o");
	for (int i = 0; r >= 0 && i < _NM_ROLE_MAX; i++)
		if (nm->dev[i].path[0])
			r = sd_bus_message_append(m, "o", nm->dev[i].path);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "uu", nm->s.confirm_sec, (uint32_t) CHECKPOINT_FLAGS);
	return r < 0 ? r : send_call(nm, m);
}

static int step_write(struct network_manager *nm, enum nm_profile p)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	if (nm->profile_path[p][0])
		r = new_call(nm, NM_BUS, nm->profile_path[p], NM_BUS ".Settings.Connection", "Update", &m);
	else
		r = new_call(nm, NM_BUS, NM_SETTINGS_PATH, NM_BUS ".Settings", "AddConnection", &m);
	if (r >= 0)
		r = append_profile(nm, m, p);
	if (r >= 0)
		r = send_call(nm, m);
	/* The message held a PSK: scrub it before it is freed. */
	if (m)
		(void) sd_bus_message_sensitive(m);
	return r;
}

static int step_activate(struct network_manager *nm, bool reapply)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	enum nm_profile p = wanted_profile(nm);
	const struct nm_device *d = profile_device(nm, p);
	int r;

	if (reapply) {
		r = new_call(nm, NM_BUS, d->path, NM_BUS ".Device", "Reapply", &m);
		if (r >= 0)
			r = sd_bus_message_append(m, "a{sa{sv}}tu", 0, (uint64_t) 0, (uint32_t) 0);
	} else {
		r = new_call(nm, NM_BUS, NM_PATH, NM_BUS, "ActivateConnection", &m);
		if (r >= 0)
			r = sd_bus_message_append(m, "ooo", nm->profile_path[p], d->path[0] ? d->path : "/",
						  "/");
	}
	return r < 0 ? r : send_call(nm, m);
}

/* Ours, active on the device we do not want: the one to deactivate. */
static const struct nm_device *other_device(const struct network_manager *nm)
{
	enum nm_profile p = wanted_profile(nm);
	const struct nm_device *d = &nm->dev[p == NM_PROFILE_ETHERNET ? NM_ROLE_WIFI : NM_ROLE_ETHERNET];

	if (!d->path[0] || !d->active[0] || strcmp(d->active, "/") == 0)
		return NULL;
	for (int i = 0; i < _NM_PROFILE_MAX; i++)
		if (strcmp(d->active_uuid, profiles[i].uuid) == 0)
			return d;
	return NULL;
}

/* Whether step applies now; ST_DONE always does. */
static bool step_needed(const struct network_manager *nm, int step)
{
	enum nm_profile p = wanted_profile(nm);

	if (step >= ST_FORGET && step < ST_CHECKPOINT)
		return nm->forgetting &&
		       ((step - ST_FORGET) % 2 == 0 || nm->profile_path[(step - ST_FORGET) / 2][0]);
	if (step == ST_CHECKPOINT)
		return nm->apply_safe;
	if (step >= ST_LOOKUP && step < ST_ACTIVATE)
		return profile_wanted(nm, (enum nm_profile)((step - ST_LOOKUP) / 2));
	if (step == ST_ACTIVATE)
		return nm->profile_path[p][0] != '\0';
	if (step == ST_REACTIVATE)
		return false; /* entered from a refused Reapply only */
	if (step == ST_DEACTIVATE)
		return other_device(nm) != NULL;
	if (step == ST_HOSTNAME)
		return nm->s.hostname[0] && strcmp(nm->s.hostname, nm->hostname_set) != 0;
	return true;
}

static int step_lookup(struct network_manager *nm, enum nm_profile p)
{
	nm->profile_path[p][0] = '\0';
	return sd_bus_call_method_async(nm->bus, &nm->apply_slot, NM_BUS, NM_SETTINGS_PATH,
					NM_BUS ".Settings", "GetConnectionByUuid", apply_on_reply, nm, "s",
					profiles[p].uuid);
}

/* Ours only, by UUID: the lookup, then Delete on the path it answered. */
static int step_forget(struct network_manager *nm, enum nm_profile p, bool delete)
{
	if (delete)
		return sd_bus_call_method_async(nm->bus, &nm->apply_slot, NM_BUS, nm->profile_path[p],
						NM_BUS ".Settings.Connection", "Delete", apply_on_reply, nm,
						"");
	return step_lookup(nm, p);
}

static int step_run(struct network_manager *nm)
{
	const struct nm_device *d;

	switch (nm->step) {
	case ST_CHECKPOINT:
		return step_checkpoint(nm);
	case ST_ACTIVATE:
		d = profile_device(nm, wanted_profile(nm));
		return step_activate(nm, d->path[0] &&
					     strcmp(d->active_uuid, profiles[wanted_profile(nm)].uuid) == 0);
	case ST_REACTIVATE:
		return step_activate(nm, false);
	case ST_DEACTIVATE:
		return sd_bus_call_method_async(nm->bus, &nm->apply_slot, NM_BUS, NM_PATH, NM_BUS,
						"DeactivateConnection", apply_on_reply, nm, "o",
						other_device(nm)->active);
	case ST_HOSTNAME:
		return sd_bus_call_method_async(nm->bus, &nm->apply_slot, "org.freedesktop.hostname1",
						"/org/freedesktop/hostname1", "org.freedesktop.hostname1",
						"SetStaticHostname", apply_on_reply, nm, "sb", nm->s.hostname,
						0);
	default:
		if (nm->step < ST_CHECKPOINT)
			return step_forget(nm, (enum nm_profile)((nm->step - ST_FORGET) / 2),
					   (nm->step - ST_FORGET) % 2 == 1);
		if ((nm->step - ST_LOOKUP) % 2 == 0)
			return step_lookup(nm, (enum nm_profile)((nm->step - ST_LOOKUP) / 2));
		return step_write(nm, (enum nm_profile)((nm->step - ST_LOOKUP) / 2));
	}
}

static void apply_done(struct network_manager *nm)
{
	nm->applying = false;
	nm->forgetting = false;
	log_info("NetworkManager: applied %s%s%s", profiles[wanted_profile(nm)].id,
		 nm->checkpoint[0] ? ", awaiting confirmation" : "", nm->error[0] ? " (with errors)" : "");
	nm_refresh_soon(nm);
	nm_notify(nm);
	nm_ap_settle(nm);
	nm_apply_kick(nm);
}

/* From nm->step on: run the first step that applies. */
static void apply_next(struct network_manager *nm)
{
	int r;

	for (; nm->step < ST_DONE; nm->step++) {
		if (!step_needed(nm, nm->step))
			continue;
		r = step_run(nm);
		if (r >= 0)
			return;
		log_warning_errno(r, "NetworkManager: cannot send step %d, skipping it: %m", nm->step);
	}
	apply_done(nm);
}

static int rollback_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct network_manager *nm = userdata;

	(void) s;
	(void) usec;
	if (!nm->checkpoint[0])
		return 0;
	nm->checkpoint[0] = '\0';
	nm->rolled_back = true;
	snprintf(nm->error, sizeof(nm->error), "the change was not confirmed within %u s and was rolled back",
		 nm->s.confirm_sec);
	log_warning("NetworkManager: rolled back, the change was not confirmed within %u s",
		    nm->s.confirm_sec);
	nm_refresh_soon(nm);
	nm_notify(nm);
	return 0;
}

static void checkpoint_created(struct network_manager *nm, sd_bus_message *m)
{
	const char *path;
	uint64_t now = 0;
	int r;

	r = sd_bus_message_read(m, "o", &path);
	if (r < 0)
		return;
	snprintf(nm->checkpoint, sizeof(nm->checkpoint), "%s", path);
	(void) sd_event_now(nm->event, CLOCK_MONOTONIC, &now);
	nm->deadline_usec = now + (uint64_t) nm->s.confirm_sec * 1000000ULL;
	nm->rollback_timer = sd_event_source_disable_unref(nm->rollback_timer);
	r = sd_event_add_time(nm->event, &nm->rollback_timer, CLOCK_MONOTONIC,
			      nm->deadline_usec + ROLLBACK_GRACE_USEC, 0, rollback_on_timer, nm);
	if (r < 0)
		log_warning_errno(r, "NetworkManager: cannot watch the confirm deadline, ignoring: %m");
}

/* An error of the current step; returns whether the apply goes on. */
static bool step_failed(struct network_manager *nm, const sd_bus_error *e)
{
	char what[64];

	if (nm->step < ST_CHECKPOINT) {
		if ((nm->step - ST_FORGET) % 2 == 0)
			return true; /* not there: nothing to delete */
		snprintf(what, sizeof(what), "deleting %s failed", profiles[(nm->step - ST_FORGET) / 2].id);
		nm_set_error(nm, what, e);
		return true;
	}
	if (nm->step == ST_CHECKPOINT) {
		nm_set_error(nm, "no checkpoint, nothing changed", e);
		return false;
	}
	if (nm->step >= ST_LOOKUP && nm->step < ST_ACTIVATE && (nm->step - ST_LOOKUP) % 2 == 0)
		return true; /* not there yet: added next */
	if (nm->step == ST_ACTIVATE && profile_device(nm, wanted_profile(nm))->path[0] &&
	    strcmp(profile_device(nm, wanted_profile(nm))->active_uuid, profiles[wanted_profile(nm)].uuid) ==
		0) {
		nm->step = ST_REACTIVATE - 1; /* Reapply refused: activate it again */
		return true;
	}
	if (nm->step == ST_HOSTNAME) {
		log_warning("NetworkManager: cannot set the host name through systemd-hostnamed: %s",
			    e->message ?: e->name);
		return true;
	}
	snprintf(what, sizeof(what), "%s of %s failed",
		 nm->step >= ST_ACTIVATE ? "activation" : "saving the profile",
		 nm->step >= ST_ACTIVATE ? profiles[wanted_profile(nm)].id
					 : profiles[(nm->step - ST_LOOKUP) / 2].id);
	nm_set_error(nm, what, e);
	if (nm->step >= ST_ACTIVATE)
		nm->activation_failed = true;
	return true;
}

static void step_succeeded(struct network_manager *nm, sd_bus_message *m)
{
	const char *path;

	if (nm->step < ST_CHECKPOINT && (nm->step - ST_FORGET) % 2 == 1) {
		enum nm_profile p = (enum nm_profile)((nm->step - ST_FORGET) / 2);

		log_notice("NetworkManager: deleted the profile %s", profiles[p].id);
		nm->profile_path[p][0] = '\0';
	} else if (nm->step < ST_CHECKPOINT) {
		enum nm_profile p = (enum nm_profile)((nm->step - ST_FORGET) / 2);

		if (sd_bus_message_read(m, "o", &path) > 0)
			snprintf(nm->profile_path[p], sizeof(nm->profile_path[p]), "%s", path);
	} else if (nm->step == ST_CHECKPOINT)
		checkpoint_created(nm, m);
	else if (nm->step >= ST_LOOKUP && nm->step < ST_ACTIVATE) {
		enum nm_profile p = (enum nm_profile)((nm->step - ST_LOOKUP) / 2);

		/* GetConnectionByUuid and AddConnection answer the path; Update nothing. */
		if (sd_bus_message_read(m, "o", &path) > 0)
			snprintf(nm->profile_path[p], sizeof(nm->profile_path[p]), "%s", path);
	} else if (nm->step == ST_HOSTNAME)
		snprintf(nm->hostname_set, sizeof(nm->hostname_set), "%s", nm->s.hostname);
}

static int apply_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct network_manager *nm = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void) ret_error;
	nm->apply_slot = sd_bus_slot_unref(nm->apply_slot);
	if (e && !step_failed(nm, e)) {
		nm->step = ST_DONE;
		apply_done(nm);
		return 0;
	}
	if (!e)
		step_succeeded(nm, m);
	nm->step++;
	apply_next(nm);
	return 0;
}

/* ---- entry points ------------------------------------------------------------------------------ */

void nm_apply_kick(struct network_manager *nm)
{
	if (!nm->apply_wanted || nm->applying || !nm->present || !nm->bus)
		return;
	nm->apply_wanted = false;
	nm->applying = true;
	nm->activation_failed = false;
	nm->error[0] = '\0';
	nm_choose_devices(nm); /* the interface settings may have changed */
	nm->forgetting = nm->forget_wanted;
	nm->forget_wanted = false;
	nm->step = ST_FORGET;
	apply_next(nm);
	/* A safe apply's checkpoint is asked for once, whatever came of it. */
	nm->apply_safe = false;
}

/* NetworkManager went away: its checkpoints with it (they live in its
 * memory), so nothing is pending any more, and the apply starts over when
 * it is back. */
void nm_apply_reset(struct network_manager *nm)
{
	nm->apply_slot = sd_bus_slot_unref(nm->apply_slot);
	if (nm->applying)
		nm->apply_wanted = true;
	if (nm->forgetting)
		nm->forget_wanted = true; /* not known to be done: all over again */
	nm->forgetting = false;
	nm->applying = false;
	nm->checkpoint[0] = '\0';
	nm->rollback_timer = sd_event_source_disable_unref(nm->rollback_timer);
	memset(nm->profile_path, 0, sizeof(nm->profile_path));
	nm->hostname_set[0] = '\0';
}

int network_manager_apply(struct network_manager *nm, const struct network_manager_settings *s, bool safe)
{
	if (safe && nm->checkpoint[0])
		return -EBUSY;
	nm->s = *s;
	/* A Wi-Fi client to join, from access point mode: tried, with the access point to fall back on. */
	if (nm->ap_mode && s->use_wifi && s->wifi_ssid[0])
		nm_ap_trial_start(nm);
	else if (nm->ap_trying)
		nm_ap_trial_stop(nm);
	nm->rolled_back = false;
	nm->apply_wanted = true;
	nm->apply_safe = safe;
	nm_apply_kick(nm);
	return 0;
}

int network_manager_forget(struct network_manager *nm)
{
	nm->forget_wanted = true;
	nm->ap_mode = false;
	nm->apply_wanted = true;
	nm_apply_kick(nm);
	return 0;
}

int network_manager_start_ap(struct network_manager *nm)
{
	/* Without a Wi-Fi device the profile is still written and the failed
	 * activation reported, as for the client. */
	nm->ap_mode = true;
	nm->apply_wanted = true;
	nm_apply_kick(nm);
	return 0;
}

static int on_destroyed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void) userdata;
	(void) ret_error;
	if (e)
		log_warning("NetworkManager: confirming failed: %s", e->message ?: e->name);
	return 0;
}

int network_manager_confirm(struct network_manager *nm)
{
	int r;

	if (!nm->checkpoint[0])
		return -ENOENT;
	r = sd_bus_call_method_async(nm->bus, NULL, NM_BUS, NM_PATH, NM_BUS, "CheckpointDestroy",
				     on_destroyed, nm, "o", nm->checkpoint);
	if (r < 0)
		return log_warning_errno(r, "NetworkManager: cannot confirm: %m");
	nm->checkpoint[0] = '\0';
	nm->rollback_timer = sd_event_source_disable_unref(nm->rollback_timer);
	log_info("NetworkManager: change confirmed, kept");
	nm_notify(nm);
	return 0;
}
