/* SPDX-License-Identifier: MIT */
/*
 * Modbus RTU server (see modbus-rtu.h). Two libmodbus RTU contexts: "line"
 * owns the tty (modbus_connect() opens and configures it) and writes the
 * answers; "check" reads each complete frame back from a pipe whose writer is
 * already closed, so modbus_receive() runs its CRC and length checks without
 * ever waiting: the frame is all there, and a short one ends in EOF. libmodbus
 * exports neither its CRC nor its integrity check, and reading the tty itself
 * with modbus_receive() would block the loop on a truncated frame.
 *
 * Event sources: the fd while open, the frame-gap timer re-armed by every
 * read, and while the line is missing a reopen timer and an inotify watch on
 * the device's directory. The io source is dropped before the fd is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <termios.h>
#include <unistd.h>

#include "smartconnectd/base/log.h"
#include "smartconnectd/outputs/modbus-image.h"
#include "smartconnectd/outputs/modbus-rtu.h"

#define RTU_BACKOFF_MIN_SEC 1u
#define RTU_BACKOFF_MAX_SEC 30u
#define RTU_READS_PER_EVENT 16

struct modbus_rtu {
	sd_event *event;
	struct modbus_rtu_settings set;
	struct modbus_image img;
	modbus_t *line;  /* the tty; NULL between settings */
	modbus_t *check; /* never connected: reads frames from a pipe */
	int fd;          /* the line's, while open; libmodbus closes it */

	sd_event_source *io, *gap_timer, *reopen_timer, *dir_watch;
	unsigned backoff_sec;
	bool started, ever_open;
	bool watching_parent; /* the device's directory is missing: its parent is watched */

	size_t len;
	bool overflow; /* more bytes than an ADU since the last silence */
	uint8_t buf[MODBUS_RTU_MAX_ADU_LENGTH];
	struct modbus_rtu_counters counters;
};

uint64_t modbus_rtu_gap_usec(unsigned baud, char parity, unsigned stop_bits)
{
	unsigned bits = 1 + 8 + (parity == 'N' ? 0 : 1) + stop_bits;

	/* Above 19200 baud the specification fixes t3.5 at 1.75 ms. */
	if (baud == 0 || baud > 19200)
		return 1750;
	return ((uint64_t) 35 * bits * USEC_PER_SEC + 10ull * baud - 1) / (10ull * baud);
}

