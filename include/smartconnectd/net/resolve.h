/* SPDX-License-Identifier: MIT */
/*
 * Host names to addresses without blocking the loop. glibc's getaddrinfo()
 * blocks for as long as DNS takes (seconds with a dead server), so each query
 * runs on a short-lived detached thread whose only job is that one call; the
 * answer comes back through an eventfd the loop watches. The thread touches
 * nothing but its own request, which it shares with the loop by a reference
 * count: cancelling (or freeing the owner) never waits for DNS, a late answer
 * is simply dropped. Numeric addresses are answered at once, without a thread.
 *
 * An adapter in the sd-event loop; logs nothing (callers do).
 */
#pragma once

#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#define RESOLVE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */

struct resolve;

/* error is 0 with the first address as numeric text ("192.0.2.1", "2001:db8::1"),
 * or a negative errno: -ENOENT no such host, -EAGAIN temporary failure, other
 * errnos. The query is finished: do not cancel it from the callback. */
typedef void (*resolve_fn)(int error, const char *addr, void *userdata);

/*
 * Start resolving host (TCP, any family, IPv4 preferred when both exist).
 * The callback runs from the loop, never from inside this call. *ret is owned
 * by the caller until the callback ran; cancel it before then with
 * resolve_cancel(). Returns 0, -ENOMEM, or an errno from thread or eventfd
 * creation.
 */
int resolve_start(sd_event *e, const char *host, resolve_fn cb, void *userdata, struct resolve **ret);

/* Drop a query in flight: the callback will not run. NULL-safe, returns NULL.
 * Must not be called after the callback ran. */
struct resolve *resolve_cancel(struct resolve *r);

/* Whether the loop watches for the answer (it does from resolve_start()).
 * Unwatched, an answer waits and the callback runs on the first pass after
 * it is watched again: a caller in no hurry saves the wake-up it would cost.
 * Returns 0 or a negative errno. */
int resolve_set_watched(struct resolve *r, bool on);

/* True when host is an IPv4 or IPv6 literal. */
bool resolve_is_numeric(const char *host);
