/* SPDX-License-Identifier: MIT */
/*
 * The daemon object (see daemon.h): loop, signals, systemd notification, the
 * reload transaction, and the start-up and shutdown order of the subsystems.
 * The subsystems: the store, the meter and the Modbus server; HTTP, MQTT and
 * mDNS slot into daemon_start() after them and into daemon_free() before them.
 *
 * Not here: command line parsing (main.c) or any subsystem's own logic.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "smartconnectd/daemon.h"
#include "smartconnectd/log.h"
#include "smartconnectd/mbsrv.h"
#include "smartconnectd/meter.h"
#include "smartconnectd/mqtt.h"
#include "smartconnectd/netcheck.h"
#include "smartconnectd/passthrough.h"
#include "smartconnectd/sdglue.h"
#include "smartconnectd/serial.h"
#include "smartconnectd/store.h"

#define STATUS_MAX 256

struct daemon {
	char *config_path;
	bool path_is_default;
	char *state_dir;
	int log_level_override; /* < 0: from the config */

	struct config *config;

	sd_event *event;
	sd_event_source *sig_term, *sig_int, *sig_hup;
	struct store *store;
	struct meter *meter;
	struct mbsrv *mbsrv;
	struct netcheck *netcheck;
	struct mqtt *mqtt;
	struct passthrough *passthrough;
	struct sdglue_fds fds; /* sockets from systemd not yet handed over */
	char serial[CONFIG_TOKEN_MAX];

	bool ready; /* READY=1 sent: STATUS updates may follow */
	char status[STATUS_MAX];
};

static void daemon_apply_log_level(const struct daemon *d, const struct config *c)
{
	log_set_max_level(d->log_level_override >= 0 ? d->log_level_override : c->log_level);
}

static void daemon_send_status(struct daemon *d, const char *extra)
{
	char status[STATUS_MAX];
	int r;

	meter_status(d->meter, status, sizeof(status));
	if (d->mqtt && mqtt_get_state(d->mqtt) != MQTT_STATE_DISABLED) {
		size_t n = strlen(status);

		status[n] = '\0';
		if (n + 2 < sizeof(status)) {
			memcpy(status + n, "; ", 3);
			mqtt_status(d->mqtt, status + n + 2, sizeof(status) - n - 2);
		}
	}
	if (!extra && strcmp(status, d->status) == 0)
		return;
	snprintf(d->status, sizeof(d->status), "%s", status);

	r = sd_notifyf(0, "%sSTATUS=%s", extra ?: "", status);
	if (r < 0)
		log_debug_errno(r, "Failed to notify the service manager, ignoring: %m");
}

static void daemon_on_meter_state(struct meter *m, void *userdata)
{
	struct daemon *d = userdata;

	(void) m;
	if (d->ready)
		daemon_send_status(d, NULL);
}

static void daemon_on_mqtt_state(struct mqtt *m, void *userdata)
{
	struct daemon *d = userdata;

	(void) m;
	if (d->ready)
		daemon_send_status(d, NULL);
}

/* device_counters: the figures MQTT does not keep itself. */
static void daemon_mqtt_extra(struct mqtt_extra_counters *x, void *userdata)
{
	const struct daemon *d = userdata;
	const struct netcheck_counters *n = netcheck_counters(d->netcheck);
	const struct telegram_counters *t = meter_counters(d->meter);
	uint64_t frame = t->by_error[TELEGRAM_ERR_TRUNCATED] + t->by_error[TELEGRAM_ERR_INTERRUPTED] +
			 t->by_error[TELEGRAM_ERR_TOO_LONG] + t->by_error[TELEGRAM_ERR_LINE_TOO_LONG];

	*x = (struct mqtt_extra_counters){
		.gw_ping_pass = n->gw_pass,
		.gw_ping_fail = n->gw_fail,
		.internet_ping_pass = n->internet_pass,
		.internet_ping_fail = n->internet_fail,
		.telegrams_pass = t->accepted,
		.telegrams_fail = t->rejected - frame,
		.telegrams_frame_fail = frame,
	};
}

/* The reachability checks run while MQTT is enabled: their counters go out
 * in device_counters, and a gateway that does not publish probes nobody. */
static void daemon_apply_netcheck(struct daemon *d, const struct config *c)
{
	const char *inet = c->mqtt_ping_host[0] ? c->mqtt_ping_host : c->mqtt_broker.host;
	struct netcheck_settings ns = {
		.gateway = c->mqtt_ping_gateway,
		.internet = inet,
		.internet_port = c->mqtt_ping_host[0] ? 443 : c->mqtt_broker.port,
		.interval_usec = (uint64_t) c->mqtt_ping_sec * USEC_PER_SEC,
	};
	int r;

	if (!c->mqtt_enabled) {
		netcheck_stop(d->netcheck);
		return;
	}
	r = netcheck_start(d->netcheck, &ns);
	if (r < 0)
		log_warning_errno(r, "Network checks not running, ignoring: %m");
}

