/* SPDX-License-Identifier: MIT */
/*
 * Configuration parser (see config.h): a table of keys, a line splitter, one
 * small parser and formatter per value type, cross-key checks and the diff.
 * Pure except config_load(), which reads the file. It never logs: every
 * problem becomes one message for the caller's callback.
 *
 * Not here: the overrides written by the HTTP API (they come later and will
 * overlay a parsed config) and applying a config (daemon.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "smartconnectd/config.h"

struct conf_key;

/* Parse value into field. On error write a message (without file, line or key)
 * into err and return -EINVAL or -ERANGE. */
typedef int (*conf_parse_fn)(const struct conf_key *k, const char *value, void *field, char *err,
			     size_t errsz);
/* Write the field as it would appear after "Key=" (unquoted; the caller quotes). */
typedef void (*conf_format_fn)(const struct conf_key *k, const void *field, char *buf, size_t size);

struct conf_type {
	conf_parse_fn parse;
	conf_format_fn format;
};

/* Row flags besides the CONFIG_APPLY_* bits. */
enum {
	CONF_SECRET = 1u << 0,    /* never echoed in messages, hidden in dumps */
	CONF_EMPTY_OK = 1u << 1,  /* an empty value is valid */
	CONF_NO_COLON = 1u << 2,  /* HTTP basic auth user names cannot contain ':' */
	CONF_DNS_LABEL = 1u << 3, /* one DNS label: letters, digits, inner '-', at most 63 */
};

struct conf_key {
	const char *section;
	const char *key;
	const struct conf_type *type;
	const char *def; /* default, in the same syntax as the file */
	size_t offset, size;
	unsigned apply;           /* CONFIG_APPLY_* */
	unsigned flags;           /* CONF_* */
	long long min, max;       /* numeric types */
	const char *const *names; /* enum types: names[value], NULL = no such value */
	size_t n_names;
};

static const char *const protocol_names[_CONFIG_PROTOCOL_MAX] = {
	[CONFIG_PROTOCOL_AUTO] = "auto",
	[CONFIG_PROTOCOL_DSMR] = "dsmr",
	[CONFIG_PROTOCOL_TIC_HISTORIQUE] = "tic-historique",
	[CONFIG_PROTOCOL_TIC_STANDARD] = "tic-standard",
};

static const char *const meter_type_names[_CONFIG_METER_TYPE_MAX] = {
	[CONFIG_METER_TYPE_EMPRO] = "PhoenixContact-EMPro",
	[CONFIG_METER_TYPE_SDM630] = "Eastron-SDM630",
	[CONFIG_METER_TYPE_EM24] = "CarloGavazzi-EM24",
	[CONFIG_METER_TYPE_SUNSPEC] = "SunSpec",
};

static const char *const stale_policy_names[_CONFIG_STALE_MAX] = {
	[CONFIG_STALE_ERROR] = "error",
	[CONFIG_STALE_ZERO] = "zero",
	[CONFIG_STALE_KEEP] = "keep",
};

static const char *const grid_names[] = {
	[DECODE_GRID_AUTO] = "auto",
	[DECODE_GRID_WYE] = "wye",
	[DECODE_GRID_DELTA] = "delta",
};

static const char *const log_level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* ---- helpers ------------------------------------------------------------------------------ */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_';
}

/* Copy into a fixed field, zero-filling the rest so fields compare with memcmp. */
static int set_string(const char *value, void *field, size_t size, char *err, size_t errsz)
{
	size_t n = strlen(value);

	if (n >= size) {
		snprintf(err, errsz, "too long (%zu characters, at most %zu)", n, size - 1);
		return -ERANGE;
	}
	memset(field, 0, size);
	memcpy(field, value, n);
	return 0;
}

/* Plain decimal digits, nothing else; *end is set to the first non-digit. */
static int parse_digits(const char *s, unsigned long long max, unsigned long long *ret, const char **end)
{
	unsigned long long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (unsigned) (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned) (*p - '0');
	}
	*ret = v;
	*end = p;
	return 0;
}

/* "a, b, c or d": the names of an enum type for error messages. */
static void list_names(const struct conf_key *k, char *buf, size_t size)
{
	size_t n = 0, total = 0, seen = 0;

	for (size_t i = 0; i < k->n_names; i++)
		total += k->names[i] != NULL;

	buf[0] = '\0';
	for (size_t i = 0; i < k->n_names && n < size; i++) {
		const char *sep = ", ";

		if (!k->names[i])
			continue;
		if (++seen == 1)
			sep = "";
		else if (seen == total)
			sep = " or ";
		n += (size_t) snprintf(buf + n, size - n, "%s%s", sep, k->names[i]);
	}
}

