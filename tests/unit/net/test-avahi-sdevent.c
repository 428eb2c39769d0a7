/* SPDX-License-Identifier: MIT */
/*
 * The AvahiPoll adapter over a private sd-event loop: timeouts fire at their
 * absolute wall-clock time, can be disabled, re-armed and freed from inside
 * their callback; watches report the events asked for (IN, OUT, HUP), go quiet
 * with an empty mask, work twice on one fd (as libdbus uses them), and can be
 * freed from inside their callback.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "smartconnectd/net/avahi-sdevent.h"
#include "tap.h"

struct hits {
	unsigned n;
	AvahiWatchEvent ev, got; /* from the callback, and watch_get_events() inside it */
	uint64_t at;             /* CLOCK_REALTIME, usec, of the last hit */
	int fd;
	bool free_self, rearm;
	const AvahiPoll *api;
};

static uint64_t now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static struct timeval tv_in(uint64_t usec)
{
	uint64_t t = now_real() + usec;

	return (struct timeval){ .tv_sec = (time_t) (t / USEC_PER_SEC),
				 .tv_usec = (suseconds_t) (t % USEC_PER_SEC) };
}

/* Run the loop for about usec (a plain timer ends each wait). */
static void run_for(sd_event *e, uint64_t usec)
{
	uint64_t end = now_real() + usec;

	while (now_real() < end)
		(void) sd_event_run(e, (end - now_real()));
}

static void on_timeout(AvahiTimeout *t, void *userdata)
{
	struct hits *h = userdata;

	h->n++;
	h->at = now_real();
	if (h->rearm && h->n < 3) {
		struct timeval tv = tv_in(20 * USEC_PER_MSEC);
		h->api->timeout_update(t, &tv);
	}
	if (h->free_self)
		h->api->timeout_free(t);
}

static void on_watch(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata)
{
	struct hits *h = userdata;
	char buf[16];

	h->n++;
	h->ev = ev;
	h->fd = fd;
	h->got = h->api->watch_get_events(w);
	if (ev & AVAHI_WATCH_IN)
		(void) !read(fd, buf, sizeof(buf));
	if (h->free_self)
		h->api->watch_free(w);
}

static void test_timeouts(sd_event *e, const AvahiPoll *api)
{
	struct hits a = { .api = api }, b = { .api = api }, c = { .api = api, .rearm = true },
		    d = { .api = api, .free_self = true };
	struct timeval tv = tv_in(50 * USEC_PER_MSEC), past = { .tv_sec = 1 };
	uint64_t start = now_real();

	AvahiTimeout *ta = api->timeout_new(api, &tv, on_timeout, &a);
	AvahiTimeout *tb = api->timeout_new(api, NULL, on_timeout, &b);
	AvahiTimeout *tc = api->timeout_new(api, &past, on_timeout, &c);
	AvahiTimeout *td = api->timeout_new(api, &past, on_timeout, &d);
	tap_ok(ta && tb && tc && td, "timeouts created");

	run_for(e, 200 * USEC_PER_MSEC);
	tap_ok(a.n == 1, "a timeout fires once (%u)", a.n);
	tap_ok(a.at >= start + 50 * USEC_PER_MSEC && a.at < start + 150 * USEC_PER_MSEC,
	       "at its absolute time: after %llu ms (want 50)", (unsigned long long) ((a.at - start) / 1000));
	tap_ok(b.n == 0, "a NULL time never fires (%u)", b.n);
	tap_ok(c.n == 3, "re-armed from its callback: fired 3 times (%u)", c.n);
	tap_ok(d.n == 1, "freed from its callback: fired once, no crash (%u)", d.n);

	/* Enable the disabled one, disable the other before it fires. */
	tv = tv_in(10 * USEC_PER_MSEC);
	api->timeout_update(tb, &tv);
	tv = tv_in(10 * USEC_PER_MSEC);
	api->timeout_update(ta, &tv);
	api->timeout_update(ta, NULL);
	run_for(e, 100 * USEC_PER_MSEC);
	tap_ok(b.n == 1, "timeout_update enables a disabled timeout (%u)", b.n);
	tap_ok(a.n == 1, "timeout_update(NULL) disables it (%u)", a.n);

	api->timeout_free(ta);
	api->timeout_free(tb);
	api->timeout_free(tc);
}

