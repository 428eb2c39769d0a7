/* SPDX-License-Identifier: MIT */
/*
 * The daemon object (see daemon.h): loop, signals, the reload transaction,
 * the settings each subsystem is built from, and the start-up and shutdown
 * order of the subsystems: the store, the meter, the outputs (Modbus,
 * passthrough, HTTP, MQTT with its reachability checks), mDNS, then the box
 * (LED and button); shutdown in reverse.
 *
 * Not here: command line parsing (main.c), the STATUS= line and the status
 * object (daemon-status.c), or any subsystem's own logic.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "smartconnectd/core/config-json.h"
#include "smartconnectd/core/daemon.h"
#include "smartconnectd/outputs/homewizard.h"
#include "smartconnectd/outputs/httpd.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/modbus-server.h"
#include "smartconnectd/net/mdns.h"
#include "smartconnectd/meter/meter.h"
#include "smartconnectd/outputs/mqtt.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/net/resolve.h"
#include "smartconnectd/outputs/passthrough.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/net/systemd.h"
#include "smartconnectd/core/gateway-serial.h"
#include "smartconnectd/meter/store.h"

#include "daemon-internal.h"

static void daemon_apply_log_level(const struct daemon *d, const struct config *c)
{
	log_set_max_level(d->log_level_override >= 0 ? d->log_level_override : c->log_level);
}

static void daemon_on_modbus_clients(struct modbus_server *m, void *userdata)
{
	struct daemon *d = userdata;

	(void) m;
	if (d->ready)
		daemon_status_send(d, NULL);
}

/* The meter's or MQTT's state changed: tell systemd, the LED and the live streams. */
static void daemon_state_changed(struct daemon *d)
{
	if (d->ready)
		daemon_status_send(d, NULL);
	daemon_device_update(d);
	daemon_live_status(d);
}

static void daemon_on_meter_state(struct meter *m, void *userdata)
{
	struct daemon *d = userdata;

	if (d->mqtt)
		mqtt_set_meter_fresh(d->mqtt, meter_get_state(m) == METER_STATE_RECEIVING);
	daemon_state_changed(d);
}

static void daemon_on_mqtt_state(struct mqtt *m, void *userdata)
{
	(void) m;
	daemon_state_changed(userdata);
}

