/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the box itself: the status LED, the push button,
 * identify and the factory reset. It derives the LED's inputs from the
 * meter, the network and MQTT (indicator-state.c picks the pattern), turns
 * button presses into actions, and runs the factory reset's steps
 * (factory-reset.c) around a reload.
 *
 * Not here: what a pattern looks like (indicator-state.c), the LED class
 * writes (indicator.c), reading the input device (button.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/core/factory-reset.h"
#include "smartconnectd/device/button-press.h"
#include "smartconnectd/device/button.h"
#include "smartconnectd/device/indicator.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/net/netinfo.h"
#include "smartconnectd/net/network-manager.h"
#include "smartconnectd/outputs/mqtt.h"

#include "daemon-internal.h"

#define NETWORK_POLL_USEC (2 * USEC_PER_SEC) /* no netlink watch: a cheap read of /proc */
#define INITIALISE_USEC (10 * USEC_PER_SEC)  /* "initialising" at most this long after READY=1 */
#define IDENTIFY_USEC (10 * USEC_PER_SEC)

struct daemon_device {
	struct indicator *indicator; /* NULL when no LED is configured */
	struct button *button;       /* NULL without [Button] Device= */
	sd_event_source *network_timer, *phase_timer, *identify_timer, *action;
	struct indicator_inputs in;
	enum button_action pending; /* run from a defer source, outside the button's callback */
};

/* Recompute the inputs that are read, not reported, and show the pattern. */
void daemon_device_update(struct daemon *d)
{
	struct daemon_device *dd = d->device;
	enum meter_state ms;

	if (!dd)
		return;
	ms = d->meter ? meter_get_state(d->meter) : METER_STATE_STOPPED;
	dd->in.meter_receiving = ms == METER_STATE_RECEIVING;
	if (dd->in.meter_receiving && dd->in.phase == INDICATOR_PHASE_INITIALISING)
		dd->in.phase = INDICATOR_PHASE_RUNNING;
	dd->in.mqtt_trouble = d->mqtt && mqtt_get_state(d->mqtt) != MQTT_STATE_DISABLED &&
			      mqtt_get_state(d->mqtt) != MQTT_STATE_CONNECTED;
	if (dd->indicator)
		(void) indicator_show(dd->indicator, indicator_state_pattern(&dd->in));
}

static bool daemon_network_up(const struct netinfo *ni)
{
	struct netinfo own;

	if (!ni) {
		if (netinfo_read(&own) < 0)
			return false;
		ni = &own;
	}
	return ni->interface[0] && ni->address[0];
}

/* Only a wired LED shows the network's state by itself; without one the
 * status reads it when asked, and the daemon does not wake up for it. */
static bool daemon_led_wired(const struct daemon *d)
{
	return d->device && d->device->indicator && indicator_wired(d->device->indicator);
}

static int daemon_on_network_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	d->device->in.network_up = daemon_network_up(NULL);
	daemon_device_update(d);
	if (!daemon_led_wired(d))
		return 0; /* a one-shot timer: it stays off until an LED is set up */
	r = sd_event_source_set_time(s, usec + NETWORK_POLL_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ON);
	if (r < 0)
		log_warning_errno(r, "LED: cannot re-arm the network check, ignoring: %m");
	return 0;
}

static int daemon_on_phase_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void) s;
	(void) usec;
	d->device->phase_timer = sd_event_source_disable_unref(d->device->phase_timer);
	d->device->in.phase = INDICATOR_PHASE_RUNNING;
	daemon_device_update(d);
	return 0;
}

static int daemon_on_identify_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void) s;
	(void) usec;
	d->device->identify_timer = sd_event_source_disable_unref(d->device->identify_timer);
	d->device->in.identify = false;
	log_info("Identify: done");
	daemon_device_update(d);
	return 0;
}

int daemon_identify(struct daemon *d)
{
	struct daemon_device *dd = d->device;
	int r;

	dd->identify_timer = sd_event_source_disable_unref(dd->identify_timer);
	r = sd_event_add_time_relative(d->event, &dd->identify_timer, CLOCK_MONOTONIC, IDENTIFY_USEC, 0,
				       daemon_on_identify_timer, d);
	if (r < 0)
		return log_error_errno(r, "Identify: cannot arm its timer: %m");
	dd->in.identify = true;
	log_info("Identify: the LED blinks for %u s%s", (unsigned) (IDENTIFY_USEC / USEC_PER_SEC),
		 dd->indicator ? "" : " (no LED is configured)");
	daemon_device_update(d);
	return 0;
}

/*
 * The network profiles the daemon created (with [Network]
 * Manage=networkmanager, smartconnect-ethernet, -wifi and -ap): deleted
 * through NetworkManager, asynchronously, at the start of the next apply,
 * which the reload after the reset then follows with the file's settings. A
 * reset finished at start (after a kill) runs before the network is started:
 * the deletion waits for its start. Returns 0.
 */
