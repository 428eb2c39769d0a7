/* SPDX-License-Identifier: MIT */
/*
 * The package update's state: what smartconnect-update (the helper the
 * oneshot units smartconnect-update.service and smartconnect-update-check.service
 * run as root) writes to <state-dir>/update-state, and what the daemon makes
 * of it together with what systemd says about those units.
 *
 * The file is a few "key=value" lines, replaced whole (rename) by the helper:
 *   state=idle|checking|downloading|installing|failed|done
 *   reason=<one line, why it failed or a remark>
 *   installed=<the package's version in dpkg's database>
 *   candidate=<the version apt would install, empty when none>
 *   time=<seconds since the epoch of the last write>
 * Unknown keys are ignored (a newer helper may add some); a bad version or
 * state makes the whole file invalid, a long or unprintable reason is cut
 * and cleaned. Pure: no I/O, never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPDATE_STATE_FILE_MAX 4096 /* bytes the daemon reads of the file */
#define UPDATE_VERSION_MAX 64      /* a Debian version, NUL included */
#define UPDATE_REASON_MAX 256      /* NUL included */

enum update_phase {
	UPDATE_PHASE_IDLE,
	UPDATE_PHASE_CHECKING,
	UPDATE_PHASE_DOWNLOADING,
	UPDATE_PHASE_INSTALLING,
	UPDATE_PHASE_FAILED,
	UPDATE_PHASE_DONE,
	_UPDATE_PHASE_MAX,
};

struct update_state {
	enum update_phase phase;
	char reason[UPDATE_REASON_MAX];
	char installed[UPDATE_VERSION_MAX]; /* "" = not known */
	char candidate[UPDATE_VERSION_MAX]; /* "" = none or not known */
	uint64_t time;                      /* 0 = never written */
};

/* What systemd says about one of the two units, as the daemon last heard. */
struct update_unit_view {
	const char *name;         /* "smartconnect-update.service" */
	bool known;               /* an answer or a signal came */
	const char *active_state; /* "active", "activating", "inactive", "failed", ... */
	const char *result;       /* the service's Result: "success", "exit-code", ... */
};

/* "idle" ... "done"; NULL out of range. */
const char *update_phase_to_string(enum update_phase p) __attribute__((const));
enum update_phase update_phase_from_string(const char *s) __attribute__((pure)); /* -1 when unknown */

/* A Debian version: 1 to 63 characters of [A-Za-z0-9.+~:-], starting with a digit. */
bool update_version_valid(const char *s) __attribute__((pure));

/* Parse the file's text (len bytes, no NUL needed). A missing file is the
 * caller's "idle": state = {}. Returns 0, or -EINVAL (*ret is then idle and
 * empty) for a malformed line, an unknown state or an invalid version. */
int update_state_parse(const char *text, size_t len, struct update_state *ret);

/* The state to show: the file's, corrected by the units. While a unit runs
 * (activating) a finished file state is shown as "checking" (the helper has
 * not written yet); a file left in a running state (checking, downloading,
 * installing) when no unit runs any more means the helper was killed or
 * crashed: "failed" with the units' result as the reason. Units not known
 * yet change nothing. */
void update_state_merge(struct update_state *st, const struct update_unit_view *units, size_t n_units);

/* A newer version is offered: a candidate that differs from the installed one. */
bool update_state_available(const struct update_state *st) __attribute__((pure));
