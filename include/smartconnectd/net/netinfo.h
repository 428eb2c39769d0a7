/* SPDX-License-Identifier: MIT */
/*
 * What the kernel says about the network: the interface of the IPv4 default
 * route, its link state, its IPv4 address and the gateway. Read on demand
 * (the status endpoint), from /proc/net/route, /sys/class/net and
 * getifaddrs(); no state is kept.
 *
 * Never logs. Reading a few small /proc and /sys files does not block.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>

enum netinfo_link {
	NETINFO_LINK_UNKNOWN,
	NETINFO_LINK_UP,
	NETINFO_LINK_DOWN,
	_NETINFO_LINK_MAX,
};

struct netinfo {
	char interface[IF_NAMESIZE]; /* "" when there is no default route */
	enum netinfo_link link;
	char address[16]; /* dotted IPv4 of the interface, "" when none */
	char gateway[16]; /* "" when none */
};

/* Fill *ret (always: unknown parts stay empty). Returns 0 or a negative errno
 * when /proc/net/route cannot be read. */
int netinfo_read(struct netinfo *ret);

/* The default route in the text of /proc/net/route: interface and gateway.
 * Pure; the unit test and netinfo_read() use it. Returns 0 or -ENOENT. */
int netinfo_parse_route(const char *text, char ifname[IF_NAMESIZE], char gateway[16]);

/* The same, read from fd (/proc/net/route) in turns of a 2 KiB buffer, so
 * any number of routes is read with a shallow stack. 0 or -ENOENT. */
int netinfo_read_route(int fd, char ifname[IF_NAMESIZE], char gateway[16]);

/* NULL for a value out of range. */
const char *netinfo_link_to_string(enum netinfo_link l) __attribute__((const));
