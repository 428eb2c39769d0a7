/* SPDX-License-Identifier: MIT */
/*
 * mDNS / DNS-SD through avahi-daemon (avahi-client on the daemon's loop,
 * loaded with dlopen() when an mdns object is made, unloaded when it is freed):
 *   - "<Name>.local" (default smart-connect.local) as address records for the
 *     host's addresses, each on its own interface, without reverse entries
 *     (those belong to the host's own name), followed through rtnetlink so
 *     an address that comes or goes later is announced or withdrawn;
 *   - the HTTP API as _http._tcp and the Modbus server as _modbus._tcp, both
 *     on that host name, on the ports actually bound, with TXT records
 *     serial=<serial> and version=<version> (HTTP also path=/);
 *   - while it runs, the HomeWizard-compatible API as _hwenergy._tcp.
 *
 * A missing or restarting avahi-daemon (or system bus) is a logged state that
 * is left by itself: the client waits for the daemon, and reconnects with
 * back-off after losing it. A name taken on the network is replaced by
 * "<Name>-<serial>", then by avahi's alternatives ("<Name>-<serial>-2", ...),
 * and the change is logged.
 *
 * Log lines other code and tests rely on:
 *   "mDNS: avahi-client cannot be loaded (<dlerror()>), not announcing"
 *   "mDNS: announced <fqdn>: HTTP on port <p>, Modbus on port <p>" (or "HTTP not announced")
 *   "mDNS: avahi-daemon is not running, waiting for it"
 *   "mDNS: name '<old>' is taken, using '<new>'"
 *   "mDNS: the host's addresses changed, announcing them"
 *
 * An adapter owned by the daemon; talks to avahi only.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/macro.h"

struct mdns_settings {
	const char *name;     /* host name label, e.g. "smart-connect" */
	const char *serial;   /* TXT serial= and the first alternative name */
	const char *version;  /* TXT version= */
	uint16_t http_port;   /* 0: HTTP is not announced */
	uint16_t modbus_port; /* 0: Modbus is not announced */
	/* The HomeWizard-compatible API as _hwenergy._tcp with the TXT records
	 * its clients look for (api_enabled=1, path=/api/v1, serial,
	 * product_name, product_type); port 0: not announced. */
	uint16_t homewizard_port;
	const char *homewizard_product_name, *homewizard_product_type;
};

struct mdns;

/* The strings are copied. Loads avahi-client (mdns-avahi.h): a library that
 * is missing or lacks a function is logged once ("mDNS: avahi-client cannot
 * be loaded (<why>), not announcing") and gives -ELIBACC. Nothing is
 * contacted before mdns_start(). -ENOMEM, -EINVAL (a string too long),
 * -ELIBACC or 0. */
int mdns_new(sd_event *e, const struct mdns_settings *s, struct mdns **ret);

/* Withdraws everything announced. NULL-safe, returns NULL. */
struct mdns *mdns_free(struct mdns *m);
DEFINE_FREEP(struct mdns, mdns_free)

/* Connect to avahi-daemon and announce once it runs. Never fails because
 * avahi is absent; -ENOMEM or an event loop error (logged) otherwise. */
int mdns_start(struct mdns *m);

/* New settings (name, ports, serial): re-announce when they differ. A new
 * Name also forgets an alternative taken after a collision. -EINVAL or 0. */
int mdns_reconfigure(struct mdns *m, const struct mdns_settings *s);

/* The host name in use ("smart-connect", or the alternative). Borrowed. */
const char *mdns_name(const struct mdns *m);