/* ---- value types -------------------------------------------------------------------------- */

static int parse_enum(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	char names[256];

	for (size_t i = 0; i < k->n_names; i++)
		if (k->names[i] && strcasecmp(value, k->names[i]) == 0) {
			*(int *) field = (int) i;
			return 0;
		}

	list_names(k, names, sizeof(names));
	snprintf(err, errsz, "unknown value '%.64s', expected %s", value, names);
	return -EINVAL;
}

static void format_enum(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	int v = *(const int *) field;

	bool known = v >= 0 && (size_t) v < k->n_names && k->names[v];

	snprintf(buf, size, "%s", known ? k->names[v] : "?");
}

static int parse_bool(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	(void) k;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*(bool *) field = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*(bool *) field = false;
			return 0;
		}
	}
	snprintf(err, errsz, "unknown value '%.64s', expected yes or no", value);
	return -EINVAL;
}

static void format_bool(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	(void) k;
	snprintf(buf, size, "%s", *(const bool *) field ? "yes" : "no");
}

static int parse_uint(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	unsigned long long v;
	const char *end;
	int r;

	r = parse_digits(value, UINT32_MAX, &v, &end);
	if (r == -EINVAL || (r == 0 && *end)) {
		snprintf(err, errsz, "'%.64s' is not a number", value);
		return -EINVAL;
	}
	if (r < 0 || v < (unsigned long long) k->min || v > (unsigned long long) k->max) {
		snprintf(err, errsz, "%.64s is out of range, expected %lld..%lld", value, k->min, k->max);
		return -ERANGE;
	}
	*(uint32_t *) field = (uint32_t) v;
	return 0;
}

/* Also for seconds: written back as a plain number. */
static void format_uint(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	(void) k;
	snprintf(buf, size, "%u", *(const uint32_t *) field);
}

/* Seconds: "30", "30s", "2min", "1h". */
static int parse_seconds(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	static const struct {
		const char *suffix;
		unsigned mult;
	} units[] = { { "", 1 }, { "s", 1 }, { "sec", 1 }, { "min", 60 }, { "h", 3600 } };
	unsigned long long v;
	unsigned mult = 0;
	const char *end;
	int r;

	r = parse_digits(value, UINT32_MAX, &v, &end);
	if (r == -EINVAL) {
		snprintf(err, errsz, "'%.64s' is not a time in seconds", value);
		return -EINVAL;
	}
	if (r == 0) {
		while (is_blank(*end))
			end++;
		for (size_t i = 0; i < ARRAY_SIZE(units) && !mult; i++)
			if (strcmp(end, units[i].suffix) == 0)
				mult = units[i].mult;
		if (!mult) {
			snprintf(err, errsz, "unknown unit in '%.64s', expected s, min or h", value);
			return -EINVAL;
		}
	}
	if (r < 0 || v > (unsigned long long) k->max / mult || v * mult < (unsigned long long) k->min) {
		snprintf(err, errsz, "%.64s is out of range, expected %lld..%lld seconds", value, k->min,
			 k->max);
		return -ERANGE;
	}
	*(uint32_t *) field = (uint32_t) (v * mult);
	return 0;
}

/* "+01:00": the meter zone's standard-time UTC offset, -12:00 .. +14:00. */
static int parse_utc_offset(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	const char *s = value;
	int sign, hh, mm, minutes;

	(void) k;
	if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !(s[1] >= '0' && s[1] <= '9') ||
	    !(s[2] >= '0' && s[2] <= '9') || !(s[4] >= '0' && s[4] <= '9') || !(s[5] >= '0' && s[5] <= '9')) {
		snprintf(err, errsz, "'%.64s' is not a UTC offset, expected [+-]HH:MM such as +01:00", value);
		return -EINVAL;
	}
	sign = s[0] == '-' ? -1 : 1;
	hh = (s[1] - '0') * 10 + (s[2] - '0');
	mm = (s[4] - '0') * 10 + (s[5] - '0');
	minutes = sign * (hh * 60 + mm);
	if (mm > 59 || minutes < -12 * 60 || minutes > 14 * 60) {
		snprintf(err, errsz, "%s is out of range, expected -12:00..+14:00", value);
		return -ERANGE;
	}
	*(int *) field = minutes;
	return 0;
}

