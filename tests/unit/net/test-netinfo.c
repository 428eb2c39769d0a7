/* SPDX-License-Identifier: MIT */
/*
 * The default route out of /proc/net/route text: lowest metric wins, routes
 * that are down or not default are skipped, the gateway is decoded from the
 * file's network byte order; the file read in turns (a table longer than the
 * reader's buffer, lines across its turns).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/net/netinfo.h"
#include "tap.h"

static const char header[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

/* A table of 100 routes (12.8 KB, as the kernel pads lines to 128 bytes),
 * read through a pipe: the best default route comes last. */
static void test_read_long(void)
{
	char ifname[IF_NAMESIZE], gw[16], line[129];
	int fds[2];

	if (pipe(fds) < 0)
		return;
	(void) !write(fds[1], header, sizeof(header) - 1);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "%-127s\n",
			 i == 99  ? "eth9\t00000000\t0200A8C0\t0003\t0\t0\t5\t00000000\t0\t0\t0"
			 : i == 3 ? "eth3\t00000000\t0300A8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0"
				  : "eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0");
		(void) !write(fds[1], line, 128);
	}
	close(fds[1]);
	tap_ok(netinfo_read_route(fds[0], ifname, gw) == 0 && strcmp(ifname, "eth9") == 0 &&
		   strcmp(gw, "192.168.0.2") == 0,
	       "a 100-route table read in turns: the best route, last (%s %s)", ifname, gw);
	close(fds[0]);
	if (pipe(fds) < 0)
		return;
	(void) !write(fds[1], header, sizeof(header) - 1);
	snprintf(line, sizeof(line), "eth0\t00000000\t0100A8C0\t0003\t0\t0\t1\t00000000");
	(void) !write(fds[1], line, strlen(line));
	close(fds[1]);
	tap_ok(netinfo_read_route(fds[0], ifname, gw) == 0 && strcmp(ifname, "eth0") == 0,
	       "a last line without its newline still read");
	close(fds[0]);
	if (pipe(fds) < 0)
		return;
	memset(line, 'x', 128);
	for (int i = 0; i < 40; i++)
		(void) !write(fds[1], line, 128);
	close(fds[1]);
	tap_ok(netinfo_read_route(fds[0], ifname, gw) == -ENOENT, "a 5 KB line: -ENOENT");
	close(fds[0]);
}

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
	test_read_long();
	return tap_done();
}
