/* SPDX-License-Identifier: MIT */
/*
 * Reachability of the default gateway and of an Internet host, probed every
 * interval from the loop, never blocking it:
 *
 *  - ICMP echo over an unprivileged ICMP datagram socket (SOCK_DGRAM,
 *    IPPROTO_ICMP / IPPROTO_ICMPV6), which Linux allows to the groups in
 *    net.ipv4.ping_group_range;
 *  - where that sysctl does not allow us, a non-blocking TCP connect: an
 *    accepted connection or a refusal (RST) both prove the host answers;
 *    a timeout or an unreachable error is a failure.
 *
 * The gateway is the default route's (/proc/net/route, IPv4) unless a host is
 * configured; host names are resolved with resolve.h. A round that cannot
 * probe (no default route, no such host) counts as a failure.
 *
 * Rounds, a name's address and a probe's answer are taken on wake-ups the loop
 * has anyway (a telegram's) where they can be: an idle daemon with a 1 Hz
 * meter wakes once a second, network checks included.
 *
 * An adapter owned by the daemon; logs changes of reachability and of method.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

struct reachability_settings {
	const char *gateway;    /* "auto": the default route's gateway; "": not probed; or a host */
	const char *internet;   /* a host; "": not probed */
	uint16_t internet_port; /* TCP port of the fallback probe for the Internet host */
	uint64_t interval_usec;
};

struct reachability_counters {
	uint64_t gw_pass, gw_fail;
	uint64_t internet_pass, internet_fail;
};

struct reachability;

/* Nothing is probed before reachability_start(). -ENOMEM or 0. */
int reachability_new(sd_event *e, struct reachability **ret);
struct reachability *reachability_free(struct reachability *n); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct reachability, reachability_free)

/* Copy the settings (strings too) and start a round now; probes in flight are
 * dropped. Returns 0 or a negative errno (timer creation; logged). */
int reachability_start(struct reachability *n, const struct reachability_settings *s);
/* Stop probing; counters are kept. */
void reachability_stop(struct reachability *n);

/* The result of the last finished probe: 1 reachable, 0 not, -1 unknown (no
 * probe finished yet, or none configured). NULL-safe. */
int reachability_gateway_reachable(const struct reachability *n);
int reachability_internet_reachable(const struct reachability *n);

/* Borrowed; counts finished probes since reachability_new(). NULL-safe: zeros. */
const struct reachability_counters *reachability_counters(const struct reachability *n);

/* "icmp" or "tcp": how the last probe was made ("" before any). */
const char *reachability_method(const struct reachability *n);
