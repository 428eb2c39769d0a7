/* SPDX-License-Identifier: MIT */
/*
 * The meter's byte stream from a TCP server ([Meter] Device=tcp://HOST:PORT):
 * a P1 dongle, a ser2net port or another gateway's passthrough. It gives
 * meter.c what a tty gives (tty.h's callbacks and states): bytes as read, a
 * silence after some bytes (the setting's frame gap), OPEN while connected
 * and RETRYING while resolving, connecting or waiting to reconnect.
 *
 * The connect is non-blocking in the caller's sd-event loop; the host name
 * goes through the resolver the owner passes (net/resolve.h, so the meter
 * does not depend on net/). Any failure (no such host, refused, closed,
 * reset, nothing read for the dead limit) closes the connection and
 * reconnects after a back-off of 1 s doubling to 60 s, each wait stretched
 * by up to a quarter at random so that many gateways do not reconnect in
 * step; a connection that delivered bytes resets the back-off. TCP
 * keep-alive probes and the dead limit (the meter's stale limit) make a
 * vanished peer noticed within that limit even when no RST ever comes.
 *
 * An adapter: owns its fd and event sources. Knows nothing about frames.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/tty.h"

#define SOURCE_TCP_PREFIX "tcp://"
#define SOURCE_TCP_HOST_MAX 254

/* net/resolve.h's resolve_start() and resolve_cancel(), handed in by the daemon. */
struct resolve;
struct source_tcp_resolver {
	int (*start)(sd_event *e, const char *host, void (*cb)(int error, const char *addr, void *userdata),
		     void *userdata, struct resolve **ret);
	struct resolve *(*cancel)(struct resolve *r);
};

/* Does the device name a TCP source (starts with "tcp://")? */
bool source_tcp_is(const char *device);

/*
 * Split "tcp://HOST:PORT" or "tcp://[IPv6]:PORT": host without brackets into
 * host (SOURCE_TCP_HOST_MAX bytes), port 1..65535. -EINVAL for anything else
 * (no port, an empty host, a path, an IPv6 address without brackets). Pure.
 */
int source_tcp_parse(const char *device, char *host, uint16_t *port);

struct source_tcp;

/* Does not connect yet. cb is copied; resolver may be NULL (numeric hosts
 * only). -EINVAL for a bad device, -ENOMEM, or 0. */
int source_tcp_new(sd_event *e, const char *device, enum tty_setting setting, const struct tty_callbacks *cb,
		   void *userdata, const struct source_tcp_resolver *resolver, struct source_tcp **ret);
/* Stops first. NULL-safe, returns NULL. Not from inside one of its callbacks. */
struct source_tcp *source_tcp_free(struct source_tcp *t);
DEFINE_FREEP(struct source_tcp, source_tcp_free)

/* First connect attempt; failures are the RETRYING state. Negative errno
 * only for event-loop failures. */
int source_tcp_start(struct source_tcp *t);
void source_tcp_stop(struct source_tcp *t);

/* Only the frame gap (on_idle) depends on it: a TCP stream has no line settings. */
void source_tcp_set_setting(struct source_tcp *t, enum tty_setting setting);

/* Nothing read for this long closes the connection and reconnects; also
 * sets the keep-alive probes of the next connections. 0: 60 s. */
void source_tcp_set_dead_after(struct source_tcp *t, uint64_t usec);

enum tty_state source_tcp_get_state(const struct source_tcp *t);
/* Connections made since source_tcp_new(). */
uint64_t source_tcp_connects(const struct source_tcp *t);
