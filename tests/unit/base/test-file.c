/* SPDX-License-Identifier: MIT */
/*
 * Files named by settings: a regular file is read whole; a FIFO with no
 * writer, a terminal, a directory, a device and a file over the bound are
 * refused at once, never waited on (a wait would hang this test until
 * meson's timeout fails it).
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
	unlink(path);
	unlink(big);
	unlink(fifo);
	rmdir(dir);
	return tap_done();
}