static void test_watches(sd_event *e, const AvahiPoll *api)
{
	struct hits r = { .api = api }, wr = { .api = api }, f = { .api = api, .free_self = true };
	int sv[2];

	tap_ok(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");

	/* Two watches on one fd, one for reading and one for writing, as libdbus does. */
	AvahiWatch *wa = api->watch_new(api, sv[0], AVAHI_WATCH_IN, on_watch, &r);
	AvahiWatch *wb = api->watch_new(api, sv[0], 0, on_watch, &wr);
	tap_ok(wa && wb, "two watches on one fd");

	run_for(e, 50 * USEC_PER_MSEC);
	tap_ok(r.n == 0 && wr.n == 0, "nothing to report: no callback (%u, %u)", r.n, wr.n);

	(void) !write(sv[1], "x", 1);
	run_for(e, 50 * USEC_PER_MSEC);
	tap_ok(r.n == 1 && r.ev == AVAHI_WATCH_IN && r.got == AVAHI_WATCH_IN && r.fd == sv[0],
	       "IN reported with avahi's fd, watch_get_events agrees (%u, %#x, %#x)", r.n, r.ev, r.got);
	tap_ok(wr.n == 0, "the watch with an empty mask stays quiet (%u)", wr.n);

	api->watch_update(wb, AVAHI_WATCH_OUT);
	run_for(e, 20 * USEC_PER_MSEC);
	tap_ok(wr.n > 0 && (wr.ev & AVAHI_WATCH_OUT), "watch_update to OUT: writable reported (%#x)", wr.ev);
	api->watch_update(wb, 0);
	wr.n = 0;
	run_for(e, 20 * USEC_PER_MSEC);
	tap_ok(wr.n == 0, "watch_update to nothing: quiet again (%u)", wr.n);

	api->watch_update(wa, 0);
	(void) !write(sv[1], "y", 1);
	run_for(e, 20 * USEC_PER_MSEC);
	tap_ok(r.n == 1, "watch_update to nothing: pending data not reported (%u)", r.n);
	api->watch_update(wa, AVAHI_WATCH_IN);
	run_for(e, 20 * USEC_PER_MSEC);
	tap_ok(r.n == 2, "watch_update back to IN: reported (%u)", r.n);

	AvahiWatch *wf = api->watch_new(api, sv[0], AVAHI_WATCH_IN, on_watch, &f);
	(void) !write(sv[1], "z", 1);
	run_for(e, 50 * USEC_PER_MSEC);
	tap_ok(wf && f.n == 1, "a watch freed from its callback: called once, no crash (%u)", f.n);

	close(sv[1]);
	r.ev = 0;
	run_for(e, 50 * USEC_PER_MSEC);
	tap_ok(r.ev & AVAHI_WATCH_HUP, "the peer closed: HUP reported (%#x)", r.ev);

	api->watch_free(wa);
	api->watch_free(wb);
	close(sv[0]);
}

int main(void)
{
	_cleanup_(sdevent_avahi_poll_freep) struct sdevent_avahi_poll *p = NULL;
	sd_event *e = NULL;

	tap_ok(sd_event_new(&e) >= 0, "a private loop");
	tap_ok(sdevent_avahi_poll_new(e, &p) == 0, "the adapter");
	test_timeouts(e, sdevent_avahi_poll_get(p));
	test_watches(e, sdevent_avahi_poll_get(p));
	p = sdevent_avahi_poll_free(p);
	sd_event_unref(e);
	return tap_done();
}
