/* SPDX-License-Identifier: MIT */
/*
 * The meter's byte stream over TCP (see source-tcp.h). Four event sources:
 * the socket while connecting or connected, a retry timer while waiting, an
 * idle timer re-armed by every read (the frame gap), and a dead timer that
 * bounds both the connect and the silence of a connected peer. The io source
 * is always dropped before the fd is closed.
 *
 * Not here: frames, protocol detection (meter.c), name resolution (the
 * resolver handed in).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/base/event-timer.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/source-tcp.h"

#define SOURCE_TCP_BACKOFF_MIN_SEC 1u
#define SOURCE_TCP_BACKOFF_MAX_SEC 60u
#define SOURCE_TCP_DEAD_DEFAULT_USEC (60 * USEC_PER_SEC)
#define SOURCE_TCP_READ_CHUNK 4096
/* Reads per wake-up: a fast sender must not starve the rest of the loop. */
#define SOURCE_TCP_READS_PER_EVENT 16

struct source_tcp {
	sd_event *event;
	char *device; /* as configured, for the log */
	char host[SOURCE_TCP_HOST_MAX];
	uint16_t port;
	enum tty_setting setting;
	enum tty_state state;
	int fd;
	bool connected; /* the connect completed; until then the fd waits for EPOLLOUT */

	sd_event_source *io;
	sd_event_source *retry_timer;
	sd_event_source *idle_timer;
	sd_event_source *dead_timer;
	struct resolve *res;
	const struct source_tcp_resolver *resolver;

	unsigned backoff_sec;
	bool got_data; /* bytes on this connection: the source works, the back-off starts over */
	bool warned;   /* this outage is logged */
	uint64_t dead_usec;
	uint64_t connects;

	struct tty_callbacks cb;
	void *userdata;
};

bool source_tcp_is(const char *device)
{
	return device && strncmp(device, SOURCE_TCP_PREFIX, strlen(SOURCE_TCP_PREFIX)) == 0;
}

int source_tcp_parse(const char *device, char *host, uint16_t *port)
{
	const char *h, *end, *colon;
	char *p_end;
	unsigned long p;
	size_t len;

	if (!source_tcp_is(device))
		return -EINVAL;
	h = device + strlen(SOURCE_TCP_PREFIX);
	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		end = colon;
		/* Two colons: an IPv6 address, which needs brackets around it. */
		if (!colon || memchr(h, ':', (size_t) (colon - h)))
			return -EINVAL;
	}
	len = (size_t) (end - h);
	if (len == 0 || len >= SOURCE_TCP_HOST_MAX || strcspn(h, "/?#@ ") < len)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &p_end, 10);
	if (errno || *p_end || p_end == colon + 1 || colon[1] == '+' || colon[1] == '-' || p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = (uint16_t) p;
	return 0;
}

static void source_tcp_set_state(struct source_tcp *t, enum tty_state state)
{
	if (t->state == state)
		return;
	t->state = state;
	if (t->cb.on_state)
		t->cb.on_state(state, t->userdata);
}

static void source_tcp_disarm(sd_event_source *src)
{
	if (src)
		(void) sd_event_source_set_enabled(src, SD_EVENT_OFF);
}

static void source_tcp_close(struct source_tcp *t)
{
	t->io = sd_event_source_disable_unref(t->io);
	if (t->fd >= 0)
		(void) close(t->fd);
	t->fd = -EBADF;
	t->connected = false;
	if (t->res && t->resolver)
		t->res = t->resolver->cancel(t->res);
	t->res = NULL;
	source_tcp_disarm(t->idle_timer);
	source_tcp_disarm(t->dead_timer);
}

static int source_tcp_on_retry(sd_event_source *s, uint64_t usec, void *userdata);

/* The wait before the next attempt: the back-off plus up to a quarter of it. */
static uint64_t source_tcp_wait_usec(struct source_tcp *t)
{
	uint64_t base = (uint64_t) t->backoff_sec * USEC_PER_SEC;
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = 0;
	return base + rnd % (base / 4 + 1);
}

/* Close, tell, and try again after the back-off. why is for the log. */
static void source_tcp_fail(struct source_tcp *t, int error, const char *why)
{
	uint64_t wait;
	int r;

	source_tcp_close(t);
	if (t->got_data)
		t->backoff_sec = SOURCE_TCP_BACKOFF_MIN_SEC;
	t->got_data = false;
	wait = source_tcp_wait_usec(t);
	t->backoff_sec = MIN(t->backoff_sec * 2, SOURCE_TCP_BACKOFF_MAX_SEC);

	if (!t->warned)
		log_warning("Meter source %s: %s%s%s, retrying in %llu.%01llus", t->device, why,
			    error ? ": " : "", error ? strerror(-error) : "",
			    (unsigned long long) (wait / USEC_PER_SEC),
			    (unsigned long long) (wait % USEC_PER_SEC / (USEC_PER_SEC / 10)));
	else
		log_debug("Meter source %s: %s%s%s, retrying in %llums", t->device, why, error ? ": " : "",
			  error ? strerror(-error) : "", (unsigned long long) (wait / USEC_PER_MSEC));
	t->warned = true;

	r = event_timer_arm(t->event, &t->retry_timer, wait, source_tcp_on_retry, t);
	if (r < 0) {
		log_error_errno(r, "Failed to arm the reconnect timer of %s: %m", t->device);
		source_tcp_set_state(t, TTY_STATE_STOPPED);
		return;
	}
	source_tcp_set_state(t, TTY_STATE_RETRYING);
}

