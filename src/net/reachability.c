/* SPDX-License-Identifier: MIT */
/*
 * Gateway and Internet reachability (see reachability.h). One probe per target
 * and round; a probe still running when the next round starts has failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/net/reachability.h"
#include "smartconnectd/net/resolve.h"

#define HOST_MAX 256 /* a DNS name has at most 253 characters */
#define PROBE_TIMEOUT_USEC (3 * USEC_PER_SEC)
#define GATEWAY_TCP_PORT 53 /* a home router's DNS forwarder: accepts or refuses */
/* A round may start this much late: it then starts on the next wake the loop
 * has anyway (a 1 Hz meter's telegram) instead of waking for itself. */
#define ROUND_SLACK_USEC(interval) ((interval) / 4)
/* A name's address and a probe's answer come milliseconds after the query
 * and would each cost a wake of their own: they are looked for on the first
 * wake of the loop (a post source, run after any other event) at least
 * COLLECT_AFTER_USEC later, at the latest at half the timeout (a timer, for a
 * silent meter), and only then waited for. An answer within the timeout
 * still counts, as before. */
#define COLLECT_AFTER_USEC (100 * USEC_PER_MSEC)
#define COLLECT_BY_USEC(timeout) ((timeout) / 2)

struct probe {
	struct reachability *owner;
	const char *what; /* "gateway", "internet host" */
	char host[HOST_MAX];
	uint16_t tcp_port;
	bool busy, reachable, known;
	bool tcp;
	bool parked;       /* the name's answer waits for the collect time */
	uint64_t ready_at; /* CLOCK_MONOTONIC: the collect time, at the earliest */
	uint16_t seq;
	struct resolve *res;
	int fd;
	uint64_t deadline; /* CLOCK_MONOTONIC: no answer by then is a failure */
	sd_event_source *io, *timer, *post;
	uint64_t *pass, *fail;
};

struct reachability {
	sd_event *event;
	sd_event_source *round;
	uint64_t interval_usec, timeout_usec;
	char gateway_setting[HOST_MAX];
	bool icmp_denied;
	char method[8];
	struct probe gw, inet;
	struct reachability_counters counters;
};

static void probe_reset(struct probe *p)
{
	p->res = resolve_cancel(p->res);
	p->io = sd_event_source_disable_unref(p->io);
	p->timer = sd_event_source_disable_unref(p->timer);
	p->post = sd_event_source_disable_unref(p->post);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -EBADF;
	p->busy = false;
	p->parked = false;
}

static void probe_done(struct probe *p, bool ok, const char *why)
{
	probe_reset(p);
	(*(ok ? p->pass : p->fail))++;
	if (!p->known || p->reachable != ok) {
		if (ok)
			log_info("Network check: %s %s reachable (%s)", p->what, p->host, p->owner->method);
		else
			log_warning("Network check: %s %s not reachable: %s", p->what, p->host, why);
	}
	p->known = true;
	p->reachable = ok;
}

static int probe_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static uint64_t probe_now(const struct probe *p)
{
	uint64_t now = 0;

	(void) sd_event_now(p->owner->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* A name's address or the probe's answer already there is taken on this wake;
 * otherwise it is waited for, until the deadline. Returns 0 or a negative
 * errno (the probe is then still busy, and failed by the caller). */
static int probe_collect(struct probe *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = p->tcp ? POLLOUT : POLLIN };
	int on = SD_EVENT_ON, r;

	if (p->post)
		(void) sd_event_source_set_enabled(p->post, SD_EVENT_OFF);
	r = sd_event_source_set_time(p->timer, p->deadline);
	if (r < 0)
		return r;
	if (p->res && p->parked) {
		p->parked = false;
		return resolve_set_watched(p->res, true);
	}
	if (!p->io || sd_event_source_get_enabled(p->io, &on) < 0 || on != SD_EVENT_OFF)
		return 0;
	if (poll(&pfd, 1, 0) > 0) {
		(void) probe_on_io(p->io, p->fd, pfd.revents, p);
		if (!p->busy)
			return 0;
	}
	return sd_event_source_set_enabled(p->io, SD_EVENT_ON);
}

static void probe_collect_or_fail(struct probe *p)
{
	int r = probe_collect(p);

	if (r < 0 && p->busy)
		probe_done(p, false, strerror(-r));
}

static int probe_on_post(sd_event_source *s, void *userdata)
{
	struct probe *p = userdata;

	(void) s;
	if (probe_now(p) >= p->ready_at)
		probe_collect_or_fail(p);
	return 0;
}

/* The collect time at the latest, then the deadline. */
static int probe_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct probe *p = userdata;

	if (usec < p->deadline) {
		probe_collect_or_fail(p);
		if (p->busy)
			(void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	if (probe_collect(p) >= 0 && !p->busy)
		return 0;
	probe_done(p, false, "no answer");
	return 0;
}

/* Look for the answer on a later wake (see COLLECT_AFTER_USEC). */
static int probe_collect_later(struct probe *p)
{
	uint64_t now = probe_now(p);
	int r;

	p->ready_at = now + COLLECT_AFTER_USEC;
	r = p->post ? sd_event_source_set_enabled(p->post, SD_EVENT_ON)
		    : sd_event_add_post(p->owner->event, &p->post, probe_on_post, p);
	if (r >= 0)
		r = sd_event_source_set_time(p->timer,
					     MIN(now + COLLECT_BY_USEC(p->owner->timeout_usec), p->deadline));
	if (r >= 0)
		r = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
	return r;
}

/* The probe went out on an io source: leave it off until the collect time. */
static int probe_watch(struct probe *p, int fd, uint32_t events)
{
	int r = sd_event_add_io(p->owner->event, &p->io, fd, events, probe_on_io, p);

	if (r >= 0)
		r = sd_event_source_set_enabled(p->io, SD_EVENT_OFF);
	return r < 0 ? r : probe_collect_later(p);
}

static int probe_on_icmp(struct probe *p)
{
	uint8_t buf[256];
	ssize_t n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		probe_done(p, false, strerror(errno));
		return 0;
	}
	/* Echo reply (ICMP 0, ICMPv6 129) to our sequence number; the kernel
	 * matched the identifier already. */
	if (n >= 8 && (buf[0] == ICMP_ECHOREPLY || buf[0] == ICMP6_ECHO_REPLY) &&
	    (uint16_t) (buf[6] << 8 | buf[7]) == p->seq)
		probe_done(p, true, NULL);
	return 0;
}

static int probe_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct probe *p = userdata;
	int err = 0;
	socklen_t len = sizeof(err);

	(void) s;
	(void) revents;
	if (!p->tcp)
		return probe_on_icmp(p);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	/* A refusal is an answer from the host: it is there. */
	probe_done(p, err == 0 || err == ECONNREFUSED, strerror(err));
	return 0;
}

