/* SPDX-License-Identifier: MIT */
/* Package updates through systemd's oneshot units (update.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/device/update.h"

#define SD_BUS_NAME "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define CHECK_EVERY_USEC (24 * 3600 * UINT64_C(1000000))
#define CHECK_EVERY_SEC (24 * 3600)

enum { UNIT_INSTALL, UNIT_CHECK, _UNIT_MAX };

struct update;

struct update_unit {
	struct update *owner;
	const char *name;
	char *path; /* its object path */
	bool known;
	char active_state[32];
	char result[32];
	sd_bus_slot *match, *get_active, *get_result, *start;
};

struct update {
	sd_event *event;
	sd_bus *bus; /* NULL while disabled or unreachable */
	char *state_path;
	const char *version;
	bool enabled;
	char failure[UPDATE_REASON_MAX]; /* a request this process could not make */
	struct update_unit units[_UNIT_MAX];
	sd_event_source *check_timer;
};

static void unit_reset(struct update_unit *un)
{
	un->match = sd_bus_slot_unref(un->match);
	un->get_active = sd_bus_slot_unref(un->get_active);
	un->get_result = sd_bus_slot_unref(un->get_result);
	un->start = sd_bus_slot_unref(un->start);
	un->known = false;
	un->active_state[0] = un->result[0] = '\0';
}

static void update_disconnect(struct update *u)
{
	for (size_t i = 0; i < _UNIT_MAX; i++)
		unit_reset(&u->units[i]);
	u->bus = sd_bus_flush_close_unref(u->bus);
	u->check_timer = sd_event_source_disable_unref(u->check_timer);
}

struct update *update_free(struct update *u)
{
	if (!u)
		return NULL;
	update_disconnect(u);
	for (size_t i = 0; i < _UNIT_MAX; i++)
		free(u->units[i].path);
	free(u->state_path);
	sd_event_unref(u->event);
	free(u);
	return NULL;
}

int update_new(sd_event *e, const struct update_settings *s, struct update **ret)
{
	_cleanup_(update_freep) struct update *u = calloc(1, sizeof(*u));
	static const char *const names[_UNIT_MAX] = { UPDATE_UNIT, UPDATE_CHECK_UNIT };

	if (!u)
		return -ENOMEM;
	u->event = sd_event_ref(e);
	u->version = s->version;
	u->enabled = s->enabled;
	u->state_path = strdup(s->state_path);
	if (!u->state_path)
		return -ENOMEM;
	for (size_t i = 0; i < _UNIT_MAX; i++) {
		u->units[i].owner = u;
		u->units[i].name = names[i];
		if (sd_bus_path_encode(SD_PATH "/unit", names[i], &u->units[i].path) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(u);
	return 0;
}

static void set_failure(struct update *u, const char *what, const char *why)
{
	(void) snprintf(u->failure, sizeof(u->failure), "%s: %s", what, why);
	log_warning("Update: %s", u->failure);
}

/* ---- the units' state ------------------------------------------------------------------------- */

static int on_property(sd_bus_message *m, void *userdata, sd_bus_error *ret_error, char *dst, size_t size)
{
	struct update_unit *un = userdata;
	const char *v;

	(void) ret_error;
	if (sd_bus_message_is_method_error(m, NULL)) {
		const sd_bus_error *e = sd_bus_message_get_error(m);

		log_debug("Update: no state of %s: %s", un->name, e->message ?: e->name);
		return 0;
	}
	if (sd_bus_message_read(m, "v", "s", &v) < 0)
		return 0;
	(void) snprintf(dst, size, "%s", v);
	/* Known once both came: Result always follows ActiveState. */
	un->known = un->known || dst == un->result;
	return 0;
}

static int on_active_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct update_unit *un = userdata;

	un->get_active = sd_bus_slot_unref(un->get_active);
	return on_property(m, un, ret_error, un->active_state, sizeof(un->active_state));
}

static int on_result(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct update_unit *un = userdata;

	un->get_result = sd_bus_slot_unref(un->get_result);
	return on_property(m, un, ret_error, un->result, sizeof(un->result));
}

/* Asked in this order on one connection, so the answers come in this order. */
static int unit_refresh(sd_bus *bus, struct update_unit *un)
{
	int r;

	un->get_active = sd_bus_slot_unref(un->get_active);
	un->get_result = sd_bus_slot_unref(un->get_result);
	r = sd_bus_call_method_async(bus, &un->get_active, SD_BUS_NAME, un->path,
				     "org.freedesktop.DBus.Properties", "Get", on_active_state, un, "ss",
				     "org.freedesktop.systemd1.Unit", "ActiveState");
	if (r < 0)
		return r;
	return sd_bus_call_method_async(bus, &un->get_result, SD_BUS_NAME, un->path,
					"org.freedesktop.DBus.Properties", "Get", on_result, un, "ss",
					"org.freedesktop.systemd1.Service", "Result");
}

static int on_unit_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct update_unit *un = userdata;
	int r;

	(void) ret_error;
	r = unit_refresh(sd_bus_message_get_bus(m), un);
	if (r < 0)
		log_debug_errno(r, "Update: cannot ask for the state of %s: %m", un->name);
	return 0;
}

