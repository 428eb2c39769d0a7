/* SPDX-License-Identifier: MIT */
/*
 * systemd glue that is not the loop's: the listening sockets systemd hands
 * over by name (socket activation, FileDescriptorName=modbus / http / https /
 * passthrough), so the unprivileged daemon can serve ports 502, 80 and 443.
 *
 * Also the watchdog: WATCHDOG=1 from a timer in the event loop, so a loop
 * that stops turning stops the pings and systemd restarts the service.
 *
 * Logs what it drops; talks to libsystemd only.
 */
#pragma once

#include <systemd/sd-event.h>

/* Sockets handed over by systemd; -1 where none was given. */
struct systemd_fds {
	int modbus;
	int http;
	int https;
	int passthrough;
};

/* Take the sockets passed with LISTEN_FDS/LISTEN_FDNAMES (and unset those
 * variables). Sockets with other names are closed with a warning. Returns the
 * number of sockets taken, or a negative errno (logged). */
int systemd_listen_fds(struct systemd_fds *ret);

/* Close whatever was not handed to a subsystem. */
void systemd_close_fds(struct systemd_fds *fds);

/* With WATCHDOG_USEC set (and WATCHDOG_PID unset or ours), send WATCHDOG=1 now
 * and then from the loop, between 3/8 and 1/2 of WATCHDOG_USEC apart (sd-event's
 * own watchdog lets up to 3/4 pass): the slack lets a ping ride on a wake the
 * loop has anyway. *ret stays NULL without a watchdog.
 * Returns 0, or a negative errno (logged). */
int systemd_watchdog_start(sd_event *e, sd_event_source **ret);