static int daemon_factory_reset_network_profiles(struct daemon *d)
{
	if (d->network) {
		log_notice("Factory reset: deleting the network profiles the daemon created");
		return network_manager_forget(d->network);
	}
	d->net_forget = true; /* for daemon_network_start(), when the network is ours */
	return 0;
}

/* After the marker: everything a reset removes. Logs what it did. */
static int daemon_factory_reset_steps(struct daemon *d)
{
	unsigned removed = 0;
	int r;

	r = daemon_factory_reset_network_profiles(d);
	if (r < 0)
		return log_error_errno(r, "Factory reset: cannot remove the network profiles, stopped: %m");
	r = factory_reset_finish(d->state_dir, &removed);
	if (r < 0)
		return log_error_errno(
		    r, "Factory reset: cannot remove the API settings in '%s', stopped: %m", d->state_dir);
	log_notice("Factory reset: removed the settings made through the API ('%s', %u file%s); kept '%s' "
		   "and the device secrets",
		   d->overrides_path, removed, removed == 1 ? "" : "s", d->config_path);
	return 0;
}

int daemon_factory_reset(struct daemon *d)
{
	int r;

	log_notice("Factory reset: starting");
	r = factory_reset_begin(d->state_dir);
	if (r < 0)
		return log_error_errno(
		    r, "Factory reset: cannot write its marker in '%s', nothing changed: %m", d->state_dir);
	r = daemon_factory_reset_steps(d);
	if (r < 0)
		return r;
	/* The configuration file alone, applied as a reload applies it. */
	(void) daemon_reload(d);
	log_notice("Factory reset: done");
	return 0;
}

void daemon_factory_reset_recover(struct daemon *d)
{
	bool tmp = false;
	int r;

	r = factory_reset_recover(d->state_dir, &tmp);
	if (tmp)
		log_notice("Removed '%s/factory-reset.tmp', left by a factory reset that had not begun",
			   d->state_dir);
	if (r < 0) {
		log_warning_errno(r, "Cannot check '%s' for an interrupted factory reset, ignoring: %m",
				  d->state_dir);
		return;
	}
	if (r == 0)
		return;
	log_notice("Factory reset: finishing the one that was interrupted");
	(void) daemon_factory_reset_steps(d);
}

/* Factory settings: nothing was changed through the API. */
static bool daemon_in_factory_settings(const struct daemon *d)
{
	return access(d->overrides_path, F_OK) < 0 && errno == ENOENT;
}

static void daemon_ap_mode(struct daemon *d)
{
	if (!daemon_in_factory_settings(d)) {
		log_notice(
		    "Button: AP mode refused: it is only available in factory settings, and '%s' holds "
		    "settings made through the API (a factory reset removes them)",
		    d->overrides_path);
		return;
	}
	log_notice("Button: AP mode needs [Network] Manage=networkmanager, which this version does not "
		   "have; not started");
}

static int daemon_on_button_action(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	enum button_action a = d->device->pending;

	(void) s;
	d->device->action = sd_event_source_disable_unref(d->device->action);
	if (a == BUTTON_ACTION_SOFT_RESET)
		(void) daemon_soft_reset(d);
	else if (a == BUTTON_ACTION_AP_MODE)
		daemon_ap_mode(d);
	else if (a == BUTTON_ACTION_FACTORY_RESET)
		(void) daemon_factory_reset(d);
	return 0;
}

/* The action runs from a defer source: a factory reset reloads, which may
 * replace the button, and the button must not be freed inside its callback. */
static void daemon_button_released(struct daemon *d, uint64_t held_usec)
{
	enum button_action a = button_press_action(held_usec);
	int r;

	log_info("Button: released after %.1f s: %s", (double) held_usec / USEC_PER_SEC,
		 button_action_to_string(a));
	if (a == BUTTON_ACTION_NONE) {
		log_info("Button: a press of 2 to 5 s asks for nothing, ignored");
		return;
	}
	d->device->pending = a;
	if (d->device->action)
		return;
	r = sd_event_add_defer(d->event, &d->device->action, daemon_on_button_action, d);
	if (r < 0)
		log_error_errno(r, "Button: cannot schedule the %s: %m", button_action_to_string(a));
}

static void daemon_on_button(struct button *b, enum button_event ev, uint64_t held_usec, void *userdata)
{
	struct daemon *d = userdata;
	struct daemon_device *dd = d->device;

	(void) b;
	switch (ev) {
	case BUTTON_EVENT_DOWN:
		dd->in.button = INDICATOR_BUTTON_DOWN;
		log_debug("Button: pressed");
		break;
	case BUTTON_EVENT_THRESHOLD:
		dd->in.button = held_usec > BUTTON_FACTORY_USEC ? INDICATOR_BUTTON_FACTORY_PASSED
								: INDICATOR_BUTTON_AP_PASSED;
		log_info("Button: held %.0f s, a release now means %s", (double) held_usec / USEC_PER_SEC,
			 button_action_to_string(button_press_action(held_usec)));
		break;
	case BUTTON_EVENT_UP:
		dd->in.button = INDICATOR_BUTTON_UP;
		daemon_button_released(d, held_usec);
		break;
	default:
		dd->in.button = INDICATOR_BUTTON_UP;
		break;
	}
	daemon_device_update(d);
}