static uint64_t rtu_now(const struct modbus_rtu *m)
{
	uint64_t now = 0;

	(void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	return now;
}

static int rtu_arm(struct modbus_rtu *m, sd_event_source **src, uint64_t usec, sd_event_time_handler_t cb)
{
	int r;

	/* Accuracy 1 us: the default of 250 ms would merge frames at any baud rate. */
	if (!*src)
		return sd_event_add_time_relative(m->event, src, CLOCK_MONOTONIC, usec, 1, cb, m);
	r = sd_event_source_set_time_relative(*src, usec);
	return r < 0 ? r : sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
}

/* ---- answering ---- */

/* The one-register value of a special read, by way of the image libmodbus answers from. */
static int rtu_reply_single(struct modbus_rtu *m, const uint8_t *req, int len, uint16_t value)
{
	uint16_t *tab = req[1] == MODBUS_FC_READ_HOLDING_REGISTERS ? m->img.map->tab_registers
								   : m->img.map->tab_input_registers;
	unsigned addr = (unsigned) req[2] << 8 | req[3];
	uint16_t keep = tab[addr];
	int r;

	tab[addr] = value;
	r = modbus_reply(m->line, req, len, m->img.map);
	tab[addr] = keep;
	return r;
}

static void rtu_answer(struct modbus_rtu *m, const uint8_t *req, int len)
{
	enum modbus_image_verdict v;
	uint16_t single = 0;
	uint8_t code = 0;
	int r;

	/* PDU: after the unit id, before the CRC. */
	v = modbus_image_check(&m->img, req + 1, (size_t) len - 3, rtu_now(m), &single, &code);
	m->counters.requests++;
	if (v == MODBUS_IMAGE_EXCEPTION) {
		m->counters.exceptions++;
		r = modbus_reply_exception(m->line, req, code);
	} else if (v == MODBUS_IMAGE_SINGLE)
		r = rtu_reply_single(m, req, len, single);
	else {
		r = modbus_reply(m->line, req, len, m->img.map);
		if (r >= 0 && (req[1] == MODBUS_FC_WRITE_SINGLE_REGISTER ||
			       req[1] == MODBUS_FC_WRITE_MULTIPLE_REGISTERS))
			modbus_image_wrote(&m->img, req + 1);
	}
	if (r < 0) {
		m->counters.send_errors++;
		log_debug_errno(-errno, "Modbus RTU answer on '%s' not sent: %m", m->set.device);
	}
}

/* libmodbus's verdict on a buffered frame: its length when the CRC and the
 * length its function code implies hold, else a negative errno. */
static int rtu_checked(struct modbus_rtu *m, const uint8_t *frame, size_t len, uint8_t *req)
{
	int p[2], r;
	ssize_t k;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	/* libmodbus waits with select(): a number past FD_SETSIZE would be out of its set. */
	if (p[1] >= FD_SETSIZE) {
		(void) close(p[0]);
		(void) close(p[1]);
		return -EMFILE;
	}
	k = write(p[1], frame, len); /* at most 256 bytes: atomic, never short */
	(void) close(p[1]);
	if (k != (ssize_t) len) {
		(void) close(p[0]);
		return -EIO;
	}
	(void) modbus_set_socket(m->check, p[0]);
	r = modbus_receive(m->check, req);
	r = r < 0 ? -errno : r;
	(void) modbus_set_socket(m->check, -1);
	(void) close(p[0]);
	return r;
}

static void rtu_frame(struct modbus_rtu *m, const uint8_t *frame, size_t len, bool overflow)
{
	uint8_t req[MODBUS_MAX_ADU_LENGTH];
	int r;

	if (overflow || len < 4) {
		m->counters.bad++;
		log_debug("Modbus RTU: dropped %s frame of %zu bytes", overflow ? "an oversized" : "a short",
			  len);
		return;
	}
	/* Another meter's request, or a broadcast: a meter on a shared bus stays silent. */
	if (frame[0] != m->set.unit_id) {
		m->counters.ignored++;
		return;
	}
	r = rtu_checked(m, frame, len, req);
	if (r != (int) len) {
		m->counters.bad++;
		log_debug("Modbus RTU: dropped a frame of %zu bytes: %s", len,
			  r < 0 ? modbus_strerror(-r) : "length does not match its function");
		return;
	}
	rtu_answer(m, req, r);
}

static int rtu_on_gap(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct modbus_rtu *m = userdata;
	size_t len = m->len;
	bool overflow = m->overflow;

	(void) s;
	(void) usec;
	m->len = 0;
	m->overflow = false;
	if (len > 0 || overflow)
		rtu_frame(m, m->buf, len, overflow);
	return 0;
}

/* ---- the line ---- */

static void rtu_close(struct modbus_rtu *m)
{
	m->io = sd_event_source_disable_unref(m->io);
	if (m->line && m->fd >= 0)
		modbus_close(m->line);
	m->fd = -EBADF;
	m->len = 0;
	m->overflow = false;
	if (m->gap_timer)
		(void) sd_event_source_set_enabled(m->gap_timer, SD_EVENT_OFF);
}

static void rtu_schedule(struct modbus_rtu *m);

static void rtu_lost(struct modbus_rtu *m, int error)
{
	rtu_close(m);
	m->backoff_sec = RTU_BACKOFF_MIN_SEC;
	if (error)
		log_debug_errno(error, "Reading '%s' failed: %m", m->set.device);
	log_warning("Modbus RTU line '%s' vanished, retrying in %us", m->set.device, m->backoff_sec);
	rtu_schedule(m);
}

static int rtu_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct modbus_rtu *m = userdata;
	uint8_t chunk[512];

	(void) s;
	for (unsigned i = 0; i < RTU_READS_PER_EVENT; i++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			rtu_lost(m, n < 0 ? -errno : 0);
			return 0;
		}
		if (m->len + (size_t) n > sizeof(m->buf))
			m->overflow = true;
		else {
			memcpy(m->buf + m->len, chunk, (size_t) n);
			m->len += (size_t) n;
		}
		int r =
		    rtu_arm(m, &m->gap_timer,
			    modbus_rtu_gap_usec(m->set.baud, m->set.parity, m->set.stop_bits), rtu_on_gap);
		if (r < 0)
			log_warning_errno(r, "Cannot arm the Modbus RTU frame timer, ignoring: %m");
	}
	if (revents & (EPOLLHUP | EPOLLERR))
		rtu_lost(m, -EIO);
	return 0;
}

