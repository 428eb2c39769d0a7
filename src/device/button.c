/* SPDX-License-Identifier: MIT */
/*
 * The push button's device (see button.h): open, read whole input_event
 * records, follow the watched key, reopen after the device vanished. What a
 * press means is decided in button-press.c and by the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/device/button-press.h"
#include "smartconnectd/device/button.h"

#define RETRY_MIN_USEC (1 * UINT64_C(1000000))
#define RETRY_MAX_USEC (30 * UINT64_C(1000000))
#define BUTTON_DEVICE_MAX 256
#define EVENTS_PER_READ 64

struct button {
	sd_event *event;
	char device[BUTTON_DEVICE_MAX];
	int key;
	button_fn fn;
	void *userdata;

	int fd;
	sd_event_source *io, *retry, *held;
	uint64_t backoff_usec;
	bool warned;   /* the first failed open was logged as a warning */
	bool vanished; /* it was open before: say when it is back */

	/* A record may arrive in pieces (a FIFO, a short read). */
	uint8_t partial[sizeof(struct input_event)];
	size_t n_partial;

	bool down;
	uint64_t down_stamp_usec; /* the press record's time stamp */
	uint64_t down_loop_usec;  /* the loop's clock when it was read */
};

static int button_open(struct button *b);

static uint64_t event_stamp_usec(const struct input_event *ev)
{
	return (uint64_t) ev->input_event_sec * UINT64_C(1000000) + (uint64_t) ev->input_event_usec;
}

static uint64_t button_now(const struct button *b)
{
	uint64_t now = 0;

	(void) sd_event_now(b->event, CLOCK_MONOTONIC, &now);
	return now;
}

static void button_stop_held(struct button *b)
{
	b->held = sd_event_source_disable_unref(b->held);
}

static int button_on_held(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct button *b = userdata;
	uint64_t held = usec - b->down_loop_usec;
	int r;

	b->fn(b, BUTTON_EVENT_THRESHOLD, held, b->userdata);
	if (held > BUTTON_FACTORY_USEC) {
		button_stop_held(b);
		return 0;
	}
	/* Next: just past 10 s, where a release means a factory reset. */
	r = sd_event_source_set_time(s, b->down_loop_usec + BUTTON_FACTORY_USEC + 1000);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0)
		log_debug_errno(r, "Button: cannot re-arm the hold timer, ignoring: %m");
	return 0;
}

static void button_key(struct button *b, const struct input_event *ev)
{
	uint64_t now = button_now(b), held;
	int r;

	if (ev->value == 1 && !b->down) {
		b->down = true;
		b->down_stamp_usec = event_stamp_usec(ev);
		b->down_loop_usec = now;
		b->fn(b, BUTTON_EVENT_DOWN, 0, b->userdata);
		button_stop_held(b);
		r = sd_event_add_time(b->event, &b->held, CLOCK_MONOTONIC, now + BUTTON_AP_MODE_USEC, 0,
				      button_on_held, b);
		if (r < 0)
			log_debug_errno(r, "Button: no hold timer, the LED will not show thresholds: %m");
	} else if (ev->value == 0 && b->down) {
		b->down = false;
		button_stop_held(b);
		/* A time stamp going backwards (clock set) falls back to the loop's clock. */
		held = event_stamp_usec(ev) >= b->down_stamp_usec ? event_stamp_usec(ev) - b->down_stamp_usec
								  : now - b->down_loop_usec;
		b->fn(b, BUTTON_EVENT_UP, held, b->userdata);
	}
	/* value 2 is auto-repeat while held: nothing new. */
}

static void button_record(struct button *b, const struct input_event *ev)
{
	if (ev->type == EV_KEY && ev->code == b->key)
		button_key(b, ev);
}

static void button_close(struct button *b)
{
	b->io = sd_event_source_disable_unref(b->io);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->n_partial = 0;
}

static int button_on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct button *b = userdata;

	(void) s;
	(void) usec;
	b->retry = sd_event_source_disable_unref(b->retry);
	(void) button_open(b);
	return 0;
}

static void button_schedule_retry(struct button *b)
{
	int r;

	b->retry = sd_event_source_disable_unref(b->retry);
	r = sd_event_add_time_relative(b->event, &b->retry, CLOCK_MONOTONIC, b->backoff_usec, 0,
				       button_on_retry, b);
	if (r < 0)
		log_error_errno(r, "Button: cannot arm the reopen timer, the button stays off: %m");
	b->backoff_usec = MIN(b->backoff_usec * 2, RETRY_MAX_USEC);
}

static void button_vanished(struct button *b, int error)
{
	log_warning_errno(error, "Button: '%s' vanished, retrying: %m", b->device);
	button_close(b);
	b->vanished = true;
	if (b->down) {
		b->down = false;
		button_stop_held(b);
		b->fn(b, BUTTON_EVENT_LOST, 0, b->userdata);
	}
	button_schedule_retry(b);
}

/* Whole records out of buf (after the pieces of one left from before). */
static void button_feed(struct button *b, const uint8_t *buf, size_t n)
{
	const size_t rec = sizeof(struct input_event);
	struct input_event ev;

	while (n > 0) {
		size_t take = MIN(rec - b->n_partial, n);

		memcpy(b->partial + b->n_partial, buf, take);
		b->n_partial += take;
		buf += take;
		n -= take;
		if (b->n_partial < rec)
			break;
		memcpy(&ev, b->partial, rec);
		b->n_partial = 0;
		button_record(b, &ev);
	}
}

static int button_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct button *b = userdata;
	uint8_t buf[EVENTS_PER_READ * sizeof(struct input_event)];
	ssize_t n;

	(void) s;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			b->backoff_usec = RETRY_MIN_USEC;
			button_feed(b, buf, (size_t) n);
			if (b->fd < 0)
				return 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && !(revents & (EPOLLHUP | EPOLLERR)))
			return 0;
		button_vanished(b, n == 0 || errno == EAGAIN ? ENODEV : errno);
		return 0;
	}
}

static int button_open(struct button *b)
{
	int fd, r;

	fd = open(b->device, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (!b->warned)
			log_warning_errno(r, "Button: cannot open '%s', retrying: %m", b->device);
		else
			log_debug_errno(r, "Button: cannot open '%s' yet: %m", b->device);
		b->warned = true;
		button_schedule_retry(b);
		return 0;
	}
	r = sd_event_add_io(b->event, &b->io, fd, EPOLLIN, button_on_io, b);
	if (r < 0) {
		close(fd);
		return log_error_errno(r, "Button: cannot watch '%s': %m", b->device);
	}
	b->fd = fd;
	b->warned = false;
	if (b->vanished)
		log_info("Button: '%s' is back", b->device);
	else
		log_info("Button: reading key %d from '%s'", b->key, b->device);
	b->vanished = false;
	return 0;
}

int button_new(sd_event *e, const struct button_settings *s, button_fn fn, void *userdata,
	       struct button **ret)
{
	struct button *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->event = sd_event_ref(e);
	snprintf(b->device, sizeof(b->device), "%s", s->device);
	b->key = s->key;
	b->fn = fn;
	b->userdata = userdata;
	b->fd = -1;
	b->backoff_usec = RETRY_MIN_USEC;
	*ret = b;
	return 0;
}

int button_start(struct button *b)
{
	return button_open(b);
}

struct button *button_free(struct button *b)
{
	if (!b)
		return NULL;
	button_stop_held(b);
	b->retry = sd_event_source_disable_unref(b->retry);
	button_close(b);
	sd_event_unref(b->event);
	free(b);
	return NULL;
}
