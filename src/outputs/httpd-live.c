/* SPDX-License-Identifier: MIT */
/*
 * GET /api/v1/live (see httpd.h): server-sent events on the loop, without a
 * thread. Each stream is a libmicrohttpd callback response; when its queue
 * is empty the callback suspends the connection, and the next event resumes
 * it and asks for a run of MHD (a resume alone wakes nothing when the
 * application drives MHD, as microhttpd.h says of MHD_resume_connection()).
 *
 * Events are shared, refcounted texts. A stream queues at most
 * HTTPD_LIVE_QUEUE of them: when a client does not read, the oldest event
 * not yet begun is dropped whole, so memory stays bounded and a client sees
 * only complete events. An event MHD has begun to send is finished first.
 * A stream ends with the end of the chunked body (a clean end for curl and
 * EventSource) when its instance retires (reload) or the server goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "smartconnectd/base/log.h"

#include "httpd-internal.h"

struct httpd_live_event {
	unsigned refs;
	size_t len;
	char text[];
};

struct httpd_live {
	struct httpd *h;
	struct httpd_srv *srv;
	struct MHD_Connection *c;
	struct httpd_live_event *q[HTTPD_LIVE_QUEUE]; /* q[0] is sent first */
	unsigned n;
	size_t off;      /* bytes of q[0] handed to MHD */
	bool suspended;  /* by the reader, for want of events */
	bool ending;     /* send what is queued, then end the body */
	bool by_session; /* opened by the page's session, not basic auth */
	struct httpd_live *prev, *next;
};

static struct httpd_live_event *event_new(const char *name, const char *data)
{
	size_t size = strlen(name) + strlen(data) + 32;
	struct httpd_live_event *ev = malloc(sizeof(*ev) + size);
	int n;

	if (!ev)
		return NULL;
	/* A comment (": keep-alive") has no name; data never holds a newline. */
	if (name[0])
		n = snprintf(ev->text, size, "event: %s\ndata: %s\n\n", name, data);
	else
		n = snprintf(ev->text, size, ": %s\n\n", data);
	ev->refs = 1;
	ev->len = (size_t) n;
	return ev;
}

static void event_unref(struct httpd_live_event *ev)
{
	if (ev && --ev->refs == 0)
		free(ev);
}

static void live_wake(struct httpd_live *s)
{
	if (!s->suspended)
		return;
	s->suspended = false;
	MHD_resume_connection(s->c);
	/* Without MHD's own thread a resumed connection moves only in a run. */
	httpd_srv_kick(s->srv);
}

/* Queue ev on s; a full queue loses its oldest event not yet begun. */
static void live_push(struct httpd_live *s, struct httpd_live_event *ev)
{
	if (s->ending)
		return;
	if (s->n == HTTPD_LIVE_QUEUE) {
		unsigned drop = s->off > 0 ? 1 : 0;

		event_unref(s->q[drop]);
		memmove(&s->q[drop], &s->q[drop + 1], (s->n - drop - 1) * sizeof(s->q[0]));
		s->n--;
		s->h->counters.live_dropped++;
	}
	ev->refs++;
	s->q[s->n++] = ev;
	live_wake(s);
}

static ssize_t live_on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct httpd_live *s = cls;
	size_t k = 0;

	(void) pos;
	while (s->n > 0 && k < max) {
		struct httpd_live_event *ev = s->q[0];
		size_t n = MIN(ev->len - s->off, max - k);

		memcpy(buf + k, ev->text + s->off, n);
		k += n;
		s->off += n;
		if (s->off < ev->len)
			break;
		event_unref(ev);
		memmove(&s->q[0], &s->q[1], (--s->n) * sizeof(s->q[0]));
		s->off = 0;
	}
	if (k > 0)
		return (ssize_t) k;
	if (s->ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: MHD would call again at once, so wait for an event. */
	s->suspended = true;
	MHD_suspend_connection(s->c);
	return 0;
}

/* MHD is done with the response: the connection is gone. */
static void live_on_free(void *cls)
{
	struct httpd_live *s = cls;
	struct httpd *h = s->h;

	for (unsigned i = 0; i < s->n; i++)
		event_unref(s->q[i]);
	if (s->prev)
		s->prev->next = s->next;
	else
		h->live = s->next;
	if (s->next)
		s->next->prev = s->prev;
	h->n_live--;
	if (h->n_live == 0)
		(void) sd_event_source_set_enabled(h->live_timer, SD_EVENT_OFF);
	free(s);
}

