/* SPDX-License-Identifier: MIT */
/*
 * The daemon object's insides, shared by daemon.c (start-up, reload,
 * shutdown) and daemon-status.c (what it tells systemd and the status API).
 * Nothing else includes this.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/core/config.h"
#include "smartconnectd/core/daemon.h"
#include "smartconnectd/net/mdns.h"
#include "smartconnectd/net/systemd.h"

#define STATUS_MAX 256

struct daemon {
	char *config_path;
	bool path_is_default;
	char *state_dir;
	int log_level_override; /* < 0: from the config */

	struct config *config; /* in force: base + overrides */
	struct config *base;   /* defaults + the config file */
	json_t *overrides;     /* <state-dir>/overrides.json, NULL when there is none */
	char *overrides_path;
	char *password_file; /* default [HTTP] PasswordFile */
	uint64_t start_usec;

	sd_event *event;
	sd_event_source *sig_term, *sig_int, *sig_hup;
	sd_event_source *watchdog;
	struct store *store;
	struct meter *meter;
	struct modbus_server *modbus_server;
	struct reachability *reachability;
	struct mqtt *mqtt;
	struct passthrough *passthrough;
	struct mdns *mdns; /* NULL with [mDNS] Enabled=no */
	struct httpd *httpd;
	struct homewizard *homewizard; /* NULL until [HomeWizard] Enabled=yes */
	struct systemd_fds fds;        /* sockets from systemd not yet handed over */
	char serial[CONFIG_TOKEN_MAX];

	unsigned live_watch;             /* the store watch of daemon-live.c */
	sd_event_source *live_net_timer; /* network changes, for live streams */
	json_t *live_network;            /* the network part of the last live status */
	char live_meter_id[READING_ID_MAX],
	    live_meter_version[READING_VERSION_MAX]; /* of the last snapshot */

	bool ready; /* READY=1 sent: STATUS updates may follow */
	char status[STATUS_MAX];
};

/* Send STATUS= when the line changed, or always when extra (e.g. "READY=1\n",
 * sent before it) is given. Logs failures at debug level only. */
void daemon_status_send(struct daemon *d, const char *extra);

/* GET /api/v1/live (daemon-live.c): the store watch and the network check;
 * a status event to every stream now (nothing without streams). */
int daemon_live_start(struct daemon *d);
void daemon_live_stop(struct daemon *d); /* safe on a half-started daemon */
void daemon_live_status(struct daemon *d);

/* The HomeWizard-compatible API (daemon-homewizard.c): start, stop or move
 * it as the configuration says (logged; 0 or a negative errno), and its part
 * of the mDNS settings. */
int daemon_apply_homewizard(struct daemon *d);
void daemon_homewizard_mdns(const struct daemon *d, struct mdns_settings *ms);

/* GET /metrics (daemon-metrics.c): the page as text (free()), NULL on OOM. */
char *daemon_metrics_text(struct daemon *d);
