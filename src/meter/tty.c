/* SPDX-License-Identifier: MIT */
/*
 * Serial line adapter (see tty.h). Four event sources: the fd while open, a
 * reopen timer and an inotify watch on the device's directory while retrying,
 * and an idle timer re-armed by every read. The io source is always dropped
 * before the fd is closed.
 *
 * Not here: frames, protocol detection (meter.c) or what the passthrough writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "smartconnectd/base/event-timer.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/tty.h"

#define TTY_BACKOFF_MIN_SEC 1u
#define TTY_BACKOFF_MAX_SEC 30u
#define TTY_READ_CHUNK 4096
/* Reads per wake-up: a fast line must not starve the rest of the loop. */
#define TTY_READS_PER_EVENT 16

struct tty {
	sd_event *event;
	char *path;
	enum tty_setting setting;
	enum tty_state state;
	int fd;

	sd_event_source *io;
	sd_event_source *reopen_timer;
	sd_event_source *idle_timer;
	sd_event_source *dir_watch; /* while retrying: the device's directory */
	bool watching_parent;       /* the directory itself is missing: its parent */

	unsigned backoff_sec; /* wait before the next open attempt */
	bool ever_opened;     /* this path was open before: a reopen is "back" */
	bool got_data;        /* bytes since the last open: the device works */
	bool want_write;      /* EPOLLOUT asked for by the owner */
	uint64_t data_usec;   /* loop time of the last read that brought bytes */
	bool idle_armed;      /* idle_timer runs: the owner holds part of a frame */

	struct tty_callbacks cb;
	void *userdata;
};

static const char *const setting_names[] = {
	[TTY_SETTING_115200_8N1] = "115200 8N1",
	[TTY_SETTING_9600_7E1] = "9600 7E1",
	[TTY_SETTING_1200_7E1] = "1200 7E1",
};
_Static_assert(ARRAY_SIZE(setting_names) == _TTY_SETTING_MAX, "a name for every setting");
DEFINE_STRING_TABLE_TO(tty_setting, enum tty_setting, setting_names)

unsigned tty_setting_bytes_per_sec(enum tty_setting s)
{
	static const unsigned baud[] = {
		[TTY_SETTING_115200_8N1] = 115200,
		[TTY_SETTING_9600_7E1] = 9600,
		[TTY_SETTING_1200_7E1] = 1200,
	};

	/* 8N1 and 7E1 both take ten bits a character: start, eight, stop. */
	return (size_t) s < ARRAY_SIZE(baud) ? baud[s] / 10 : 0;
}

uint64_t tty_setting_idle_usec(enum tty_setting s)
{
	/* A 1200 baud TIC frame takes ~2.5 s; a gap inside it is still short, but
	 * leave slow adapters more room than at 9600 and above. */
	return s == TTY_SETTING_1200_7E1 ? 4 * USEC_PER_SEC : 2 * USEC_PER_SEC;
}

/* Raw mode for one setting. Non-logging: returns -errno. */
static int tty_configure(int fd, enum tty_setting s)
{
	struct termios tio;
	speed_t speed = B115200;

	if (tcgetattr(fd, &tio) < 0)
		return -errno;

	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t) (CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_iflag &= ~(tcflag_t) (IXON | IXOFF | IXANY | INPCK | PARMRK | IGNPAR | ISTRIP);

	switch (s) {
	case TTY_SETTING_115200_8N1:
		tio.c_cflag |= CS8;
		speed = B115200;
		break;
	case TTY_SETTING_9600_7E1:
	case TTY_SETTING_1200_7E1:
		/* Mark parity errors in the stream (0xff 0x00 c) instead of passing
		 * a wrong character on silently: DSMR 2.2 has no CRC, and a marked
		 * byte makes the frame unparseable rather than wrong. */
		tio.c_cflag |= CS7 | PARENB;
		tio.c_iflag |= INPCK | PARMRK;
		speed = s == TTY_SETTING_9600_7E1 ? B9600 : B1200;
		break;
	case _TTY_SETTING_MAX:
		return -EINVAL;
	}
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;

	if (cfsetispeed(&tio, speed) < 0 || cfsetospeed(&tio, speed) < 0)
		return -errno;
	if (tcsetattr(fd, TCSANOW, &tio) < 0)
		return -errno;
	return 0;
}

