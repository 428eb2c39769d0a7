/* SPDX-License-Identifier: MIT */
/*
 * The rate limiter of log.h with time passed in: the first event of a quiet
 * period is logged, later ones are counted, the window's end gives the count
 * once, a steady stream gives one summary per interval and never a second full
 * line, a quiet period closes the window. Then log-summary.h on a private
 * sd-event loop with intervals of a few milliseconds: the summary function is
 * called once with the count of its window, and no timer is left armed once
 * a window ended with nothing counted.
 */
#include <stdint.h>
#include <time.h>

#include "smartconnectd/base/log-summary.h"
#include "smartconnectd/base/log.h"
#include "tap.h"

#define SEC USEC_PER_SEC
#define MSEC USEC_PER_MSEC

/* ---- log_ratelimit: pure, time in -------------------------------------------------------- */

/* Flush once (TAP_EQ_INT would evaluate the call twice) and compare. */
static void flush_is(struct log_ratelimit *rl, uint64_t now, unsigned want, const char *what)
{
	unsigned n = log_ratelimit_flush(rl, now);

	TAP_EQ_INT(n, want, what);
}

static void test_first_and_counted(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60 * SEC);

	TAP_EQ_INT(log_ratelimit_deadline(&rl), UINT64_MAX, "no deadline before the first event");
	flush_is(&rl, 1000 * SEC, 0, "nothing to flush before the first event");

	tap_ok(log_ratelimit_event(&rl, 100 * SEC), "the first event is logged in full");
	TAP_EQ_INT(log_ratelimit_deadline(&rl), 160 * SEC, "its window ends one interval later");
	tap_ok(!log_ratelimit_event(&rl, 101 * SEC), "a second event in the window is only counted");
	tap_ok(!log_ratelimit_event(&rl, 159 * SEC), "and so is one just before the end");
	TAP_EQ_INT(rl.counted, 2, "two events counted");

	flush_is(&rl, 159 * SEC, 0, "no flush while the window runs");
	TAP_EQ_INT(rl.counted, 2, "and the count is kept");
	flush_is(&rl, 160 * SEC, 2, "the window's end gives the count");
	flush_is(&rl, 160 * SEC, 0, "once");
}

static void test_window_end(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(10 * SEC);

	tap_ok(log_ratelimit_event(&rl, 0), "event at 0 logged");
	tap_ok(!log_ratelimit_event(&rl, 5 * SEC), "event at 5 s counted");

	/* Counted events still wait for their flush: a late event joins them. */
	tap_ok(!log_ratelimit_event(&rl, 12 * SEC), "an event after the end but before the flush is counted");
	flush_is(&rl, 12 * SEC, 2, "the flush reports both");

	/* The flush reopened a window at 12 s, because there was something. */
	TAP_EQ_INT(log_ratelimit_deadline(&rl), 22 * SEC, "a new window runs from the flush");
	tap_ok(!log_ratelimit_event(&rl, 13 * SEC), "an event in the reopened window is counted");
	flush_is(&rl, 22 * SEC, 1, "and summarised at its end");
}

static void test_reopen_after_empty_window(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(10 * SEC);

	tap_ok(log_ratelimit_event(&rl, 0), "a lone event is logged");
	tap_ok(log_ratelimit_event(&rl, 10 * SEC),
	       "the next one, at the window's end with nothing counted, too");
	TAP_EQ_INT(log_ratelimit_deadline(&rl), 20 * SEC, "it opened its own window");

	/* Without a flush in between, an expired empty window is simply replaced. */
	tap_ok(log_ratelimit_event(&rl, 35 * SEC), "an event long after an empty window is logged");
	TAP_EQ_INT(rl.counted, 0, "with nothing counted");
}

static void test_steady_stream(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60 * SEC);
	unsigned full = 0, summaries = 0, summed = 0, events = 0;

	/* One event a second for ten minutes; the owner's timer flushes at each deadline. */
	for (uint64_t t = 0; t < 600 * SEC; t += SEC) {
		unsigned n;

		if (t >= log_ratelimit_deadline(&rl)) {
			n = log_ratelimit_flush(&rl, t);
			if (n > 0) {
				summaries++;
				summed += n;
			}
		}
		events++;
		if (log_ratelimit_event(&rl, t))
			full++;
	}
	summed += log_ratelimit_flush(&rl, log_ratelimit_deadline(&rl));
	summaries++;

	TAP_EQ_INT(full, 1, "a steady stream logs one full line");
	TAP_EQ_INT(summaries, 10, "and one summary per minute");
	TAP_EQ_INT(full + summed, events, "every event is either logged or counted");
}

static void test_quiet_period(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60 * SEC);

	tap_ok(log_ratelimit_event(&rl, 0), "first event logged");
	tap_ok(!log_ratelimit_event(&rl, SEC), "second counted");
	flush_is(&rl, 60 * SEC, 1, "summary at the end of the window");
	TAP_EQ_INT(log_ratelimit_deadline(&rl), 120 * SEC, "a window runs on after a summary");
	flush_is(&rl, 120 * SEC, 0, "a quiet window has nothing to say");
	TAP_EQ_INT(log_ratelimit_deadline(&rl), UINT64_MAX, "and closes: no deadline left");
	tap_ok(log_ratelimit_event(&rl, 500 * SEC),
	       "after the quiet period the next event is logged in full");
}

static void test_interval_change(void)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(60 * SEC);

	tap_ok(log_ratelimit_event(&rl, 0), "event logged");
	rl.interval_usec = 10 * SEC;
	TAP_EQ_INT(log_ratelimit_deadline(&rl), 10 * SEC, "a shorter interval moves the open window's end");
	flush_is(&rl, 10 * SEC, 0, "which then ends empty");
}

