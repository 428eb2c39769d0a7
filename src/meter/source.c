/* SPDX-License-Identifier: MIT */
/*
 * The meter's source (see source.h): one of a tty and a TCP connection,
 * behind the calls meter.c makes.
 */
#include <errno.h>
#include <stdlib.h>

#include "smartconnectd/meter/source.h"

struct source {
	struct tty *tty; /* exactly one of the two */
	struct source_tcp *tcp;

	sd_event *event;
	enum tty_setting setting;
	struct tty_callbacks cb;
	void *userdata;
	const struct source_tcp_resolver *resolver;
	uint64_t dead_usec;
	bool started;
};

static int source_make(struct source *s, const char *device)
{
	int r;

	if (!source_tcp_is(device))
		return tty_new(s->event, device, s->setting, &s->cb, s->userdata, &s->tty);
	r = source_tcp_new(s->event, device, s->setting, &s->cb, s->userdata, s->resolver, &s->tcp);
	if (r >= 0)
		source_tcp_set_dead_after(s->tcp, s->dead_usec);
	return r;
}

int source_new(sd_event *e, const char *device, enum tty_setting setting, const struct tty_callbacks *cb,
	       void *userdata, const struct source_tcp_resolver *resolver, struct source **ret)
{
	_cleanup_(source_freep) struct source *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(e);
	s->setting = setting;
	s->cb = *cb;
	s->userdata = userdata;
	s->resolver = resolver;
	r = source_make(s, device);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

struct source *source_free(struct source *s)
{
	if (!s)
		return NULL;
	s->tty = tty_free(s->tty);
	s->tcp = source_tcp_free(s->tcp);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

int source_start(struct source *s)
{
	s->started = true;
	return s->tcp ? source_tcp_start(s->tcp) : tty_start(s->tty);
}

void source_stop(struct source *s)
{
	s->started = false;
	if (s->tcp)
		source_tcp_stop(s->tcp);
	else
		tty_stop(s->tty);
}

int source_set_setting(struct source *s, enum tty_setting setting)
{
	s->setting = setting;
	if (s->tcp) {
		source_tcp_set_setting(s->tcp, setting);
		return 0;
	}
	return tty_set_setting(s->tty, setting);
}

int source_set_path(struct source *s, const char *device)
{
	struct tty *old_tty = s->tty;
	struct source_tcp *old_tcp = s->tcp;
	int r;

	if (s->tty && !source_tcp_is(device))
		return tty_set_path(s->tty, device);

	/* Another kind, or another TCP server: a new source in place of the old. */
	s->tty = NULL;
	s->tcp = NULL;
	r = source_make(s, device);
	if (r < 0) {
		s->tty = old_tty;
		s->tcp = old_tcp;
		return r;
	}
	if (old_tcp)
		source_tcp_stop(old_tcp);
	else
		tty_stop(old_tty);
	tty_free(old_tty);
	source_tcp_free(old_tcp);
	return s->started ? source_start(s) : 0;
}

void source_set_dead_after(struct source *s, uint64_t usec)
{
	s->dead_usec = usec;
	if (s->tcp)
		source_tcp_set_dead_after(s->tcp, usec);
}

enum tty_state source_get_state(const struct source *s)
{
	return s->tcp ? source_tcp_get_state(s->tcp) : tty_get_state(s->tty);
}

bool source_is_stream(const struct source *s)
{
	return s->tcp != NULL;
}