static void tty_set_state(struct tty *t, enum tty_state state)
{
	if (t->state == state)
		return;
	t->state = state;
	if (t->cb.on_state)
		t->cb.on_state(state, t->userdata);
}

static void tty_close(struct tty *t)
{
	t->io = sd_event_source_disable_unref(t->io);
	if (t->fd >= 0) {
		/* The flag outlives our fd while another process holds the line open
		 * (a pty's master side): a restarted daemon would get EBUSY. */
		(void) ioctl(t->fd, TIOCNXCL);
		(void) close(t->fd);
	}
	t->fd = -EBADF;
	if (t->idle_timer)
		(void) sd_event_source_set_enabled(t->idle_timer, SD_EVENT_OFF);
	t->idle_armed = false;
}

static int tty_on_reopen(sd_event_source *s, uint64_t usec, void *userdata);
static int tty_try_open(struct tty *t, bool first);
static void tty_watch(struct tty *t);

static void tty_unwatch(struct tty *t)
{
	t->dir_watch = sd_event_source_disable_unref(t->dir_watch);
	t->watching_parent = false;
}

/* Something changed where the device lives: try at once rather than after
 * the back-off, so a replugged adapter is read within one meter period. */
static int tty_on_dir_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct tty *t = userdata;
	_cleanup_free_ char *copy = strdup(t->path);
	const char *name = copy ? basename(copy) : NULL;

	(void) s;
	if (t->state != TTY_STATE_RETRYING)
		return 0;
	if (t->watching_parent) {
		/* The directory (e.g. /dev/serial/by-id) may just have appeared. */
		tty_unwatch(t);
		tty_watch(t);
	} else if (ev->len == 0 || !name || strcmp(ev->name, name) != 0) {
		return 0;
	}
	if (tty_try_open(t, false) < 0)
		tty_set_state(t, TTY_STATE_STOPPED);
	return 0;
}

/* Watch the device's directory, or its parent while the directory is missing
 * (udev removes /dev/serial/by-id with the last adapter). Without a watch the
 * back-off timer alone brings the device back. */
static void tty_watch(struct tty *t)
{
	_cleanup_free_ char *dir = strdup(t->path);
	_cleanup_free_ char *parent = NULL;
	const uint32_t mask = IN_CREATE | IN_ATTRIB | IN_MOVED_TO | IN_ONLYDIR;
	int r;

	if (t->dir_watch || !dir)
		return;
	parent = strdup(dirname(dir));
	if (!parent)
		return;
	r = sd_event_add_inotify(t->event, &t->dir_watch, parent, mask, tty_on_dir_event, t);
	if (r == -ENOENT) {
		r = sd_event_add_inotify(t->event, &t->dir_watch, dirname(parent), IN_CREATE | IN_ONLYDIR,
					 tty_on_dir_event, t);
		t->watching_parent = r >= 0;
	}
	if (r < 0)
		log_debug_errno(r, "Not watching the directory of '%s', the back-off alone retries: %m",
				t->path);
}

/* Schedule the next open attempt and grow the back-off for the one after. */
static int tty_schedule_reopen(struct tty *t)
{
	unsigned wait = t->backoff_sec;
	int r;

	t->backoff_sec = MIN(t->backoff_sec * 2, TTY_BACKOFF_MAX_SEC);
	r = event_timer_arm(t->event, &t->reopen_timer, wait * USEC_PER_SEC, tty_on_reopen, t);
	if (r < 0)
		return log_error_errno(r, "Failed to arm the reopen timer of '%s': %m", t->path);

	tty_watch(t);
	tty_set_state(t, TTY_STATE_RETRYING);
	return 0;
}

static void tty_lost(struct tty *t, int error)
{
	int r;

	tty_close(t);
	if (t->got_data)
		t->backoff_sec = TTY_BACKOFF_MIN_SEC;

	if (error)
		log_debug_errno(error, "Reading '%s' failed: %m", t->path);
	log_warning("'%s' vanished, retrying in %us", t->path, t->backoff_sec);

	r = tty_schedule_reopen(t);
	if (r < 0)
		tty_set_state(t, TTY_STATE_STOPPED);
}

