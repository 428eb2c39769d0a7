/* SPDX-License-Identifier: MIT */
/*
 * systemd glue that is not the loop's: the listening sockets systemd hands
 * over by name (socket activation, FileDescriptorName=modbus / http /
 * passthrough), so the unprivileged daemon can serve ports 502 and 80.
 *
 * Logs what it drops; talks to libsystemd only.
 */
#pragma once

/* Sockets handed over by systemd; -1 where none was given. */
struct sdglue_fds {
	int modbus;
	int http;
	int passthrough;
};

/* Take the sockets passed with LISTEN_FDS/LISTEN_FDNAMES (and unset those
 * variables). Sockets with other names are closed with a warning. Returns the
 * number of sockets taken, or a negative errno (logged). */
int sdglue_listen_fds(struct sdglue_fds *ret);

/* Close whatever was not handed to a subsystem. */
void sdglue_close_fds(struct sdglue_fds *fds);
