/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the history and the capacity tariff: a store watch
 * feeds both; the history is restored from <state-dir>/history at start and
 * saved there every [History] SaveInterval and at a clean shutdown.
 *
 * A save writes history.tmp, fsyncs it, renames it over history and fsyncs
 * the directory, so a power cut leaves the old file or the new one, never a
 * mix. It blocks the loop for the write: at most 2.7 MiB, once an hour by
 * default.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/log.h"
#include "smartconnectd/meter/history-file.h"
#include "smartconnectd/meter/store.h"
#include "smartconnectd/outputs/history-json.h"

#include "daemon-internal.h"

#define HISTORY_FILE_MAX \
	(HISTORY_FILE_HEADER + (size_t) (HISTORY_MINUTES + HISTORY_QUARTERS) * sizeof(struct history_rec))

static void daemon_history_on_snapshot(const struct snapshot *snap, void *userdata)
{
	struct daemon *d = userdata;

	history_add(d->history, &snap->v, (int64_t) (snap->real_usec / USEC_PER_SEC));
	capacity_add(&d->capacity, &snap->v);
}

static void daemon_history_load(struct daemon *d)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = file_read_regular(d->history_path, HISTORY_FILE_MAX, &buf, &len);
	if (r == -ENOENT) {
		log_debug("No history file '%s', starting with an empty history", d->history_path);
		return;
	}
	if (r < 0) {
		log_warning("History file '%s' refused (%s), starting with an empty history", d->history_path,
			    file_error_to_string(r));
		return;
	}
	r = history_file_decode(d->history, buf, len);
	if (r < 0) {
		log_warning("History file '%s' refused (%s), starting with an empty history", d->history_path,
			    history_file_strerror(r));
		return;
	}
	log_info("History restored from '%s' (%zu bytes)", d->history_path, len);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t) k;
	}
	return 0;
}

static int save_file(const char *dir, const char *path, const char *tmp, const uint8_t *buf, size_t len)
{
	_cleanup_close_ int fd = -EBADF, dfd = -EBADF;
	int r;

	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void) unlink(tmp);
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		return -errno;
	return 0;
}

int daemon_history_save(struct daemon *d)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size;
	int64_t len;
	int r;

	if (!d->history)
		return 0;
	size = history_file_size(d->history);
	buf = malloc(size);
	if (!buf || asprintf(&tmp, "%s.tmp", d->history_path) < 0)
		return log_oom();
	len = history_file_encode(d->history, buf, size);
	if (len < 0)
		return log_error_errno((int) len, "Cannot encode the history: %m");
	r = save_file(d->state_dir, d->history_path, tmp, buf, (size_t) len);
	if (r < 0)
		return log_warning_errno(r, "Cannot save the history to '%s': %m", d->history_path);
	log_debug("History saved to '%s' (%" PRId64 " bytes)", d->history_path, len);
	return 0;
}

static int daemon_history_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void) s;
	(void) usec;
	(void) daemon_history_save(d); /* logged */
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
	int r;

	if (asprintf(&d->history_path, "%s/history", d->state_dir) < 0 || history_new(&d->history) < 0)
		return log_oom();
	capacity_init(&d->capacity, d->config->utc_offset_min);
	daemon_history_load(d);
	r = store_watch(d->store, daemon_history_on_snapshot, d, &d->history_watch);
	if (r < 0)
		return log_oom();
	r = sd_event_add_time_relative(d->event, &d->history_timer, CLOCK_MONOTONIC, USEC_PER_SEC, 0,
				       daemon_history_on_timer, d);
	if (r < 0)
		return log_error_errno(r, "Cannot start the history's save timer: %m");
	daemon_history_apply(d);
	return 0;
}

void daemon_history_stop(struct daemon *d)
{
	if (!d->history)
		return;
	if (d->store)
		store_unwatch(d->store, d->history_watch);
	d->history_timer = sd_event_source_disable_unref(d->history_timer);
	history_flush(d->history);
	(void) daemon_history_save(d); /* logged */
	d->history = history_free(d->history);
	free(d->history_path);
	d->history_path = NULL;
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