static void format_utc_offset(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	int m = *(const int *) field;

	(void) k;
	snprintf(buf, size, "%c%02d:%02d", m < 0 ? '-' : '+', abs(m) / 60, abs(m) % 60);
}

/* Printable text: no control characters (a value is one line anyway). */
static int check_printable(const char *value, char *err, size_t errsz)
{
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(err, errsz, "contains a control character");
			return -EINVAL;
		}
	return 0;
}

static int parse_string(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	int r;

	if (!*value && !(k->flags & CONF_EMPTY_OK)) {
		snprintf(err, errsz, "must not be empty");
		return -EINVAL;
	}
	r = check_printable(value, err, errsz);
	if (r < 0)
		return r;
	if ((k->flags & CONF_NO_COLON) && strchr(value, ':')) {
		snprintf(err, errsz, "must not contain ':'");
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

static void format_string(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	(void) k;
	snprintf(buf, size, "%s", (const char *) field);
}

/* A letters/digits/. - _ word: it becomes part of MQTT topics. */
static int parse_token(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	if (!*value && !(k->flags & CONF_EMPTY_OK)) {
		snprintf(err, errsz, "must not be empty");
		return -EINVAL;
	}
	for (const char *p = value; *p; p++)
		if (!is_token_char(*p)) {
			snprintf(err, errsz,
				 "'%.64s' contains '%c', only letters, digits, '.', '-' and '_' are allowed",
				 value, *p >= 0x20 && *p < 0x7f ? *p : '?');
			return -EINVAL;
		}
	return set_string(value, field, k->size, err, errsz);
}

/* A host name label (RFC 1123): it becomes "<label>.local". */
static int parse_dns_label(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	size_t n = strlen(value);

	if (n == 0 || n > 63 || value[0] == '-' || value[n - 1] == '-' || strchr(value, '.') ||
	    strchr(value, '_')) {
		snprintf(err, errsz,
			 "'%.64s' is not a host name label: 1 to 63 letters, digits and inner '-'", value);
		return -EINVAL;
	}
	return parse_token(k, value, field, err, errsz);
}

static int parse_path(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	int r;

	r = check_printable(value, err, errsz);
	if (r < 0)
		return r;
	if (value[0] != '/') {
		snprintf(err, errsz, "'%.64s' is not an absolute path", value);
		return -EINVAL;
	}
	if (value[strlen(value) - 1] == '/') {
		snprintf(err, errsz, "'%.64s' names a directory, expected a device", value);
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

/* A host name or an IP address literal (IPv6 without brackets). */
static int check_host(const char *host, char *err, size_t errsz)
{
	unsigned char addr[16];
	bool numeric = true;

	if (!*host) {
		snprintf(err, errsz, "empty host");
		return -EINVAL;
	}
	if (strlen(host) >= CONFIG_HOST_MAX) {
		snprintf(err, errsz, "host name too long");
		return -ERANGE;
	}
	if (strchr(host, ':')) {
		if (inet_pton(AF_INET6, host, addr) == 1)
			return 0;
		snprintf(err, errsz, "'%.64s' is not an IPv6 address", host);
		return -EINVAL;
	}
	for (const char *p = host; *p; p++) {
		if (!is_token_char(*p) || *p == '_') {
			snprintf(err, errsz, "'%.64s' is not a host name or address", host);
			return -EINVAL;
		}
		numeric = numeric && ((*p >= '0' && *p <= '9') || *p == '.');
	}
	if (numeric && inet_pton(AF_INET, host, addr) != 1) {
		snprintf(err, errsz, "'%.64s' is not an IPv4 address", host);
		return -EINVAL;
	}
	return 0;
}

/* "host:port" or "[v6]:port" into host and port; port 1..65535. */
static int split_host_port(const char *s, char host[CONFIG_HOST_MAX], uint16_t *ret_port, bool port_optional,
			   char *err, size_t errsz)
{
	const char *h = s, *hend, *colon;
	unsigned long long port;
	const char *end;
	size_t hlen;
	int r;

	if (s[0] == '[') {
		h = s + 1;
		hend = strchr(h, ']');
		if (!hend) {
			snprintf(err, errsz, "missing ']' after the IPv6 address in '%.64s'", s);
			return -EINVAL;
		}
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (!colon && hend[1] != '\0') {
			snprintf(err, errsz, "expected ':' and a port after ']' in '%.64s'", s);
			return -EINVAL;
		}
	} else {
		colon = strrchr(s, ':');
		if (colon && memchr(s, ':', (size_t) (colon - s))) {
			snprintf(err, errsz, "write an IPv6 address in brackets, as in [::1]:502");
			return -EINVAL;
		}
		hend = colon ? colon : s + strlen(s);
	}

	hlen = (size_t) (hend - h);
	if (hlen >= CONFIG_HOST_MAX) {
		snprintf(err, errsz, "host name too long");
		return -ERANGE;
	}
	memset(host, 0, CONFIG_HOST_MAX);
	memcpy(host, h, hlen);
	if (s[0] == '[' && !strchr(host, ':')) {
		snprintf(err, errsz, "'%.64s' in brackets is not an IPv6 address", host);
		return -EINVAL;
	}
	r = check_host(host, err, errsz);
	if (r < 0)
		return r;

	if (!colon) {
		if (port_optional) {
			*ret_port = 0;
			return 0;
		}
		snprintf(err, errsz, "'%.64s' has no port, expected host:port", s);
		return -EINVAL;
	}
	r = parse_digits(colon + 1, 65535, &port, &end);
	if (r == -EINVAL || (r == 0 && *end)) {
		snprintf(err, errsz, "'%.64s' is not a port number", colon + 1);
		return -EINVAL;
	}
	/* A listener on port 0 gets a free port from the kernel (the log says
	 * which), which tests use; a broker on port 0 is a mistake. */
	if (r < 0 || (port == 0 && port_optional)) {
		snprintf(err, errsz, "port %.16s is out of range, expected %s..65535", colon + 1,
			 port_optional ? "1" : "0");
		return -ERANGE;
	}
	*ret_port = (uint16_t) port;
	return 0;
}

static int parse_listen(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	struct config_listen l;
	int r;

	(void) k;
	memset(&l, 0, sizeof(l));
	r = split_host_port(value, l.host, &l.port, false, err, errsz);
	if (r < 0)
		return r;
	memcpy(field, &l, sizeof(l));
	return 0;
}

static void format_host_port(const char *host, uint16_t port, char *buf, size_t size)
{
	bool v6 = strchr(host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static void format_listen(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	const struct config_listen *l = field;

	(void) k;
	format_host_port(l->host, l->port, buf, size);
}

static int parse_broker(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	struct config_broker b;
	const char *rest;
	int r;

	memset(&b, 0, sizeof(b));
	if (!*value) {
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	if (strncasecmp(value, "mqtt://", 7) == 0) {
		rest = value + 7;
	} else if (strncasecmp(value, "mqtts://", 8) == 0) {
		rest = value + 8;
		b.tls = true;
	} else {
		snprintf(err, errsz,
			 "'%.64s' is not a broker URL, expected mqtt://host:port or mqtts://host:port",
			 value);
		return -EINVAL;
	}
	if (strpbrk(rest, "/?#@")) {
		snprintf(err, errsz,
			 "'%.64s': only mqtt[s]://host[:port] is supported, no user, path or query", value);
		return -EINVAL;
	}
	r = split_host_port(rest, b.host, &b.port, true, err, errsz);
	if (r < 0)
		return r;
	if (b.port == 0)
		b.port = b.tls ? 8883 : 1883;
	r = set_string(value, b.url, sizeof(b.url), err, errsz);
	if (r < 0)
		return r;
	(void) k;
	memcpy(field, &b, sizeof(b));
	return 0;
}

static void format_broker(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	(void) k;
	snprintf(buf, size, "%s", ((const struct config_broker *) field)->url);
}

static const struct conf_type conf_enum = { parse_enum, format_enum };
static const struct conf_type conf_bool = { parse_bool, format_bool };
static const struct conf_type conf_uint = { parse_uint, format_uint };
static const struct conf_type conf_seconds = { parse_seconds, format_uint };
static const struct conf_type conf_utc_offset = { parse_utc_offset, format_utc_offset };
static const struct conf_type conf_string = { parse_string, format_string };
static const struct conf_type conf_token = { parse_token, format_string };
static const struct conf_type conf_dns_label = { parse_dns_label, format_string };
static const struct conf_type conf_path = { parse_path, format_string };
static const struct conf_type conf_listen = { parse_listen, format_listen };
static const struct conf_type conf_broker = { parse_broker, format_broker };

/* ---- the table ---------------------------------------------------------------------------- */

/* One row: section, key, type, default, field, apply mask, then optional extras. */
#define KEY(sec, name, t, def_, f, apply_, ...)                                                 \
	{                                                                                       \
		.section = (sec), .key = (name), .type = (t), .def = (def_),                    \
		.offset = offsetof(struct config, f), .size = sizeof(((struct config *) 0)->f), \
		.apply = (apply_), __VA_ARGS__                                                  \
	}
#define NAMES(t) .names = (t), .n_names = ARRAY_SIZE(t)

/* Grouped by section, in the order of the shipped file. */
static const struct conf_key conf_keys[] = {
	KEY("Daemon", "LogLevel", &conf_enum, "info", log_level, CONFIG_APPLY_LOG, NAMES(log_level_names)),
	KEY("Daemon", "LogSummaryInterval", &conf_seconds, "60", log_summary_sec,
	    CONFIG_APPLY_METER | CONFIG_APPLY_MBSRV, .min = 1, .max = 86400),

	KEY("Meter", "Device", &conf_path, "/dev/ttyUSB0", device, CONFIG_APPLY_TTY),
	KEY("Meter", "Protocol", &conf_enum, "auto", protocol, CONFIG_APPLY_TTY, NAMES(protocol_names)),
	KEY("Meter", "StaleAfter", &conf_seconds, "0", stale_after_sec, CONFIG_APPLY_METER, .min = 0,
	    .max = 86400),
	KEY("Meter", "UtcOffset", &conf_utc_offset, "+01:00", utc_offset_min, CONFIG_APPLY_METER),
	KEY("Meter", "Grid", &conf_enum, "auto", grid, CONFIG_APPLY_METER, NAMES(grid_names)),

	KEY("Modbus", "Listen", &conf_listen, "0.0.0.0:502", modbus_listen, CONFIG_APPLY_MBSRV),
	KEY("Modbus", "MeterType", &conf_enum, "PhoenixContact-EMPro", meter_type, CONFIG_APPLY_MBSRV,
	    NAMES(meter_type_names)),
	KEY("Modbus", "MaxClients", &conf_uint, "16", modbus_max_clients, CONFIG_APPLY_MBSRV, .min = 1,
	    .max = 1024),
	KEY("Modbus", "IdleTimeout", &conf_seconds, "120", modbus_idle_sec, CONFIG_APPLY_MBSRV, .min = 0,
	    .max = 86400),
	KEY("Modbus", "StalePolicy", &conf_enum, "error", modbus_stale_policy, CONFIG_APPLY_MBSRV,
	    NAMES(stale_policy_names)),

	KEY("HTTP", "Listen", &conf_listen, "0.0.0.0:80", http_listen, CONFIG_APPLY_HTTP),
	KEY("HTTP", "User", &conf_string, "user", http_user, CONFIG_APPLY_HTTP, .flags = CONF_NO_COLON),
	KEY("HTTP", "Password", &conf_string, "", http_password, CONFIG_APPLY_HTTP,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),

	KEY("MQTT", "Enabled", &conf_bool, "no", mqtt_enabled, CONFIG_APPLY_MQTT),
	KEY("MQTT", "Broker", &conf_broker, "", mqtt_broker, CONFIG_APPLY_MQTT),
	KEY("MQTT", "Site", &conf_token, "", mqtt_site, CONFIG_APPLY_MQTT, .flags = CONF_EMPTY_OK),
	KEY("MQTT", "Username", &conf_string, "", mqtt_username, CONFIG_APPLY_MQTT, .flags = CONF_EMPTY_OK),
	KEY("MQTT", "Password", &conf_string, "", mqtt_password, CONFIG_APPLY_MQTT,
	    .flags = CONF_SECRET | CONF_EMPTY_OK),

	KEY("Device", "Serial", &conf_token, "auto", serial,
	    CONFIG_APPLY_MQTT | CONFIG_APPLY_HTTP | CONFIG_APPLY_MBSRV | CONFIG_APPLY_MDNS),

	KEY("mDNS", "Enabled", &conf_bool, "yes", mdns_enabled, CONFIG_APPLY_MDNS),
	KEY("mDNS", "Name", &conf_dns_label, "smart-connect", mdns_name, CONFIG_APPLY_MDNS),
};

#define N_KEYS ARRAY_SIZE(conf_keys)

static void *field_of(struct config *c, const struct conf_key *k)
{
	return (char *) c + k->offset;
}

static const void *cfield_of(const struct config *c, const struct conf_key *k)
{
	return (const char *) c + k->offset;
}

static const struct conf_key *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0 && strcmp(conf_keys[i].key, key) == 0)
			return &conf_keys[i];
	return NULL;
}

static const struct conf_key *find_key_nocase(const char *section, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(conf_keys[i].section, section) == 0 && strcasecmp(conf_keys[i].key, key) == 0)
			return &conf_keys[i];
	return NULL;
}

/* The table's spelling of a section, by exact or case-insensitive match. */
static const char *find_section(const char *name, bool nocase)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (nocase ? strcasecmp(conf_keys[i].section, name) == 0
			   : strcmp(conf_keys[i].section, name) == 0)
			return conf_keys[i].section;
	return NULL;
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parse_state {
	const char *fname;
	config_error_fn err;
	void *userdata;
	unsigned errors;
	const char *section;     /* current known section, NULL before any or in an unknown one */
	bool in_unknown_section; /* keys of an unknown section are skipped silently */
	unsigned lines[N_KEYS];  /* line that set each key, 0 = not set */
};

static void report(struct parse_state *ps, unsigned line, const char *section, const char *key,
		   const char *fmt, ...) _printf_(5, 6);

static void report(struct parse_state *ps, unsigned line, const char *section, const char *key,
		   const char *fmt, ...)
{
	char msg[512], where[1024];
	va_list ap;

	ps->errors++;
	if (!ps->err)
		return;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (ps->fname && line)
		snprintf(where, sizeof(where), "%s:%u: ", ps->fname, line);
	else if (ps->fname)
		snprintf(where, sizeof(where), "%s: ", ps->fname);
	else
		where[0] = '\0';

	if (section && key) {
		char full[sizeof(where) + sizeof(msg) + 160];

		snprintf(full, sizeof(full), "%s[%s] %.64s: %s", where, section, key, msg);
		ps->err(full, ps->userdata);
	} else {
		char full[sizeof(where) + sizeof(msg)];

		snprintf(full, sizeof(full), "%s%s", where, msg);
		ps->err(full, ps->userdata);
	}
}

/* Where the comment starts in an unquoted value: ';' or '#' after whitespace. */
static char *find_comment(char *s)
{
	for (char *p = s + 1; *p; p++)
		if ((*p == ';' || *p == '#') && is_blank(p[-1]))
			return p;
	return NULL;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* The value after '=': strip blanks and a trailing comment, undo quotes.
 * In place; returns the value or NULL with a message in err. */
static char *extract_value(char *v, char *err, size_t errsz)
{
	char *out, *p, *c;

	while (is_blank(*v))
		v++;

	if (*v != '"') {
		c = *v ? find_comment(v) : NULL;
		if (c)
			*c = '\0';
		trim_end(v);
		return v;
	}

	for (p = v + 1, out = v; *p != '"'; p++) {
		if (!*p) {
			snprintf(err, errsz, "missing closing '\"'");
			return NULL;
		}
		if (*p == '\\') {
			p++;
			if (*p != '"' && *p != '\\') {
				snprintf(err, errsz,
					 "unknown escape in quoted value, only \\\" and \\\\ are allowed");
				return NULL;
			}
		}
		*out++ = *p;
	}
	for (p++; is_blank(*p); p++)
		;
	if (*p && *p != ';' && *p != '#') {
		snprintf(err, errsz, "unexpected text after the closing '\"'");
		return NULL;
	}
	*out = '\0';
	return v;
}

static void parse_section(struct parse_state *ps, unsigned line, char *p)
{
	char *end = strchr(p, ']'), *rest;
	const char *known;

	ps->section = NULL;
	ps->in_unknown_section = true;

	if (!end) {
		report(ps, line, NULL, NULL, "missing ']' in section header");
		return;
	}
	*end = '\0';
	for (rest = end + 1; is_blank(*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		report(ps, line, NULL, NULL, "unexpected text after section header [%.64s]", p + 1);
		return;
	}

	known = find_section(p + 1, false);
	if (known) {
		ps->section = known;
		ps->in_unknown_section = false;
		return;
	}
	known = find_section(p + 1, true);
	if (known)
		report(ps, line, NULL, NULL, "unknown section [%.64s], did you mean [%s]?", p + 1, known);
	else
		report(ps, line, NULL, NULL,
		       "unknown section [%.64s], expected Daemon, Meter, Modbus, HTTP, MQTT or Device",
		       p + 1);
}

static void parse_assignment(struct parse_state *ps, struct config *c, unsigned line, char *p)
{
	char *eq = strchr(p, '='), *value;
	const struct conf_key *k;
	char err[384];
	size_t idx;

	if (!eq) {
		report(ps, line, NULL, NULL, "expected Key=Value or [Section], got '%.64s'", p);
		return;
	}
	*eq = '\0';
	trim_end(p);
	if (!*p) {
		report(ps, line, NULL, NULL, "missing key name before '='");
		return;
	}
	if (!ps->section) {
		if (!ps->in_unknown_section)
			report(ps, line, NULL, NULL, "%.64s: key outside of any [Section]", p);
		return;
	}

	k = find_key(ps->section, p);
	if (!k) {
		const struct conf_key *alt = find_key_nocase(ps->section, p);

		if (alt)
			report(ps, line, ps->section, p, "unknown key, did you mean '%s'?", alt->key);
		else
			report(ps, line, ps->section, p, "unknown key");
		return;
	}

	idx = (size_t) (k - conf_keys);
	if (ps->lines[idx]) {
		report(ps, line, k->section, k->key, "set twice, first on line %u", ps->lines[idx]);
		return;
	}
	ps->lines[idx] = line;

	value = extract_value(eq + 1, err, sizeof(err));
	if (value && k->type->parse(k, value, field_of(c, k), err, sizeof(err)) >= 0)
		return;
	report(ps, line, k->section, k->key, "%s", err);
}

static void parse_line(struct parse_state *ps, struct config *c, unsigned line, const char *raw, size_t len)
{
	char buf[CONFIG_LINE_MAX + 1];
	char *p;

	if (len > 0 && raw[len - 1] == '\r')
		len--;
	if (len > CONFIG_LINE_MAX) {
		report(ps, line, NULL, NULL, "line too long (%zu characters, at most %d)", len,
		       CONFIG_LINE_MAX);
		return;
	}
	if (memchr(raw, '\0', len)) {
		report(ps, line, NULL, NULL, "line contains a NUL byte");
		return;
	}
	memcpy(buf, raw, len);
	buf[len] = '\0';

	for (p = buf; is_blank(*p); p++)
		;
	if (!*p || *p == ';' || *p == '#')
		return;
	if (*p == '[')
		parse_section(ps, line, p);
	else
		parse_assignment(ps, c, line, p);
}

/* Cross-key rules. lines (may be NULL) point messages at the line of the key. */
static void check_config(struct parse_state *ps, const struct config *c)
{
	const struct conf_key *en = find_key("MQTT", "Enabled");
	const struct conf_key *mb = find_key("Modbus", "Listen");
	const struct conf_key *ht = find_key("HTTP", "Listen");
	unsigned en_line = ps->lines[en - conf_keys];

	if (c->mqtt_enabled && !c->mqtt_broker.url[0])
		report(ps, en_line, "MQTT", "Enabled", "yes needs a Broker= in [MQTT]");
	if (c->mqtt_enabled && !c->mqtt_site[0])
		report(ps, en_line, "MQTT", "Enabled", "yes needs a Site= in [MQTT]");

	/* Port 0 asks for a free port each time: two of them never clash. */
	if (strcmp(c->modbus_listen.host, c->http_listen.host) == 0 &&
	    c->modbus_listen.port == c->http_listen.port && c->modbus_listen.port != 0)
		report(ps, ps->lines[ht - conf_keys] ?: ps->lines[mb - conf_keys], "HTTP", "Listen",
		       "same address as [Modbus] Listen");
}

static void set_defaults(struct config *c)
{
	char err[384];
	int r;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_KEYS; i++) {
		r = conf_keys[i].type->parse(&conf_keys[i], conf_keys[i].def, field_of(c, &conf_keys[i]), err,
					     sizeof(err));
		/* The table is ours: a default that does not parse is a bug. */
		if (r < 0)
			abort();
	}
}

struct config *config_new(void)
{
	struct config *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	set_defaults(c);
	return c;
}

struct config *config_free(struct config *c)
{
	free(c);
	return NULL;
}

int config_parse(struct config *c, const char *fname, const char *buf, size_t n, config_error_fn err,
		 void *userdata)
{
	struct parse_state ps = { .fname = fname, .err = err, .userdata = userdata };
	unsigned line = 1;
	size_t pos = 0;

	if (n > CONFIG_FILE_MAX) {
		report(&ps, 0, NULL, NULL, "file too large (%zu bytes, at most %d)", n, CONFIG_FILE_MAX);
		return -EFBIG;
	}

	/* Editors on other systems like to add a byte order mark. */
	if (n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;

	while (pos < n) {
		const char *nl = memchr(buf + pos, '\n', n - pos);
		size_t end = nl ? (size_t) (nl - buf) : n;

		parse_line(&ps, c, line++, buf + pos, end - pos);
		pos = end + 1;
	}

	check_config(&ps, c);
	return ps.errors ? -EINVAL : 0;
}

int config_validate(const struct config *c, config_error_fn err, void *userdata)
{
	struct parse_state ps = { .err = err, .userdata = userdata };

	check_config(&ps, c);
	return ps.errors ? -EINVAL : 0;
}

int config_load(const char *path, config_error_fn err, void *userdata, struct config **ret)
{
	struct parse_state ps = { .fname = path, .err = err, .userdata = userdata };
	_cleanup_(config_freep) struct config *c = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t n = 0;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			report(&ps, 0, NULL, NULL, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		report(&ps, 0, NULL, NULL, "cannot stat: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		report(&ps, 0, NULL, NULL, "not a regular file");
		return -EINVAL;
	}

	/* One byte more than allowed, to tell "exactly at the limit" from "over it". */
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while (n <= CONFIG_FILE_MAX) {
		ssize_t k = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			report(&ps, 0, NULL, NULL, "cannot read: %s", strerror(-r));
			return r;
		}
		if (k == 0)
			break;
		n += (size_t) k;
	}
	if (n > CONFIG_FILE_MAX) {
		report(&ps, 0, NULL, NULL, "file too large (more than %d bytes)", CONFIG_FILE_MAX);
		return -EFBIG;
	}

	c = config_new();
	if (!c)
		return -ENOMEM;
	r = config_parse(c, path, buf, n, err, userdata);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}

unsigned config_diff(const struct config *a, const struct config *b)
{
	unsigned mask = 0;

	for (size_t i = 0; i < N_KEYS; i++)
		if (memcmp(cfield_of(a, &conf_keys[i]), cfield_of(b, &conf_keys[i]), conf_keys[i].size) != 0)
			mask |= conf_keys[i].apply;
	return mask;
}

const char *config_apply_to_string(unsigned mask, char *buf, size_t size)
{
	static const char *const names[] = { "log", "tty", "meter", "modbus", "http", "mqtt", "mdns" };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names) && n < size; i++)
		if (mask & (1u << i))
			n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i]);
	if (!mask)
		snprintf(buf, size, "nothing");
	return buf;
}

/* Does the text need quotes to read back as itself? */
static bool needs_quotes(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return false;
	if (is_blank(s[0]) || is_blank(s[n - 1]) || s[0] == '"')
		return true;
	for (size_t i = 1; i < n; i++)
		if ((s[i] == ';' || s[i] == '#') && is_blank(s[i - 1]))
			return true;
	return false;
}

static int dump_value(FILE *f, const char *s)
{
	if (!needs_quotes(s))
		return fputs(s, f) < 0 ? -EIO : 0;

	if (fputc('"', f) == EOF)
		return -EIO;
	for (; *s; s++) {
		if ((*s == '"' || *s == '\\') && fputc('\\', f) == EOF)
			return -EIO;
		if (fputc(*s, f) == EOF)
			return -EIO;
	}
	return fputc('"', f) == EOF ? -EIO : 0;
}

int config_dump(const struct config *c, FILE *f, bool show_secrets)
{
	const char *section = NULL;
	char value[CONFIG_URL_MAX + CONFIG_PATH_MAX];

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (!section || strcmp(section, k->section) != 0) {
			if (fprintf(f, "%s[%s]\n", section ? "\n" : "", k->section) < 0)
				return -EIO;
			section = k->section;
		}

		k->type->format(k, cfield_of(c, k), value, sizeof(value));
		if (fprintf(f, "%s=", k->key) < 0)
			return -EIO;
		if ((k->flags & CONF_SECRET) && !show_secrets) {
			if (fputs(value[0] ? "<set>" : "", f) < 0)
				return -EIO;
		} else if (dump_value(f, value) < 0) {
			return -EIO;
		}
		if (fputc('\n', f) == EOF)
			return -EIO;
	}
	return fflush(f) == EOF ? -EIO : 0;
}

const char *config_protocol_to_string(enum config_protocol p)
{
	return (unsigned) p < ARRAY_SIZE(protocol_names) ? protocol_names[p] : NULL;
}

const char *config_meter_type_to_string(enum config_meter_type t)
{
	return (unsigned) t < ARRAY_SIZE(meter_type_names) ? meter_type_names[t] : NULL;
}

const char *config_grid_to_string(enum decode_grid g)
{
	return (unsigned) g < ARRAY_SIZE(grid_names) ? grid_names[g] : NULL;
}

struct decode_opts config_decode_opts(const struct config *c)
{
	return (struct decode_opts){ .std_offset_min = c->utc_offset_min, .grid = c->grid };
}
