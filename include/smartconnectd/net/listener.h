/* SPDX-License-Identifier: MIT */
/*
 * Listening TCP sockets for the servers (Modbus, passthrough): bind the
 * configured address or adopt the socket systemd passed, tell the port bound,
 * accept clients up to a limit and from allowed addresses only, and name peers
 * for the log. Every socket is non-blocking and close-on-exec.
 *
 * The functions that say so log their errors, naming the server with what
 * ("Modbus", "passthrough"); the others never log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/log-summary.h"

#define LISTENER_HOST_MAX 256 /* a host name or address, terminating NUL included */
#define LISTENER_ALLOW_MAX 16 /* entries in an allow list */

/* "host:port"; an IPv6 host is written in brackets, stored without. An empty
 * host means "any" to listener_bind(); a server may take it as "off". */
struct listener_address {
	char host[LISTENER_HOST_MAX];
	uint16_t port;
};

/* One allowed network: an address and a prefix length. */
struct listener_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint8_t addr[16];
};

/* Who may connect. Plain data: copy it by value. */
struct listener_allow {
	uint32_t n; /* 0: everyone */
	struct listener_cidr cidr[LISTENER_ALLOW_MAX];
};

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

/* Is the peer address allowed? IPv4-mapped IPv6 addresses count as IPv4; an
 * empty list allows everyone. Pure. */
bool listener_allowed(const struct listener_allow *a, const struct sockaddr *sa);

/* What a per-source limit counts: an IPv4 address (IPv4-mapped IPv6 ones
 * included), or an IPv6 /64, since one host commonly owns a whole /64 and
 * could otherwise take a slot per address. Plain data: compare with memcmp. */
struct listener_source {
	uint8_t family; /* AF_INET, AF_INET6, or AF_UNSPEC for anything else */
	uint8_t addr[16];
};

/* The source of a peer address. Pure. */
struct listener_source listener_source_of(const struct sockaddr *sa);
static inline bool listener_source_eq(const struct listener_source *a, const struct listener_source *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Give a listening socket's event source a lower priority than its
 * connections': a close that is already pending is then processed before the
 * next connection is judged against the limits. Returns 0 or a negative errno. */
int listener_set_priority(sd_event_source *listen_io);

/* How a server takes its clients (listener_accept()); kept by the server. */
struct listener_gate {
	const char *what;                   /* names the server in log lines: "Modbus", "passthrough" */
	unsigned max_clients;               /* refuse while this many are open; UINT_MAX: fn makes room */
	const struct listener_allow *allow; /* NULL: everyone */
	const unsigned *n_clients;          /* the server's count of open clients */
	uint64_t *refused;                  /* counts every refusal */
	/* A refusal that opens a window of its summary is logged in full, with
	 * note at its end ("further refusals are ..."); later ones are counted.
	 * denied_log may be NULL when allow is. */
	struct log_summary *full_log, *denied_log;
	const char *note;
};

/* Takes a client: fd (non-blocking, close-on-exec), its address and that as
 * "address:port". */
typedef void (*listener_client_fn)(int fd, const struct sockaddr *sa, const char *peer, void *userdata);

/*
 * Accept every connection pending on listen_fd. A peer outside g->allow, or
 * one more than g->max_clients, is refused: counted, logged as
 * "Refusing <what> client <peer>: <why>; <note>" (rate-limited by the gate's
 * summaries) and closed. Every other one goes to fn, which owns its fd.
 * Accept errors other than "nothing pending" are logged and end the round.
 */
void listener_accept(int listen_fd, const struct listener_gate *g, listener_client_fn fn, void *userdata);
