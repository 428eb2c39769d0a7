/* SPDX-License-Identifier: MIT */
/*
 * AvahiPoll over sd-event (see avahi-sdevent.h). avahi only ever sees its own
 * objects; the sd-event sources behind them are private.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/time.h>

#include "smartconnectd/net/avahi-sdevent.h"

/* avahi's timers pace mDNS probes (250 ms apart) and D-Bus dispatch: sd-event's
 * default slack of 250 ms would stretch them. */
#define TIMEOUT_ACCURACY_USEC 1000

struct sdevent_avahi_poll {
	AvahiPoll api; /* api.userdata points back here */
	sd_event *event;
};

struct AvahiWatch {
	sd_event_source *src;
	int fd;     /* avahi's fd, passed back to its callback */
	int dup_fd; /* the one epoll watches */
	AvahiWatchEvent last;
	AvahiWatchCallback cb;
	void *userdata;
};

struct AvahiTimeout {
	sd_event_source *src;
	AvahiTimeoutCallback cb;
	void *userdata;
};

static uint32_t epoll_from_avahi(AvahiWatchEvent ev)
{
	/* ERR and HUP are always reported by epoll. */
	return (ev & AVAHI_WATCH_IN ? EPOLLIN : 0) | (ev & AVAHI_WATCH_OUT ? EPOLLOUT : 0);
}

static AvahiWatchEvent avahi_from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? AVAHI_WATCH_IN : 0) | (ev & EPOLLOUT ? AVAHI_WATCH_OUT : 0) |
	       (ev & EPOLLERR ? AVAHI_WATCH_ERR : 0) | (ev & EPOLLHUP ? AVAHI_WATCH_HUP : 0);
}

static int watch_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	AvahiWatch *w = userdata;

	(void) s;
	(void) fd;
	w->last = avahi_from_epoll(revents);
	w->cb(w, w->fd, w->last, w->userdata); /* may free w */
	return 0;
}

static int watch_set(AvahiWatch *w, AvahiWatchEvent event)
{
	int r;

	/* No events asked for: off, or a pending HUP would be reported forever. */
	if (!epoll_from_avahi(event))
		return sd_event_source_set_enabled(w->src, SD_EVENT_OFF);
	r = sd_event_source_set_io_events(w->src, epoll_from_avahi(event));
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(w->src, SD_EVENT_ON);
}

static void watch_free(AvahiWatch *w)
{
	if (!w)
		return;
	w->src = sd_event_source_disable_unref(w->src);
	if (w->dup_fd >= 0)
		close(w->dup_fd);
	free(w);
}

static AvahiWatch *watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent event, AvahiWatchCallback cb,
			     void *userdata)
{
	struct sdevent_avahi_poll *p = api->userdata;
	AvahiWatch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	*w = (AvahiWatch){ .fd = fd, .cb = cb, .userdata = userdata };
	w->dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (w->dup_fd < 0 || sd_event_add_io(p->event, &w->src, w->dup_fd, EPOLLIN, watch_on_io, w) < 0 ||
	    watch_set(w, event) < 0) {
		watch_free(w);
		return NULL;
	}
	return w;
}

static void watch_update(AvahiWatch *w, AvahiWatchEvent event)
{
	/* The interface has no way to report this; the source keeps its old mask. */
	(void) watch_set(w, event);
}

static AvahiWatchEvent watch_get_events(AvahiWatch *w)
{
	return w->last;
}

static int timeout_on_time(sd_event_source *s, uint64_t usec, void *userdata)
{
	AvahiTimeout *t = userdata;

	(void) s;
	(void) usec;
	t->cb(t, t->userdata); /* may free or re-arm t */
	return 0;
}

static int timeout_set(AvahiTimeout *t, const struct timeval *tv)
{
	uint64_t usec;
	int r;

	if (!tv)
		return sd_event_source_set_enabled(t->src, SD_EVENT_OFF);

	/* An absolute CLOCK_REALTIME time; one in the past fires at once. */
	usec = (uint64_t) tv->tv_sec * USEC_PER_SEC + (uint64_t) tv->tv_usec;
	r = sd_event_source_set_time(t->src, usec ?: 1);
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(t->src, SD_EVENT_ONESHOT);
}

static void timeout_free(AvahiTimeout *t)
{
	if (!t)
		return;
	t->src = sd_event_source_disable_unref(t->src);
	free(t);
}

static AvahiTimeout *timeout_new(const AvahiPoll *api, const struct timeval *tv, AvahiTimeoutCallback cb,
				 void *userdata)
{
	struct sdevent_avahi_poll *p = api->userdata;
	AvahiTimeout *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (AvahiTimeout){ .cb = cb, .userdata = userdata };
	if (sd_event_add_time(p->event, &t->src, CLOCK_REALTIME, 1, TIMEOUT_ACCURACY_USEC, timeout_on_time,
			      t) < 0 ||
	    timeout_set(t, tv) < 0) {
		timeout_free(t);
		return NULL;
	}
	return t;
}

static void timeout_update(AvahiTimeout *t, const struct timeval *tv)
{
	(void) timeout_set(t, tv);
}

int sdevent_avahi_poll_new(sd_event *e, struct sdevent_avahi_poll **ret)
{
	struct sdevent_avahi_poll *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	*p = (struct sdevent_avahi_poll){
		.api = {
			.userdata = p,
			.watch_new = watch_new,
			.watch_update = watch_update,
			.watch_get_events = watch_get_events,
			.watch_free = watch_free,
			.timeout_new = timeout_new,
			.timeout_update = timeout_update,
			.timeout_free = timeout_free,
		},
		.event = sd_event_ref(e),
	};
	*ret = p;
	return 0;
}

struct sdevent_avahi_poll *sdevent_avahi_poll_free(struct sdevent_avahi_poll *p)
{
	if (!p)
		return NULL;
	sd_event_unref(p->event);
	free(p);
	return NULL;
}

const AvahiPoll *sdevent_avahi_poll_get(struct sdevent_avahi_poll *p)
{
	return &p->api;
}