static int live_on_keepalive(sd_event_source *src, uint64_t usec, void *userdata)
{
	(void) usec;
	(void) httpd_live_send(userdata, "", "keep-alive");
	(void) sd_event_source_set_time_relative(src, HTTPD_LIVE_KEEPALIVE_SEC * USEC_PER_SEC);
	(void) sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

/* The keep-alive runs while there are streams; the first one starts it. */
static int live_timer_start(struct httpd *h)
{
	int r;

	if (!h->live_timer) {
		r = sd_event_add_time_relative(h->event, &h->live_timer, CLOCK_MONOTONIC,
					       HTTPD_LIVE_KEEPALIVE_SEC * USEC_PER_SEC, 0, live_on_keepalive,
					       h);
		if (r >= 0)
			(void) sd_event_source_set_description(h->live_timer, "httpd-live-keepalive");
		return r;
	}
	if (h->n_live > 1)
		return 0;
	r = sd_event_source_set_time_relative(h->live_timer, HTTPD_LIVE_KEEPALIVE_SEC * USEC_PER_SEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(h->live_timer, SD_EVENT_ONESHOT);
	return r;
}

/* What a client that does not read leaves behind is our queue of whole
 * events, not a kernel buffer of megabytes (loopback and LAN sockets grow
 * theirs to several): a small send buffer makes the queue the bound. */
static void live_limit_sndbuf(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	int size = HTTPD_LIVE_SNDBUF;

	if (ci && setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		log_debug_errno(errno, "HTTP: cannot shrink a live stream's send buffer, ignoring: %m");
}

/* The stream's first event: the whole status, so a page has every value at once. */
static void live_hello(struct httpd_live *s)
{
	json_t *st = s->h->ops->status(s->h->userdata);
	char *text = st ? json_dumps(st, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	struct httpd_live_event *ev = text ? event_new("status", text) : NULL;

	json_decref(st);
	free(text);
	if (ev)
		live_push(s, ev);
	event_unref(ev);
}

enum MHD_Result httpd_live_start(struct httpd_srv *srv, struct MHD_Connection *c, bool by_session,
				 struct MHD_Response **ret)
{
	struct httpd *h = srv->h;
	struct httpd_live *s;
	struct MHD_Response *resp;

	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	*s = (struct httpd_live){ .h = h, .srv = srv, .c = c, .by_session = by_session, .next = h->live };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, live_on_read, s, live_on_free);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	if (h->live)
		h->live->prev = s;
	h->live = s;
	h->n_live++;
	if (live_timer_start(h) < 0)
		log_debug("HTTP: cannot arm the live keep-alive timer, ignoring");
	/* The stream is idle between events by design; a client that does not
	 * read for HTTPD_LIVE_STALL_SEC is dropped (MHD's own idle timeout). */
	(void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned) HTTPD_LIVE_STALL_SEC);
	live_limit_sndbuf(c);
	live_hello(s);
	(void) MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	(void) MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	*ret = resp;
	return MHD_YES;
}

int httpd_live_send(struct httpd *h, const char *event, const char *data)
{
	struct httpd_live_event *ev;

	if (!h || !h->live)
		return 0;
	ev = event_new(event, data);
	if (!ev)
		return -ENOMEM;
	for (struct httpd_live *s = h->live; s; s = s->next)
		live_push(s, ev);
	event_unref(ev);
	return 0;
}

unsigned httpd_live_clients(const struct httpd *h)
{
	return h ? h->n_live : 0;
}

static unsigned live_end(struct httpd *h, const struct httpd_srv *srv, bool sessions)
{
	unsigned n = 0;

	for (struct httpd_live *s = h->live; s; s = s->next)
		if ((!srv || s->srv == srv) && (!sessions || s->by_session)) {
			s->ending = true;
			live_wake(s);
			n++;
		}
	return n;
}

unsigned httpd_live_end(struct httpd *h, const struct httpd_srv *srv)
{
	return live_end(h, srv, false);
}

unsigned httpd_live_end_sessions(struct httpd *h)
{
	return live_end(h, NULL, true);
}
