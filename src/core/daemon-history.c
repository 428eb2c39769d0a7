/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the history and the capacity tariff: a store watch
 * feeds both; the history is restored from <state-dir>/history and the
 * capacity tariff's computed month peaks from <state-dir>/capacity at start,
 * and both are saved every [History] SaveInterval and at a clean shutdown.
 * Two files, not one: the history is up to 755 KiB of gateway-clock records
 * whose format has its own life, the capacity state 72 to 384 bytes in meter
 * time; either one refused (torn, another version) does not cost the other.
 *
 * A save writes <file>.tmp, fsyncs it, renames it over the file and fsyncs
 * the directory, so a power cut leaves the old file or the new one, never a
 * mix. The periodic save runs in a forked child that writes its
 * copy-on-write image of the history and exits: an SD card's fsync can take
 * seconds, and the loop must go on answering Modbus meanwhile. The loop
 * watches the child with a child source (SIGCHLD is blocked for it), at most
 * one at a time. The save at a clean shutdown stays in the loop: it is
 * ending anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/capacity-file.h"
#include "smartconnectd/meter/history-file.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/outputs/history-json.h"
#include "smartconnectd/outputs/mqtt.h"

#include "daemon-internal.h"

static void daemon_history_on_snapshot(const struct snapshot *snap, void *userdata)
{
	struct daemon *d = userdata;

	struct capacity_view cap;

	history_add(d->history, &snap->v, (int64_t) (snap->real_usec / USEC_PER_SEC));
	capacity_add(&d->capacity, &snap->v);
	if (d->mqtt && mqtt_get_state(d->mqtt) == MQTT_STATE_CONNECTED) {
		capacity_view(&d->capacity, &cap);
		(void) mqtt_publish_capacity(d->mqtt, &cap); /* counted by the publisher */
	}
}

/* One of the state files, its decoder and its words. */
struct state_file {
	const char *what; /* "History", "Capacity" */
	const char *path;
	size_t max;
	const char *anew; /* what a missing or refused file means */
	int (*decode)(void *target, const void *buf, size_t n);
	void *target;
	const char *(*strerror)(int r);
};

static int decode_history(void *target, const void *buf, size_t n)
{
	return history_file_decode(target, buf, n);
}

static int decode_capacity(void *target, const void *buf, size_t n)
{
	return capacity_file_decode(target, buf, n);
}

/* Read and decode: true when restored; a refused file gets one warning. */
static bool state_file_load(const struct state_file *f)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = file_read_regular(f->path, f->max, &buf, &len);
	if (r == -ENOENT) {
		log_debug("%s file '%s' missing, %s", f->what, f->path, f->anew);
		return false;
	}
	if (r == 0)
		r = f->decode(f->target, buf, len);
	if (r < 0) {
		log_warning("%s file '%s' refused (%s), %s", f->what, f->path,
			    buf ? f->strerror(r) : file_error_to_string(r), f->anew);
		return false;
	}
	log_info("%s restored from '%s' (%zu bytes)", f->what, f->path, len);
	return true;
}

static void daemon_history_load(struct daemon *d)
{
	(void) state_file_load(&(struct state_file){ "History", d->history_path, HISTORY_FILE_MAX,
						     "starting with an empty history", decode_history,
						     d->history, history_file_strerror });
	(void) state_file_load(&(struct state_file){ "Capacity", d->capacity_path, CAPACITY_FILE_MAX,
						     "the computed month peak starts anew", decode_capacity,
						     &d->capacity, capacity_file_strerror });
}

