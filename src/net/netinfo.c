/* SPDX-License-Identifier: MIT */
/*
 * Network facts for the status (see netinfo.h). The default route with the
 * lowest metric wins, as the kernel's own choice would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/net/netinfo.h"

#define RTF_UP_FLAG 0x0001

static const char *const link_names[_NETINFO_LINK_MAX] = {
	[NETINFO_LINK_UNKNOWN] = "unknown",
	[NETINFO_LINK_UP] = "up",
	[NETINFO_LINK_DOWN] = "down",
};

DEFINE_STRING_TABLE_TO(netinfo_link, enum netinfo_link, link_names)

int netinfo_parse_route(const char *text, char ifname[IF_NAMESIZE], char gateway[16])
{
	unsigned long best_metric = ~0ul;
	bool found = false;
	const char *line = strchr(text, '\n'); /* the header line */

	while (line && *++line) {
		char name[64];
		unsigned dest, gw, flags, mask;
		unsigned long metric;
		const char *nl = strchr(line, '\n');

		if (sscanf(line, "%63s %x %x %x %*d %*d %lu %x", name, &dest, &gw, &flags, &metric, &mask) ==
			6 &&
		    dest == 0 && mask == 0 && (flags & RTF_UP_FLAG) && metric < best_metric &&
		    strlen(name) < IF_NAMESIZE) {
			struct in_addr a = { .s_addr = gw }; /* the file is in network order */

			best_metric = metric;
			found = true;
			snprintf(ifname, IF_NAMESIZE, "%s", name);
			if (gw == 0 || !inet_ntop(AF_INET, &a, gateway, 16))
				gateway[0] = '\0';
		}
		line = nl;
	}
	return found ? 0 : -ENOENT;
}

/* The first line of /sys/class/net/<ifname>/<attr>, without its newline; ""
 * when it cannot be read. */
static void read_net_attr(const char *ifname, const char *attr, char *buf, size_t size)
{
	char path[128];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int) size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static enum netinfo_link read_link(const char *ifname)
{
	char state[32];

	read_net_attr(ifname, "operstate", state, sizeof(state));
	if (strcmp(state, "up") == 0)
		return NETINFO_LINK_UP;
	if (strcmp(state, "down") == 0 || strcmp(state, "lowerlayerdown") == 0)
		return NETINFO_LINK_DOWN;

	/* Drivers without operational state report "unknown": ask the carrier. */
	read_net_attr(ifname, "carrier", state, sizeof(state));
	return state[0] == '1' ? NETINFO_LINK_UP : state[0] == '0' ? NETINFO_LINK_DOWN : NETINFO_LINK_UNKNOWN;
}

static void read_address(const char *ifname, char address[16])
{
	struct ifaddrs *ifa = NULL;

	address[0] = '\0';
	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
		if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET && strcmp(p->ifa_name, ifname) == 0) {
			if (!inet_ntop(AF_INET, &((struct sockaddr_in *) p->ifa_addr)->sin_addr, address, 16))
				address[0] = '\0';
			break;
		}
	freeifaddrs(ifa);
}

int netinfo_read(struct netinfo *ret)
{
	char text[16384];
	size_t n;
	FILE *f;

	*ret = (struct netinfo){ .link = NETINFO_LINK_UNKNOWN };
	f = fopen("/proc/net/route", "re");
	if (!f)
		return -errno;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';

	if (netinfo_parse_route(text, ret->interface, ret->gateway) < 0)
		return 0;
	ret->link = read_link(ret->interface);
	read_address(ret->interface, ret->address);
	return 0;
}
