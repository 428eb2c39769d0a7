/* SPDX-License-Identifier: MIT */
/*
 * gateway_serial_resolve() against a temporary root holding the files it
 * reads: a configured serial wins; "auto" (or nothing) takes the device tree's
 * serial-number (sysfs first, then /proc), else the first 12 characters of
 * machine-id, else "unknown". Characters that cannot stand in an MQTT topic
 * level are dropped, and the result fits the caller's buffer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/core/gateway-serial.h"
#include "tap.h"

#define SYSFS_SERIAL "/sys/firmware/devicetree/base/serial-number"
#define PROC_SERIAL "/proc/device-tree/serial-number"
#define MACHINE_ID "/etc/machine-id"

static char root[PATH_MAX];

/* mkdir -p of the directory part of root + path. */
static void make_parents(const char *path)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s%s", root, path);
	for (char *p = full + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			(void) mkdir(full, 0755);
			*p = '/';
		}
}

static void put_file(const char *path, const void *data, size_t n)
{
	char full[PATH_MAX];
	FILE *f;

	make_parents(path);
	snprintf(full, sizeof(full), "%s%s", root, path);
	f = fopen(full, "wb");
	if (!f || fwrite(data, 1, n, f) != n)
		tap_diag("cannot write %s", full);
	if (f)
		fclose(f);
}

static void drop_file(const char *path)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s%s", root, path);
	(void) unlink(full);
}

static const char *resolve(const char *configured)
{
	static char buf[64];

	return gateway_serial_resolve(configured, root, buf, sizeof(buf));
}

static void test_configured(void)
{
	char buf[64];

	put_file(MACHINE_ID, "0123456789abcdef0123456789abcdef\n", 33);
	TAP_EQ_STR(resolve("GW-0042"), "GW-0042", "a configured serial is used as it is");
	tap_ok(gateway_serial_resolve("GW-0042", root, buf, sizeof(buf)) == buf, "the buffer is returned");
	TAP_EQ_STR(resolve("auto"), "0123456789ab", "auto reads the files");
	TAP_EQ_STR(resolve(""), "0123456789ab", "empty is auto");
	TAP_EQ_STR(resolve(NULL), "0123456789ab", "NULL is auto");
	drop_file(MACHINE_ID);
}

static void test_sources(void)
{
	/* Device-tree strings end in NUL; the bytes after it are not part of it. */
	put_file(MACHINE_ID, "fedcba9876543210fedcba9876543210\n", 33);
	TAP_EQ_STR(resolve("auto"), "fedcba987654", "machine-id: its first 12 characters");

	put_file(PROC_SERIAL, "00000000c0ffee01\0junk", 21);
	TAP_EQ_STR(resolve("auto"), "00000000c0ffee01", "/proc device tree before machine-id, up to the NUL");

	put_file(SYSFS_SERIAL, "10000000deadbeef\0", 17);
	TAP_EQ_STR(resolve("auto"), "10000000deadbeef", "sysfs device tree before /proc");

	/* An empty or unreadable first source falls through to the next. */
	put_file(SYSFS_SERIAL, "", 0);
	TAP_EQ_STR(resolve("auto"), "00000000c0ffee01", "an empty sysfs file falls through");
	put_file(SYSFS_SERIAL, "\0\0\0\0", 4);
	TAP_EQ_STR(resolve("auto"), "00000000c0ffee01", "so does one that is only NULs");
	drop_file(SYSFS_SERIAL);
	drop_file(PROC_SERIAL);

	put_file(MACHINE_ID, "abc\n", 4);
	TAP_EQ_STR(resolve("auto"), "abc", "a short machine-id is kept whole");
	drop_file(MACHINE_ID);
	TAP_EQ_STR(resolve("auto"), "unknown", "nothing readable: unknown");
}

static void test_filtering(void)
{
	char small[8];

	/* '/', '+' and '#' would split or wildcard an MQTT topic; blanks and
	 * control characters are dropped as well. */
	put_file(SYSFS_SERIAL, "ab/c+d#e f\tg\x01h\0", 16);
	TAP_EQ_STR(resolve("auto"), "abcdefgh", "topic-breaking and blank characters are dropped");
	put_file(SYSFS_SERIAL, "/+#\0", 4);
	put_file(MACHINE_ID, "99887766554433221100aabbccddeeff\n", 33);
	TAP_EQ_STR(resolve("auto"), "998877665544", "a serial with nothing left falls through");
	drop_file(SYSFS_SERIAL);

	put_file(SYSFS_SERIAL, "0123456789\0", 11);
	TAP_EQ_STR(gateway_serial_resolve("auto", root, small, sizeof(small)), "0123456",
		   "a long serial is cut to the buffer");
	drop_file(SYSFS_SERIAL);
	TAP_EQ_STR(gateway_serial_resolve("auto", root, small, sizeof(small)), "9988776",
		   "so is machine-id in a small buffer");
	TAP_EQ_STR(gateway_serial_resolve("GW-0123456789", root, small, sizeof(small)), "GW-0123",
		   "and a configured serial");
	drop_file(MACHINE_ID);
}

static void remove_tree(const char *dir)
{
	static const char *const dirs[] = {
		"/sys/firmware/devicetree/base",
		"/sys/firmware/devicetree",
		"/sys/firmware",
		"/sys",
		"/proc/device-tree",
		"/proc",
		"/etc",
	};
	char full[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(full, sizeof(full), "%s%s", dir, dirs[i]);
		(void) rmdir(full);
	}
	(void) rmdir(dir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ?: "/tmp";

	snprintf(root, sizeof(root), "%s/test-gateway-serial-XXXXXX", tmp);
	if (!mkdtemp(root)) {
		tap_ok(false, "cannot create a temporary root: %s", strerror(errno));
		return tap_done();
	}

	test_configured();
	test_sources();
	test_filtering();

	remove_tree(root);
	return tap_done();
}