static bool unit_running(const struct update_unit *un)
{
	return un->start || (un->known && (strcmp(un->active_state, "activating") == 0 ||
					   strcmp(un->active_state, "active") == 0 ||
					   strcmp(un->active_state, "deactivating") == 0));
}

static int connect_bus(struct update *u);

/* ---- requests --------------------------------------------------------------------------------- */

static int on_started(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct update_unit *un = userdata;
	struct update *u = un->owner;
	int r;

	(void) ret_error;
	un->start = sd_bus_slot_unref(un->start);
	if (sd_bus_message_is_method_error(m, NULL)) {
		const sd_bus_error *e = sd_bus_message_get_error(m);

		set_failure(u, un->name, e->message ?: e->name);
		return 0;
	}
	log_info("Update: %s started", un->name);
	r = unit_refresh(u->bus, un);
	if (r < 0)
		log_debug_errno(r, "Update: cannot ask for the state of %s: %m", un->name);
	return 0;
}

int update_request(struct update *u, enum update_request what)
{
	struct update_unit *un = &u->units[what == UPDATE_REQUEST_INSTALL ? UNIT_INSTALL : UNIT_CHECK];
	int r;

	if (!u->enabled)
		return -EPERM;
	for (size_t i = 0; i < _UNIT_MAX; i++)
		if (unit_running(&u->units[i]))
			return -EBUSY;
	u->failure[0] = '\0';
	r = connect_bus(u); /* the bus may have come up since the start */
	if (r < 0) {
		set_failure(u, un->name, "the system bus cannot be reached");
		return r;
	}
	r = sd_bus_call_method_async(u->bus, &un->start, SD_BUS_NAME, SD_PATH, SD_MANAGER, "StartUnit",
				     on_started, un, "ss", un->name, "replace");
	if (r < 0) {
		set_failure(u, un->name, strerror(-r));
		return r;
	}
	log_info("Update: asking systemd to start %s", un->name);
	return 0;
}

/* ---- reading the state ------------------------------------------------------------------------ */

static void read_file(const struct update *u, struct update_state *st)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	*st = (struct update_state){ .phase = UPDATE_PHASE_IDLE };
	r = file_read_regular(u->state_path, UPDATE_STATE_FILE_MAX, &text, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_debug("Update: '%s': %s", u->state_path, file_error_to_string(r));
		return;
	}
	if (update_state_parse(text, len, st) < 0)
		log_debug("Update: '%s' is not a state file, ignored", u->state_path);
}