static int tty_on_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct tty *t = userdata;

	uint64_t now, due = t->data_usec + tty_setting_idle_usec(t->setting);

	(void) s;
	(void) usec;
	/* Armed once per frame, not per read: bytes that came since move the
	 * deadline, and the timer follows it instead of cutting the frame. */
	if (sd_event_now(t->event, CLOCK_MONOTONIC, &now) >= 0 && now < due) {
		if (event_timer_arm(t->event, &t->idle_timer, due - now, tty_on_idle, t) < 0)
			log_warning("Failed to arm the idle timer of '%s', ignoring", t->path);
		return 0;
	}
	t->idle_armed = false;
	if (t->cb.on_idle)
		t->cb.on_idle(t->userdata);
	return 0;
}

/* The frame gap is watched only while the owner holds part of a frame: a
 * telegram read whole costs no timer at all. */
static void tty_watch_gap(struct tty *t, bool in_frame)
{
	int r;

	if (in_frame == t->idle_armed)
		return;
	t->idle_armed = in_frame;
	if (!in_frame) {
		(void) sd_event_source_set_enabled(t->idle_timer, SD_EVENT_OFF);
		return;
	}
	r = event_timer_arm(t->event, &t->idle_timer, tty_setting_idle_usec(t->setting), tty_on_idle, t);
	if (r < 0) {
		t->idle_armed = false;
		log_warning_errno(r, "Failed to arm the idle timer of '%s', ignoring: %m", t->path);
	}
}

static void tty_data(struct tty *t, const uint8_t *buf, size_t n)
{
	int fd = t->fd;
	bool in_frame;

	if (!t->got_data) {
		t->got_data = true;
		t->backoff_sec = TTY_BACKOFF_MIN_SEC;
	}

	(void) sd_event_now(t->event, CLOCK_MONOTONIC, &t->data_usec);
	in_frame = t->cb.on_data && t->cb.on_data(buf, n, t->userdata);
	if (t->fd == fd) /* not closed or switched by the owner meanwhile */
		tty_watch_gap(t, in_frame);
}

static int tty_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct tty *t = userdata;
	uint8_t buf[TTY_READ_CHUNK];

	(void) s;
	if ((revents & EPOLLOUT) && t->cb.on_writable) {
		t->cb.on_writable(t->userdata);
		if (t->fd != fd) /* lost while writing */
			return 0;
	}
	for (unsigned i = 0; i < TTY_READS_PER_EVENT; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			tty_data(t, buf, (size_t) n);
			if (t->fd != fd) /* the owner switched devices from its callback */
				return 0;
			/* A short read drained the line: the next read would only say
			 * EAGAIN, a system call per telegram. The source is level-
			 * triggered, so bytes that come meanwhile wake the loop again. */
			if ((size_t) n < sizeof(buf) && !(revents & (EPOLLHUP | EPOLLERR)))
				return 0;
			continue;
		}
		if (n == 0) {
			tty_lost(t, 0);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		tty_lost(t, -errno);
		return 0;
	}

	/* Hang-up with nothing left to read: the device is gone. */
	if (revents & (EPOLLHUP | EPOLLERR))
		tty_lost(t, -EIO);
	return 0;
}

/* UNIX 98 pty slaves (majors 136-143): a virtual port of socat, ser2net or a test. */
static bool tty_is_pty(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 &&
	       major(st.st_rdev) <= 143;
}

/* Another reader on the same line would steal half of every telegram. */
static int tty_lock(int fd)
{
	/* The kernel drops a flock with its last holder, crash included, so a
	 * restarted daemon never finds its own stale lock. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	/* TIOCEXCL also keeps out readers that know nothing of locks. A pty's flag
	 * outlives a killed holder while the master stays open (EBUSY for every
	 * later open without privileges), so it is set on real lines only, whose
	 * last close clears it. */
	if (!tty_is_pty(fd) && ioctl(fd, TIOCEXCL) < 0)
		return -errno;
	return 0;
}

/* One attempt. Non-logging: returns -errno of the step that failed. */
static int tty_open(struct tty *t)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(t->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	r = tty_lock(fd);
	if (r < 0)
		return r;

	r = tty_configure(fd, t->setting);
	if (r < 0)
		return r;

	r = sd_event_add_io(t->event, &t->io, fd, EPOLLIN | (t->want_write ? EPOLLOUT : 0), tty_on_io, t);
	if (r < 0)
		return r;

	t->fd = TAKE_FD(fd);
	t->got_data = false;
	return 0;
}