/* libmodbus leaves VMIN at 0, where a read with nothing to read returns 0
 * like a hang-up; with 1 it says EAGAIN, and 0 means the adapter is gone. */
static int rtu_vmin(int fd)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) < 0)
		return -errno;
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &tio) < 0 ? -errno : 0;
}

/* One attempt; non-logging, returns the negative errno of the step that failed. */
static int rtu_open(struct modbus_rtu *m)
{
	int fd, r;

	if (modbus_connect(m->line) < 0)
		return -errno;
	fd = modbus_get_socket(m->line);
	/* A second reader would steal half of every request. */
	r = flock(fd, LOCK_EX | LOCK_NB) < 0 ? (errno == EWOULDBLOCK ? -EBUSY : -errno) : rtu_vmin(fd);
	if (r < 0) {
		modbus_close(m->line);
		return r;
	}
	r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN, rtu_on_io, m);
	if (r < 0) {
		modbus_close(m->line);
		return r;
	}
	m->fd = fd;
	return 0;
}

static void rtu_unwatch(struct modbus_rtu *m)
{
	m->dir_watch = sd_event_source_disable_unref(m->dir_watch);
	m->watching_parent = false;
}

static void rtu_try_open(struct modbus_rtu *m, bool first)
{
	int r = rtu_open(m);

	if (r < 0) {
		if (first)
			log_warning_errno(r, "Cannot open the Modbus RTU line '%s': %m, retrying in %us",
					  m->set.device, m->backoff_sec);
		else
			log_debug_errno(r, "Still cannot open '%s': %m", m->set.device);
		rtu_schedule(m);
		return;
	}
	rtu_unwatch(m);
	if (m->reopen_timer)
		(void) sd_event_source_set_enabled(m->reopen_timer, SD_EVENT_OFF);
	if (m->ever_open)
		log_notice("Modbus RTU line '%s' is back", m->set.device);
	m->ever_open = true;
	m->backoff_sec = RTU_BACKOFF_MIN_SEC;
}

static int rtu_on_reopen(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void) s;
	(void) usec;
	rtu_try_open(userdata, false);
	return 0;
}

static void rtu_watch(struct modbus_rtu *m);

/* The adapter's name appeared or changed in its directory: try now, not after
 * the back-off. While the directory itself is missing (udev removes
 * /dev/serial/by-id with the last adapter) its parent is watched until it is back. */
static int rtu_on_dir(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct modbus_rtu *m = userdata;
	char copy[MODBUS_RTU_PATH_MAX];

	(void) s;
	snprintf(copy, sizeof(copy), "%s", m->set.device);
	if (m->fd >= 0)
		return 0;
	if (m->watching_parent) {
		rtu_unwatch(m);
		rtu_watch(m);
	} else if (ev->len == 0 || strcmp(ev->name, basename(copy)) != 0)
		return 0;
	rtu_try_open(m, false);
	return 0;
}

static void rtu_watch(struct modbus_rtu *m)
{
	char dir[MODBUS_RTU_PATH_MAX];
	int r;

	if (m->dir_watch)
		return;
	snprintf(dir, sizeof(dir), "%s", m->set.device);
	r = sd_event_add_inotify(m->event, &m->dir_watch, dirname(dir),
				 IN_CREATE | IN_ATTRIB | IN_MOVED_TO | IN_ONLYDIR, rtu_on_dir, m);
	if (r == -ENOENT) {
		r = sd_event_add_inotify(m->event, &m->dir_watch, dirname(dir), IN_CREATE | IN_ONLYDIR,
					 rtu_on_dir, m);
		m->watching_parent = r >= 0;
	}
	if (r < 0)
		log_debug_errno(r, "Not watching the directory of '%s', the back-off alone retries: %m",
				m->set.device);
}