void update_read(struct update *u, struct update_state *ret)
{
	struct update_unit_view views[_UNIT_MAX];

	read_file(u, ret);
	if (!ret->installed[0] && update_version_valid(u->version))
		(void) snprintf(ret->installed, sizeof(ret->installed), "%s", u->version);
	for (size_t i = 0; i < _UNIT_MAX; i++)
		views[i] = (struct update_unit_view){
			.name = u->units[i].name,
			.known = u->units[i].known,
			.active_state = u->units[i].active_state,
			.result = u->units[i].result,
		};
	if (u->bus)
		update_state_merge(ret, views, _UNIT_MAX);
	if (u->failure[0] && !unit_running(&u->units[UNIT_INSTALL]) && !unit_running(&u->units[UNIT_CHECK])) {
		ret->phase = UPDATE_PHASE_FAILED;
		(void) snprintf(ret->reason, sizeof(ret->reason), "%s", u->failure);
	}
}

bool update_enabled(const struct update *u)
{
	return u->enabled;
}

/* ---- start, the daily check ------------------------------------------------------------------- */

static bool check_due(const struct update *u)
{
	struct update_state st;
	struct timespec now;

	read_file(u, &st);
	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return true;
	return st.time == 0 || (uint64_t) now.tv_sec >= st.time + CHECK_EVERY_SEC ||
	       (uint64_t) now.tv_sec < st.time || strcmp(st.installed, u->version) != 0;
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct update *u = userdata;
	int r;

	r = update_request(u, UPDATE_REQUEST_CHECK);
	if (r < 0 && r != -EBUSY)
		log_debug_errno(r, "Update: the daily check did not start: %m");
	r = sd_event_source_set_time(s, usec + CHECK_EVERY_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ON);
	if (r < 0)
		log_warning_errno(r, "Update: cannot re-arm the daily check, ignoring: %m");
	return 0;
}

static int watch_units(struct update *u)
{
	int r;

	/* Without a subscriber systemd sends no PropertiesChanged for units. */
	r = sd_bus_call_method_async(u->bus, NULL, SD_BUS_NAME, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL,
				     "");
	for (size_t i = 0; r >= 0 && i < _UNIT_MAX; i++) {
		struct update_unit *un = &u->units[i];

		r = sd_bus_match_signal_async(u->bus, &un->match, SD_BUS_NAME, un->path,
					      "org.freedesktop.DBus.Properties", "PropertiesChanged",
					      on_unit_changed, NULL, un);
		if (r >= 0)
			r = unit_refresh(u->bus, un);
	}
	return r;
}

/* Connected, or -errno with nothing of the attempt left. */
static int connect_bus(struct update *u)
{
	int r;

	if (u->bus)
		return 0;
	r = sd_bus_open_system(&u->bus);
	if (r >= 0) {
		/* A service has nobody to type a password: polkit says yes or no. */
		(void) sd_bus_set_allow_interactive_authorization(u->bus, false);
		r = sd_bus_attach_event(u->bus, u->event, 0);
	}
	if (r >= 0)
		r = watch_units(u);
	if (r < 0) {
		for (size_t i = 0; i < _UNIT_MAX; i++)
			unit_reset(&u->units[i]);
		u->bus = sd_bus_flush_close_unref(u->bus);
	}
	return r;
}

int update_start(struct update *u)
{
	uint64_t now;
	int r;

	if (!u->enabled || u->bus)
		return 0;
	r = connect_bus(u);
	if (r < 0) {
		/* Not a warning: a daemon run outside the package on a machine without a bus. */
		(void) snprintf(u->failure, sizeof(u->failure), "systemd: the system bus cannot be reached");
		log_info_errno(r, "Update: no system bus, no package updates: %m");
		return 0;
	}
	if (sd_event_now(u->event, CLOCK_MONOTONIC, &now) < 0)
		return 0;
	r = sd_event_add_time(u->event, &u->check_timer, CLOCK_MONOTONIC,
			      check_due(u) ? now : now + CHECK_EVERY_USEC, 0, on_check_timer, u);
	if (r < 0)
		return log_oom();
	return 0;
}

int update_set_enabled(struct update *u, bool enabled)
{
	if (enabled == u->enabled)
		return 0;
	u->enabled = enabled;
	u->failure[0] = '\0';
	if (!enabled) {
		update_disconnect(u);
		return 0;
	}
	return update_start(u);
}