static int probe_open_icmp(struct probe *p, int family, const struct sockaddr *sa, socklen_t salen)
{
	uint8_t echo[16] = { family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST };
	int fd;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	if (fd < 0)
		return -errno;
	p->fd = fd;
	p->seq++;
	echo[6] = (uint8_t) (p->seq >> 8);
	echo[7] = (uint8_t) p->seq;
	memcpy(echo + 8, "smartcon", 8);
	/* connect() makes the kernel hand us only this host's replies. */
	if (connect(fd, sa, salen) < 0 || send(fd, echo, sizeof(echo), MSG_DONTWAIT) < 0)
		return -errno;
	return probe_watch(p, fd, EPOLLIN);
}

static int probe_open_tcp(struct probe *p, const struct sockaddr *sa, socklen_t salen)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return -errno;
	p->fd = fd;
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		if (errno == ECONNREFUSED)
			return 1;
		return -errno;
	}
	return probe_watch(p, fd, EPOLLOUT);
}

static void probe_addr(struct probe *p, const char *addr)
{
	struct reachability *n = p->owner;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	socklen_t salen;
	int r = -EAFNOSUPPORT;

	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		salen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		salen = sizeof(*in6);
	} else {
		probe_done(p, false, "bad address");
		return;
	}

	if (!n->icmp_denied) {
		r = probe_open_icmp(p, ss.ss_family, (struct sockaddr *) &ss, salen);
		if (r == -EACCES || r == -EPERM || r == -EPROTONOSUPPORT || r == -EAFNOSUPPORT) {
			n->icmp_denied = true;
			log_notice("ICMP echo sockets are not allowed to this process "
				   "(net.ipv4.ping_group_range), probing with TCP connections");
			if (p->fd >= 0)
				close(p->fd);
			p->fd = -EBADF;
		} else {
			p->tcp = false;
			snprintf(n->method, sizeof(n->method), "icmp");
		}
	}
	if (n->icmp_denied) {
		uint16_t port = htons(p->tcp_port);

		if (ss.ss_family == AF_INET)
			in4->sin_port = port;
		else
			in6->sin6_port = port;
		p->tcp = true;
		snprintf(n->method, sizeof(n->method), "tcp");
		r = probe_open_tcp(p, (struct sockaddr *) &ss, salen);
		if (r == 1) {
			probe_done(p, true, NULL);
			return;
		}
	}
	if (r < 0)
		probe_done(p, false, strerror(-r));
}

static void probe_on_resolved(int error, const char *addr, void *userdata)
{
	struct probe *p = userdata;

	p->res = NULL;
	if (error < 0) {
		probe_done(p, false, error == -ENOENT ? "no such host" : strerror(-error));
		return;
	}
	probe_addr(p, addr);
}

/* The IPv4 default route's gateway, from /proc/self/net/route: the unit's
 * ProcSubset=pid hides /proc/net. */
