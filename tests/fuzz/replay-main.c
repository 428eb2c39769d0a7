/* SPDX-License-Identifier: MIT */
/*
 * main() for fuzz harnesses in builds without libFuzzer: every file named on
 * the command line, or every file of a named directory, goes once through
 * LLVMFuzzerTestOneInput(), so `meson test` replays the corpora and every
 * committed crash reproducer. Output is TAP; a harness that finds a broken
 * invariant aborts, and the last "# " line names the input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned n_run, n_failed;

/* Exactly size bytes on the heap, so a harness or decoder that reads past
 * the input is caught when the build has AddressSanitizer. */
static int read_file(const char *path, uint8_t **ret, size_t *ret_size)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}

	buf = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t) st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO;
			free(buf);
			goto out;
		}
		got += (size_t) k;
	}
	*ret = buf;
	*ret_size = got;
out:
	close(fd);
	return r;
}

static void run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	int r;

	printf("# %s\n", path);
	fflush(stdout);

	r = read_file(path, &buf, &size);
	n_run++;
	if (r < 0) {
		n_failed++;
		printf("not ok %u - %s: %s\n", n_run, path, strerror(-r));
		return;
	}

	(void) LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	printf("ok %u - %s (%zu bytes)\n", n_run, path, size);
	fflush(stdout);
}

static int is_visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Sorted, so a run is reproducible and its output comparable. */
static void run_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, is_visible, alphasort);

	if (n < 0) {
		n_run++;
		n_failed++;
		printf("not ok %u - %s: %s\n", n_run, dir, strerror(errno));
		return;
	}

	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(path);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}

	printf("1..%u\n", n_run);
	printf("# %u inputs replayed, %u unreadable\n", n_run, n_failed);
	return n_failed || n_run == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
