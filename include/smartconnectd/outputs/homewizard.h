/* SPDX-License-Identifier: MIT */
/*
 * The HomeWizard-compatible local API (v1), opt-in: GET /api, /api/v1/data
 * and /api/v1/telegram on its own port, read-only and without
 * authentication (as the original), from the store's current snapshot. Who
 * may connect is limited by an allow list checked when a connection is
 * accepted; others are closed at once, unanswered.
 *
 * A second libmicrohttpd instance on the daemon's loop (its epoll fd as an
 * io source, its timeout a timer), as the main API: the HTTP parsing, limits
 * and timeouts are MHD's, already linked and run the same way, and nothing of
 * the main API's authentication or routes leaks into this one.
 *
 * Log lines tests rely on:
 *   "HomeWizard-compatible API on port <N>"
 *
 * An adapter owned by the daemon; talks to libmicrohttpd.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/net/listener.h"

#define HOMEWIZARD_MAX_CONNECTIONS 16
#define HOMEWIZARD_TIMEOUT_SEC 10

struct homewizard_settings {
	bool enabled;
	const char *host; /* numeric listen address, "" = any */
	uint16_t port;
	struct listener_allow allow; /* empty: anyone who reaches the port */
	const char *serial;          /* GET /api "serial" */
	const char *version;         /* GET /api "firmware_version" */
};

struct homewizard;

/* store is borrowed and must outlive the server. -ENOMEM or 0. */
int homewizard_new(sd_event *e, struct store *store, struct homewizard **ret);
struct homewizard *homewizard_free(struct homewizard *h); /* NULL-safe, returns NULL */
DEFINE_FREEP(struct homewizard, homewizard_free)

/* Start, stop or move the server as s says (copied). The allow list, serial
 * and version apply without a new listener. Trouble (port taken) is logged
 * and leaves the server off: 0 or a negative errno. */
int homewizard_apply(struct homewizard *h, const struct homewizard_settings *s);

/* The port served; 0 when off. NULL-safe. */
uint16_t homewizard_port(const struct homewizard *h);
