/* SPDX-License-Identifier: MIT */
/*
 * Listening TCP sockets for the servers (Modbus, passthrough): bind the
 * configured address or adopt the socket systemd passed, tell the port bound,
 * and name peers for the log. Every socket is non-blocking and close-on-exec.
 *
 * The functions that say so log their errors, naming the server with what
 * ("Modbus", "passthrough"); the others never log.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Bind host:port (a numeric address or name; NULL or "" = any) and listen.
 * Logs; returns 0 with *ret_fd set, or a negative errno. */
int listener_bind(const char *what, const char *host, uint16_t port, int backlog, int *ret_fd);

/* Make a socket from systemd non-blocking (it passes blocking ones unless
 * NonBlocking=yes; accept loops run until EAGAIN). Closes it on failure.
 * Logs; returns 0 or a negative errno. */
int listener_adopt(const char *what, int fd);

/* The local port of a bound socket; 0 if unknown. */
uint16_t listener_port(int fd);

/* "address:port" of an IPv4 or IPv6 peer ("?:0" for anything else). */
void listener_peer_name(const struct sockaddr *sa, char *buf, size_t size);
/* The same for a connected socket. */
void listener_peer_name_fd(int fd, char *buf, size_t size);