static int tty_try_open(struct tty *t, bool first)
{
	int r;

	r = tty_open(t);
	if (r < 0) {
		/* Said once when the trouble starts; the retries stay quiet. */
		if (first)
			log_warning_errno(r, "Cannot open '%s': %m, retrying in %us", t->path,
					  t->backoff_sec);
		else
			log_debug_errno(r, "Still cannot open '%s': %m, retrying in %us", t->path,
					t->backoff_sec);
		return tty_schedule_reopen(t);
	}

	tty_unwatch(t);
	if (t->reopen_timer)
		(void) sd_event_source_set_enabled(t->reopen_timer, SD_EVENT_OFF);
	if (t->ever_opened)
		log_notice("'%s' is back", t->path);
	else
		log_info("Opened '%s'", t->path);
	t->ever_opened = true;
	tty_set_state(t, TTY_STATE_OPEN);
	return 0;
}

static int tty_on_reopen(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct tty *t = userdata;

	(void) s;
	(void) usec;
	if (tty_try_open(t, false) < 0)
		tty_set_state(t, TTY_STATE_STOPPED);
	return 0;
}

int tty_new(sd_event *e, const char *path, enum tty_setting setting, const struct tty_callbacks *cb,
	    void *userdata, struct tty **ret)
{
	struct tty *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;

	*t = (struct tty){
		.event = sd_event_ref(e),
		.path = strdup(path),
		.setting = setting,
		.state = TTY_STATE_STOPPED,
		.fd = -EBADF,
		.backoff_sec = TTY_BACKOFF_MIN_SEC,
		.cb = *cb,
		.userdata = userdata,
	};
	if (!t->path) {
		tty_free(t);
		return -ENOMEM;
	}

	*ret = t;
	return 0;
}

struct tty *tty_free(struct tty *t)
{
	if (!t)
		return NULL;

	tty_close(t);
	tty_unwatch(t);
	t->reopen_timer = sd_event_source_disable_unref(t->reopen_timer);
	t->idle_timer = sd_event_source_disable_unref(t->idle_timer);
	sd_event_unref(t->event);
	free(t->path);
	free(t);
	return NULL;
}

int tty_start(struct tty *t)
{
	if (t->state != TTY_STATE_STOPPED)
		return 0;
	t->backoff_sec = TTY_BACKOFF_MIN_SEC;
	return tty_try_open(t, true);
}

void tty_stop(struct tty *t)
{
	tty_close(t);
	tty_unwatch(t);
	if (t->reopen_timer)
		(void) sd_event_source_set_enabled(t->reopen_timer, SD_EVENT_OFF);
	tty_set_state(t, TTY_STATE_STOPPED);
}

int tty_set_setting(struct tty *t, enum tty_setting setting)
{
	t->setting = setting;
	if (t->fd < 0)
		return 0;
	return tty_configure(t->fd, setting);
}

int tty_set_path(struct tty *t, const char *path)
{
	char *p = strdup(path);
	bool started = t->state != TTY_STATE_STOPPED;

	if (!p)
		return -ENOMEM;

	if (started)
		tty_stop(t);
	free(t->path);
	t->path = p;
	t->ever_opened = false;

	if (!started)
		return 0;
	return tty_start(t);
}

ssize_t tty_write(struct tty *t, const void *buf, size_t n)
{
	ssize_t k;

	if (t->fd < 0)
		return -ENOTCONN;
	do
		k = write(t->fd, buf, n);
	while (k < 0 && errno == EINTR);
	if (k >= 0)
		return k;
	if (errno == EAGAIN)
		return -EAGAIN;

	k = -errno;
	tty_lost(t, (int) k);
	return k;
}

int tty_want_write(struct tty *t, bool on)
{
	t->want_write = on;
	if (!t->io)
		return 0;
	return sd_event_source_set_io_events(t->io, EPOLLIN | (on ? EPOLLOUT : 0));
}

enum tty_state tty_get_state(const struct tty *t)
{
	return t->state;
}

enum tty_setting tty_get_setting(const struct tty *t)
{
	return t->setting;
}

const char *tty_get_path(const struct tty *t)
{
	return t->path;
}
