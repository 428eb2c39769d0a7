/* SPDX-License-Identifier: MIT */
/*
 * Package updates through systemd. The daemon stays unprivileged: it asks
 * systemd over the system bus (StartUnit, asynchronous) to start one of two
 * oneshot units shipped with the package, which run the helper
 * smartconnect-update as root:
 *   smartconnect-update-check.service  apt-get update, then the candidate
 *   smartconnect-update.service        the same, then download and install
 *                                      this one package (--only-upgrade)
 * The polkit rule lets the smartconnect user start these two and nothing
 * else. The helper writes its progress to <state-dir>/update-state
 * (update-state.h); the units run outside the daemon's cgroup, so the
 * daemon's restart by the package's own upgrade does not stop them, and the
 * restarted daemon reads the file and the units' state again.
 *
 * The units' ActiveState and Result come from PropertiesChanged (after the
 * manager's Subscribe) and one Get of each at start and after each StartUnit;
 * a StartUnit refused (polkit, no such unit, no bus) is kept as a failure of
 * this process until the next request. A check runs at start when the last
 * one is older than a day or saw another installed version, then daily.
 *
 * An adapter owned by the daemon.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/device/update-state.h"

#define UPDATE_UNIT "smartconnect-update.service"
#define UPDATE_CHECK_UNIT "smartconnect-update-check.service"

struct update_settings {
	const char *state_path; /* <state-dir>/update-state, copied */
	const char *version;    /* the running build's version, borrowed for the object's life */
	bool enabled;           /* [Device] Updates= */
};

enum update_request {
	UPDATE_REQUEST_CHECK,   /* smartconnect-update-check.service */
	UPDATE_REQUEST_INSTALL, /* smartconnect-update.service */
};

struct update;

/* -ENOMEM or 0. Nothing is connected before update_start(). */
int update_new(sd_event *e, const struct update_settings *s, struct update **ret);
struct update *update_free(struct update *u); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct update, update_free)

/* With updates enabled: connect to the system bus, watch the units, start
 * the first check when due. Trouble is logged and shown as failed; 0 or -ENOMEM. */
int update_start(struct update *u);
/* [Device] Updates= changed: start or stop watching. */
int update_set_enabled(struct update *u, bool enabled);

/* Start a unit: 0 (asked; the outcome shows in update_read()), -EPERM
 * (updates disabled), -EBUSY (one runs), or the errno of the bus (also
 * kept as the failure the state shows). */
int update_request(struct update *u, enum update_request what);

/* The state to show now: the file (read here, small and local), merged with
 * the units' state and this process's own failure. */
void update_read(struct update *u, struct update_state *ret);
bool update_enabled(const struct update *u) __attribute__((pure));
