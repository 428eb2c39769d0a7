/* SPDX-License-Identifier: MIT */
/*
 * Leaving the access point for a Wi-Fi client, safely. The gateway has one
 * radio: it cannot serve the access point and join the installer's network
 * at once. A Wi-Fi client applied in access point mode is therefore a trial:
 * the client profile is activated, and the access point mode ends only when
 * NetworkManager reports the Wi-Fi device activated on that profile. When
 * the activation fails, or nothing comes of it within NM_AP_TRIAL_SEC (a
 * wrong passphrase leaves NetworkManager asking for secrets), the access
 * point comes back, so the installer can still reach the page and correct
 * the settings.
 */
#include <string.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/base/macro.h"

#include "network-manager-internal.h"

#define NM_AP_TRIAL_SEC 90

enum network_manager_ap_outcome network_manager_ap_outcome(bool trying, bool applying, bool activation_failed,
							   bool timed_out, uint32_t wifi_state,
							   bool wifi_on_client)
{
	if (!trying)
		return NETWORK_MANAGER_AP_NONE;
	if (wifi_on_client && wifi_state == NM_DEVICE_STATE_ACTIVATED)
		return NETWORK_MANAGER_AP_CONNECTED;
	/* An apply still running has not activated the client yet: its state is old. */
	if (applying && !timed_out)
		return NETWORK_MANAGER_AP_WAIT;
	if (activation_failed || timed_out || (wifi_on_client && wifi_state == NM_DEVICE_STATE_FAILED))
		return NETWORK_MANAGER_AP_FAILED;
	return NETWORK_MANAGER_AP_WAIT;
}

static int trial_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct network_manager *nm = userdata;

	(void) s;
	(void) usec;
	nm->ap_trial_timed_out = true;
	nm_ap_settle(nm);
	return 0;
}

void nm_ap_trial_start(struct network_manager *nm)
{
	int r;

	nm->ap_trying = true;
	nm->ap_trial_timed_out = false;
	nm->ap_error[0] = '\0';
	nm->activation_failed = false;
	nm->ap_trial_timer = sd_event_source_disable_unref(nm->ap_trial_timer);
	r = sd_event_add_time_relative(nm->event, &nm->ap_trial_timer, CLOCK_MONOTONIC,
				       NM_AP_TRIAL_SEC * USEC_PER_SEC, 0, trial_on_timer, nm);
	if (r < 0)
		log_warning_errno(r, "NetworkManager: cannot time the Wi-Fi client's trial, ignoring: %m");
	log_info("NetworkManager: trying the Wi-Fi client '%s'; the access point stays the fallback for %d s",
		 nm->s.wifi_ssid, NM_AP_TRIAL_SEC);
}

void nm_ap_trial_stop(struct network_manager *nm)
{
	nm->ap_trying = false;
	nm->ap_trial_timer = sd_event_source_disable_unref(nm->ap_trial_timer);
}

void nm_ap_settle(struct network_manager *nm)
{
	const struct nm_device *wifi = &nm->dev[NM_ROLE_WIFI];
	bool on_client = wifi->path[0] && strcmp(wifi->active_uuid, nm_profile_uuid(NM_PROFILE_WIFI)) == 0;

	switch (network_manager_ap_outcome(nm->ap_trying, nm->applying, nm->activation_failed,
					   nm->ap_trial_timed_out, wifi->state, on_client)) {
	case NETWORK_MANAGER_AP_CONNECTED:
		nm_ap_trial_stop(nm);
		nm->ap_mode = false;
		log_info("NetworkManager: the Wi-Fi client '%s' is connected, access point mode ended",
			 nm->s.wifi_ssid);
		/* The access point profile loses its autoconnect. */
		nm->apply_wanted = true;
		break;
	case NETWORK_MANAGER_AP_FAILED:
		nm_ap_trial_stop(nm);
		snprintf(nm->ap_error, sizeof(nm->ap_error),
			 "the Wi-Fi client '%s' did not connect; access point mode kept", nm->s.wifi_ssid);
		log_warning("NetworkManager: %s", nm->ap_error);
		nm->apply_wanted = true;
		break;
	case NETWORK_MANAGER_AP_WAIT:
	case NETWORK_MANAGER_AP_NONE:
		return;
	}
	nm_notify(nm);
	nm_apply_kick(nm);
}
