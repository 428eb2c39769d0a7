/* SPDX-License-Identifier: MIT */
/*
 * Network facts for the status (see netinfo.h). The default route with the
 * lowest metric wins, as the kernel's own choice would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdlib.h>
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

/* Dotted IPv4 of an address in network order, into 16 bytes: what
 * inet_ntop() writes, without its sprintf. */
static void ipv4_text(uint32_t net_order, char out[16])
{
	const uint8_t *b = (const uint8_t *) &net_order;
	char *p = out;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];

		if (v >= 100)
			*p++ = (char) ('0' + v / 100);
		if (v >= 10)
			*p++ = (char) ('0' + v / 10 % 10);
		*p++ = (char) ('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

/* The first n whitespace-separated fields of a line: their starts and lengths. */
static bool route_fields(const char *line, unsigned n, const char **f, size_t *len)
{
	const char *p = line;

	for (unsigned i = 0; i < n; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '\n')
			return false;
		f[i] = p;
		p += strcspn(p, " \t\n");
		len[i] = (size_t) (p - f[i]);
	}
	return true;
}

/* A whole field as a number in base 16 or 10; nothing else in it. At most
 * 16 digits: no overflow. By hand: the status reads the file per request. */
static bool route_number(const char *s, size_t len, int base, unsigned long *ret)
{
	unsigned long v = 0;

	if (len == 0 || len > 16)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char) s[i], d;

		if (c - '0' < 10)
			d = c - '0';
		else if (base == 16 && (c | 0x20) - 'a' < 6)
			d = (c | 0x20) - 'a' + 10;
		else
			return false;
		v = v * (unsigned) base + d;
	}
	*ret = v;
	return true;
}

/* One line: Iface Destination Gateway Flags RefCnt Use Metric Mask. By hand,
 * not sscanf: the status reads this file once per request. */
static bool route_line(const char *line, char name[IF_NAMESIZE], unsigned long *dest, unsigned long *gw,
		       unsigned long *flags, unsigned long *metric, unsigned long *mask)
{
	const char *f[8];
	size_t len[8];

	if (!route_fields(line, 8, f, len) || len[0] >= IF_NAMESIZE ||
	    !route_number(f[1], len[1], 16, dest) || !route_number(f[2], len[2], 16, gw) ||
	    !route_number(f[3], len[3], 16, flags) || !route_number(f[6], len[6], 10, metric) ||
	    !route_number(f[7], len[7], 16, mask))
		return false;
	memcpy(name, f[0], len[0]);
	name[len[0]] = '\0';
	return true;
}

/* The default route of lowest metric among the lines after nl (a newline),
 * when its metric is below *best, which it lowers. */
static bool route_best(const char *line, unsigned long *best, char ifname[IF_NAMESIZE], char gateway[16])
{
	bool found = false;

	while (line && *++line) {
		char name[IF_NAMESIZE];
		unsigned long dest, gw, flags, mask, metric;
		const char *nl = strchr(line, '\n');

		if (route_line(line, name, &dest, &gw, &flags, &metric, &mask) && dest == 0 && mask == 0 &&
		    (flags & RTF_UP_FLAG) && metric < *best && gw <= UINT32_MAX) {
			*best = metric;
			found = true;
			memcpy(ifname, name, IF_NAMESIZE);
			/* The file is in network order. */
			if (gw == 0)
				gateway[0] = '\0';
			else
				ipv4_text((uint32_t) gw, gateway);
		}
		line = nl;
	}
	return found;
}

int netinfo_parse_route(const char *text, char ifname[IF_NAMESIZE], char gateway[16])
{
	unsigned long best = ~0ul;

	/* After the header line. */
	return route_best(strchr(text, '\n'), &best, ifname, gateway) ? 0 : -ENOENT;
}

/* The first line of /sys/class/net/<ifname>/<attr>, without its newline; ""
 * when it cannot be read. No stdio, no printf: read per status request. */
static void read_net_attr(const char *ifname, const char *attr, char *buf, size_t size)
{
	static const char dir[] = "/sys/class/net/";
	char path[sizeof(dir) + IF_NAMESIZE + 32];
	size_t ni = strlen(ifname), na = strlen(attr);
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if (ni >= IF_NAMESIZE || na >= 32 || size == 0)
		return;
	memcpy(path, dir, sizeof(dir) - 1);
	memcpy(path + sizeof(dir) - 1, ifname, ni);
	path[sizeof(dir) - 1 + ni] = '/';
	memcpy(path + sizeof(dir) + ni, attr, na + 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
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

/* The interface's IPv4 address by ioctl: three system calls, where
 * getifaddrs() dumps every address of every interface over netlink. */
static void read_address(const char *ifname, char address[16])
{
	struct ifreq ifr = { 0 };
	int fd;

	address[0] = '\0';
	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFADDR, &ifr) == 0 && ifr.ifr_addr.sa_family == AF_INET)
		ipv4_text(((struct sockaddr_in *) (void *) &ifr.ifr_addr)->sin_addr.s_addr, address);
	close(fd);
}

/* /proc/net/route in turns of whole lines (128 bytes each), so a status
 * request's stack stays shallow (its deepest pages stay resident); text[0]
 * is a newline before the lines kept from the turn before. */
int netinfo_read_route(int fd, char ifname[IF_NAMESIZE], char gateway[16])
{
	char text[2048];
	unsigned long best = ~0ul;
	bool found = false, header = true;
	size_t n = 0; /* bytes kept after text[0] */
	ssize_t k;

	text[0] = '\n';
	while ((k = read(fd, text + 1 + n, sizeof(text) - 2 - n)) > 0 || n > 0) {
		char *end, saved;

		n += k > 0 ? (size_t) k : 0;
		text[1 + n] = '\0';
		end = k > 0 ? memrchr(text + 1, '\n', n) : text + n; /* at the end: the rest too */
		if (!end) {
			n = n == sizeof(text) - 2 ? 0 : n; /* a line longer than the buffer: not a route */
			continue;
		}
		saved = end[1];
		end[1] = '\0';
		found |= route_best(header ? strchr(text + 1, '\n') : text, &best, ifname, gateway);
		header = false;
		end[1] = saved;
		n = (size_t) (text + 1 + n - (end + 1));
		memmove(text + 1, end + 1, n);
		if (k <= 0)
			break;
	}
	return found ? 0 : -ENOENT;
}

int netinfo_read(struct netinfo *ret)
{
	int fd, r;

	*ret = (struct netinfo){ .link = NETINFO_LINK_UNKNOWN };
	/* No stdio: its buffer is an allocation per status request. */
	fd = open("/proc/net/route", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = netinfo_read_route(fd, ret->interface, ret->gateway);
	close(fd);
	if (r < 0)
		return 0;
	ret->link = read_link(ret->interface);
	read_address(ret->interface, ret->address);
	return 0;
}
