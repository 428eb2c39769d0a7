/* SPDX-License-Identifier: MIT */
/*
 * The configuration as the HTTP API's JSON, and the overrides file the API
 * writes (<state-dir>/overrides.json).
 *
 * The JSON has the shape of the original device's API: top-level MeterType
 * (= [Modbus] MeterType) and DefaultNetIf, Ethernet {IpMode, StaticIPv4
 * {IpAddress, Netmask, Gateway, DNS}}, WiFi {IpMode, ConnectionData {WiFiSSID,
 * WiFiPassword}, StaticIPv4 {...}}; every other key sits in an object named
 * after its section ("MQTT": {"Broker": ...}). The mapping is generic over the
 * key table of config.c: a new key appears without new code. Booleans are
 * true/false, numbers are integers, everything else is a string in the
 * config file's syntax.
 *
 * Secrets (passwords) are never written out: they read "<hidden>" when set and
 * "" when not. A patch that sends "<hidden>" back leaves the secret as it is,
 * so GET, edit, PATCH round-trips.
 *
 * The overrides file holds only what the API was asked to change, in the same
 * shape, secrets included (it is written with mode 0600). The effective
 * configuration is defaults, then /etc/smartconnect.conf, then the overrides.
 *
 * Pure except config_json_load_file(), config_json_save_file() and the check
 * in config_json_patch() that a newly named file is a regular file. Never logs.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "smartconnectd/core/config.h"

#define CONFIG_JSON_HIDDEN "<hidden>"
#define CONFIG_JSON_BODY_MAX (64 * 1024) /* bytes in a patch or in the overrides file */

/* What went wrong: field is the JSON path ("MQTT.Broker"), empty when the
 * problem is the whole document; message names the field too. */
struct config_json_error {
	char field[160];
	char message[640];
};

/* The API's object for c. NULL only on OOM. */
json_t *config_json_dump(const struct config *c);

/* The JSON path of key i of the table ("Ethernet.StaticIPv4.IpAddress"). */
const char *config_json_path(size_t i, char *buf, size_t size);

/*
 * Apply a patch object over c: only the fields given change. Unknown keys,
 * wrong JSON types, objects where a value belongs (or the reverse) and bad
 * values fail with -EINVAL and e filled; c may then be partly changed, so
 * apply to a copy. Cross-key checks are not run here.
 */
int config_json_apply(struct config *c, const json_t *patch, struct config_json_error *e);

/*
 * A PATCH request: parse body (at most CONFIG_JSON_BODY_MAX bytes; it must be
 * one JSON object), apply it over base + overrides, run config_validate() on
 * the result, and check that each file the patch newly names (certificates,
 * keys, password files) is a regular file of bounded size, opened without
 * blocking. On success *ret_config is the new effective configuration and
 * *ret_overrides the new overrides document (overrides merged with the patch,
 * "<hidden>" secrets dropped). Returns 0, -EINVAL (e filled), -ENOMEM.
 * base and overrides are not changed.
 */
int config_json_patch(const struct config *base, const json_t *overrides, const char *body, size_t len,
		      struct config **ret_config, json_t **ret_overrides, struct config_json_error *e);

/*
 * Read the overrides file at path and apply it over base. Returns 0 with
 * *ret_config (and *ret_overrides, the document); -ENOENT when there is no file
 * (nothing reported); -EINVAL etc. with e filled (message names the file).
 */
int config_json_load_file(const char *path, const struct config *base, struct config **ret_config,
			  json_t **ret_overrides, struct config_json_error *e);

/*
 * Write the document atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync the directory. The directory is created
 * (mode 0750) when missing. On failure the old file is untouched and the
 * temporary file removed. Returns 0 or a negative errno.
 */
/* Removes "<path>.tmp", what a save cut short by a crash or power loss leaves
 * beside the file. 1 when there was one, 0 when not, -errno. */
int config_json_remove_partial(const char *path);
int config_json_save_file(const char *path, const json_t *overrides);