static void rtu_schedule(struct modbus_rtu *m)
{
	unsigned wait = m->backoff_sec;
	int r;

	m->backoff_sec = MIN(m->backoff_sec * 2, RTU_BACKOFF_MAX_SEC);
	r = rtu_arm(m, &m->reopen_timer, wait * USEC_PER_SEC, rtu_on_reopen);
	if (r < 0)
		log_error_errno(r, "Cannot arm the reopen timer of '%s': %m", m->set.device);
	rtu_watch(m);
}

/* ---- settings ---- */

static int rtu_contexts(struct modbus_rtu *m)
{
	if (m->line)
		modbus_free(m->line);
	if (m->check)
		modbus_free(m->check);
	m->line = modbus_new_rtu(m->set.device, (int) m->set.baud, m->set.parity, 8, (int) m->set.stop_bits);
	m->check = modbus_new_rtu("/dev/null", (int) m->set.baud, m->set.parity, 8, (int) m->set.stop_bits);
	if (!m->line || !m->check || modbus_set_slave(m->line, (int) m->set.unit_id) < 0 ||
	    modbus_set_slave(m->check, (int) m->set.unit_id) < 0)
		return -ENOMEM;
	return 0;
}

static void rtu_log_start(const struct modbus_rtu *m)
{
	log_info("Modbus RTU server on %s at %u 8%c%u, unit id %u, meter type %s, stale policy %s",
		 m->set.device, m->set.baud, m->set.parity, m->set.stop_bits, m->set.unit_id,
		 m->img.template->name, modbus_server_stale_policy_to_string(m->set.stale_policy));
}

int modbus_rtu_new(sd_event *e, struct store *store, const struct modbus_rtu_settings *s,
		   struct modbus_rtu **ret)
{
	struct modbus_rtu *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(e);
	m->set = *s;
	m->fd = -EBADF;
	m->backoff_sec = RTU_BACKOFF_MIN_SEC;
	if (rtu_contexts(m) < 0 || modbus_image_init(&m->img, store, modbus_map_for_rtu(s->template),
						     &s->ident, s->stale_policy) < 0) {
		modbus_rtu_free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

struct modbus_rtu *modbus_rtu_free(struct modbus_rtu *m)
{
	if (!m)
		return NULL;
	rtu_close(m);
	rtu_unwatch(m);
	m->gap_timer = sd_event_source_disable_unref(m->gap_timer);
	m->reopen_timer = sd_event_source_disable_unref(m->reopen_timer);
	modbus_image_done(&m->img);
	if (m->line)
		modbus_free(m->line);
	if (m->check)
		modbus_free(m->check);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}

int modbus_rtu_start(struct modbus_rtu *m)
{
	m->started = true;
	rtu_log_start(m);
	rtu_try_open(m, true);
	return 0;
}

static bool rtu_same_line(const struct modbus_rtu_settings *a, const struct modbus_rtu_settings *b)
{
	return strcmp(a->device, b->device) == 0 && a->baud == b->baud && a->parity == b->parity &&
	       a->stop_bits == b->stop_bits && a->unit_id == b->unit_id;
}

int modbus_rtu_reconfigure(struct modbus_rtu *m, const struct modbus_rtu_settings *s)
{
	const struct modbus_map_template *t = modbus_map_for_rtu(s->template);
	bool same = rtu_same_line(&m->set, s);
	int r;

	if (same && t != m->img.template)
		log_info("Modbus RTU meter type is now %s", t->name);
	m->set = *s;
	r = modbus_image_set(&m->img, t, &s->ident, s->stale_policy);
	if (r < 0 || same)
		return r;

	rtu_close(m);
	rtu_unwatch(m);
	if (m->reopen_timer)
		(void) sd_event_source_set_enabled(m->reopen_timer, SD_EVENT_OFF);
	r = rtu_contexts(m);
	if (r < 0)
		return r;
	m->ever_open = false;
	m->backoff_sec = RTU_BACKOFF_MIN_SEC;
	return m->started ? modbus_rtu_start(m) : 0;
}

bool modbus_rtu_is_open(const struct modbus_rtu *m)
{
	return m->fd >= 0;
}

const struct modbus_rtu_counters *modbus_rtu_counters(const struct modbus_rtu *m)
{
	return &m->counters;
}
