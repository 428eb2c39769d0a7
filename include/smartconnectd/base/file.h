/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Files the daemon reads that a setting names (passwords, certificates,
 * keys). The event loop must never wait on another process, so such a file is
 * opened non-blocking and must be a regular file of bounded size: a FIFO, a
 * tty or a device named by mistake (or on purpose) is refused at once instead
 * of blocking the open or the read.
 */
#include <stddef.h>
#include <sys/types.h>

#define FILE_SETTING_MAX (1024 * 1024) /* bytes in a certificate chain, a key or a password file */

/* An fd open for reading on a regular file of at most max bytes, or -errno:
 * -EINVAL when path is not a regular file, -EFBIG when it is larger. */
int file_open_regular(const char *path, size_t max);

/* The whole file, NUL-terminated (the NUL is not counted in *ret_len), with
 * the checks of file_open_regular(). Returns 0 or -errno. */
int file_read_regular(const char *path, size_t max, char **ret, size_t *ret_len);

/* Words for the errors of the two above, for a message after the path. */
const char *file_error_to_string(int error);

/* Replace path with data, whole or not at all, even across a power cut:
 * written to "<path>.tmp" (created with mode, or truncated), synced, renamed over
 * path, and the directory synced. 0 or -errno; on failure path is as before
 * and no temporary file is left. Blocks on the disk: for small files. */
int file_write_atomic(const char *path, mode_t mode, const void *data, size_t len);
