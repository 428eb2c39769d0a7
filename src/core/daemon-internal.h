/* SPDX-License-Identifier: MIT */
/*
 * The daemon object's insides, shared by daemon.c (start-up, reload,
 * shutdown) and daemon-status.c (what it tells systemd and the status API).
 * Nothing else includes this.
 */
#pragma once

#include <limits.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/core/config.h"
#include "smartconnectd/core/daemon.h"
#include "smartconnectd/meter/capacity.h"
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
	char *password_file;          /* default [HTTP] PasswordFile */
	char *ha_state_file;          /* Home Assistant discovery topics last published */
	char *https_cert, *https_key; /* the gateway's own, in the state directory */
	bool https_socket;            /* systemd passed a socket named "https" */
	sd_event_source *https_timer; /* the daily certificate check */
	uint64_t start_usec;

	sd_event *event;
	sd_event_source *sig_term, *sig_int, *sig_hup;
	sd_event_source *watchdog;
	struct store *store;
	struct meter *meter;
	struct modbus_server *modbus_server;
	struct modbus_rtu *modbus_rtu; /* NULL without [ModbusRTU] Device= */
	struct reachability *reachability;
	struct mqtt *mqtt;
	struct passthrough *passthrough;
	struct mdns *mdns; /* NULL with [mDNS] Enabled=no */
	struct httpd *httpd;
	struct daemon_device *device;    /* LED, button, identify: daemon-device.c */
	struct update *update;           /* package updates: daemon-update.c */
	uint64_t resets;                 /* soft resets since start (API and button) */
	struct network_manager *network; /* NULL unless [Network] Manage=networkmanager */
	struct config *net_before;       /* network keys before a safe apply awaiting confirmation */
	bool net_safe;                   /* the apply at hand comes from the API: with a checkpoint */
	bool net_reverting;              /* putting net_before back: no checks, no checkpoint */
	bool net_forget;                 /* a factory reset before the start: delete our profiles */
	struct homewizard *homewizard;   /* NULL until [HomeWizard] Enabled=yes */
	struct systemd_fds fds;          /* sockets from systemd not yet handed over */
	char serial[CONFIG_TOKEN_MAX];
	char device_cert[PATH_MAX], device_key[PATH_MAX]; /* daemon-identity.c */

	unsigned live_watch;             /* the store watch of daemon-live.c */
	sd_event_source *live_net_timer; /* network changes, for live streams */
	json_t *live_network;            /* the network part of the last live status */
	char live_meter_id[READING_ID_MAX],
	    live_meter_version[READING_VERSION_MAX]; /* of the last snapshot */

	struct history *history;        /* daemon-history.c; NULL before the start */
	struct capacity capacity;       /* the capacity tariff's figures */
	char *history_path;             /* <state-dir>/history */
	char *capacity_path;            /* <state-dir>/capacity */
	unsigned history_watch;         /* its store watch */
	sd_event_source *history_timer; /* [History] SaveInterval */
	sd_event_source *history_child; /* the save process running, or NULL */

	bool ready; /* READY=1 sent: STATUS updates may follow */
	char status[STATUS_MAX];
};

/* Send STATUS= when the line changed, or always when extra (e.g. "READY=1\n",
 * sent before it) is given. Logs failures at debug level only. */
void daemon_status_send(struct daemon *d, const char *extra);
/* The meter's part of the status, copied out of the meter (daemon-status.c). */
struct status_meter_report;
struct snapshot;
void daemon_meter_report(const struct daemon *d, const struct snapshot *snap, uint64_t now,
			 struct status_meter_report *r);
/* The status object as text into buf (daemon-status-text.c): its length, or
 * -ENOBUFS when it does not fit. */
int daemon_status_text(struct daemon *d, char *buf, size_t size);

/* daemon-device.c: the LED, the button, identify and the factory reset. */
/* After the loop exists: the LED shows "starting", the button is opened, the
 * network is checked every 2 s. Logs; 0 or a negative errno. */
int daemon_device_start(struct daemon *d);
/* After READY=1: "initialising" until the first telegram, at most 10 s. */
void daemon_device_ready(struct daemon *d);
/* A state changed (meter, MQTT): show the LED's pattern if it changed. */
void daemon_device_update(struct daemon *d);
/* [Indicator] or [Button] changed: set them up again. */
void daemon_device_apply(struct daemon *d);
/* Turns the LED off and frees it all; NULL-safe on d->device. */
void daemon_device_free(struct daemon *d);
/* The LED's pattern in words, for the status. ni: the network as the status
 * just read it (without a wired LED the pattern depends on it), NULL to read it. */
