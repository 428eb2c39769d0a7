/* SPDX-License-Identifier: MIT */
/*
 * smartconnect-replay: a simulated meter. It creates a pseudo-terminal, puts a
 * symlink to its slave side at the --link path and writes the telegrams of
 * the given files to the master side, so that the daemon (or any program that
 * reads a tty) sees what a meter on a serial adapter would send.
 *
 * Files are replayed byte for byte, noise and broken frames included. The
 * project's framer only decides where one telegram ends and the next begins
 * and which protocol it is, which sets the cadence: DSMR-style telegrams at
 * the meter's own interval (DSMR 5 and e-MUCS 1 s, older DSMR and Smarty
 * 10 s), TIC frames back to back at the byte rate of the serial line (1200 or
 * 9600 baud, 10 bits per byte). --interval overrides that.
 *
 * One process, one thread; the only global is the signal flag. Every wait is
 * a ppoll() with SIGINT/SIGTERM/SIGHUP unblocked, so a signal is never lost
 * between checking the flag and going to sleep.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf, ptsname_r, ppoll */
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/telegram.h"

#define PROG "smartconnect-replay"

/* Files are read whole; a replay file is a capture, not a disk image. */
#define FILE_MAX (64u * 1024 * 1024)
/* Protocol interval when neither the telegram nor its neighbours tell it. */
#define DEFAULT_INTERVAL_USEC (10 * USEC_PER_SEC)
/* Paced bytes go out in slices of this length, as a UART would deliver them. */
#define SLICE_USEC (100 * USEC_PER_MSEC)
/* Without --loop: how long to wait for a reader to take the last bytes. */
#define DRAIN_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define DRAIN_POLL_USEC (50 * USEC_PER_MSEC)

static volatile sig_atomic_t stop_signal;

enum pace {
	PACE_UNKNOWN,  /* no frame told us; inherits from a neighbour */
	PACE_INTERVAL, /* whole telegram, then wait interval_usec */
	PACE_BYTES,    /* bytes at bytes_per_sec, no gap between frames */
};

/* One telegram of a file, with the noise that follows it up to the next one. */
struct chunk {
	size_t off, len;
	bool frame; /* a frame starts here (false only for a file of pure noise) */
	enum pace pace;
	uint64_t interval_usec; /* PACE_INTERVAL */
	unsigned bytes_per_sec; /* PACE_BYTES */
};

struct source {
	const char *path;
	uint8_t *data;
	size_t size;
	struct chunk *chunks;
	size_t n_chunks;
};

/* State while the framer splits one file. */
struct split {
	struct source *src;
	struct telegram *framer;
	size_t cap;
	int error; /* first failure inside a callback */
};

