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
#include "smartconnectd/mdns.h"
#include "smartconnectd/meter.h"
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
	sd_event_source *watchdog;
	struct store *store;
	struct meter *meter;
	struct mbsrv *mbsrv;
	struct mdns *mdns;     /* NULL with [mDNS] Enabled=no */
	struct sdglue_fds fds; /* sockets from systemd not yet handed over */
	char serial[CONFIG_TOKEN_MAX];

	bool ready; /* READY=1 sent: STATUS updates may follow */
	char status[STATUS_MAX];
};

static void daemon_apply_log_level(const struct daemon *d, const struct config *c)
{
	log_set_max_level(d->log_level_override >= 0 ? d->log_level_override : c->log_level);
}

/* One STATUS= line from its parts, in order, "; " between them; empty parts
 * (nothing worth saying) are left out. */
static void daemon_status_line(char *buf, size_t size, const char *const *parts, size_t n)
{
	size_t k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && k < size; i++)
		if (parts[i] && parts[i][0])
			k += (size_t) snprintf(buf + k, size - k, "%s%s", k ? "; " : "", parts[i]);
}

static const char *daemon_modbus_status(const struct daemon *d, char *buf, size_t size)
{
	unsigned n = d->mbsrv ? mbsrv_clients(d->mbsrv) : 0;

	buf[0] = '\0';
	if (n > 0)
		snprintf(buf, size, "%u Modbus client%s", n, n == 1 ? "" : "s");
	return buf;
}

static void daemon_send_status(struct daemon *d, const char *extra)
{
	char meter[128], modbus[64], status[STATUS_MAX];
	const char *const parts[] = {
		meter_status(d->meter, meter, sizeof(meter)),
		/* MQTT: its status string goes here. */
		daemon_modbus_status(d, modbus, sizeof(modbus)),
	};
	int r;

	daemon_status_line(status, sizeof(status), parts, ARRAY_SIZE(parts));
	if (!extra && strcmp(status, d->status) == 0)
		return;
	snprintf(d->status, sizeof(d->status), "%s", status);

	r = sd_notifyf(0, "%sSTATUS=%s", extra ?: "", status);
	if (r < 0)
		log_debug_errno(r, "Failed to notify the service manager, ignoring: %m");
}

static void daemon_on_modbus_clients(struct mbsrv *m, void *userdata)
{
	struct daemon *d = userdata;

	(void) m;
	if (d->ready)
		daemon_send_status(d, NULL);
}

static void daemon_on_meter_state(struct meter *m, void *userdata)
{
	struct daemon *d = userdata;

	(void) m;
	if (d->ready)
		daemon_send_status(d, NULL);
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
		.summary_usec = (uint64_t) c->log_summary_sec * USEC_PER_SEC,
	};
}

static struct mdns_settings daemon_mdns_settings(const struct daemon *d)
{
	return (struct mdns_settings){
		.name = d->config->mdns_name,
		.serial = d->serial,
		.version = PACKAGE_VERSION,
		/* The configured port until an HTTP server reports the one it bound. */
		.http_port = d->config->http_listen.port,
		.modbus_port = mbsrv_port(d->mbsrv),
	};
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
	/* HTTP and MQTT keys are validated and kept; their subsystems pick them
	 * up once they exist. */

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
	if (changed & (CONFIG_APPLY_MDNS | CONFIG_APPLY_MBSRV | CONFIG_APPLY_HTTP)) {
		r = daemon_apply_mdns(d);
		if (r < 0)
			log_error_errno(r, "Failed to apply the mDNS settings, ignoring: %m");
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
	r = sdglue_watchdog_start(d->event, &d->watchdog);
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
	mbsrv_set_clients_callback(d->mbsrv, daemon_on_modbus_clients, d);
	r = mbsrv_start(d->mbsrv, d->fds.modbus);
	d->fds.modbus = -1; /* taken over, also on failure */
	if (r < 0)
		return r;

	/* 6. HTTP takes d->fds.http here. */
	if (d->fds.http >= 0)
		log_warning("Not using the 'http' socket from systemd: this build has no HTTP server");
	sdglue_close_fds(&d->fds);

	/* 7. mDNS, once the ports are known. */
	r = daemon_apply_mdns(d);
	if (r < 0)
		return r;

	/* 8. Tell systemd. */
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
	d->mdns = mdns_free(d->mdns);
	d->mbsrv = mbsrv_free(d->mbsrv);
	if (d->meter)
		meter_stop(d->meter);
	d->meter = meter_free(d->meter);
	d->store = store_free(d->store);
	sdglue_close_fds(&d->fds);
	d->watchdog = sd_event_source_disable_unref(d->watchdog);
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