/* device_counters: the figures MQTT does not keep itself. */
static void daemon_mqtt_extra(struct mqtt_extra_counters *x, void *userdata)
{
	const struct daemon *d = userdata;
	const struct reachability_counters *n = reachability_counters(d->reachability);
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
static void daemon_apply_reachability(struct daemon *d, const struct config *c)
{
	const char *inet = c->mqtt_ping_host[0] ? c->mqtt_ping_host : c->mqtt_broker.host;
	struct reachability_settings ns = {
		.gateway = c->mqtt_ping_gateway,
		.internet = inet,
		.internet_port = c->mqtt_ping_host[0] ? 443 : c->mqtt_broker.port,
		.interval_usec = (uint64_t) c->mqtt_ping_sec * USEC_PER_SEC,
	};
	int r;

	if (!c->mqtt_enabled) {
		reachability_stop(d->reachability);
		return;
	}
	r = reachability_start(d->reachability, &ns);
	if (r < 0)
		log_warning_errno(r, "Network checks not running, ignoring: %m");
}

static struct meter_settings daemon_meter_settings(const struct config *c)
{
	/* A tcp:// meter's host name goes through the resolver's helper thread. */
	static const struct source_tcp_resolver resolver = { resolve_start, resolve_cancel };
	struct meter_settings s = {
		.protocol = c->protocol,
		.stale_after_sec = c->stale_after_sec,
		.opts = config_decode_opts(c),
		.summary_usec = (uint64_t) c->log_summary_sec * USEC_PER_SEC,
		.describe = reading_json_power_instant_dump,
		.resolver = &resolver,
	};

	snprintf(s.device, sizeof(s.device), "%s", c->device);
	return s;
}

static struct modbus_server_settings daemon_modbus_settings(const struct daemon *d, const struct config *c)
{
	return (struct modbus_server_settings){
		.host = c->modbus_listen.host,
		.port = c->modbus_listen.port,
		.template = modbus_map_find(config_meter_type_to_string(c->meter_type)),
		.max_clients = c->modbus_max_clients,
		.max_per_ip = c->modbus_max_per_ip,
		.idle_usec = (uint64_t) c->modbus_idle_sec * USEC_PER_SEC,
		.stale_policy = c->modbus_stale_policy,
		.framing = c->modbus_framing,
		.ident = { .serial = d->serial, .version = PACKAGE_VERSION },
		.summary_usec = (uint64_t) c->log_summary_sec * USEC_PER_SEC,
	};
}

static struct mqtt_settings daemon_mqtt_settings(struct daemon *d, const struct config *c)
{
	const char *cert, *key;

	daemon_device_tls_files(d, c, &cert, &key);
	return (struct mqtt_settings){
		.enabled = c->mqtt_enabled,
		.broker = c->mqtt_broker,
		.serial = d->serial,
		.site = c->mqtt_site,
		.username = c->mqtt_username,
		.password = c->mqtt_password,
		.ca_file = c->mqtt_ca_file,
		.ca_path = c->mqtt_ca_path,
		.cert_file = cert,
		.key_file = key,
		.keepalive_sec = c->mqtt_keepalive_sec,
		.connect_timeout_sec = c->mqtt_connect_timeout_sec,
		.counters_sec = c->mqtt_counters_sec,
		.homeassistant = c->mqtt_homeassistant,
		.commands = c->mqtt_commands,
		.discovery_prefix = c->mqtt_discovery_prefix,
		.ha_state_file = d->ha_state_file,
	};
}

static struct passthrough_settings daemon_passthrough_settings(const struct config *c)
{
	return (struct passthrough_settings){
		.listen = c->passthrough_listen,
		.valid_only = c->passthrough_valid_only,
		.decrypted = c->passthrough_decrypted,
		.max_clients = c->passthrough_max_clients,
		.queue_size = c->passthrough_queue_size,
		.allow = c->passthrough_allow,
		.device = c->passthrough_device,
		.summary_usec = (uint64_t) c->log_summary_sec * USEC_PER_SEC,
	};
}

static struct mdns_settings daemon_mdns_settings(const struct daemon *d)
{
	struct mdns_settings ms = {
		.name = d->config->mdns_name,
		.serial = d->serial,
		.version = PACKAGE_VERSION,
		.http_port =
		    d->httpd && httpd_serving(d->httpd) ? httpd_port(d->httpd) : 0, /* 0: not announced */
		.modbus_port = modbus_server_port(d->modbus_server),
	};

	daemon_homewizard_mdns(d, &ms);
	return ms;
}

/* Start, update or stop the announcements to match the running config. */
static int daemon_apply_mdns(struct daemon *d)
{
	struct mdns_settings ms = daemon_mdns_settings(d);
	int r;

	if (!d->config->mdns_enabled) {
		if (d->mdns)
			log_info("mDNS: disabled, withdrawing the announcements");
		d->mdns = mdns_free(d->mdns);
		return 0;
	}
	if (d->mdns)
		return mdns_reconfigure(d->mdns, &ms);

	r = mdns_new(d->event, &ms, &d->mdns);
	if (r == -ELIBACC)
		return 0; /* avahi-client missing: logged, the rest runs without mDNS */
	if (r < 0)
		return log_error_errno(r, "Failed to set up mDNS: %m");
	return mdns_start(d->mdns);
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

/* The outputs, after a new configuration is in force (d->config); changed
 * is its config_diff() mask. Each logs its own trouble and goes on. */
static void daemon_apply_outputs(struct daemon *d, unsigned changed)
{
	struct modbus_server_settings ms;
	struct httpd_settings hs;
	int r;

	/* Always: the Modbus server borrows strings of the configuration, and
	 * the caller frees the old one after this. Unchanged settings cost a
	 * register refill. */
	if (changed & CONFIG_APPLY_MBSRV)
		gateway_serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));
	ms = daemon_modbus_settings(d, d->config);
	r = modbus_server_reconfigure(d->modbus_server, &ms);
	if (r < 0)
		log_error_errno(r, "Failed to apply the Modbus settings, ignoring: %m");
	/* Always, for the same borrowed serial. */
	(void) daemon_apply_modbus_rtu(d); /* logs its trouble */
	/* Always: the password, certificate and key files are re-read, the
	 * own certificate renewed first when a name changed. */
	(void) daemon_https_check(d, d->config);
	hs = daemon_httpd_settings(d, d->config);
	r = httpd_reconfigure(d->httpd, &hs);
	if (r < 0)
		log_error_errno(r, "Failed to apply the HTTP settings, ignoring: %m");
	(void) daemon_apply_homewizard(d); /* logs its trouble */
	if (changed & CONFIG_APPLY_MQTT) {
		struct mqtt_settings mqs;

		gateway_serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));
		daemon_apply_reachability(d, d->config);
		mqs = daemon_mqtt_settings(d, d->config);
		r = mqtt_reconfigure(d->mqtt, &mqs);
		if (r < 0)
			log_error_errno(r, "Failed to apply the MQTT settings, ignoring: %m");
	}
	if (changed & CONFIG_APPLY_PASSTHROUGH) {
		struct passthrough_settings ps = daemon_passthrough_settings(d->config);

		r = passthrough_reconfigure(d->passthrough, &ps);
		if (r < 0)
			log_error_errno(r, "Failed to apply the passthrough settings, ignoring: %m");
	}
	if (changed & CONFIG_APPLY_DEVICE) {
		daemon_device_apply(d);
		daemon_update_apply(d);
	}
	if (changed & (CONFIG_APPLY_HISTORY | CONFIG_APPLY_METER))
		daemon_history_apply(d);
	if (changed & (CONFIG_APPLY_MDNS | CONFIG_APPLY_MBSRV | CONFIG_APPLY_HTTP)) {
		r = daemon_apply_mdns(d);
		if (r < 0)
			log_error_errno(r, "Failed to apply the mDNS settings, ignoring: %m");
	}
}

