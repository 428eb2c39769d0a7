/* SPDX-License-Identifier: MIT */
/*
 * The gateway's serial number, as the outputs show it (Modbus identification
 * registers, MQTT topics, HTTP status): the configured [Device] Serial, or with
 * "auto" the board's serial number (device tree, as on a Raspberry Pi), else
 * the first 12 characters of /etc/machine-id.
 *
 * Reads small files at start-up and reload; never logs.
 */
#pragma once

#include <stddef.h>

/* Fill buf with the serial. root prefixes the files read (tests); NULL = "/".
 * Always succeeds: "unknown" when nothing can be read. Returns buf. */
const char *gateway_serial_resolve(const char *configured, const char *root, char *buf, size_t size);
