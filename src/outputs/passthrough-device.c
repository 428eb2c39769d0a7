/* SPDX-License-Identifier: MIT */
/*
 * The passthrough's P1 out device (see passthrough.h): a second tty that gets
 * a byte-exact copy of the meter's line, at the serial setting the meter's
 * bytes were read at, from its own bounded queue. A line that vanishes is
 * reopened by tty.c; a line that comes back starts at the next telegram.
 *
 * Not here: the chunks and the TCP clients (passthrough.c), serial I/O (tty.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "smartconnectd/base/log.h"

#include "passthrough-internal.h"

static ssize_t device_write(const void *buf, size_t n, void *userdata)
{
	return tty_write(userdata, buf, n);
}

static void device_flush(struct passthrough *p)
{
	struct ptdevice *d = p->dev;
	int r;

	r = passthrough_queue_flush(&d->q, device_write, d->tty, &d->frames, &d->bytes);
	/* Any other error: the tty handles the line as vanished and says so. */
	if (r == 0 || r == -EAGAIN)
		(void) tty_want_write(d->tty, r == -EAGAIN);
}

void passthrough_device_push(struct passthrough *p, struct passthrough_chunk *c)
{
	struct ptdevice *d = p->dev;
	bool was_empty = passthrough_queue_empty(&d->q);

	if (tty_get_state(d->tty) != TTY_STATE_OPEN)
		return;
	if (!passthrough_reader_takes(&d->synced, d->join, c))
		return;
	if (!passthrough_queue_push(&d->q, c)) {
		d->dropped += passthrough_chunk_is_frame(c);
		passthrough_dropped(p, c, tty_get_path(d->tty), &d->q);
		return;
	}
	if (was_empty)
		device_flush(p);
}

static void device_on_writable(void *userdata)
{
	device_flush(userdata);
}

static void device_on_state(enum tty_state state, void *userdata)
{
	struct passthrough *p = userdata;
	struct ptdevice *d = p->dev;

	(void) state;
	/* Called from inside tty_start() too, before p->dev is set. */
	if (!d)
		return;
	passthrough_queue_clear(&d->q);
	(void) tty_want_write(d->tty, false);
	/* A line that comes back starts at the next telegram. */
	d->synced = false;
	d->join = passthrough_stream_end(p);
}

struct ptdevice *passthrough_device_free(struct ptdevice *d)
{
	if (!d)
		return NULL;
	d->tty = tty_free(d->tty);
	passthrough_queue_clear(&d->q);
	free(d);
	return NULL;
}

int passthrough_device_open(struct passthrough *p)
{
	static const struct tty_callbacks cb = {
		.on_state = device_on_state,
		.on_writable = device_on_writable,
	};
	struct ptdevice *d;
	int r;

	if (!p->device_path[0])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return log_oom();
	passthrough_queue_init(&d->q, p->queue_size);
	d->setting = p->setting;
	r = tty_new(p->event, p->device_path, d->setting, &cb, p, &d->tty);
	if (r < 0) {
		free(d);
		return log_oom();
	}
	r = tty_start(d->tty);
	if (r < 0) {
		passthrough_device_free(d);
		return r;
	}
	d->join = passthrough_stream_end(p);
	p->dev = d;
	log_info("Passthrough copy of the meter's line to '%s'", p->device_path);
	return 0;
}

/* The copy runs at the serial setting the meter's bytes were read at. */
void passthrough_device_follow(struct passthrough *p, enum tty_setting s)
{
	int r;

	p->setting = s;
	if (!p->dev || p->dev->setting == s)
		return;
	p->dev->setting = s;
	r = tty_set_setting(p->dev->tty, s);
	if (r < 0)
		log_warning_errno(r, "Cannot set %s on '%s', ignoring: %m", tty_setting_to_string(s),
				  p->device_path);
	else
		log_debug("Passthrough device '%s' now at %s", p->device_path, tty_setting_to_string(s));
}

const char *passthrough_device_state(const struct ptdevice *d)
{
	static const char *const states[_TTY_STATE_MAX] = {
		[TTY_STATE_STOPPED] = "stopped",
		[TTY_STATE_OPEN] = "open",
		[TTY_STATE_RETRYING] = "retrying",
	};

	return states[tty_get_state(d->tty)];
}

json_t *passthrough_device_json(const struct passthrough *p)
{
	const struct ptdevice *d = p->dev;

	if (!d)
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "path", p->device_path, "state",
			 passthrough_device_state(d), "setting", tty_setting_to_string(d->setting),
			 "bytes_sent", (json_int_t) d->bytes, "telegrams_sent", (json_int_t) d->frames,
			 "telegrams_dropped", (json_int_t) d->dropped);
}
