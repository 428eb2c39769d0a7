/* SPDX-License-Identifier: MIT */
/*
 * Bounded input from the broker: the fixed header parser on every length
 * form, cut headers and a five-byte length; and the read-ahead guard on a
 * real loopback TCP connection, with the library's reads played by exact
 * reads of each packet, as libmosquitto 2.0 does them: packets at and under
 * the bound pass, a header cut in two waits, a packet one byte over the bound
 * or announcing 256 MiB is refused before any of it is read, and a read past
 * a checked packet is noticed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/mqtt-limits.h"
#include "tap.h"

static void test_fixed_header(void)
{
	static const struct {
		const char *what;
		uint8_t bytes[6];
		size_t n;
		int ret;
		uint32_t remaining;
	} cases[] = {
		{ "PINGRESP", { 0xd0, 0x00 }, 2, 2, 0 },
		{ "one length byte", { 0x30, 0x7f }, 2, 2, 127 },
		{ "two length bytes", { 0x30, 0x80, 0x01 }, 3, 3, 128 },
		{ "three length bytes", { 0x30, 0xff, 0xff, 0x03 }, 4, 4, 65535 },
		{ "256 MiB", { 0x30, 0xff, 0xff, 0xff, 0x7f }, 5, 5, 268435455 },
		{ "cut after the type", { 0x30 }, 1, 0, 0 },
		{ "cut inside the length", { 0x30, 0xff, 0xff }, 3, 0, 0 },
		{ "five length bytes", { 0x30, 0x80, 0x80, 0x80, 0x80, 0x01 }, 6, -EBADMSG, 0 },
		{ "nothing", { 0 }, 0, 0, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t rem = 0xdeadbeef;
		int r = mqtt_fixed_header(cases[i].bytes, cases[i].n, &rem);

		tap_ok(r == cases[i].ret && (r <= 0 || rem == cases[i].remaining),
		       "fixed header, %s: %d (%d), remaining %u", cases[i].what, r, cases[i].ret,
		       r > 0 ? rem : 0);
	}
}

/* A connected loopback TCP pair: [0] the broker's end, [1] ours. */
static int tcp_pair(int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *) &a, &len) < 0)
		return -1;
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[1] < 0 || connect(fds[1], (struct sockaddr *) &a, sizeof(a)) < 0)
		return -1;
	fds[0] = accept(l, NULL, NULL);
	close(l);
	/* Small writes go out at once, as a broker's packets do. */
	return fds[0] < 0 || setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) < 0 ? -1
													: 0;
}

/* What libmosquitto does for one packet: the header byte by byte, then the
 * remaining length in one read. */
static int library_reads_packet(int fd)
{
	uint8_t b, *buf;
	uint32_t rem = 0, mult = 1;
	ssize_t n;

	if (read(fd, &b, 1) != 1)
		return -1;
	do {
		if (read(fd, &b, 1) != 1)
			return -1;
		rem += (uint32_t) (b & 0x7f) * mult;
		mult *= 128;
	} while (b & 0x80);
	buf = malloc(rem + 1);
	n = rem ? recv(fd, buf, rem, MSG_WAITALL) : 0;
	free(buf);
	return n == (ssize_t) rem ? 0 : -1;
}

static void send_publish(int fd, uint32_t total)
{
	uint8_t hdr[5] = { 0x30 };
	uint32_t rem = total - 4; /* a 4-byte header for these sizes */
	uint8_t *body = calloc(1, rem);

	hdr[1] = 0x80 | (rem & 0x7f);
	hdr[2] = 0x80 | ((rem >> 7) & 0x7f);
	hdr[3] = (uint8_t) (rem >> 14);
	(void) !write(fd, hdr, 4);
	(void) !write(fd, body, rem);
	free(body);
}

static void test_guard(void)
{
	struct mqtt_rx_guard g;
	int fds[2], r;

	if (tcp_pair(fds) < 0) {
		tap_ok(false, "loopback TCP pair");
		return;
	}
	mqtt_rx_guard_reset(&g);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 1, "nothing received: wait");

	(void) !write(fds[0], "\x20\x03\x00\x00\x00\xd0\x00", 7); /* CONNACK, PINGRESP */
	usleep(20000);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 0 && library_reads_packet(fds[1]) == 0, "CONNACK passes");
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 0, "at a checked header: the library may read on");
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 0 && library_reads_packet(fds[1]) == 0, "PINGRESP passes");

	send_publish(fds[0], MQTT_RX_PACKET_MAX);
	usleep(20000);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 0 && library_reads_packet(fds[1]) == 0,
	       "a packet of exactly the bound passes");

	(void) !write(fds[0], "\x30\xff", 2);
	usleep(20000);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 1, "a header cut after two bytes: wait");
	(void) !write(fds[0], "\xff\xff\x7f", 3);
	usleep(20000);
	r = mqtt_rx_guard_check(&g, fds[1]);
	tap_ok(r == -EMSGSIZE && g.last_size == 268435460, "completed to 256 MiB: refused (%d, %u)", r,
	       g.last_size);
	close(fds[0]);
	close(fds[1]);

	if (tcp_pair(fds) < 0)
		return;
	mqtt_rx_guard_reset(&g);
	send_publish(fds[0], MQTT_RX_PACKET_MAX + 1);
	usleep(20000);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == -EMSGSIZE && g.last_size == MQTT_RX_PACKET_MAX + 1,
	       "one byte over the bound: refused");
	close(fds[0]);
	close(fds[1]);

	if (tcp_pair(fds) < 0)
		return;
	mqtt_rx_guard_reset(&g);
	(void) !write(fds[0], "\xd0\x00\xd0\x00", 4);
	usleep(20000);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == 0, "two PINGRESPs: the first checked");
	(void) library_reads_packet(fds[1]);
	(void) library_reads_packet(fds[1]);
	tap_ok(mqtt_rx_guard_check(&g, fds[1]) == -EPROTO, "a read past the checked packet is noticed");
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	test_fixed_header();
	test_guard();
	return tap_done();
}
