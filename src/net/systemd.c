/* SPDX-License-Identifier: MIT */
/*
 * Socket activation and the watchdog (see systemd.h). Without systemd,
 * LISTEN_FDS and WATCHDOG_USEC are unset: every subsystem binds its configured
 * address itself and nothing pings.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/net/systemd.h"

/* A ping may come this much early: sd-event then sends it on the next wake
 * of the loop (a 1 Hz telegram's) instead of waking for it, 3.75 s with the
 * unit's WatchdogSec=30s. */
#define WATCHDOG_SLACK_USEC(period) ((period) / 4)

int systemd_listen_fds(struct systemd_fds *ret)
{
	char **names = NULL;
	int n, taken = 0;

	*ret = (struct systemd_fds){ -1, -1, -1, -1 };
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0)
		return log_error_errno(n, "Cannot take the sockets from systemd: %m");

	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i, *slot = NULL;
		const char *name = names && names[i] ? names[i] : "unknown";

		if (strcmp(name, "modbus") == 0)
			slot = &ret->modbus;
		else if (strcmp(name, "http") == 0)
			slot = &ret->http;
		else if (strcmp(name, "https") == 0)
			slot = &ret->https;
		else if (strcmp(name, "passthrough") == 0)
			slot = &ret->passthrough;

		if (!slot || *slot >= 0) {
			log_warning(
			    "Ignoring socket %d named '%s' from systemd: expected one each of modbus, http, "
			    "https and passthrough",
			    fd, name);
			close(fd);
			continue;
		}
		*slot = fd;
		taken++;
		log_debug("Socket %d from systemd is '%s'", fd, name);
	}
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	return taken;
}

void systemd_close_fds(struct systemd_fds *fds)
{
	int *all[] = { &fds->modbus, &fds->http, &fds->https, &fds->passthrough };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i] >= 0) {
			close(*all[i]);
			*all[i] = -1;
		}
}

static int systemd_on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	uint64_t period = *(const uint64_t *) userdata;
	int r;

	(void) sd_notify(0, "WATCHDOG=1");
	/* Fires within [period - slack, period] after this one: usually on the
	 * wake a telegram causes anyway, never later than WATCHDOG_USEC/2. */
	r = sd_event_source_set_time(s, usec + period - WATCHDOG_SLACK_USEC(period));
	if (r < 0)
		return log_error_errno(r, "Failed to re-arm the watchdog timer, pings stop: %m");
	return 0;
}

int systemd_watchdog_start(sd_event *e, sd_event_source **ret)
{
	_cleanup_(sd_event_source_disable_unrefp) sd_event_source *s = NULL;
	_cleanup_free_ uint64_t *period = NULL; /* the source's userdata, freed with it */
	uint64_t usec, now;
	int r;

	*ret = NULL;
	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		return log_warning_errno(r, "Ignoring the watchdog settings from systemd: %m");
	if (r == 0)
		return 0;

	period = malloc(sizeof(*period));
	if (!period)
		return log_oom();
	*period = usec / 2;
	r = sd_event_now(e, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return log_error_errno(r, "Failed to read the clock: %m");
	r = sd_event_add_time(e, &s, CLOCK_MONOTONIC, now, WATCHDOG_SLACK_USEC(*period), systemd_on_watchdog,
			      period);
	if (r < 0)
		return log_error_errno(r, "Failed to start the watchdog: %m");
	r = sd_event_source_set_destroy_callback(s, free);
	if (r >= 0) {
		period = NULL;
		r = sd_event_source_set_enabled(s, SD_EVENT_ON);
	}
	if (r < 0)
		return log_error_errno(r, "Failed to start the watchdog: %m");
	log_debug("Watchdog: WATCHDOG=1 every %llu ms", (unsigned long long) (usec / 2 / 1000));
	*ret = TAKE_PTR(s);
	return 0;
}
