/* SPDX-License-Identifier: MIT */
/*
 * avahi-client loaded at run time: libavahi-common.so.3 and
 * libavahi-client.so.3 are opened with dlopen() only when mDNS is on, so a
 * gateway with [mDNS] Enabled=no never maps them (nor libdbus-1, which
 * avahi-client pulls in). The functions mdns.c calls are resolved into this
 * table, held by the mdns object; their types are those of avahi's own
 * headers, so a prototype that changes fails the build, not the daemon.
 *
 * The prefix is mdns_avahi_ because avahi owns avahi_*. Never logs.
 */
#pragma once

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/error.h>
#include <stddef.h>

#define MDNS_AVAHI_COMMON_SO "libavahi-common.so.3"
#define MDNS_AVAHI_CLIENT_SO "libavahi-client.so.3"

struct mdns_avahi {
	void *common, *client; /* dlopen() handles; NULL when not loaded */

	__typeof__(avahi_strerror) *strerror;
	__typeof__(avahi_client_new) *client_new;
	__typeof__(avahi_client_free) *client_free;
	__typeof__(avahi_client_errno) *client_errno;
	__typeof__(avahi_client_get_state) *client_get_state;
	__typeof__(avahi_client_get_domain_name) *client_get_domain_name;
	__typeof__(avahi_client_get_version_string) *client_get_version_string;
	__typeof__(avahi_entry_group_new) *entry_group_new;
	__typeof__(avahi_entry_group_free) *entry_group_free;
	__typeof__(avahi_entry_group_reset) *entry_group_reset;
	__typeof__(avahi_entry_group_commit) *entry_group_commit;
	__typeof__(avahi_entry_group_is_empty) *entry_group_is_empty;
	__typeof__(avahi_entry_group_get_client) *entry_group_get_client;
	__typeof__(avahi_entry_group_add_address) *entry_group_add_address;
	__typeof__(avahi_entry_group_add_service) *entry_group_add_service;
};

/* Open both libraries and resolve every function. On failure nothing stays
 * loaded, *a is zeroed, and why (dlerror()'s text: the library or the
 * symbol that is missing) is in err. -ELIBACC or 0. */
int mdns_avahi_load(struct mdns_avahi *a, char *err, size_t size);

/* Close what mdns_avahi_load() opened, after every avahi object is freed;
 * libdbus's global memory is freed first (dbus_shutdown()). Safe on a zeroed
 * or unloaded table. */
void mdns_avahi_unload(struct mdns_avahi *a);
