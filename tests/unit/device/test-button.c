/* SPDX-License-Identifier: MIT */
/*
 * The button adapter on a private loop, fed struct input_event records
 * through a FIFO (no input device in CI): press and release with chosen time
 * stamps, a record split in two writes, other keys ignored, the writer going
 * away (the device "vanishes") and coming back.
 */
#include <fcntl.h>
#include <linux/input.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/device/button.h"
#include "tap.h"

struct seen {
	enum button_event ev[16];
	uint64_t held[16];
	unsigned n;
};

static void on_button(struct button *b, enum button_event ev, uint64_t held_usec, void *userdata)
{
	struct seen *s = userdata;

	(void) b;
	if (s->n < 16) {
		s->ev[s->n] = ev;
		s->held[s->n++] = held_usec;
	}
}

static void record(int fd, unsigned code, int value, long sec, long usec, size_t split)
{
	struct input_event ev = { .type = EV_KEY, .code = (uint16_t) code, .value = value };

	ev.input_event_sec = sec;
	ev.input_event_usec = usec;
	if (split) {
		(void) !write(fd, &ev, split);
		(void) !write(fd, (char *) &ev + split, sizeof(ev) - split);
	} else
		(void) !write(fd, &ev, sizeof(ev));
}

/* Run the loop until n events were seen or about 3 s passed. */
static void run_until(sd_event *e, struct seen *s, unsigned n)
{
	for (int i = 0; i < 300 && s->n < n; i++)
		(void) sd_event_run(e, 10000);
}

int main(void)
{
	char dir[64] = "/tmp/test-button-XXXXXX", fifo[96];
	struct seen s = { 0 };
	struct button *b = NULL;
	sd_event *e = NULL;
	int w;

	if (!mkdtemp(dir) || sd_event_new(&e) < 0)
		return 1;
	snprintf(fifo, sizeof(fifo), "%s/event0", dir);
	if (mkfifo(fifo, 0600) < 0)
		return 1;
	struct button_settings bs = { .device = fifo, .key = KEY_RESTART };
	tap_ok(button_new(e, &bs, on_button, &s, &b) == 0 && button_start(b) == 0, "button on a FIFO");
	w = open(fifo, O_WRONLY | O_CLOEXEC);

	record(w, KEY_A, 1, 100, 0, 0); /* another key: ignored */
	record(w, KEY_RESTART, 1, 100, 0, 7);
	record(w, KEY_RESTART, 2, 100, 500000, 0); /* auto-repeat */
	record(w, KEY_RESTART, 0, 111, 250000, 0);
	run_until(e, &s, 2);
	tap_ok(s.n == 2 && s.ev[0] == BUTTON_EVENT_DOWN && s.ev[1] == BUTTON_EVENT_UP,
	       "down, then up (%u events)", s.n);
	tap_ok(s.held[1] == 11250000, "held 11.25 s by the records' time stamps: %llu",
	       (unsigned long long) s.held[1]);

	/* Held, then the writer goes: the press is lost, not acted on. */
	record(w, KEY_RESTART, 1, 200, 0, 0);
	run_until(e, &s, 3);
	close(w);
	run_until(e, &s, 4);
	tap_ok(s.n == 4 && s.ev[3] == BUTTON_EVENT_LOST, "device gone while held: lost");

	/* It comes back: reopened after the back-off (1 s). */
	/* O_RDWR: a writer that does not wait for the reader; the records wait in the pipe. */
	w = open(fifo, O_RDWR | O_CLOEXEC);
	record(w, KEY_RESTART, 1, 300, 0, 0);
	record(w, KEY_RESTART, 0, 300, 400000, 0);
	run_until(e, &s, 6);
	tap_ok(s.n == 6 && s.ev[5] == BUTTON_EVENT_UP && s.held[5] == 400000, "back: a short press of 0.4 s");
	close(w);

	button_free(b);
	sd_event_unref(e);
	unlink(fifo);
	rmdir(dir);
	return tap_done();
}