static struct mbsrv_settings daemon_mbsrv_settings(const struct daemon *d, const struct config *c)
{
	return (struct mbsrv_settings){
		.host = c->modbus_listen.host,
		.port = c->modbus_listen.port,
		.template = regmap_find(config_meter_type_to_string(c->meter_type)),
		.max_clients = c->modbus_max_clients,
		.idle_usec = (uint64_t) c->modbus_idle_sec * USEC_PER_SEC,
		.stale_policy = (enum mbsrv_stale_policy) c->modbus_stale_policy,
		.ident = { .serial = d->serial, .version = PACKAGE_VERSION },
	};
}

static void daemon_on_config_error(const char *message, void *userdata)
{
	(void) userdata;
	log_error("%s", message);
}

/* Load the file into *ret, with defaults standing in for a missing default file. */
static int daemon_load_config(struct daemon *d, struct config **ret)
{
	int r;

	r = config_load(d->config_path, daemon_on_config_error, d, ret);
	if (r != -ENOENT)
		return r;
	if (!d->path_is_default)
		return log_error_errno(r, "Cannot open '%s': %m", d->config_path);

	*ret = config_new();
	return *ret ? 0 : log_oom();
}

int daemon_reload(struct daemon *d)
{
	_cleanup_(config_freep) struct config *next = NULL;
	char what[128];
	unsigned changed;
	int r;

	(void) sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	log_info("Reloading the configuration from '%s'", d->config_path);

	/* The whole file is parsed and validated before anything is touched. */
	r = daemon_load_config(d, &next);
	if (r < 0) {
		log_warning("Reload failed, keeping the running configuration");
		goto done;
	}

	changed = config_diff(d->config, next);
	if (changed & CONFIG_APPLY_LOG)
		daemon_apply_log_level(d, next);
	if (changed & (CONFIG_APPLY_TTY | CONFIG_APPLY_METER)) {
		r = meter_reconfigure(d->meter, next, changed);
		if (r < 0)
			log_error_errno(r, "Failed to apply the meter settings, ignoring: %m");
	}
	/* HTTP keys are validated and kept; their subsystem picks them up once
	 * it exists. */

	/* Commit, then the subsystems that keep pointers into the config. */
	config_free(d->config);
	d->config = TAKE_PTR(next);
	if (changed & CONFIG_APPLY_MBSRV) {
		struct mbsrv_settings ms;

		serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));
		ms = daemon_mbsrv_settings(d, d->config);
		r = mbsrv_reconfigure(d->mbsrv, &ms);
		if (r < 0)
			log_error_errno(r, "Failed to apply the Modbus settings, ignoring: %m");
	}
	if (changed & CONFIG_APPLY_MQTT) {
		serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));
		daemon_apply_netcheck(d, d->config);
		r = mqtt_reconfigure(d->mqtt, d->config, d->serial);
		if (r < 0)
			log_error_errno(r, "Failed to apply the MQTT settings, ignoring: %m");
	}
	if (changed & CONFIG_APPLY_PASSTHROUGH) {
		r = passthrough_reconfigure(d->passthrough, d->config);
		if (r < 0)
			log_error_errno(r, "Failed to apply the passthrough settings, ignoring: %m");
	}
	log_info("Configuration reloaded, changed: %s", config_apply_to_string(changed, what, sizeof(what)));
	r = 0;
done:
	daemon_send_status(d, "READY=1\n");
	return r;
}

static int daemon_on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	(void) s;
	switch (si->ssi_signo) {
	case SIGHUP:
		(void) daemon_reload(d);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
		(void) sd_notify(0, "STOPPING=1\nSTATUS=stopping");
		d->ready = false; /* no STATUS= after STOPPING=1 */
		(void) sd_event_exit(d->event, 0);
		break;
	default:
		break;
	}
	return 0;
}

int daemon_new(struct config *config, const char *config_path, bool path_is_default, const char *state_dir,
	       int log_level_override, struct daemon **ret)
{
	_cleanup_(config_freep) struct config *c = config;
	_cleanup_(daemon_freep) struct daemon *d = NULL;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;

	d->config_path = strdup(config_path);
	d->state_dir = strdup(state_dir);
	if (!d->config_path || !d->state_dir)
		return -ENOMEM;
	d->path_is_default = path_is_default;
	d->log_level_override = log_level_override;
	d->config = TAKE_PTR(c);
	d->fds = (struct sdglue_fds){ -1, -1, -1 };

	*ret = TAKE_PTR(d);
	return 0;
}