/*
 * Put a validated configuration in force: next (with the base and overrides
 * it was made from; all three taken over, base and overrides may be NULL to
 * keep the current ones). what_done starts the log line that follows. Runtime trouble in a subsystem is
 * logged and becomes that subsystem's state; the configuration is in force regardless.
 */
static void daemon_apply(struct daemon *d, struct config *next, struct config *base, json_t *overrides,
			 const char *what_done)
{
	struct config *old;
	char what[128];
	unsigned changed;
	int r;

	changed = config_diff(d->config, next);
	if (changed & CONFIG_APPLY_LOG)
		daemon_apply_log_level(d, next);
	if (changed & (CONFIG_APPLY_TTY | CONFIG_APPLY_METER)) {
		struct meter_settings mts = daemon_meter_settings(next);

		r = meter_reconfigure(d->meter, &mts, false);
		if (r < 0)
			log_error_errno(r, "Failed to apply the meter settings, ignoring: %m");
	}

	/* Commit, then the subsystems that keep pointers into the config; the
	 * old one goes last, as modbus_server compares its settings with the new ones. */
	old = d->config;
	d->config = next;
	if (base) {
		config_free(d->base);
		d->base = base;
	}
	if (overrides) {
		json_decref(d->overrides);
		d->overrides = overrides;
	}
	daemon_apply_outputs(d, changed);
	daemon_network_apply(d, old, changed);
	config_free(old);
	log_info("%s, changed: %s", what_done, config_apply_to_string(changed, what, sizeof(what)));
}

