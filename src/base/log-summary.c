/* SPDX-License-Identifier: MIT */
/*
 * The event-loop side of a rate-limited log line (see log-summary.h): a
 * one-shot timer at the end of each window that holds counted events.
 */
#include <errno.h>

#include "smartconnectd/base/log-summary.h"

static uint64_t summary_now(const struct log_summary *s)
{
	uint64_t now = 0;

	(void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
	return now;
}

static int summary_on_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void summary_arm(struct log_summary *s)
{
	uint64_t at = log_ratelimit_deadline(&s->rl);
	int r;

	if (at == UINT64_MAX)
		return;
	if (!s->timer)
		r = sd_event_add_time(s->event, &s->timer, CLOCK_MONOTONIC, at, 0, summary_on_timer, s);
	else if ((r = sd_event_source_set_time(s->timer, at)) >= 0)
		r = sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "Failed to arm a log summary timer, ignoring: %m");
}

static int summary_on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct log_summary *s = userdata;
	uint64_t interval = s->rl.interval_usec;
	unsigned n;

	(void) source;
	(void) usec;
	n = log_ratelimit_flush(&s->rl, summary_now(s));
	if (n > 0 && s->fn)
		s->fn(s, n, interval, s->userdata);
	/* A window with events reopened: its own summary is due at its end. */
	summary_arm(s);
	return 0;
}

void log_summary_init(struct log_summary *s, sd_event *e, uint64_t interval_usec, log_summary_fn fn,
		      void *userdata)
{
	*s = (struct log_summary){
		.rl = LOG_RATELIMIT_INIT(interval_usec),
		.event = e,
		.fn = fn,
		.userdata = userdata,
	};
}

void log_summary_done(struct log_summary *s)
{
	s->timer = sd_event_source_disable_unref(s->timer);
	s->rl = LOG_RATELIMIT_INIT(s->rl.interval_usec);
}

void log_summary_set_interval(struct log_summary *s, uint64_t interval_usec)
{
	s->rl.interval_usec = interval_usec;
}

bool log_summary_event(struct log_summary *s)
{
	if (log_ratelimit_event(&s->rl, summary_now(s))) {
		summary_arm(s);
		return true;
	}
	return false;
}
