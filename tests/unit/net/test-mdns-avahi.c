/* SPDX-License-Identifier: MIT */
/*
 * avahi-client through dlopen(): every function resolved from the installed
 * libraries (a build dependency), they work (avahi_strerror()), unloading
 * clears the table and a second load works; libavahi-client is not mapped
 * before the first load. (That a reload to Enabled=no unmaps it is checked
 * on the daemon, test-mdns-load.py: this program does not link libsystemd,
 * libdbus loads it as a new dependency, and the libraries then stay.)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/net/mdns-avahi.h"
#include "tap.h"

static bool client_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "libavahi-client.so") != NULL;
	fclose(f);
	return found;
}

static bool all_set(const struct mdns_avahi *a)
{
	const void *const fns[] = {
		(const void *) a->strerror,
		(const void *) a->client_new,
		(const void *) a->client_free,
		(const void *) a->client_errno,
		(const void *) a->client_get_state,
		(const void *) a->client_get_domain_name,
		(const void *) a->client_get_version_string,
		(const void *) a->entry_group_new,
		(const void *) a->entry_group_free,
		(const void *) a->entry_group_reset,
		(const void *) a->entry_group_commit,
		(const void *) a->entry_group_is_empty,
		(const void *) a->entry_group_get_client,
		(const void *) a->entry_group_add_address,
		(const void *) a->entry_group_add_service,
	};

	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		if (!fns[i])
			return false;
	return a->common && a->client;
}

int main(void)
{
	struct mdns_avahi a;
	char why[256] = "";

	tap_ok(!client_mapped(), "libavahi-client not mapped before the first load");
	TAP_EQ_INT(mdns_avahi_load(&a, why, sizeof(why)), 0, "loaded");
	tap_ok(all_set(&a), "every function resolved (%s)", why);
	tap_ok(client_mapped(), "libavahi-client mapped");
	TAP_EQ_STR(a.strerror(AVAHI_ERR_NO_DAEMON), "Daemon not running",
		   "avahi_strerror() through the table");
	mdns_avahi_unload(&a);
	tap_ok(!a.common && !a.client && !a.strerror, "unloading clears the table");
	mdns_avahi_unload(&a); /* twice: a no-op */

	TAP_EQ_INT(mdns_avahi_load(&a, why, sizeof(why)), 0, "loaded again");
	tap_ok(all_set(&a), "every function resolved again");
	mdns_avahi_unload(&a);
	return tap_done();
}