/* The LED from [Indicator]; the old one (if any) is turned off first. */
static void daemon_device_setup_indicator(struct daemon *d)
{
	struct daemon_device *dd = d->device;
	const struct config *c = d->config;
	struct indicator_settings is = {
		.path = c->indicator_path,
		.red = c->indicator_red,
		.green = c->indicator_green,
		.blue = c->indicator_blue,
		.multicolor = c->indicator_multicolor,
	};

	if (dd->indicator)
		(void) indicator_show(dd->indicator, INDICATOR_OFF);
	dd->indicator = indicator_free(dd->indicator);
	if (!c->indicator_red[0] && !c->indicator_green[0] && !c->indicator_blue[0] &&
	    !c->indicator_multicolor[0])
		return;
	if (indicator_new(&is, &dd->indicator) < 0) {
		log_oom();
		return;
	}
	if (!indicator_wired(dd->indicator)) {
		log_warning("LED: none of the LEDs of [Indicator] is in '%s', the LED stays off",
			    c->indicator_path);
		dd->indicator = indicator_free(dd->indicator);
	}
}

/* The button from [Button]; a missing device is a state, retried. */
static void daemon_device_setup_button(struct daemon *d)
{
	struct daemon_device *dd = d->device;
	struct button_settings bs = {
		.device = d->config->button_device,
		.key = button_press_key_from_string(d->config->button_key),
	};

	dd->button = button_free(dd->button);
	dd->in.button = INDICATOR_BUTTON_UP;
	if (!d->config->button_device[0])
		return;
	if (button_new(d->event, &bs, daemon_on_button, d, &dd->button) < 0 || button_start(dd->button) < 0) {
		log_oom();
		dd->button = button_free(dd->button);
	}
}

void daemon_device_apply(struct daemon *d)
{
	if (!d->device)
		return;
	daemon_device_setup_indicator(d);
	daemon_device_setup_button(d);
	daemon_device_update(d);
	if (daemon_led_wired(d) && d->device->network_timer &&
	    (sd_event_source_set_time_relative(d->device->network_timer, NETWORK_POLL_USEC) < 0 ||
	     sd_event_source_set_enabled(d->device->network_timer, SD_EVENT_ON) < 0))
		log_warning("LED: cannot arm the network check, ignoring");
}

int daemon_device_start(struct daemon *d)
{
	struct daemon_device *dd = calloc(1, sizeof(*dd));
	int r;

	if (!dd)
		return log_oom();
	d->device = dd;
	dd->in.phase = INDICATOR_PHASE_STARTING;
	dd->in.network_up = daemon_network_up(NULL);
	daemon_device_apply(d);
	r = sd_event_add_time_relative(d->event, &dd->network_timer, CLOCK_MONOTONIC, NETWORK_POLL_USEC, 0,
				       daemon_on_network_timer, d);
	if (r < 0)
		return log_error_errno(r, "Failed to arm the network check of the LED: %m");
	return 0;
}

void daemon_device_ready(struct daemon *d)
{
	struct daemon_device *dd = d->device;
	int r;

	dd->in.phase = INDICATOR_PHASE_INITIALISING;
	r = sd_event_add_time_relative(d->event, &dd->phase_timer, CLOCK_MONOTONIC, INITIALISE_USEC, 0,
				       daemon_on_phase_timer, d);
	if (r < 0) {
		log_warning_errno(r, "LED: no initialising phase, ignoring: %m");
		dd->in.phase = INDICATOR_PHASE_RUNNING;
	}
	daemon_device_update(d);
}

const char *daemon_device_pattern(const struct daemon *d, const struct netinfo *ni)
{
	struct indicator_inputs in;

	if (!d->device)
		return "off";
	in = d->device->in;
	if (!daemon_led_wired(d))
		in.network_up = daemon_network_up(ni);
	return indicator_pattern_to_string(indicator_state_pattern(&in));
}

void daemon_device_free(struct daemon *d)
{
	struct daemon_device *dd = d->device;

	if (!dd)
		return;
	/* The manual's "off": nothing runs. */
	if (dd->indicator)
		(void) indicator_show(dd->indicator, INDICATOR_OFF);
	dd->indicator = indicator_free(dd->indicator);
	dd->button = button_free(dd->button);
	dd->network_timer = sd_event_source_disable_unref(dd->network_timer);
	dd->phase_timer = sd_event_source_disable_unref(dd->phase_timer);
	dd->identify_timer = sd_event_source_disable_unref(dd->identify_timer);
	dd->action = sd_event_source_disable_unref(dd->action);
	free(dd);
	d->device = NULL;
}

int daemon_on_http_identify(void *userdata)
{
	return daemon_identify(userdata);
}

int daemon_on_http_factory_reset(void *userdata)
{
	return daemon_factory_reset(userdata);
}
