/* SPDX-License-Identifier: MIT */
/*
 * avahi-client on the daemon's loop: an AvahiPoll (avahi-common/watch.h) whose
 * watches are sd-event io sources and whose timeouts are CLOCK_REALTIME timers
 * (avahi passes absolute wall-clock times). No thread, no second loop.
 *
 * Each watch watches its own dup() of the fd: libdbus asks for two watches on
 * one socket (read and write) and epoll takes an fd only once. Watches and
 * timeouts may be freed or updated from inside their own callbacks, as
 * watch.h allows.
 *
 * The prefix is sdevent_avahi_ because avahi owns avahi_*. Never logs.
 */
#pragma once

#include <avahi-common/watch.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

struct sdevent_avahi_poll;

/* The loop is referenced until the poll is freed. -ENOMEM or 0. */
int sdevent_avahi_poll_new(sd_event *e, struct sdevent_avahi_poll **ret);

/* Free the poll after every avahi object that uses it (avahi_client_free()
 * first). NULL-safe, returns NULL. */
struct sdevent_avahi_poll *sdevent_avahi_poll_free(struct sdevent_avahi_poll *p);
DEFINE_FREEP(struct sdevent_avahi_poll, sdevent_avahi_poll_free)

/* The vtable to hand to avahi_client_new(); valid as long as p. */
const AvahiPoll *sdevent_avahi_poll_get(struct sdevent_avahi_poll *p);
