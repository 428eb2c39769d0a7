/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the configuration parser (config_parse): any bytes in.
 * Besides not crashing, it checks that
 *  - the result is 0 exactly when no error was reported, and every error is
 *    one bounded line that names the file;
 *  - an accepted config is valid: ranges, enums, NUL-terminated strings, and
 *    config_validate() agrees;
 *  - an accepted config written out by config_dump() parses back into the
 *    same config with no error (the dump is a faithful INI file);
 *  - parsing is deterministic.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "smartconnectd/core/config.h"
#include "smartconnectd/meter/source-tcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FILE "fuzz.conf"

struct errors {
	unsigned n;
};

static void on_error(const char *msg, void *userdata)
{
	struct errors *e = userdata;
	size_t n = strlen(msg);

	e->n++;
	assert(n > 0 && n < 4096);
	assert(!strchr(msg, '\n'));
	assert(strncmp(msg, FUZZ_FILE ":", sizeof(FUZZ_FILE)) == 0);
}

static void check_string(const char *s, size_t size)
{
	assert(memchr(s, '\0', size) != NULL);
}

static void check_valid(const struct config *c)
{
	assert(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
	check_string(c->device, sizeof(c->device));
	char host[SOURCE_TCP_HOST_MAX];
	uint16_t port;
	assert(c->device[0] == '/' || source_tcp_parse(c->device, host, &port) == 0);
	assert((unsigned) c->protocol < _READING_PROTO_MAX);
	assert(c->stale_after_sec <= 86400);
	assert(c->utc_offset_min >= -12 * 60 && c->utc_offset_min <= 14 * 60);
	assert(c->grid == DECODE_GRID_AUTO || c->grid == DECODE_GRID_WYE || c->grid == DECODE_GRID_DELTA);
	check_string(c->modbus_listen.host, sizeof(c->modbus_listen.host));
	assert(c->modbus_listen.host[0]); /* port 0 = a free port */
	assert((unsigned) c->meter_type < _CONFIG_METER_TYPE_MAX);
	assert(c->modbus_max_clients >= 1 && c->modbus_max_clients <= 1024);
	assert(c->modbus_idle_sec <= 86400 && (unsigned) c->modbus_stale_policy < _MODBUS_SERVER_STALE_MAX);
	assert((unsigned) c->modbus_framing < _MODBUS_FRAMING_MAX);
	check_string(c->http_listen.host, sizeof(c->http_listen.host));
	assert(c->http_listen.host[0]);
	check_string(c->http_user, sizeof(c->http_user));
	assert(c->http_user[0] && !strchr(c->http_user, ':'));
	check_string(c->http_password, sizeof(c->http_password));
	check_string(c->mqtt_broker.url, sizeof(c->mqtt_broker.url));
	check_string(c->mqtt_broker.host, sizeof(c->mqtt_broker.host));
	assert(!c->mqtt_broker.url[0] || (c->mqtt_broker.host[0] && c->mqtt_broker.port > 0));
	assert(!c->mqtt_enabled || c->mqtt_broker.url[0]); /* an empty Site publishes under "default" */
	check_string(c->mqtt_site, sizeof(c->mqtt_site));
	check_string(c->mqtt_username, sizeof(c->mqtt_username));
	check_string(c->mqtt_password, sizeof(c->mqtt_password));
	check_string(c->serial, sizeof(c->serial));
	assert(c->serial[0]);
	assert(config_validate(c, NULL, NULL) == 0);
}

static void check_round_trip(const struct config *c)
{
	struct errors e = { 0 };
	struct config *back;
	char *out = NULL;
	size_t n = 0;
	FILE *f;
	int r;

	f = open_memstream(&out, &n);
	if (!f)
		return;
	r = config_dump(c, f, true);
	assert(r == 0);
	fclose(f);

	back = config_new();
	if (back) {
		r = config_parse(back, FUZZ_FILE, out, n, on_error, &e);
		assert(r == 0);
		assert(e.n == 0);
		assert(config_diff(c, back) == 0);
		config_free(back);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errors e1 = { 0 };
	struct config *c1 = config_new(), *c2 = config_new();
	char mask[128];
	int r1, r2;

	if (!c1 || !c2)
		goto out;

	r1 = config_parse(c1, FUZZ_FILE, (const char *) data, size, on_error, &e1);
	assert(r1 == 0 || r1 == -EINVAL || r1 == -EFBIG);
	assert((r1 == 0) == (e1.n == 0));
	assert(r1 != -EFBIG || size > CONFIG_FILE_MAX);

	r2 = config_parse(c2, FUZZ_FILE, (const char *) data, size, NULL, NULL);
	assert(r1 == r2);

	if (r1 == 0) {
		assert(config_diff(c1, c2) == 0);
		check_valid(c1);
		check_round_trip(c1);
	}
	(void) config_apply_to_string(config_diff(c1, c2), mask, sizeof(mask));

out:
	config_free(c1);
	config_free(c2);
	return 0;
}
