/* SPDX-License-Identifier: MIT */
/*
 * The root object: owns the sd-event loop, the running configuration, the
 * store and every subsystem. Start-up order is explicit in daemon_start() and
 * shutdown is the same list reversed in daemon_free().
 *
 * Signals: SIGTERM and SIGINT stop the loop (exit status 0); SIGHUP reloads
 * the config file as a transaction: parse and validate all of it, and only
 * then apply what changed; on any error the running configuration stays.
 * systemd is told READY=1 once the meter's first open attempt is done (a
 * missing meter is a state, not a failure), STATUS= in words on every change,
 * RELOADING=1/READY=1 around a reload and STOPPING=1 on the way out.
 */
#pragma once

#include "smartconnectd/config.h"
#include "smartconnectd/macro.h"

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

/* Re-read the config file and apply it (what SIGHUP does). Returns 0 when the
 * new configuration is in force, -EINVAL etc. when the old one was kept. */
int daemon_reload(struct daemon *d);
