/* SPDX-License-Identifier: MIT */
/*
 * The root object: owns the sd-event loop, the running configuration, the
 * store and every subsystem. Start-up order is explicit in daemon_start() and
 * shutdown is the same list reversed in daemon_free().
 *
 * Signals: SIGTERM and SIGINT stop the loop (exit status 0); SIGHUP reloads
 * the config file and overrides.json as a transaction: parse and validate
 * all of it, and only then apply what changed; on any error the running
 * configuration stays.
 * systemd is told READY=1 once the meter's first open attempt is done (a
 * missing meter is a state, not a failure), STATUS= in words on every change,
 * RELOADING=1/READY=1 around a reload and STOPPING=1 on the way out.
 */
#pragma once

#include <jansson.h>
#include <stdio.h>
#include <stddef.h>

#include "smartconnectd/core/config.h"
#include "smartconnectd/base/macro.h"

struct daemon;

/*
 * config is taken over (also on failure). config_path is re-read on SIGHUP; a
 * missing file there means built-in defaults only when path_is_default. A
 * log_level_override >= 0 (from --log-level) wins over [Daemon] LogLevel, also
 * after reloads. -ENOMEM or 0.
 */
int daemon_new(struct config *config, const char *config_path, bool path_is_default, const char *state_dir,
	       int log_level_override, struct daemon **ret);
struct daemon *daemon_free(struct daemon *d); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct daemon, daemon_free)

/* Build the loop and start every subsystem, then notify READY=1. Logs its
 * errors; returns 0 or a negative errno. */
int daemon_start(struct daemon *d);

/* Run until SIGTERM/SIGINT. Returns 0 on a clean stop or a negative errno. */
int daemon_run(struct daemon *d);

/* --make-certificate: the gateway's own HTTPS key (made once, never
 * replaced) and self-signed certificate in state_dir, made when missing and
 * renewed when due (new ones valid for days); what happened and the
 * certificate's fingerprint on stdout. --show-certificate: the fingerprint,
 * validity and names of the certificate the HTTPS listener uses. 0 or a
 * negative errno (logged). */
int daemon_make_certificate(const struct config *c, const char *state_dir, unsigned days);
int daemon_show_certificate(const struct config *c, const char *state_dir);

/* Re-read the config file and overrides.json and apply them (what SIGHUP
 * does), all or nothing. Returns 0 when the new configuration is in force,
 * -EINVAL etc. when the old one was kept. */
int daemon_reload(struct daemon *d);

/* Apply <state-dir>/overrides.json (written by the HTTP API) over the
 * configuration given to daemon_new(). Call before daemon_start(). A missing
 * file is fine; a broken one is logged (file and field) and returns -EINVAL. */
int daemon_load_overrides(struct daemon *d);

/*
 * PATCH /api/v1/config: merge body (JSON) into the configuration, validate
 * all of it, save overrides.json atomically, then apply it. Returns 0;
 * -EINVAL with *ret_error = {"error","field"} when the patch is refused; another
 * negative errno (*ret_error set) when saving failed. Nothing changes unless 0.
 */
int daemon_patch_config(struct daemon *d, const char *body, size_t len, json_t **ret_error);

/* GET /api/v1/config and /api/v1/status: new references, NULL on OOM. */
json_t *daemon_config_json(struct daemon *d);
json_t *daemon_status_json(struct daemon *d);

/* POST /api/v1/reset: reopen the meter's tty and reconnect MQTT. */
int daemon_soft_reset(struct daemon *d);

/* POST /api/v1/identify: the LED blinks every colour at 4 Hz for 10 s, then
 * shows the state again. Logs; 0 or a negative errno. */
int daemon_identify(struct daemon *d);

/* POST /api/v1/factory-reset and the button held > 10 s: remove the settings
 * made through the API (and the network profiles the daemon created), keep
 * the configuration file and the device secrets, then reload. Safe against a
 * kill at any moment (factory-reset.h). Logs; 0 or a negative errno. */
int daemon_factory_reset(struct daemon *d);

/* --csr: a signing request for the device key in the state directory (or
 * for [MQTT] KeyFile=) with CN = the serial, on out. Logs; 0 or -errno. */
int daemon_write_csr(struct daemon *d, FILE *out);

/* The last raw telegram, borrowed until the next one; -ENODATA when none. */
int daemon_last_telegram(struct daemon *d, const char **ret_text, size_t *ret_len);
