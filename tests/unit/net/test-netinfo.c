/* SPDX-License-Identifier: MIT */
/*
 * The default route out of /proc/net/route text: lowest metric wins, routes
 * that are down or not default are skipped, the gateway is decoded from the
 * file's network byte order.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/net/netinfo.h"
#include "tap.h"

static const char header[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

int main(void)
{
	char ifname[IF_NAMESIZE], gw[16];
	char text[2048];

	snprintf(text, sizeof(text),
		 "%s"
		 "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
		 "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
		 "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
		 "tun0\t00000000\t00000000\t0002\t0\t0\t1\t00000000\t0\t0\t0\n",
		 header);
	tap_ok(netinfo_parse_route(text, ifname, gw) == 0 && strcmp(ifname, "eth0") == 0 &&
		   strcmp(gw, "192.168.0.1") == 0,
	       "lowest-metric default route that is up: eth0 via 192.168.0.1 (%s %s)", ifname, gw);

	snprintf(text, sizeof(text), "%sppp0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n",
		 header);
	tap_ok(netinfo_parse_route(text, ifname, gw) == 0 && strcmp(ifname, "ppp0") == 0 && gw[0] == '\0',
	       "a point-to-point default route has no gateway");

	snprintf(text, sizeof(text), "%seth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
		 header);
	tap_ok(netinfo_parse_route(text, ifname, gw) == -ENOENT, "no default route: -ENOENT");
	tap_ok(netinfo_parse_route("", ifname, gw) == -ENOENT, "empty text: -ENOENT");
	tap_ok(netinfo_parse_route("garbage\nx y z\n", ifname, gw) == -ENOENT, "garbage: -ENOENT");
	/* Hostile lines: a name too long, fields not numbers, cut short, a gateway past 32 bits. */
	static const char *const bad[] = {
		"averyveryverylongname0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n",
		"eth0\t0000000G\t0100A8C0\t0003\t0\t0\t0\t00000000\n",
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t-1\t00000000\n",
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\n",
		"eth0\t00000000\t10100A8C0\t0003\t0\t0\t0\t00000000\n",
		"eth0\t00000000\t0100A8C0\t0003\t0\t0\t0x1\t00000000\n",
		"eth0 00000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", header, bad[i]);
		tap_ok(netinfo_parse_route(text, ifname, gw) == -ENOENT, "hostile route line %zu: -ENOENT",
		       i);
	}
	snprintf(text, sizeof(text), "%s  eth1 00000000   0100A8C0 0003 0 0 5 00000000", header);
	tap_ok(netinfo_parse_route(text, ifname, gw) == 0 && strcmp(ifname, "eth1") == 0 &&
		   strcmp(gw, "192.168.0.1") == 0,
	       "spaces instead of tabs, no final newline: eth1 via 192.168.0.1");
	snprintf(text, sizeof(text), "%swwan0\t00000000\tFE00000A\t0003\t0\t0\t0\t00000000\n", header);
	tap_ok(netinfo_parse_route(text, ifname, gw) == 0 && strcmp(gw, "10.0.0.254") == 0,
	       "gateway 10.0.0.254 (%s)", gw);

	struct netinfo ni;
	int r = netinfo_read(&ni);
	tap_ok(r == 0 && ni.link < _NETINFO_LINK_MAX, "netinfo_read on this machine: '%s' %s %s %s",
	       ni.interface, netinfo_link_to_string(ni.link), ni.address, ni.gateway);
	return tap_done();
}