/* ---- log_summary: the same on an sd-event loop ------------------------------------------ */

struct summary_calls {
	unsigned calls;
	unsigned counted;
	uint64_t interval;
	struct log_summary *self;
};

static void on_summary(struct log_summary *s, unsigned counted, uint64_t interval_usec, void *userdata)
{
	struct summary_calls *c = userdata;

	c->calls++;
	c->counted = counted;
	c->interval = interval_usec;
	c->self = s;
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Turn the loop for about usec. */
static void run_for(sd_event *e, uint64_t usec)
{
	uint64_t end = mono_now() + usec;

	while (mono_now() < end)
		(void) sd_event_run(e, end - mono_now());
}

/* Turn the loop until *n reaches want, for at most a second. */
static void run_until(sd_event *e, const unsigned *n, unsigned want)
{
	uint64_t end = mono_now() + SEC;

	while (*n < want && mono_now() < end)
		(void) sd_event_run(e, end - mono_now());
}

static bool timer_armed(const struct log_summary *s)
{
	int enabled = SD_EVENT_OFF;

	if (!s->timer)
		return false;
	(void) sd_event_source_get_enabled(s->timer, &enabled);
	return enabled != SD_EVENT_OFF;
}

static void test_summary_loop(void)
{
	struct summary_calls c = { 0 };
	struct log_summary s;
	sd_event *e = NULL;

	if (!tap_ok(sd_event_new(&e) >= 0, "a private event loop"))
		return;
	log_summary_init(&s, e, 30 * MSEC, on_summary, &c);
	TAP_EQ_INT(log_summary_interval(&s), 30 * MSEC, "the interval is the one given");
	tap_ok(!s.timer, "no timer before the first event");

	/* sd_event_now() needs one iteration to have a time. */
	run_for(e, MSEC);
	tap_ok(log_summary_event(&s), "first event: log it in full");
	tap_ok(!log_summary_event(&s), "second: counted");
	tap_ok(!log_summary_event(&s), "third: counted");
	tap_ok(timer_armed(&s), "a timer waits for the window's end");
	TAP_EQ_INT(c.calls, 0, "no summary before the end");

	run_for(e, 50 * MSEC);
	TAP_EQ_INT(c.calls, 1, "one summary at the window's end");
	TAP_EQ_INT(c.counted, 2, "with the two counted events");
	TAP_EQ_INT(c.interval, 30 * MSEC, "and the window's length");
	tap_ok(c.self == &s, "for this summary");

	/* The window reopened after a summary; with nothing in it, it ends quietly. */
	run_for(e, 50 * MSEC);
	TAP_EQ_INT(c.calls, 1, "an empty window gives no summary");
	tap_ok(!timer_armed(&s), "and leaves no timer armed");
	run_for(e, 50 * MSEC);
	TAP_EQ_INT(c.calls, 1, "nothing more while quiet");

	/* A lone event: logged in full; its window ends with nothing to say. */
	tap_ok(log_summary_event(&s), "an event after the quiet period is logged in full");
	run_for(e, 50 * MSEC);
	TAP_EQ_INT(c.calls, 1, "a window with nothing counted gives no summary");
	tap_ok(!timer_armed(&s), "and is not re-armed");

	/* A new interval applies from the next window on. */
	log_summary_set_interval(&s, 10 * MSEC);
	TAP_EQ_INT(log_summary_interval(&s), 10 * MSEC, "set_interval changes the interval");
	tap_ok(log_summary_event(&s), "event logged");
	tap_ok(!log_summary_event(&s), "event counted");
	run_until(e, &c.calls, 2);
	TAP_EQ_INT(c.calls, 2, "summary after the shorter interval");
	TAP_EQ_INT(c.counted, 1, "with its one event");

	/* done drops what was counted, without a summary. */
	tap_ok(!log_summary_event(&s), "counted into the reopened window");
	log_summary_done(&s);
	tap_ok(!s.timer, "done drops the timer");
	run_for(e, 30 * MSEC);
	TAP_EQ_INT(c.calls, 2, "and no summary comes after done");
	log_summary_done(&s);
	tap_ok(true, "done twice is harmless");

	sd_event_unref(e);
}

static void test_summary_zeroed(void)
{
	struct log_summary s = { 0 };

	log_summary_done(&s);
	tap_ok(!s.timer, "done on a zeroed struct is safe");
}

/* Logged text from outside cannot forge or hide a line. */
static void test_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain text", "plain text" },      { "a\rb", "a\\x0db" },
		{ "x\x1b[2Kroot", "x\\x1b[2Kroot" }, { "one\ntwo", "one two" },
		{ "tab\there", "tab\\x09here" },     { "del\x7f", "del\\x7f" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = log_escape(cases[i].in, strlen(cases[i].in), out, sizeof(out));

		tap_ok(strcmp(out, cases[i].out) == 0 && n == strlen(out), "escape case %zu: '%s'", i, out);
	}
	/* Truncation never cuts an escape in half and always ends in a NUL. */
	size_t n = log_escape("ab\x1b\x1b", 4, out, 6);
	tap_ok(n == 2 && strcmp(out, "ab") == 0, "an escape that does not fit is left out whole ('%s')", out);
	n = log_escape("abcdef", 6, out, 4);
	tap_ok(n == 3 && strcmp(out, "abc") == 0, "plain text truncated to size - 1 ('%s')", out);
}

int main(void)
{
	test_escape();
	test_first_and_counted();
	test_window_end();
	test_reopen_after_empty_window();
	test_steady_stream();
	test_quiet_period();
	test_interval_change();
	test_summary_loop();
	test_summary_zeroed();
	return tap_done();
}