/* Defaults, the config file, then overrides.json, all parsed and validated. */
static int daemon_load_all(struct daemon *d, struct config **ret_config, struct config **ret_base,
			   json_t **ret_overrides)
{
	_cleanup_(config_freep) struct config *base = NULL, *next = NULL;
	struct config_json_error e;
	json_t *ovr = NULL;
	int r;

	r = daemon_load_config(d, &base);
	if (r < 0)
		return r;
	r = config_json_load_file(d->overrides_path, base, &next, &ovr, &e);
	if (r == -ENOENT) {
		next = config_new();
		if (!next)
			return log_oom();
		*next = *base;
	} else if (r < 0) {
		if (r == -ENOMEM)
			return log_oom();
		return log_error_errno(r, "%s%s%s", e.message, e.field[0] ? ", field " : "", e.field);
	}
	*ret_config = TAKE_PTR(next);
	*ret_base = TAKE_PTR(base);
	*ret_overrides = ovr;
	return 0;
}

int daemon_load_overrides(struct daemon *d)
{
	struct config *next = NULL, *base = NULL;
	json_t *ovr = NULL;
	struct config_json_error e;
	int r;

	daemon_factory_reset_recover(d);
	r = config_json_remove_partial(d->overrides_path);
	if (r > 0)
		log_notice("Removed '%s.tmp', left by a save that did not finish", d->overrides_path);
	else if (r < 0)
		log_warning_errno(r, "Failed to remove '%s.tmp', ignoring: %m", d->overrides_path);

	r = config_json_load_file(d->overrides_path, d->config, &next, &ovr, &e);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOMEM)
		return log_oom();
	if (r < 0)
		return log_error_errno(r, "%s%s%s", e.message, e.field[0] ? ", field " : "", e.field);
	base = d->config;
	d->config = next;
	config_free(d->base);
	d->base = base;
	d->overrides = ovr;
	log_info("Settings from '%s' override the configuration file", d->overrides_path);
	return 0;
}

int daemon_reload(struct daemon *d)
{
	struct config *next = NULL, *base = NULL;
	json_t *ovr = NULL;
	int r;

	(void) sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
	log_info("Reloading the configuration from '%s' and '%s'", d->config_path, d->overrides_path);

	/* Both files are parsed and validated before anything is touched. */
	r = daemon_load_all(d, &next, &base, &ovr);
	if (r < 0) {
		log_warning("Reload failed, keeping the running configuration");
		goto done;
	}
	/* No overrides file (any more): none apply. */
	if (!ovr) {
		json_decref(d->overrides);
		d->overrides = NULL;
	}
	daemon_apply(d, next, base, ovr, "Configuration reloaded");
	r = 0;
done:
	daemon_status_send(d, "READY=1\n");
	return r;
}

int daemon_patch_config(struct daemon *d, const char *body, size_t len, json_t **ret_error)
{
	struct config *next = NULL;
	struct config_json_error e;
	json_t *ovr = NULL;
	int r;

	r = config_json_patch(d->base, d->overrides, body, len, &next, &ovr, &e);
	if (r == -EINVAL) {
		log_info("Configuration change through the API refused: %s", e.message);
		*ret_error =
		    json_pack("{s:s,s:s?}", "error", e.message, "field", e.field[0] ? e.field : NULL);
		return r;
	}
	if (r < 0)
		return log_oom();
	r = daemon_network_check_patch(d, next, ret_error);
	if (r < 0) {
		config_free(next);
		json_decref(ovr);
		return r;
	}

	r = config_json_save_file(d->overrides_path, ovr);
	if (r < 0) {
		log_error_errno(r, "Cannot save '%s', configuration unchanged: %m", d->overrides_path);
		*ret_error = json_pack("{s:s,s:s}", "error", "cannot save the configuration, nothing changed",
				       "reason", strerror(-r));
		config_free(next);
		json_decref(ovr);
		return r == -EINVAL ? -EIO : r;
	}
	log_info("Configuration changed through the API, saved to '%s'", d->overrides_path);
	daemon_apply(d, next, NULL, ovr, "Configuration applied");
	return 0;
}

json_t *daemon_config_json(struct daemon *d)
{
	return config_json_dump(d->config);
}

