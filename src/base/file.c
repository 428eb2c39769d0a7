/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "smartconnectd/base/macro.h"

int file_open_regular(const char *path, size_t max)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((size_t) st.st_size > max)
		return -EFBIG;
	return TAKE_FD(fd);
}

int file_read_regular(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = file_open_regular(path, max);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	/* A regular file never blocks; the bound holds even if it grows meanwhile. */
	while (len < max + 1 && (n = read(fd, buf + len, max + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len += (size_t) n;
	}
	if (len > max)
		return -EFBIG;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

const char *file_error_to_string(int error)
{
	switch (error) {
	case -EINVAL:
		return "not a regular file";
	case -EFBIG:
		return "too large";
	default:
		return strerror(-error);
	}
}

static int write_all(int fd, const char *p, size_t n)
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

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -EBADF;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int file_write_atomic(const char *path, mode_t mode, const void *data, size_t len)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	/* A temporary file left by a crash is truncated; a link planted there is not followed. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
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
	return fsync_dir_of(path);
}