static int daemon_add_signal(struct daemon *d, sd_event_source **src, int sig)
{
	int r;

	r = sd_event_add_signal(d->event, src, sig | SD_EVENT_SIGNAL_PROCMASK, daemon_on_signal, d);
	if (r < 0)
		return log_error_errno(r, "Failed to watch signal %d: %m", sig);
	return 0;
}

int daemon_start(struct daemon *d)
{
	int r;

	daemon_apply_log_level(d, d->config);
	log_debug("Configuration '%s', state directory '%s'", d->config_path, d->state_dir);

	/* 1. The loop, its watchdog and the signals. */
	r = sd_event_default(&d->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");
	r = sd_event_set_watchdog(d->event, true);
	if (r < 0)
		log_warning_errno(r, "Failed to enable the watchdog, ignoring: %m");

	r = daemon_add_signal(d, &d->sig_term, SIGTERM);
	if (r < 0)
		return r;
	r = daemon_add_signal(d, &d->sig_int, SIGINT);
	if (r < 0)
		return r;
	r = daemon_add_signal(d, &d->sig_hup, SIGHUP);
	if (r < 0)
		return r;

	/* 2. Sockets from systemd, if it started us by socket activation. */
	r = sdglue_listen_fds(&d->fds);
	if (r < 0)
		return r;
	serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));

	/* 3. The store, before anything that publishes or reads. */
	r = store_new(0, &d->store);
	if (r < 0)
		return log_oom();

	/* 4. The meter: its first open attempt happens here, and may fail softly. */
	r = meter_new(d->event, d->store, d->config, daemon_on_meter_state, d, &d->meter);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the meter: %m");
	r = meter_start(d->meter);
	if (r < 0)
		return r;

	/* 5. The Modbus server, on its systemd socket or its configured address. */
	struct mbsrv_settings ms = daemon_mbsrv_settings(d, d->config);
	r = mbsrv_new(d->event, d->store, &ms, &d->mbsrv);
	if (r < 0)
		return log_oom();
	r = mbsrv_start(d->mbsrv, d->fds.modbus);
	d->fds.modbus = -1; /* taken over, also on failure */
	if (r < 0)
		return r;

	/* 5b. The passthrough, on its systemd socket or Listen=, fed by the meter's tap. */
	r = passthrough_new(d->event, d->config, &d->passthrough);
	if (r < 0)
		return log_oom();
	r = passthrough_start(d->passthrough, d->fds.passthrough);
	d->fds.passthrough = -1;
	if (r < 0)
		return r;
	struct meter_tap tap = passthrough_tap(d->passthrough);
	meter_set_tap(d->meter, &tap);
	sdglue_close_fds(&d->fds);

	/* 6. MQTT and the reachability checks it reports. */
	r = netcheck_new(d->event, &d->netcheck);
	if (r < 0)
		return log_oom();
	daemon_apply_netcheck(d, d->config);
	r = mqtt_new(d->event, d->store, d->config, d->serial, daemon_on_mqtt_state, d, &d->mqtt);
	if (r < 0)
		return log_oom();
	mqtt_set_extra(d->mqtt, daemon_mqtt_extra, d);
	r = mqtt_start(d->mqtt);
	if (r < 0)
		return r;

	/* 7. Tell systemd. */
	d->ready = true;
	daemon_send_status(d, "READY=1\n");
	log_info("smartconnectd " PACKAGE_VERSION " running");
	return 0;
}

int daemon_run(struct daemon *d)
{
	int r;

	r = sd_event_loop(d->event);
	if (r < 0)
		return log_error_errno(r, "Event loop failed: %m");
	return 0;
}

struct daemon *daemon_free(struct daemon *d)
{
	if (!d)
		return NULL;

	/* Reverse of daemon_start(). */
	d->mqtt = mqtt_free(d->mqtt);
	d->netcheck = netcheck_free(d->netcheck);
	if (d->meter)
		meter_set_tap(d->meter, NULL);
	d->passthrough = passthrough_free(d->passthrough);
	d->mbsrv = mbsrv_free(d->mbsrv);
	if (d->meter)
		meter_stop(d->meter);
	d->meter = meter_free(d->meter);
	d->store = store_free(d->store);
	sdglue_close_fds(&d->fds);
	d->sig_hup = sd_event_source_disable_unref(d->sig_hup);
	d->sig_int = sd_event_source_disable_unref(d->sig_int);
	d->sig_term = sd_event_source_disable_unref(d->sig_term);
	d->event = sd_event_unref(d->event);

	config_free(d->config);
	free(d->config_path);
	free(d->state_dir);
	free(d);
	return NULL;
}