int daemon_soft_reset(struct daemon *d)
{
	int r;

	d->resets++;
	log_info("Soft reset: reopening '%s', reconnecting MQTT", d->config->device);
	struct meter_settings mts = daemon_meter_settings(d->config);

	r = meter_reconfigure(d->meter, &mts, true);
	if (r < 0)
		return log_error_errno(r, "Soft reset failed: %m");
	r = mqtt_reconnect(d->mqtt);
	if (r < 0)
		log_warning_errno(r, "Failed to reconnect MQTT, ignoring: %m");
	return 0;
}

int daemon_last_telegram(struct daemon *d, const char **ret_text, size_t *ret_len)
{
	const struct snapshot *snap = store_current(d->store);

	if (!snap)
		return -ENODATA;
	*ret_text = snap->v.text;
	*ret_len = snap->v.text_len;
	return 0;
}

/* The Modbus server, on its systemd socket or its configured address; the RTU server. */
static int daemon_start_modbus(struct daemon *d)
{
	struct modbus_server_settings ms = daemon_modbus_settings(d, d->config);
	int r;

	r = modbus_server_new(d->event, d->store, &ms, &d->modbus_server);
	if (r < 0)
		return log_oom();
	modbus_server_set_clients_callback(d->modbus_server, daemon_on_modbus_clients, d);
	r = modbus_server_start(d->modbus_server, d->fds.modbus);
	d->fds.modbus = -1;                            /* taken over, also on failure */
	return r < 0 ? r : daemon_apply_modbus_rtu(d); /* and RTU on RS-485, when configured */
}

/* The passthrough, on its systemd socket or Listen=, fed by the meter's tap. */
static int daemon_start_passthrough(struct daemon *d)
{
	struct passthrough_settings ps = daemon_passthrough_settings(d->config);
	struct meter_tap tap;
	int r;

	r = passthrough_new(d->event, &ps, &d->passthrough);
	if (r < 0)
		return log_oom();
	r = passthrough_start(d->passthrough, d->fds.passthrough);
	d->fds.passthrough = -1;
	if (r < 0)
		return r;
	tap = passthrough_tap(d->passthrough);
	meter_set_tap(d->meter, &tap);
	return 0;
}

