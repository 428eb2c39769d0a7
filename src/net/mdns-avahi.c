/* SPDX-License-Identifier: MIT */
/*
 * avahi-client through dlopen() (see mdns-avahi.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/net/mdns-avahi.h"

#define SYM(lib, member)                                                   \
	{                                                                  \
		lib, "avahi_" #member, offsetof(struct mdns_avahi, member) \
	}

/* Where each function lives: avahi_strerror() is avahi-common's. */
static const struct {
	bool client;
	const char *name;
	size_t offset;
} symbols[] = {
	SYM(false, strerror),
	SYM(true, client_new),
	SYM(true, client_free),
	SYM(true, client_errno),
	SYM(true, client_get_state),
	SYM(true, client_get_domain_name),
	SYM(true, client_get_version_string),
	SYM(true, entry_group_new),
	SYM(true, entry_group_free),
	SYM(true, entry_group_reset),
	SYM(true, entry_group_commit),
	SYM(true, entry_group_is_empty),
	SYM(true, entry_group_get_client),
	SYM(true, entry_group_add_address),
	SYM(true, entry_group_add_service),
};

static void *open_library(const char *name, char *err, size_t size)
{
	/* RTLD_NOW: a library that cannot resolve its own symbols fails here,
	 * not at the first announcement; RTLD_LOCAL: nothing else binds to it. */
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		snprintf(err, size, "%s", dlerror() ?: name);
	return h;
}

int mdns_avahi_load(struct mdns_avahi *a, char *err, size_t size)
{
	*a = (struct mdns_avahi){ 0 };
	a->common = open_library(MDNS_AVAHI_COMMON_SO, err, size);
	if (a->common)
		a->client = open_library(MDNS_AVAHI_CLIENT_SO, err, size);
	if (!a->client) {
		mdns_avahi_unload(a);
		return -ELIBACC;
	}

	for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
		void *p;

		(void) dlerror();
		p = dlsym(symbols[i].client ? a->client : a->common, symbols[i].name);
		if (!p) {
			snprintf(err, size, "%s", dlerror() ?: symbols[i].name);
			mdns_avahi_unload(a);
			return -ELIBACC;
		}
		/* POSIX: a function's address from dlsym() converts to its pointer type. */
		memcpy((char *) a + symbols[i].offset, &p, sizeof(p));
	}
	return 0;
}

/* libdbus (avahi-client's) keeps global allocations until dbus_shutdown():
 * unloaded without it they would be lost on every Enabled=yes/no cycle. Only
 * avahi-client used libdbus here, and its client is freed by now. */
static void dbus_release(void *client)
{
	void *p = dlsym(client, "dbus_shutdown");
	void (*shutdown)(void);

	if (!p)
		return;
	memcpy(&shutdown, &p, sizeof(p));
	shutdown();
}

void mdns_avahi_unload(struct mdns_avahi *a)
{
	if (a->client) {
		dbus_release(a->client);
		(void) dlclose(a->client);
	}
	if (a->common)
		(void) dlclose(a->common);
	*a = (struct mdns_avahi){ 0 };
}