static int reachability_default_gateway(char *buf, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/self/net/route", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char ifname[64];
		unsigned dest, gw, flags;
		struct in_addr a;

		if (sscanf(line, "%63s %x %x %x", ifname, &dest, &gw, &flags) != 4)
			continue;
		if (dest != 0 || !(flags & 0x2) || !(flags & 0x1)) /* RTF_GATEWAY, RTF_UP */
			continue;
		a.s_addr = gw; /* already in network order, as the kernel prints it */
		r = inet_ntop(AF_INET, &a, buf, (socklen_t) size) ? 0 : -errno;
		break;
	}
	fclose(f);
	return r;
}

static void probe_start(struct probe *p)
{
	struct reachability *n = p->owner;
	int r;

	if (p->busy)
		probe_done(p, false, "no answer");
	if (!p->host[0] && p != &n->gw)
		return;
	if (p == &n->gw) {
		if (!n->gateway_setting[0])
			return;
		if (strcmp(n->gateway_setting, "auto") == 0) {
			r = reachability_default_gateway(p->host, sizeof(p->host));
			if (r < 0) {
				snprintf(p->host, sizeof(p->host), "(default route)");
				probe_done(p, false, "no default route");
				return;
			}
		} else {
			snprintf(p->host, sizeof(p->host), "%s", n->gateway_setting);
		}
	}

	p->busy = true;
	r = sd_event_now(n->event, CLOCK_MONOTONIC, &p->deadline);
	p->deadline += n->timeout_usec;
	if (r >= 0)
		r = sd_event_add_time(n->event, &p->timer, CLOCK_MONOTONIC, p->deadline, 0, probe_on_timer,
				      p);
	if (r >= 0)
		r = resolve_start(n->event, p->host, probe_on_resolved, p, &p->res);
	/* A name's answer comes from a thread, milliseconds later: taken on a
	 * later wake like the probe's. A literal's comes on the next pass. */
	if (r >= 0 && !resolve_is_numeric(p->host)) {
		p->parked = true;
		r = resolve_set_watched(p->res, false);
		if (r >= 0)
			r = probe_collect_later(p);
	}
	if (r < 0)
		probe_done(p, false, strerror(-r));
}

static int reachability_on_round(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct reachability *n = userdata;

	probe_start(&n->gw);
	probe_start(&n->inet);
	(void) sd_event_source_set_time(s, usec + n->interval_usec);
	return 0;
}

int reachability_new(sd_event *e, struct reachability **ret)
{
	struct reachability *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->event = sd_event_ref(e);
	n->gw = (struct probe){ .owner = n,
				.what = "gateway",
				.fd = -EBADF,
				.tcp_port = GATEWAY_TCP_PORT,
				.pass = &n->counters.gw_pass,
				.fail = &n->counters.gw_fail };
	n->inet = (struct probe){ .owner = n,
				  .what = "internet host",
				  .fd = -EBADF,
				  .pass = &n->counters.internet_pass,
				  .fail = &n->counters.internet_fail };
	*ret = n;
	return 0;
}

void reachability_stop(struct reachability *n)
{
	if (!n)
		return;
	n->round = sd_event_source_disable_unref(n->round);
	probe_reset(&n->gw);
	probe_reset(&n->inet);
}

struct reachability *reachability_free(struct reachability *n)
{
	if (!n)
		return NULL;
	reachability_stop(n);
	sd_event_unref(n->event);
	free(n);
	return NULL;
}

int reachability_start(struct reachability *n, const struct reachability_settings *s)
{
	uint64_t now = 0;
	int r;

	reachability_stop(n);
	n->interval_usec = MAX(s->interval_usec, USEC_PER_SEC);
	n->timeout_usec = MIN(PROBE_TIMEOUT_USEC, n->interval_usec);
	snprintf(n->gateway_setting, sizeof(n->gateway_setting), "%s", s->gateway);
	snprintf(n->inet.host, sizeof(n->inet.host), "%s", s->internet);
	n->inet.tcp_port = s->internet_port ?: 443;
	n->gw.known = n->inet.known = false;
	if (!n->gateway_setting[0] && !n->inet.host[0])
		return 0;

	(void) sd_event_now(n->event, CLOCK_MONOTONIC, &now);
	r = sd_event_add_time(n->event, &n->round, CLOCK_MONOTONIC, now, ROUND_SLACK_USEC(n->interval_usec),
			      reachability_on_round, n);
	if (r < 0)
		return log_error_errno(r, "Failed to start the network check timer: %m");
	return sd_event_source_set_enabled(n->round, SD_EVENT_ON);
}

int reachability_gateway_reachable(const struct reachability *n)
{
	return n && n->gw.known ? n->gw.reachable : -1;
}

int reachability_internet_reachable(const struct reachability *n)
{
	return n && n->inet.known ? n->inet.reachable : -1;
}

const struct reachability_counters *reachability_counters(const struct reachability *n)
{
	static const struct reachability_counters zero;

	return n ? &n->counters : &zero;
}

const char *reachability_method(const struct reachability *n)
{
	return n ? n->method : "";
}