/* MQTT and the reachability checks it reports. */
static int daemon_start_mqtt(struct daemon *d)
{
	struct mqtt_settings mqs = daemon_mqtt_settings(d, d->config);
	int r;

	r = reachability_new(d->event, &d->reachability);
	if (r < 0)
		return log_oom();
	daemon_apply_reachability(d, d->config);
	r = mqtt_new(d->event, d->store, &mqs, daemon_on_mqtt_state, d, &d->mqtt);
	if (r < 0)
		return log_oom();
	mqtt_set_extra(d->mqtt, daemon_mqtt_extra, d);
	mqtt_set_commands(d->mqtt, daemon_mqtt_command, d);
	return mqtt_start(d->mqtt);
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
	if (asprintf(&d->overrides_path, "%s/overrides.json", state_dir) < 0 ||
	    asprintf(&d->password_file, "%s/http-password", state_dir) < 0 ||
	    asprintf(&d->ha_state_file, "%s/homeassistant-topics", state_dir) < 0 || daemon_https_init(d) < 0)
		return -ENOMEM;
	d->base = config_new();
	if (!d->base)
		return -ENOMEM;
	*d->base = *c;
	d->path_is_default = path_is_default;
	d->log_level_override = log_level_override;
	d->config = TAKE_PTR(c);
	d->fds = (struct systemd_fds){ -1, -1, -1, -1 };

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

/* The loop, its watchdog and the signals; then the LED and the button. */
static int daemon_start_loop(struct daemon *d)
{
	int r;

	/* A loop of our own, not the thread's default: sd-event checks the default
	 * loop's thread with a gettid() system call on every pass. */
	r = sd_event_new(&d->event);
	if (r < 0)
		return log_error_errno(r, "Failed to create the event loop: %m");
	(void) sd_event_now(d->event, CLOCK_MONOTONIC, &d->start_usec);
	r = systemd_watchdog_start(d->event, &d->watchdog);
	if (r < 0)
		return r;

	r = daemon_add_signal(d, &d->sig_term, SIGTERM);
	if (r < 0)
		return r;
	r = daemon_add_signal(d, &d->sig_int, SIGINT);
	if (r < 0)
		return r;
	r = daemon_add_signal(d, &d->sig_hup, SIGHUP);
	if (r < 0)
		return r;
	return daemon_device_start(d); /* the LED shows "starting" from here */
}

int daemon_start(struct daemon *d)
{
	int r;

	daemon_apply_log_level(d, d->config);
	log_debug("Configuration '%s', state directory '%s'", d->config_path, d->state_dir);

	/* 1. The loop, its watchdog and the signals. */
	r = daemon_start_loop(d);
	if (r < 0)
		return r;

	/* 2. Sockets from systemd, if it started us by socket activation. */
	r = systemd_listen_fds(&d->fds);
	if (r < 0)
		return r;
	gateway_serial_resolve(d->config->serial, NULL, d->serial, sizeof(d->serial));

	/* 3. The store, before anything that publishes or reads, and the history watching it. */
	r = store_new(0, &d->store) < 0 ? log_oom() : daemon_history_start(d);
	if (r < 0)
		return r;

	/* 4. The meter: its first open attempt happens here, and may fail softly. */
	struct meter_settings mts = daemon_meter_settings(d->config);

	r = meter_new(d->event, d->store, &mts, daemon_on_meter_state, d, &d->meter);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the meter: %m");
	r = meter_start(d->meter);
	if (r < 0)
		return r;

	/* 5. The outputs. */
	r = daemon_start_modbus(d);
	if (r < 0)
		return r;
	r = daemon_start_passthrough(d);
	if (r < 0)
		return r;
	r = daemon_start_httpd(d);
	if (r < 0)
		return r;
	systemd_close_fds(&d->fds);
	r = daemon_start_mqtt(d);
	if (r < 0)
		return r;

	/* 6. mDNS once the ports are known (0 or < 0), our network when ours, the updates. */
	r = daemon_apply_mdns(d) ?: daemon_network_start(d) ?: daemon_update_start(d);
	if (r < 0)
		return r;

	/* 7. Tell systemd. */
	d->ready = true;
	daemon_status_send(d, "READY=1\n");
	daemon_device_ready(d);
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

	/* The HTTP side first: its last run, which gives the live streams their
	 * end, still answers requests waiting on open connections, and those read
	 * every other part. Then the package updates, the network, mDNS, MQTT and
	 * its checks, the passthrough (off the meter's tap first), Modbus, the
	 * meter, the store, the box (LED off last), and the loop's own sources. */
	daemon_live_stop(d);
	d->homewizard = homewizard_free(d->homewizard);
	d->httpd = httpd_free(d->httpd);
	daemon_update_free(d);
	daemon_network_stop(d);
	d->mdns = mdns_free(d->mdns);
	d->mqtt = mqtt_free(d->mqtt);
	d->reachability = reachability_free(d->reachability);
	if (d->meter)
		meter_set_tap(d->meter, NULL);
	d->passthrough = passthrough_free(d->passthrough);
	d->modbus_server = modbus_server_free(d->modbus_server);
	daemon_stop_modbus_rtu(d);
	if (d->meter)
		meter_stop(d->meter);
	d->meter = meter_free(d->meter);
	daemon_history_stop(d);
	d->store = store_free(d->store);
	daemon_device_free(d);
	systemd_close_fds(&d->fds);
	d->watchdog = sd_event_source_disable_unref(d->watchdog);
	d->https_timer = sd_event_source_disable_unref(d->https_timer);
	d->sig_hup = sd_event_source_disable_unref(d->sig_hup);
	d->sig_int = sd_event_source_disable_unref(d->sig_int);
	d->sig_term = sd_event_source_disable_unref(d->sig_term);
	d->event = sd_event_unref(d->event);

	config_free(d->config);
	config_free(d->base);
	json_decref(d->overrides);
	free(d->overrides_path);
	free(d->password_file);
	free(d->ha_state_file);
	free(d->https_cert);
	free(d->https_key);
	free(d->config_path);
	free(d->state_dir);
	free(d);
	return NULL;
}
