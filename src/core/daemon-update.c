/* SPDX-License-Identifier: MIT */
/*
 * The hub's side of package updates (see daemon-internal.h): the updater
 * (device/update.c) made from the configuration, GET and POST
 * /api/v1/firmware. The running version is this build's; the installed one
 * is dpkg's, as the update helper last read it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/device/update.h"

#include "daemon-internal.h"

int daemon_update_start(struct daemon *d)
{
	_cleanup_free_ char *path = NULL;
	struct update_settings us = {
		.version = PACKAGE_VERSION,
		.enabled = d->config->device_updates,
	};

	if (asprintf(&path, "%s/update-state", d->state_dir) < 0)
		return log_oom();
	us.state_path = path;
	if (update_new(d->event, &us, &d->update) < 0)
		return log_oom();
	return update_start(d->update);
}

void daemon_update_apply(struct daemon *d)
{
	if (d->update && update_set_enabled(d->update, d->config->device_updates) < 0)
		log_oom();
}

void daemon_update_free(struct daemon *d)
{
	d->update = update_free(d->update);
}

static json_t *string_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

json_t *daemon_firmware_json(struct daemon *d)
{
	struct update_state st = { .phase = UPDATE_PHASE_IDLE };

	if (d->update)
		update_read(d->update, &st);
	if (!st.installed[0])
		(void) snprintf(st.installed, sizeof(st.installed), "%s", PACKAGE_VERSION);
	return json_pack("{s:s,s:s,s:s,s:o,s:b,s:b,s:s,s:o,s:o}", "package", "smartconnectd", "version",
			 PACKAGE_VERSION, "installed", st.installed, "candidate",
			 string_or_null(st.candidate), "update_available", update_state_available(&st),
			 "updates_enabled", d->update && update_enabled(d->update), "state",
			 update_phase_to_string(st.phase), "reason", string_or_null(st.reason), "checked",
			 st.time ? json_integer((json_int_t) st.time) : json_null());
}

/* The body: empty or {} installs, {"action":"check"} only checks. */
static int request_from_body(const char *body, size_t len, enum update_request *ret)
{
	json_t *j, *a;
	int r = 0;

	*ret = UPDATE_REQUEST_INSTALL;
	if (len == 0)
		return 0;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EINVAL;
	}
	a = json_object_get(j, "action");
	if (json_object_size(j) > (a ? 1u : 0u) || (a && !json_is_string(a)))
		r = -EINVAL;
	else if (a && strcmp(json_string_value(a), "check") == 0)
		*ret = UPDATE_REQUEST_CHECK;
	else if (a && strcmp(json_string_value(a), "install") != 0)
		r = -EINVAL;
	json_decref(j);
	return r;
}

int daemon_firmware_request(struct daemon *d, const char *body, size_t len, json_t **ret)
{
	enum update_request what;
	int r;

	if (request_from_body(body, len, &what) < 0) {
		*ret = json_pack("{s:s}", "error",
				 "the body is empty, {}, {\"action\":\"install\"} or "
				 "{\"action\":\"check\"}");
		return -EINVAL;
	}
	r = d->update ? update_request(d->update, what) : -EPERM;
	if (r == -EPERM)
		*ret = json_pack("{s:s}", "error", "updates are off: [Device] Updates=no");
	else if (r == -EBUSY)
		*ret = json_pack("{s:s}", "error", "an update or a check is already running");
	else if (r < 0)
		*ret = json_pack("{s:s}", "error", "systemd cannot be asked to start the update");
	else
		*ret =
		    json_pack("{s:s,s:s}", "status", what == UPDATE_REQUEST_CHECK ? "checking" : "updating",
			      "unit", what == UPDATE_REQUEST_CHECK ? UPDATE_CHECK_UNIT : UPDATE_UNIT);
	return r;
}
