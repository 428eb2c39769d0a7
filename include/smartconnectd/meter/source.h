/* SPDX-License-Identifier: MIT */
/*
 * Where the meter's bytes come from: a serial line (tty.h) for a device path,
 * a TCP connection (source-tcp.h) for "tcp://HOST:PORT". Both report through
 * tty.h's callbacks and states, so meter.c reads either the same way; a new
 * device of the other kind replaces the one in use.
 *
 * An adapter owned by the meter.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/source-tcp.h"
#include "smartconnectd/meter/tty.h"

struct source;

/* Nothing opened yet. cb is copied; resolver (may be NULL) is borrowed and
 * must outlive the source. -EINVAL (a bad tcp:// device), -ENOMEM or 0. */
int source_new(sd_event *e, const char *device, enum tty_setting setting, const struct tty_callbacks *cb,
	       void *userdata, const struct source_tcp_resolver *resolver, struct source **ret);
/* NULL-safe, returns NULL. Not from inside one of its callbacks. */
struct source *source_free(struct source *s);
DEFINE_FREEP(struct source, source_free)

/* As tty_start() and tty_stop(). */
int source_start(struct source *s);
void source_stop(struct source *s);

/* The serial setting (a TCP stream takes only its frame gap). As tty_set_setting(). */
int source_set_setting(struct source *s, enum tty_setting setting);

/* Another device, of either kind: closed and opened again at once when
 * started. -EINVAL, -ENOMEM or 0. */
int source_set_path(struct source *s, const char *device);

/* The longest silence a TCP source waits before reconnecting (the meter's
 * stale limit); a tty ignores it. */
void source_set_dead_after(struct source *s, uint64_t usec);

enum tty_state source_get_state(const struct source *s);

/* A byte stream without line settings (TCP): nothing to cycle through. */
bool source_is_stream(const struct source *s);