struct replay {
	const char *link;
	bool loop;
	bool fixed;             /* --interval given */
	uint64_t interval_usec; /* with fixed */
	struct source *sources;
	size_t n_sources;
	int master, slave;
	char slave_name[64];
	bool linked;
	uint64_t due_usec; /* earliest start of the next telegram */
	sigset_t waitmask; /* mask during ppoll(): termination signals unblocked */
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static struct timespec timespec_from_usec(uint64_t usec)
{
	return (struct timespec){
		.tv_sec = (time_t) (usec / USEC_PER_SEC),
		.tv_nsec = (long) (usec % USEC_PER_SEC) * 1000,
	};
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- splitting a file into telegrams ---- */

/* Each frame the framer reports, accepted or rejected, starts a telegram at
 * its offset; the caller's chunk array grows as frames come. */
static int split_push(struct split *s, uint64_t off, enum reading_protocol p, uint32_t interval_s)
{
	struct source *src = s->src;
	const struct proto_driver *d;
	struct chunk *c;

	/* Offsets only grow; anything else would be a framer bug, not a reason to crash. */
	if (off >= src->size || (src->n_chunks > 0 && off <= src->chunks[src->n_chunks - 1].off))
		return 0;

	if (src->n_chunks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct chunk *n = reallocarray(src->chunks, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		src->chunks = n;
		s->cap = cap;
	}

	c = &src->chunks[src->n_chunks++];
	*c = (struct chunk){ .off = (size_t) off, .frame = true };

	/* A meter that sends continuously is paced by its line, others by the
	 * interval the telegram states. */
	d = proto_driver(p);
	if (d && d->continuous) {
		c->pace = PACE_BYTES;
		c->bytes_per_sec = tty_setting_bytes_per_sec(d->settings[0]);
	} else if (d && interval_s > 0) {
		c->pace = PACE_INTERVAL;
		c->interval_usec = interval_s * USEC_PER_SEC;
	}
	return 0;
}

static void split_on_accept(const struct reading *v, void *userdata)
{
	struct split *s = userdata;

	if (s->error == 0)
		s->error = split_push(s, telegram_frame_offset(s->framer), v->protocol, v->interval_s);
}

static void split_on_reject(const struct telegram_reject *r, void *userdata)
{
	struct split *s = userdata;

	/* A rejected frame has no trustworthy interval: a neighbour supplies it. */
	if (s->error == 0)
		s->error = split_push(s, r->offset, r->protocol, 0);
}

/* Telegrams without a known cadence (rejected DSMR, encrypted, noise) take the
 * pacing of the nearest telegram before them, else after them, else 10 s. */
static void split_fill_unknown(struct source *src)
{
	const struct chunk *known = NULL;

	for (size_t i = 0; i < src->n_chunks; i++) {
		if (src->chunks[i].pace != PACE_UNKNOWN) {
			known = &src->chunks[i];
			break;
		}
	}

	for (size_t i = 0; i < src->n_chunks; i++) {
		struct chunk *c = &src->chunks[i];

		if (c->pace != PACE_UNKNOWN) {
			known = c;
			continue;
		}
		c->pace = known ? known->pace : PACE_INTERVAL;
		c->interval_usec = known ? known->interval_usec : DEFAULT_INTERVAL_USEC;
		c->bytes_per_sec = known ? known->bytes_per_sec : 0;
	}
}

static int source_split(struct source *src)
{
	struct decode_opts opts = DECODE_OPTS_DEFAULT;
	struct split s = { .src = src };
	int r;

	r = telegram_new(TELEGRAM_HUNT_ALL, &opts, split_on_accept, split_on_reject, &s, &s.framer);
	if (r < 0)
		return r;

	telegram_feed(s.framer, src->data, src->size, 0);
	telegram_flush(s.framer);
	s.framer = telegram_free(s.framer);
	if (s.error < 0)
		return s.error;

	/* A file of pure noise is still sent, as one piece. */
	if (src->n_chunks == 0) {
		r = split_push(&s, 0, READING_PROTO_NONE, 0);
		if (r < 0)
			return r;
		src->chunks[0].frame = false;
	}

	/* Noise before the first frame goes out with it; each telegram runs up to the next. */
	src->chunks[0].off = 0;
	for (size_t i = 0; i < src->n_chunks; i++) {
		size_t end = i + 1 < src->n_chunks ? src->chunks[i + 1].off : src->size;

		src->chunks[i].len = end - src->chunks[i].off;
	}

	split_fill_unknown(src);
	return 0;
}

/* ---- input files ---- */

static int source_read(struct source *src)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t got = 0;

	fd = open(src->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (st.st_size <= 0)
		return -ENODATA;
	if ((uintmax_t) st.st_size > FILE_MAX)
		return -EFBIG;

	src->data = malloc((size_t) st.st_size);
	if (!src->data)
		return -ENOMEM;

	while (got < (size_t) st.st_size) {
		ssize_t n = read(fd, src->data + got, (size_t) st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t) n;
	}
	if (got == 0)
		return -ENODATA;

	src->size = got;
	return 0;
}

static const char *source_strerror(int r)
{
	switch (r) {
	case -ENODATA:
		return "file is empty";
	case -EFBIG:
		return "file is larger than 64 MiB";
	default:
		return strerror(-r);
	}
}

static int sources_load(struct replay *rp)
{
	for (size_t i = 0; i < rp->n_sources; i++) {
		struct source *src = &rp->sources[i];
		int r;

		r = source_read(src);
		if (r < 0) {
			fprintf(stderr, PROG ": %s: %s\n", src->path, source_strerror(r));
			return r;
		}

		r = source_split(src);
		if (r < 0) {
			fprintf(stderr, PROG ": %s: %s\n", src->path, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void sources_free(struct replay *rp)
{
	for (size_t i = 0; i < rp->n_sources; i++) {
		free(rp->sources[i].data);
		free(rp->sources[i].chunks);
	}
	free(rp->sources);
}

/* ---- the pty and its link ---- */

static int pty_open(struct replay *rp)
{
	struct termios tio;

	rp->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (rp->master < 0)
		return -errno;
	if (grantpt(rp->master) < 0 || unlockpt(rp->master) < 0)
		return -errno;
	if (ptsname_r(rp->master, rp->slave_name, sizeof(rp->slave_name)) != 0)
		return -errno;

	/* Held open for the whole run: with no slave open, master writes fail with EIO. */
	rp->slave = open(rp->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (rp->slave < 0)
		return -errno;

	/* Raw: no byte is translated, swallowed (ETX is ^C) or echoed back. */
	if (tcgetattr(rp->slave, &tio) < 0)
		return -errno;
	cfmakeraw(&tio);
	if (tcsetattr(rp->slave, TCSANOW, &tio) < 0)
		return -errno;
	return 0;
}

/* Point the link at the slave. An existing symlink is replaced atomically
 * (symlink to a temporary name, then rename); anything else is left alone. */
static int link_install(struct replay *rp)
{
	_cleanup_free_ char *tmp = NULL;
	struct stat st;

	if (lstat(rp->link, &st) == 0 && !S_ISLNK(st.st_mode))
		return -EEXIST;

	if (asprintf(&tmp, "%s.%ld.tmp", rp->link, (long) getpid()) < 0)
		return -ENOMEM;
	(void) unlink(tmp);

	if (symlink(rp->slave_name, tmp) < 0)
		return -errno;
	if (rename(tmp, rp->link) < 0) {
		int r = -errno;

		(void) unlink(tmp);
		return r;
	}

	rp->linked = true;
	return 0;
}

/* Remove the link, unless someone has pointed it elsewhere meanwhile. */
static void link_remove(struct replay *rp)
{
	char target[sizeof(rp->slave_name)];
	ssize_t n;

	if (!rp->linked)
		return;

	n = readlink(rp->link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	if (strcmp(target, rp->slave_name) == 0)
		(void) unlink(rp->link);
	rp->linked = false;
}

/* ---- writing ---- */

/* Sleep until due (CLOCK_MONOTONIC µs). -ECANCELED when a signal asks us to stop. */
static int wait_until(struct replay *rp, uint64_t due)
{
	for (;;) {
		uint64_t now = now_usec();
		struct timespec ts;

		if (stop_signal)
			return -ECANCELED;
		if (now >= due)
			return 0;

		ts = timespec_from_usec(due - now);
		if (ppoll(NULL, 0, &ts, &rp->waitmask) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Write everything, waiting for room on EAGAIN (nobody reads: the pty is full). */
static int write_all(struct replay *rp, const uint8_t *p, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { .fd = rp->master, .events = POLLOUT };
		ssize_t k;

		if (stop_signal)
			return -ECANCELED;

		k = write(rp->master, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t) k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;

		if (ppoll(&pfd, 1, NULL, &rp->waitmask) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Bytes at the line's rate: one slice, then wait until the wire would be done with it. */
static int send_paced(struct replay *rp, const uint8_t *p, size_t n, unsigned bytes_per_sec)
{
	size_t slice = MAX((size_t) bytes_per_sec * SLICE_USEC / USEC_PER_SEC, (size_t) 1);
	uint64_t start = now_usec();
	size_t sent = 0;
	int r;

	while (sent < n) {
		size_t k = MIN(slice, n - sent);

		r = write_all(rp, p + sent, k);
		if (r < 0)
			return r;
		sent += k;

		r = wait_until(rp, start + (uint64_t) sent * USEC_PER_SEC / bytes_per_sec);
		if (r < 0)
			return r;
	}

	rp->due_usec = now_usec();
	return 0;
}

static int send_chunk(struct replay *rp, const struct source *src, const struct chunk *c)
{
	const uint8_t *p = src->data + c->off;
	uint64_t interval, start;
	int r;

	if (rp->fixed && rp->interval_usec == 0)
		return write_all(rp, p, c->len);

	r = wait_until(rp, rp->due_usec);
	if (r < 0)
		return r;

	if (!rp->fixed && c->pace == PACE_BYTES)
		return send_paced(rp, p, c->len, c->bytes_per_sec);

	start = now_usec();
	r = write_all(rp, p, c->len);
	if (r < 0)
		return r;

	/* Keep the cadence without drift; after a stall (full pty) start afresh. */
	interval = rp->fixed ? rp->interval_usec : c->interval_usec;
	rp->due_usec += interval;
	if (rp->due_usec < start)
		rp->due_usec = start + interval;
	return 0;
}

static int send_all(struct replay *rp)
{
	rp->due_usec = now_usec();

	do {
		for (size_t i = 0; i < rp->n_sources; i++) {
			const struct source *src = &rp->sources[i];

			for (size_t j = 0; j < src->n_chunks; j++) {
				int r = send_chunk(rp, src, &src->chunks[j]);

				if (r < 0)
					return r;
			}
		}
	} while (rp->loop);

	return 0;
}

/* Closing the master hangs the line up, and a reader loses what it has not
 * read yet: wait (bounded) until the bytes in the pty have been taken. */
static int drain(struct replay *rp)
{
	uint64_t give_up = now_usec() + DRAIN_TIMEOUT_USEC;
	unsigned empty = 0;

	/* Written bytes reach the reader's queue asynchronously: require three
	 * empty looks in a row before believing it. */
	while (empty < 3 && now_usec() < give_up) {
		int queued = 0;
		int r;

		if (ioctl(rp->slave, FIONREAD, &queued) < 0)
			return -errno;
		empty = queued == 0 ? empty + 1 : 0;

		r = wait_until(rp, now_usec() + DRAIN_POLL_USEC);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- command line ---- */

static void help(void)
{
	printf("Usage: %s [--interval SECONDS] [--loop] --link PATH FILE...\n"
	       "\n"
	       "Simulate a smart meter: create a pseudo-terminal, put a symlink to it at PATH\n"
	       "and write the telegrams of FILE... to it, byte for byte.\n"
	       "\n"
	       "  -i, --interval SECONDS  time between telegrams (decimals allowed; 0 = as fast\n"
	       "                          as possible). Default: the protocol's own interval\n"
	       "                          (DSMR 5/e-MUCS 1 s, DSMR 2.2-4.2/Smarty 10 s, TIC\n"
	       "                          bytes at the serial rate of 1200 or 9600 baud)\n"
	       "  -l, --loop              repeat the files until stopped\n"
	       "  -L, --link PATH         where to put the symlink to the pty\n"
	       "  -h, --help              show this help\n"
	       "  -V, --version           show the version\n",
	       PROG);
}

static int parse_interval(const char *s, uint64_t *ret_usec)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d < 0 || d > 86400)
		return -EINVAL;

	*ret_usec = (uint64_t) llround(d * (double) USEC_PER_SEC);
	return 0;
}

static int usage_error(const char *msg, const char *arg)
{
	if (arg)
		fprintf(stderr, PROG ": %s: %s\n", msg, arg);
	else
		fprintf(stderr, PROG ": %s\n", msg);
	fprintf(stderr, "Try '" PROG " --help' for more information.\n");
	return -EINVAL;
}

/* 1 when the program should exit 0 at once (--help, --version), 0 to run, <0 on error. */
static int parse_argv(int argc, char *argv[], struct replay *rp)
{
	static const struct option options[] = {
		{ "interval", required_argument, NULL, 'i' }, { "loop", no_argument, NULL, 'l' },
		{ "link", required_argument, NULL, 'L' },     { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },        {},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:lL:hV", options, NULL)) >= 0) {
		switch (c) {
		case 'i':
			if (parse_interval(optarg, &rp->interval_usec) < 0)
				return usage_error("invalid interval (seconds, 0 to 86400)", optarg);
			rp->fixed = true;
			break;
		case 'l':
			rp->loop = true;
			break;
		case 'L':
			if (!*optarg)
				return usage_error("--link needs a path", NULL);
			rp->link = optarg;
			break;
		case 'h':
			help();
			return 1;
		case 'V':
			printf(PROG " " PACKAGE_VERSION "\n");
			return 1;
		case ':':
			return usage_error("option needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}

	if (!rp->link)
		return usage_error("--link PATH is required", NULL);
	if (optind >= argc)
		return usage_error("no telegram file given", NULL);

	rp->n_sources = (size_t) (argc - optind);
	rp->sources = calloc(rp->n_sources, sizeof(*rp->sources));
	if (!rp->sources)
		return -ENOMEM;
	for (size_t i = 0; i < rp->n_sources; i++)
		rp->sources[i].path = argv[optind + (int) i];
	return 0;
}

/* ---- main ---- */

static int signals_setup(struct replay *rp)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	/* Blocked except inside ppoll(): no SA_RESTART games, no lost wake-ups. */
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaddset(&block, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	if (sigprocmask(SIG_BLOCK, &block, &rp->waitmask) < 0)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigdelset(&rp->waitmask, sigs[i]);
	return 0;
}

static void describe_pace(const struct replay *rp, char *buf, size_t size)
{
	const struct chunk *first = &rp->sources[0].chunks[0];
	bool mixed = false;

	if (rp->fixed) {
		snprintf(buf, size, "interval %g s", (double) rp->interval_usec / USEC_PER_SEC);
		return;
	}

	for (size_t i = 0; i < rp->n_sources; i++)
		for (size_t j = 0; j < rp->sources[i].n_chunks; j++) {
			const struct chunk *c = &rp->sources[i].chunks[j];

			mixed |= c->pace != first->pace || c->interval_usec != first->interval_usec ||
				 c->bytes_per_sec != first->bytes_per_sec;
		}

	if (first->pace == PACE_BYTES)
		snprintf(buf, size, "paced at %u baud%s", first->bytes_per_sec * 10,
			 mixed ? " (varies by protocol)" : "");
	else
		snprintf(buf, size, "interval %g s%s", (double) first->interval_usec / USEC_PER_SEC,
			 mixed ? " (varies by protocol)" : "");
}

static void announce(const struct replay *rp)
{
	size_t telegrams = 0;
	char pace[64];

	for (size_t i = 0; i < rp->n_sources; i++)
		for (size_t j = 0; j < rp->sources[i].n_chunks; j++)
			telegrams += rp->sources[i].chunks[j].frame;

	describe_pace(rp, pace, sizeof(pace));
	fprintf(stderr, PROG ": %s -> %s, %zu telegram%s from %zu file%s, %s%s\n", rp->link, rp->slave_name,
		telegrams, telegrams == 1 ? "" : "s", rp->n_sources, rp->n_sources == 1 ? "" : "s", pace,
		rp->loop ? ", looping" : "");
}

static int run(struct replay *rp)
{
	int r;

	r = sources_load(rp);
	if (r < 0)
		return r;

	r = signals_setup(rp);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot set up signals: %s\n", strerror(-r));
		return r;
	}

	r = pty_open(rp);
	if (r < 0) {
		fprintf(stderr, PROG ": cannot create a pty: %s\n", strerror(-r));
		return r;
	}

	r = link_install(rp);
	if (r == -EEXIST) {
		fprintf(stderr, PROG ": %s exists and is not a symlink, not replacing it\n", rp->link);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, PROG ": cannot create symlink %s: %s\n", rp->link, strerror(-r));
		return r;
	}

	announce(rp);

	r = send_all(rp);
	if (r >= 0)
		r = drain(rp);
	if (r == -ECANCELED)
		return 0;
	if (r < 0)
		fprintf(stderr, PROG ": writing to %s: %s\n", rp->slave_name, strerror(-r));
	return r;
}

int main(int argc, char *argv[])
{
	struct replay rp = { .master = -EBADF, .slave = -EBADF };
	int r;

	r = parse_argv(argc, argv, &rp);
	if (r == 0)
		r = run(&rp);

	link_remove(&rp);
	closep(&rp.master);
	closep(&rp.slave);
	sources_free(&rp);

	if (r == -ENOMEM)
		fprintf(stderr, PROG ": out of memory\n");
	return r < 0 ? 2 : 0;
}
