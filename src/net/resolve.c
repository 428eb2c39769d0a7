/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous name resolution (see resolve.h). The request is shared by the
 * loop and its thread; whoever drops the last reference frees it, so neither
 * side ever waits for the other. The thread signals through an eventfd that
 * only the loop side reads and closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/net/resolve.h"

struct resolve {
	int refs; /* atomic: the loop's and the thread's */
	int efd;  /* closed by the last reference */
	sd_event_source *io;
	resolve_fn cb;
	void *userdata;

	/* Written by the thread before the eventfd fires, read by the loop after. */
	int error;
	char addr[RESOLVE_ADDR_MAX];
	char host[];
};

static void resolve_unref(struct resolve *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (r->efd >= 0)
		close(r->efd);
	free(r);
}

bool resolve_is_numeric(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int resolve_gai_errno(int gai)
{
	switch (gai) {
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno > 0 ? -errno : -EIO;
	default:
		return -EIO;
	}
}

/* The first IPv4 address, else the first of any family. */
static int resolve_pick(const struct addrinfo *list, char *buf, size_t size)
{
	const struct addrinfo *best = NULL;
	const void *a;

	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			best = ai;
			break;
		}
		if (ai->ai_family == AF_INET6 && !best)
			best = ai;
	}
	if (!best)
		return -ENOENT;
	if (best->ai_family == AF_INET)
		a = &((const struct sockaddr_in *) best->ai_addr)->sin_addr;
	else
		a = &((const struct sockaddr_in6 *) best->ai_addr)->sin6_addr;
	return inet_ntop(best->ai_family, a, buf, (socklen_t) size) ? 0 : -errno;
}

static void *resolve_thread(void *arg)
{
	struct resolve *r = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *list = NULL;
	uint64_t one = 1;
	int gai;

	gai = getaddrinfo(r->host, NULL, &hints, &list);
	r->error = gai ? resolve_gai_errno(gai) : resolve_pick(list, r->addr, sizeof(r->addr));
	if (list)
		freeaddrinfo(list);

	/* The loop may have cancelled: the write then goes to an fd nobody reads. */
	(void) !write(r->efd, &one, sizeof(one));
	resolve_unref(r);
	return NULL;
}

static int resolve_on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct resolve *r = userdata;
	uint64_t n;

	(void) s;
	(void) revents;
	(void) !read(fd, &n, sizeof(n));
	r->io = sd_event_source_disable_unref(r->io);
	/* The callback may start a new query or free its owner: r goes first. */
	resolve_fn cb = r->cb;
	void *ud = r->userdata;
	int error = r->error;
	char addr[RESOLVE_ADDR_MAX];

	memcpy(addr, r->addr, sizeof(addr));
	resolve_unref(r);
	cb(error, error < 0 ? NULL : addr, ud);
	return 0;
}

/* No thread for literals: the loop answers on its next turn, like a real query. */
static int resolve_start_thread(struct resolve *r)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int e;

	if (resolve_is_numeric(r->host)) {
		uint64_t one = 1;

		snprintf(r->addr, sizeof(r->addr), "%s", r->host);
		return write(r->efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
	}

	e = pthread_attr_init(&attr);
	if (e)
		return -e;
	(void) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	(void) pthread_attr_setstacksize(&attr, 256 * 1024);

	/* Signals stay with the loop's thread (signalfd needs them blocked everywhere). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
	e = pthread_create(&t, &attr, resolve_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (e) {
		__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
		return -e;
	}
	return 0;
}

int resolve_start(sd_event *e, const char *host, resolve_fn cb, void *userdata, struct resolve **ret)
{
	size_t n = strlen(host);
	struct resolve *r;
	int k;

	r = calloc(1, sizeof(*r) + n + 1);
	if (!r)
		return -ENOMEM;
	r->refs = 1;
	r->cb = cb;
	r->userdata = userdata;
	memcpy(r->host, host, n + 1);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		k = -errno;
		free(r);
		return k;
	}

	k = sd_event_add_io(e, &r->io, r->efd, EPOLLIN, resolve_on_done, r);
	if (k >= 0)
		k = resolve_start_thread(r);
	if (k < 0) {
		r->io = sd_event_source_disable_unref(r->io);
		resolve_unref(r);
		return k;
	}
	*ret = r;
	return 0;
}

int resolve_set_watched(struct resolve *r, bool on)
{
	return sd_event_source_set_enabled(r->io, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

struct resolve *resolve_cancel(struct resolve *r)
{
	if (!r)
		return NULL;
	r->io = sd_event_source_disable_unref(r->io);
	resolve_unref(r);
	return NULL;
}