static int state_dir_make(struct daemon *d)
{
	if (mkdir(d->state_dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Encode and write: 0 or a negative errno. Never logs (the child calls it). */
static int capacity_write(struct daemon *d)
{
	uint8_t buf[CAPACITY_FILE_MAX];
	int64_t len = capacity_file_encode(&d->capacity, buf, sizeof(buf));
	int r = state_dir_make(d);

	if (r < 0)
		return r;
	if (len < 0)
		return (int) len;
	return file_write_atomic(d->capacity_path, 0600, buf, (size_t) len);
}

/* Encode and write: 0 or a negative errno. Never logs (the child calls it). */
static int history_write(struct daemon *d)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size = history_file_size(d->history);
	int64_t len;
	int r;

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	len = history_file_encode(d->history, buf, size);
	if (len < 0)
		return (int) len;
	r = state_dir_make(d);
	if (r < 0)
		return r;
	return file_write_atomic(d->history_path, 0600, buf, (size_t) len);
}

int daemon_history_save(struct daemon *d)
{
	int r, k;

	if (!d->history)
		return 0;
	r = history_write(d);
	if (r < 0)
		log_warning_errno(r, "Cannot save the history to '%s': %m", d->history_path);
	else
		log_debug("History saved to '%s'", d->history_path);
	k = capacity_write(d);
	if (k < 0)
		log_warning_errno(k, "Cannot save the capacity state to '%s': %m", d->capacity_path);
	else
		log_debug("Capacity state saved to '%s'", d->capacity_path);
	return r < 0 ? r : k;
}

/* The save child's exit status: the errno of what failed (EIO past 127), plus
 * SAVE_CAPACITY when that was the capacity file (the history's failure told first). */
#define SAVE_CAPACITY 128
static int save_status(int history_r, int capacity_r)
{
	int r = history_r < 0 ? history_r : capacity_r;
	int e = r < 0 && -r < SAVE_CAPACITY ? -r : r < 0 ? EIO : 0;

	return e | (history_r == 0 && capacity_r < 0 ? SAVE_CAPACITY : 0);
}

static int daemon_history_on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	struct daemon *d = userdata;

	d->history_child = sd_event_source_unref(s);
	/* The child's exit status: save_status(). */
	if (si->si_code == CLD_EXITED && si->si_status == 0)
		log_debug("History saved to '%s' by process %d", d->history_path, (int) si->si_pid);
	else if (si->si_code == CLD_EXITED && (si->si_status & SAVE_CAPACITY))
		log_warning_errno(-(si->si_status & ~SAVE_CAPACITY),
				  "Cannot save the capacity state to '%s': %m", d->capacity_path);
	else if (si->si_code == CLD_EXITED)
		log_warning_errno(-si->si_status, "Cannot save the history to '%s': %m", d->history_path);
	else
		log_warning("The history's save process %d was killed by signal %d, '%s' unchanged",
			    (int) si->si_pid, si->si_status, d->history_path);
	return 0;
}

/* Fork the save; the child's copy-on-write image is the snapshot. */
static void daemon_history_save_async(struct daemon *d)
{
	pid_t pid;
	int r;

	if (d->history_child) {
		log_debug("The previous history save is still running, this one skipped");
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_warning_errno(errno, "Cannot fork the history save: %m");
		return;
	}
	if (pid == 0) {
		r = history_write(d);
		_exit(save_status(r, capacity_write(d)));
	}
	r = sd_event_add_child(d->event, &d->history_child, pid, WEXITED, daemon_history_on_child, d);
	if (r < 0) {
		/* Nobody would reap it otherwise. */
		log_warning_errno(r, "Cannot watch the history save process %d: %m", (int) pid);
		(void) waitpid(pid, NULL, 0);
	}
}

/* At shutdown: the synchronous save below must not race a child on
 * history.tmp, and it writes newer records than the child's: the child is
 * ended rather than waited for (a card stuck in its fsync still holds us). */
static void daemon_history_wait_child(struct daemon *d)
{
	pid_t pid;

	if (!d->history_child)
		return;
	if (sd_event_source_get_child_pid(d->history_child, &pid) >= 0) {
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, NULL, 0);
	}
	d->history_child = sd_event_source_disable_unref(d->history_child);
}

static int daemon_history_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void) s;
	(void) usec;
	daemon_history_save_async(d); /* logged */
	daemon_history_apply(d);
	return 0;
}

void daemon_history_apply(struct daemon *d)
{
	uint32_t sec = d->config->history_save_sec;

	d->capacity.std_offset_min = d->config->utc_offset_min;
	if (!d->history_timer)
		return;
	if (sec == 0) {
		(void) sd_event_source_set_enabled(d->history_timer, SD_EVENT_OFF);
		return;
	}
	(void) sd_event_source_set_time_relative(d->history_timer, (uint64_t) sec * USEC_PER_SEC);
	(void) sd_event_source_set_enabled(d->history_timer, SD_EVENT_ONESHOT);
}

int daemon_history_start(struct daemon *d)
{
	sigset_t chld;
	int r;

	/* sd_event_add_child() needs SIGCHLD blocked, before any thread starts. */
	if (sigemptyset(&chld) < 0 || sigaddset(&chld, SIGCHLD) < 0 ||
	    sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
		return log_error_errno(errno, "Cannot block SIGCHLD: %m");
	if (asprintf(&d->history_path, "%s/history", d->state_dir) < 0 ||
	    asprintf(&d->capacity_path, "%s/capacity", d->state_dir) < 0 || history_new(&d->history) < 0)
		return log_oom();
	capacity_init(&d->capacity, d->config->utc_offset_min);
	daemon_history_load(d);
	r = store_watch(d->store, daemon_history_on_snapshot, d, &d->history_watch);
	if (r < 0)
		return log_oom();
	/* A save a few seconds late rides on a telegram's wake instead of its own. */
	r = sd_event_add_time_relative(d->event, &d->history_timer, CLOCK_MONOTONIC, USEC_PER_SEC,
				       5 * USEC_PER_SEC, daemon_history_on_timer, d);
	if (r < 0)
		return log_error_errno(r, "Cannot start the history's save timer: %m");
	daemon_history_apply(d);
	return 0;
}

void daemon_history_stop(struct daemon *d)
{
	if (d->history) {
		if (d->store)
			store_unwatch(d->store, d->history_watch);
		d->history_timer = sd_event_source_disable_unref(d->history_timer);
		daemon_history_wait_child(d);
		history_flush(d->history);
		(void) daemon_history_save(d); /* logged */
		d->history = history_free(d->history);
	}
	free(d->history_path);
	d->history_path = NULL;
	free(d->capacity_path);
	d->capacity_path = NULL;
}

const struct history *daemon_on_http_history(void *userdata, struct capacity_view *ret_capacity)
{
	struct daemon *d = userdata;

	capacity_view(&d->capacity, ret_capacity);
	return d->history;
}

json_t *daemon_history_capacity_json(struct daemon *d)
{
	struct capacity_view cap;

	capacity_view(&d->capacity, &cap);
	return history_capacity_json(&cap);
}

void daemon_history_capacity_text(struct daemon *d, struct jbuf *j)
{
	struct capacity_view cap;

	capacity_view(&d->capacity, &cap);
	history_capacity_text(j, "capacity", &cap);
}