static int source_tcp_on_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct source_tcp *t = userdata;

	(void) s;
	(void) usec;
	if (t->cb.on_idle)
		t->cb.on_idle(t->userdata);
	return 0;
}

static int source_tcp_on_dead(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct source_tcp *t = userdata;
	char why[64];

	(void) s;
	(void) usec;
	snprintf(why, sizeof(why), "%s for %llus", t->connected ? "nothing received" : "no connection",
		 (unsigned long long) (t->dead_usec / USEC_PER_SEC));
	source_tcp_fail(t, 0, why);
	return 0;
}

static void source_tcp_arm_dead(struct source_tcp *t)
{
	int r = event_timer_arm(t->event, &t->dead_timer, t->dead_usec, source_tcp_on_dead, t);

	if (r < 0)
		log_warning_errno(r, "Failed to arm the dead-peer timer of %s, ignoring: %m", t->device);
}

static void source_tcp_data(struct source_tcp *t, const uint8_t *buf, size_t n)
{
	int r;

	t->got_data = true;
	t->backoff_sec = SOURCE_TCP_BACKOFF_MIN_SEC;
	source_tcp_arm_dead(t);
	if (!t->cb.on_data || !t->cb.on_data(buf, n, t->userdata)) {
		/* No frame in progress: silence cuts nothing. */
		source_tcp_disarm(t->idle_timer);
		return;
	}
	if (t->fd < 0) /* closed by the owner meanwhile */
		return;
	r = event_timer_arm(t->event, &t->idle_timer, tty_setting_idle_usec(t->setting), source_tcp_on_idle,
			    t);
	if (r < 0)
		log_warning_errno(r, "Failed to arm the idle timer of %s, ignoring: %m", t->device);
}

static void source_tcp_connected(struct source_tcp *t)
{
	int r = sd_event_source_set_io_events(t->io, EPOLLIN);

	if (r < 0) {
		source_tcp_fail(t, r, "cannot watch the connection");
		return;
	}
	t->connected = true;
	t->connects++;
	if (t->warned)
		log_notice("Meter source %s is back", t->device);
	else
		log_info("Meter source %s connected", t->device);
	t->warned = false;
	source_tcp_set_state(t, TTY_STATE_OPEN);
}

static void source_tcp_read(struct source_tcp *t, int fd)
{
	uint8_t buf[SOURCE_TCP_READ_CHUNK];

	for (unsigned i = 0; i < SOURCE_TCP_READS_PER_EVENT; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			source_tcp_data(t, buf, (size_t) n);
			if (t->fd != fd) /* the owner stopped or switched from its callback */
				return;
			continue;
		}
		if (n == 0) {
			source_tcp_fail(t, 0, "closed by the peer");
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			source_tcp_fail(t, -errno, "read failed");
		return;
	}
}

static int source_tcp_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct source_tcp *t = userdata;
	int err = 0;
	socklen_t len = sizeof(err);

	(void) s;
	if (!t->connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			source_tcp_fail(t, -err, "cannot connect");
			return 0;
		}
		source_tcp_connected(t);
		if (t->fd != fd)
			return 0;
	}
	if (revents & EPOLLIN)
		source_tcp_read(t, fd);
	else if (revents & (EPOLLHUP | EPOLLERR))
		source_tcp_fail(t, -ECONNRESET, "connection lost");
	return 0;
}

/* Keep-alive probes fit into the dead limit: idle a third of it, then three
 * probes a ninth apart, so a silent dead peer is found before the limit. */
static void source_tcp_keepalive(const struct source_tcp *t, int fd)
{
	int on = 1, cnt = 3;
	int idle = (int) MAX(t->dead_usec / USEC_PER_SEC / 3, 1);
	int intvl = (int) MAX(t->dead_usec / USEC_PER_SEC / 9, 1);

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		log_debug_errno(-errno, "No keep-alive on %s, the dead limit alone applies: %m", t->device);
}

