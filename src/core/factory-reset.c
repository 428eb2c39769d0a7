/* SPDX-License-Identifier: MIT */
/*
 * The factory reset's marker and file removals (see factory-reset.h).
 * Small synchronous writes and an fsync of a few bytes in the state
 * directory: a bounded cost, as for the overrides file's own saves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/core/factory-reset.h"

#define MARKER "factory-reset"
#define MARKER_TMP "factory-reset.tmp"

const char *const factory_reset_files[] = { "overrides.json", "overrides.json.tmp", NULL };

static int open_dir(const char *state_dir)
{
	int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int unlink_if_there(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int write_marker_tmp(int dfd)
{
	static const char text[] = "a factory reset is in progress\n";
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	fd = openat(dfd, MARKER_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	n = write(fd, text, sizeof(text) - 1);
	if (n < 0)
		return -errno;
	if (n != (ssize_t) sizeof(text) - 1)
		return -EIO;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int factory_reset_begin(const char *state_dir)
{
	_cleanup_close_ int dfd = -EBADF;
	int r;

	dfd = open_dir(state_dir);
	if (dfd < 0)
		return dfd;
	r = write_marker_tmp(dfd);
	if (r >= 0 && renameat(dfd, MARKER_TMP, dfd, MARKER) < 0)
		r = -errno;
	if (r < 0) {
		(void) unlinkat(dfd, MARKER_TMP, 0);
		return r;
	}
	return fsync(dfd) < 0 ? -errno : 0;
}

int factory_reset_finish(const char *state_dir, unsigned *ret_removed)
{
	_cleanup_close_ int dfd = -EBADF;
	unsigned removed = 0;
	int r;

	dfd = open_dir(state_dir);
	if (dfd < 0)
		return dfd;
	for (size_t i = 0; factory_reset_files[i]; i++) {
		r = unlink_if_there(dfd, factory_reset_files[i]);
		if (r < 0)
			return r;
		removed += (unsigned) r;
	}
	/* The removals are on disk before the marker goes. */
	if (fsync(dfd) < 0)
		return -errno;
	r = unlink_if_there(dfd, MARKER);
	if (r < 0)
		return r;
	if (fsync(dfd) < 0)
		return -errno;
	if (ret_removed)
		*ret_removed = removed;
	return 0;
}

int factory_reset_recover(const char *state_dir, bool *ret_tmp_removed)
{
	_cleanup_close_ int dfd = -EBADF;
	int r;

	*ret_tmp_removed = false;
	dfd = open_dir(state_dir);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	r = unlink_if_there(dfd, MARKER_TMP);
	if (r < 0)
		return r;
	*ret_tmp_removed = r > 0;
	if (faccessat(dfd, MARKER, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}
