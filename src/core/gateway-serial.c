/* SPDX-License-Identifier: MIT */
/*
 * The gateway's serial number (see gateway-serial.h). Only printable characters other
 * than '/', '+' and '#' are kept, so the serial can stand in an MQTT topic.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartconnectd/core/gateway-serial.h"

static size_t read_token(const char *root, const char *path, char *buf, size_t size)
{
	char full[512], raw[128];
	size_t n = 0;
	ssize_t k;
	int fd;

	snprintf(full, sizeof(full), "%s%s", root ? root : "", path);
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	k = read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (k <= 0)
		return 0;

	/* Device-tree strings end in NUL, machine-id in a newline. */
	for (ssize_t i = 0; i < k && n + 1 < size; i++) {
		char c = raw[i];
		if (c == '\0' || c == '\n')
			break;
		if (c > ' ' && c < 0x7f && c != '/' && c != '+' && c != '#')
			buf[n++] = c;
	}
	buf[n] = '\0';
	return n;
}

const char *gateway_serial_resolve(const char *configured, const char *root, char *buf, size_t size)
{
	if (configured && *configured && strcmp(configured, "auto") != 0) {
		snprintf(buf, size, "%s", configured);
		return buf;
	}
	if (read_token(root, "/sys/firmware/devicetree/base/serial-number", buf, size) > 0 ||
	    read_token(root, "/proc/device-tree/serial-number", buf, size) > 0)
		return buf;
	if (read_token(root, "/etc/machine-id", buf, size) > 0) {
		if (size > 13)
			buf[12] = '\0';
		return buf;
	}
	snprintf(buf, size, "unknown");
	return buf;
}