/* addr is numeric text (from the configuration or the resolver). */
static void source_tcp_connect(struct source_tcp *t, const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
	socklen_t sl;
	int r;

	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(t->port);
		sl = sizeof(*in4);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(t->port);
		sl = sizeof(*in6);
	} else {
		source_tcp_fail(t, -EINVAL, "not an address");
		return;
	}

	t->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (t->fd < 0) {
		source_tcp_fail(t, -errno, "no socket");
		return;
	}
	source_tcp_keepalive(t, t->fd);
	if (connect(t->fd, (struct sockaddr *) &ss, sl) < 0 && errno != EINPROGRESS) {
		source_tcp_fail(t, -errno, "cannot connect");
		return;
	}
	/* Writable means connected (or failed: SO_ERROR says which). */
	r = sd_event_add_io(t->event, &t->io, t->fd, EPOLLOUT, source_tcp_on_io, t);
	if (r < 0) {
		source_tcp_fail(t, r, "cannot watch the connection");
		return;
	}
}

static void source_tcp_on_resolved(int error, const char *addr, void *userdata)
{
	struct source_tcp *t = userdata;

	t->res = NULL;
	if (error < 0) {
		source_tcp_fail(t, error, error == -ENOENT ? "no such host" : "cannot resolve the host");
		return;
	}
	source_tcp_connect(t, addr);
}

static void source_tcp_attempt(struct source_tcp *t)
{
	struct in6_addr any;
	int r;

	source_tcp_close(t);
	source_tcp_set_state(t, TTY_STATE_RETRYING);
	/* The dead limit bounds the name lookup and the connect as well. */
	source_tcp_arm_dead(t);
	if (inet_pton(AF_INET, t->host, &any) == 1 || inet_pton(AF_INET6, t->host, &any) == 1) {
		source_tcp_connect(t, t->host);
		return;
	}
	if (!t->resolver) {
		source_tcp_fail(t, -ENOENT, "host names need the resolver");
		return;
	}
	r = t->resolver->start(t->event, t->host, source_tcp_on_resolved, t, &t->res);
	if (r < 0)
		source_tcp_fail(t, r, "cannot resolve the host");
}

static int source_tcp_on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void) s;
	(void) usec;
	source_tcp_attempt(userdata);
	return 0;
}

int source_tcp_new(sd_event *e, const char *device, enum tty_setting setting, const struct tty_callbacks *cb,
		   void *userdata, const struct source_tcp_resolver *resolver, struct source_tcp **ret)
{
	_cleanup_(source_tcp_freep) struct source_tcp *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->fd = -EBADF;
	t->event = sd_event_ref(e);
	if (source_tcp_parse(device, t->host, &t->port) < 0)
		return -EINVAL;
	t->device = strdup(device);
	if (!t->device)
		return -ENOMEM;
	t->setting = setting;
	t->state = TTY_STATE_STOPPED;
	t->resolver = resolver;
	t->backoff_sec = SOURCE_TCP_BACKOFF_MIN_SEC;
	t->dead_usec = SOURCE_TCP_DEAD_DEFAULT_USEC;
	t->cb = *cb;
	t->userdata = userdata;
	*ret = TAKE_PTR(t);
	return 0;
}

struct source_tcp *source_tcp_free(struct source_tcp *t)
{
	if (!t)
		return NULL;
	t->cb = (struct tty_callbacks){ 0 };
	source_tcp_stop(t);
	t->retry_timer = sd_event_source_disable_unref(t->retry_timer);
	t->idle_timer = sd_event_source_disable_unref(t->idle_timer);
	t->dead_timer = sd_event_source_disable_unref(t->dead_timer);
	sd_event_unref(t->event);
	free(t->device);
	free(t);
	return NULL;
}

int source_tcp_start(struct source_tcp *t)
{
	if (t->state != TTY_STATE_STOPPED)
		return 0;
	t->backoff_sec = SOURCE_TCP_BACKOFF_MIN_SEC;
	t->warned = false;
	source_tcp_attempt(t);
	return t->state == TTY_STATE_STOPPED ? -EIO : 0;
}

void source_tcp_stop(struct source_tcp *t)
{
	source_tcp_close(t);
	source_tcp_disarm(t->retry_timer);
	source_tcp_set_state(t, TTY_STATE_STOPPED);
}

void source_tcp_set_setting(struct source_tcp *t, enum tty_setting setting)
{
	t->setting = setting;
}

void source_tcp_set_dead_after(struct source_tcp *t, uint64_t usec)
{
	usec = usec ?: SOURCE_TCP_DEAD_DEFAULT_USEC;
	if (usec == t->dead_usec)
		return;
	t->dead_usec = usec;
	/* The connection in progress keeps its probes; the silence limit moves now. */
	if (t->fd >= 0)
		source_tcp_arm_dead(t);
}

enum tty_state source_tcp_get_state(const struct source_tcp *t)
{
	return t->state;
}

uint64_t source_tcp_connects(const struct source_tcp *t)
{
	return t->connects;
}