struct netinfo;
const char *daemon_device_pattern(const struct daemon *d, const struct netinfo *ni);
/* Before the overrides are read: finish a factory reset a kill interrupted. */
void daemon_factory_reset_recover(struct daemon *d);
/* daemon-identity.c: [MQTT] CertFile=/KeyFile=, or the device's certificate
 * and key in the state directory when both are empty and the certificate is
 * there (the strings live in d). */
void daemon_device_tls_files(struct daemon *d, const struct config *c, const char **ret_cert,
			     const char **ret_key);

/* daemon-mqtt-commands.c: carries out a remote command (mqtt_command_fn). */
json_t *daemon_mqtt_command(struct mqtt *m, const struct mqtt_command *c, void *userdata);

/* struct httpd_ops entries. */
int daemon_on_http_identify(void *userdata);
int daemon_on_http_factory_reset(void *userdata);

/* daemon-update.c: package updates through systemd's units. Start logs its
 * trouble and returns -ENOMEM only; apply follows [Device] Updates=. */
int daemon_update_start(struct daemon *d);
void daemon_update_apply(struct daemon *d);
void daemon_update_free(struct daemon *d);
/* GET /api/v1/firmware; POST: 0 (*ret the answer), -EINVAL (a bad body),
 * -EPERM (updates off), -EBUSY (one runs), another negative errno (no bus);
 * *ret is set in every case. */
json_t *daemon_firmware_json(struct daemon *d);
int daemon_firmware_request(struct daemon *d, const char *body, size_t len, json_t **ret);

/* daemon-network.c: the gateway's own network. Start and stop log their
 * trouble; start returns -ENOMEM only. */
int daemon_network_start(struct daemon *d);
void daemon_network_stop(struct daemon *d);
/* After a new configuration is in force; old is the one before. */
void daemon_network_apply(struct daemon *d, const struct config *old, unsigned changed);
/* Before an API change is saved: -EPERM (network keys while not managed,
 * file-only keys) or -EBUSY (a change awaits confirmation), *ret_error set. */
int daemon_network_check_patch(struct daemon *d, const struct config *next, json_t **ret_error);
/* POST /api/v1/network/<action>: 0 (*ret the answer), -EPERM or -EBUSY
 * (*ret the error), -ENOENT (no such action), another negative errno. */
int daemon_network_request(struct daemon *d, const char *action, json_t **ret);
/* Adds "manager" to the status's network object. */
void daemon_network_status(struct daemon *d, json_t *network, uint64_t now);

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

/* daemon-modbus-rtu.c: start, reconfigure or stop the Modbus RTU server as
 * [ModbusRTU] says (logs; 0 or a negative errno), and stop it for good. */
int daemon_apply_modbus_rtu(struct daemon *d);
void daemon_stop_modbus_rtu(struct daemon *d);
/* The status's "modbus_rtu" object; NULL on OOM. The report is what it shows. */
struct status_rtu_report;
void daemon_modbus_rtu_report(const struct daemon *d, struct status_rtu_report *r);
json_t *daemon_modbus_rtu_status(const struct daemon *d);

/* daemon-http.c: the HTTP API's settings and start (logs; 0 or a negative errno). */
struct httpd_settings daemon_httpd_settings(const struct daemon *d, const struct config *c);
int daemon_start_httpd(struct daemon *d);

/* daemon-https.c: the own certificate's paths (0 or -ENOMEM); whether the
 * HTTPS listener uses it under c; its check (made when missing, renewed when
 * due; logged), true when it changed; the daily check. */
int daemon_https_init(struct daemon *d);
bool daemon_https_own_cert(const struct daemon *d, const struct config *c);
bool daemon_https_check(struct daemon *d, const struct config *c);
int daemon_https_start_timer(struct daemon *d);
/* daemon-history.c: the history and the capacity tariff. Start restores the
 * saved history and capacity state (a refused file is logged, that part
 * starts empty) and
 * watches the store: 0 or a negative errno (logged). Stop saves (clean
 * shutdown) and frees; safe on a half-started daemon. */
int daemon_history_start(struct daemon *d);
void daemon_history_stop(struct daemon *d);
/* Save both now: 0 or the first negative errno (logged). */
int daemon_history_save(struct daemon *d);
/* [History] or the meter's UTC offset changed. */
void daemon_history_apply(struct daemon *d);
/* struct httpd_ops entry and the status's "capacity". */
struct capacity_view;
const struct history *daemon_on_http_history(void *userdata, struct capacity_view *ret_capacity);
json_t *daemon_history_capacity_json(struct daemon *d);
struct jbuf;
void daemon_history_capacity_text(struct daemon *d, struct jbuf *j);
