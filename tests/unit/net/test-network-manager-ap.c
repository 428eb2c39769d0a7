/* SPDX-License-Identifier: MIT */
/*
 * The access point's Wi-Fi client trial as a table: the access point mode
 * ends only when NetworkManager reports the Wi-Fi device activated on our
 * client profile; a failed activation, a failed device on that profile or the
 * trial's time running out bring the access point back; an apply still
 * running, a device still connecting, or a device activated on another
 * profile (the access point itself, before the switch) keep waiting.
 */
#include "smartconnectd/net/network-manager.h"
#include "tap.h"

#define ACTIVATED 100
#define FAILED 120
#define PREPARE 40
#define NEED_AUTH 60
#define DISCONNECTED 30

static const struct row {
	bool trying, applying, activation_failed, timed_out;
	unsigned state;
	bool on_client;
	enum network_manager_ap_outcome want;
	const char *what;
} rows[] = {
	{ false, false, false, false, ACTIVATED, true, NETWORK_MANAGER_AP_NONE,
	  "no trial: nothing to decide" },
	{ false, false, true, true, FAILED, true, NETWORK_MANAGER_AP_NONE, "no trial, whatever happened" },
	{ true, false, false, false, ACTIVATED, true, NETWORK_MANAGER_AP_CONNECTED,
	  "client activated: AP ends" },
	{ true, true, false, false, ACTIVATED, true, NETWORK_MANAGER_AP_CONNECTED,
	  "client activated during a reapply: AP ends" },
	{ true, false, false, false, ACTIVATED, false, NETWORK_MANAGER_AP_WAIT,
	  "device activated on the AP profile: wait" },
	{ true, false, false, false, PREPARE, true, NETWORK_MANAGER_AP_WAIT, "client preparing: wait" },
	{ true, false, false, false, NEED_AUTH, true, NETWORK_MANAGER_AP_WAIT,
	  "client asking for secrets: wait" },
	{ true, true, true, false, DISCONNECTED, false, NETWORK_MANAGER_AP_WAIT,
	  "activation failed but the apply still runs: wait for its end" },
	{ true, false, true, false, DISCONNECTED, false, NETWORK_MANAGER_AP_FAILED,
	  "activation refused: AP back" },
	{ true, false, false, false, FAILED, true, NETWORK_MANAGER_AP_FAILED, "client failed: AP back" },
	{ true, false, false, false, FAILED, false, NETWORK_MANAGER_AP_WAIT,
	  "device failed on another profile: not the client's verdict" },
	{ true, false, false, true, NEED_AUTH, true, NETWORK_MANAGER_AP_FAILED, "trial time out: AP back" },
	{ true, true, false, true, PREPARE, true, NETWORK_MANAGER_AP_FAILED,
	  "trial time out even with an apply running: AP back" },
	{ true, false, false, true, ACTIVATED, true, NETWORK_MANAGER_AP_CONNECTED,
	  "activated as the time ran out: connected wins" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		enum network_manager_ap_outcome got = network_manager_ap_outcome(
		    r->trying, r->applying, r->activation_failed, r->timed_out, r->state, r->on_client);

		tap_ok(got == r->want, "%s (%d)", r->what, (int) got);
	}
	return tap_done();
}
