/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A rate-limited log line for one kind of event, on the event loop: the first
 * event after a quiet period is logged in full by the caller; later ones in
 * the same window are only counted, and when the window ends the owner's
 * summary function is called once with the count. A steady stream of events
 * thus gives one full line and then one summary per interval; a quiet period
 * gives nothing.
 *
 * The timer runs from a window's first event to the window's end and is
 * armed again only when that window counted events, so a quiet daemon is
 * not woken by it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "smartconnectd/base/log.h"

struct log_summary;

/* Log the summary of `counted` events of the window that just ended (never 0).
 * interval_usec is the window's length, for the message. */
typedef void (*log_summary_fn)(struct log_summary *s, unsigned counted, uint64_t interval_usec,
			       void *userdata);

struct log_summary {
	struct log_ratelimit rl;
	sd_event *event;        /* borrowed */
	sd_event_source *timer; /* ends the open window */
	log_summary_fn fn;
	void *userdata;
};

/* Never fails: the timer is created when first needed. */
void log_summary_init(struct log_summary *s, sd_event *e, uint64_t interval_usec, log_summary_fn fn,
		      void *userdata);
/* Drops the timer and whatever was counted, without a summary. Safe on a zeroed struct. */
void log_summary_done(struct log_summary *s);
/* Takes effect for the next window. */
void log_summary_set_interval(struct log_summary *s, uint64_t interval_usec);
static inline uint64_t log_summary_interval(const struct log_summary *s)
{
	return s->rl.interval_usec;
}

/* Record one event. True: log it in full now (it opened a window); false: it
 * was counted for the summary. */
bool log_summary_event(struct log_summary *s);
