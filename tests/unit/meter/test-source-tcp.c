/* SPDX-License-Identifier: MIT */
/*
 * The meter's TCP source: the device names it accepts and refuses, then a
 * real loopback server in an sd-event loop: connect, bytes through, the
 * peer's close noticed, the reconnect after the back-off, bytes again; a
 * host name without a resolver is a retrying state, not a crash.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/meter/source-tcp.h"
#include "tap.h"

static void test_parse(void)
{
	static const struct {
		const char *dev, *host;
		int port; /* -1: refused */
	} cases[] = {
		{ "tcp://127.0.0.1:2001", "127.0.0.1", 2001 },
		{ "tcp://p1-dongle.local:23", "p1-dongle.local", 23 },
		{ "tcp://[::1]:8088", "::1", 8088 },
		{ "tcp://[fe80::1%eth0]:23", "fe80::1%eth0", 23 },
		{ "tcp://host:65535", "host", 65535 },
		{ "tcp://host:65536", NULL, -1 },
		{ "tcp://host:0", NULL, -1 },
		{ "tcp://host:", NULL, -1 },
		{ "tcp://host:+23", NULL, -1 },
		{ "tcp://host:23x", NULL, -1 },
		{ "tcp://host", NULL, -1 },
		{ "tcp://:23", NULL, -1 },
		{ "tcp://[]:23", NULL, -1 },
		{ "tcp://[::1]23", NULL, -1 },
		{ "tcp://[::1", NULL, -1 },
		{ "tcp://::1:23", NULL, -1 },
		{ "tcp://host/x:23", NULL, -1 },
		{ "tcp://user@host:23", NULL, -1 },
		{ "udp://host:23", NULL, -1 },
		{ "/dev/ttyUSB0", NULL, -1 },
	};
	char host[SOURCE_TCP_HOST_MAX], longdev[400];
	uint16_t port;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = source_tcp_parse(cases[i].dev, host, &port);

		if (cases[i].port < 0)
			TAP_EQ_INT(r, -EINVAL, cases[i].dev);
		else
			tap_ok(r == 0 && strcmp(host, cases[i].host) == 0 && port == cases[i].port,
			       "%s: %s port %d", cases[i].dev, cases[i].host, cases[i].port);
	}
	memset(longdev, 'a', sizeof(longdev));
	memcpy(longdev, "tcp://", 6);
	snprintf(longdev + 300, sizeof(longdev) - 300, ":23");
	TAP_EQ_INT(source_tcp_parse(longdev, host, &port), -EINVAL, "a host of 294 bytes is refused");
	tap_ok(source_tcp_is("tcp://x:1") && !source_tcp_is("/dev/tcp") && !source_tcp_is(NULL),
	       "source_tcp_is");
}

struct probe {
	sd_event *e;
	enum tty_state state;
	unsigned opens, closes;
	char got[64];
	size_t n;
};

static bool on_data(const uint8_t *buf, size_t n, void *userdata)
{
	struct probe *p = userdata;

	n = MIN(n, sizeof(p->got) - p->n);
	memcpy(p->got + p->n, buf, n);
	p->n += n;
	return false;
}

/* Run the loop until the probe holds n bytes (bounded: a failure must end). */
static void run_until_bytes(struct probe *p, size_t n)
{
	for (unsigned i = 0; i < 1000 && p->n < n; i++)
		(void) sd_event_run(p->e, 10 * USEC_PER_MSEC);
}

static void on_state(enum tty_state state, void *userdata)
{
	struct probe *p = userdata;

	if (state == TTY_STATE_OPEN)
		p->opens++;
	else if (p->state == TTY_STATE_OPEN)
		p->closes++;
	p->state = state;
}

/* Run the loop until a connection is waiting on ls, and take it. */
static int accept_one(sd_event *e, int ls)
{
	for (unsigned i = 0; i < 10000; i++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0)
			return fd;
		(void) sd_event_run(e, 10 * USEC_PER_MSEC);
	}
	return -1;
}

static void test_loopback(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct tty_callbacks cb = { .on_data = on_data, .on_state = on_state };
	struct probe p = { 0 };
	struct source_tcp *t = NULL;
	char dev[64];
	int ls, fd;

	tap_ok(sd_event_new(&p.e) >= 0, "event loop");
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	tap_ok(ls >= 0 && bind(ls, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(ls, 4) == 0 &&
		   getsockname(ls, (struct sockaddr *) &sa, &sl) == 0,
	       "loopback listener");
	snprintf(dev, sizeof(dev), "tcp://127.0.0.1:%u", ntohs(sa.sin_port));
	tap_ok(source_tcp_new(p.e, dev, TTY_SETTING_115200_8N1, &cb, &p, NULL, &t) == 0, "new %s", dev);
	tap_ok(source_tcp_start(t) == 0, "start");

	fd = accept_one(p.e, ls);
	tap_ok(fd >= 0 && write(fd, "hello", 5) == 5, "accepted, 5 bytes sent");
	run_until_bytes(&p, 5);
	tap_ok(p.n == 5 && memcmp(p.got, "hello", 5) == 0 && p.opens == 1, "bytes through, open once");
	TAP_EQ_INT(source_tcp_get_state(t), TTY_STATE_OPEN, "state open");

	close(fd);
	for (unsigned i = 0; i < 1000 && p.closes == 0; i++)
		(void) sd_event_run(p.e, 10 * USEC_PER_MSEC);
	tap_ok(p.closes == 1 && p.state == TTY_STATE_RETRYING, "the peer's close: retrying");

	fd = accept_one(p.e, ls);
	tap_ok(fd >= 0 && write(fd, "again", 5) == 5, "reconnected after the back-off");
	run_until_bytes(&p, 10);
	tap_ok(p.n == 10 && memcmp(p.got + 5, "again", 5) == 0 && p.opens == 2, "bytes again, open twice");
	TAP_EQ_INT(source_tcp_connects(t), 2, "two connections");

	source_tcp_stop(t);
	TAP_EQ_INT(source_tcp_get_state(t), TTY_STATE_STOPPED, "stopped");
	source_tcp_free(t);
	close(fd);
	close(ls);

	/* A name and no resolver: retrying, never a connect. */
	p.state = TTY_STATE_STOPPED;
	tap_ok(source_tcp_new(p.e, "tcp://meter.invalid:23", TTY_SETTING_115200_8N1, &cb, &p, NULL, &t) ==
		       0 &&
		   source_tcp_start(t) == 0 && source_tcp_get_state(t) == TTY_STATE_RETRYING,
	       "a host name without a resolver: retrying");
	source_tcp_free(t);
	TAP_EQ_INT(source_tcp_new(p.e, "tcp://x", TTY_SETTING_115200_8N1, &cb, &p, NULL, &t), -EINVAL,
		   "new refuses a bad device");
	sd_event_unref(p.e);
}

int main(void)
{
	test_parse();
	test_loopback();
	return tap_done();
}
