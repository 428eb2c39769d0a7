/* SPDX-License-Identifier: MIT */
/*
 * Files named by settings: a regular file is read whole; a FIFO with no
 * writer, a terminal, a directory, a device and a file over the bound are
 * refused at once, never waited on (a wait would hang this test until
 * meson's timeout fails it). The atomic writer replaces a file whole, with
 * its mode, leaves no temporary file, does not follow a link planted where
 * its temporary file goes, and leaves the old file as it was on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/file.h"
#include "tap.h"

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void test_write_atomic(const char *dir)
{
	char path[128], tmp[160], victim[128], *buf = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s/atomic", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	r = file_write_atomic(path, 0600, "first\n", 6);
	tap_ok(r == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "written with mode 0600 (%d)",
	       r);
	tap_ok(file_write_atomic(path, 0600, "second", 6) == 0 &&
		   file_read_regular(path, 64, &buf, &len) == 0 && len == 6 && memcmp(buf, "second", 6) == 0,
	       "replaced whole");
	free(buf);
	buf = NULL;
	tap_ok(access(tmp, F_OK) < 0 && errno == ENOENT, "no temporary file left");

	write_file(victim, "keep", 4);
	if (symlink(victim, tmp) < 0)
		abort();
	r = file_write_atomic(path, 0600, "third", 5);
	tap_ok(r == -ELOOP && file_read_regular(victim, 64, &buf, &len) == 0 && len == 4,
	       "a link at the temporary name is not followed (%d), its target unchanged", r);
	free(buf);
	buf = NULL;
	tap_ok(file_read_regular(path, 64, &buf, &len) == 0 && len == 6 && memcmp(buf, "second", 6) == 0,
	       "a failed write leaves the file as it was");
	free(buf);
	unlink(tmp);
	r = file_write_atomic("/nonexistent-dir/x", 0600, "x", 1);
	tap_ok(r == -ENOENT, "a missing directory: -ENOENT (%d)", r);
	unlink(path);
	unlink(victim);
}

int main(void)
{
	char dir[] = "/tmp/test-file-XXXXXX", path[128], fifo[128], big[128], *buf = NULL;
	int master = -1, slave = -1, r;
	char tty[64];
	size_t len = 0;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/password", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(big, sizeof(big), "%s/big", dir);

	write_file(path, "s3cret\n", 7);
	r = file_read_regular(path, 64, &buf, &len);
	tap_ok(r == 0 && len == 7 && strcmp(buf, "s3cret\n") == 0, "a regular file is read whole (%d)", r);
	free(buf);
	buf = NULL;
	write_file(big, "0123456789", 10);
	tap_ok(file_read_regular(big, 9, &buf, &len) == -EFBIG && !buf, "one byte over the bound: -EFBIG");
	tap_ok(file_read_regular(big, 10, &buf, &len) == 0 && len == 10, "exactly the bound: read");
	free(buf);
	buf = NULL;

	if (mkfifo(fifo, 0600) < 0)
		abort();
	r = file_read_regular(fifo, 64, &buf, &len);
	tap_ok(r == -EINVAL, "a FIFO without a writer is refused at once (%d)", r);
	tap_ok(strcmp(file_error_to_string(r), "not a regular file") == 0, "said as 'not a regular file'");

	if (openpty(&master, &slave, tty, NULL, NULL) < 0)
		abort();
	r = file_open_regular(tty, 64);
	tap_ok(r == -EINVAL, "an idle terminal (%s) is refused at once (%d)", tty, r);
	tap_ok(file_open_regular(dir, 64) == -EINVAL, "a directory is refused");
	tap_ok(file_open_regular("/dev/null", 64) == -EINVAL, "a device is refused");
	r = file_open_regular("/nonexistent/file", 64);
	tap_ok(r == -ENOENT && strstr(file_error_to_string(r), "No such file"), "a missing file: -ENOENT");
	r = file_open_regular(path, 64);
	tap_ok(r >= 0 && (fcntl(r, F_GETFD) & FD_CLOEXEC), "the fd is close-on-exec");
	if (r >= 0)
		close(r);

	close(master);
	close(slave);
	test_write_atomic(dir);
	unlink(path);
	unlink(big);
	unlink(fifo);
	rmdir(dir);
	return tap_done();
}
