/* SPDX-License-Identifier: MIT */
/*
 * The value types of the configuration (see config-types.h): one parser and
 * one formatter per type, shared by the INI file and the HTTP API's JSON.
 * Parsers write a message without file, line or key into err; the caller
 * names the place.
 *
 * Pure. No I/O. Never logs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smartconnectd/device/button-press.h"
#include "smartconnectd/meter/source-tcp.h"

#include "config-types.h"

/* ---- helpers ------------------------------------------------------------------------------ */

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

/* The name of an enum type's value i, from the row's array or its function. */
static const char *enum_name(const struct conf_key *k, size_t i)
{
	return k->names ? k->names[i] : k->name_of(i);
}

/* "a, b, c or d": the names of an enum type for error messages. */
static void list_names(const struct conf_key *k, char *buf, size_t size)
{
	size_t n = 0, total = 0, seen = 0;

	for (size_t i = 0; i < k->n_names; i++)
		total += enum_name(k, i) != NULL;

	buf[0] = '\0';
	for (size_t i = 0; i < k->n_names && n < size; i++) {
		const char *sep = ", ";

		if (!enum_name(k, i))
			continue;
		if (++seen == 1)
			sep = "";
		else if (seen == total)
			sep = " or ";
		n += (size_t) snprintf(buf + n, size - n, "%s%s", sep, enum_name(k, i));
	}
}

/* ---- value types -------------------------------------------------------------------------- */

static int parse_enum(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	char names[256];

	for (size_t i = 0; i < k->n_names; i++)
		if (enum_name(k, i) && strcasecmp(value, enum_name(k, i)) == 0) {
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
	const char *name = v >= 0 && (size_t) v < k->n_names ? enum_name(k, (size_t) v) : NULL;

	snprintf(buf, size, "%s", name ?: "?");
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
		while (conf_is_blank(*end))
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

	if (!*value && (k->flags & CONF_EMPTY_OK))
		return set_string(value, field, k->size, err, errsz);
	r = check_printable(value, err, errsz);
	if (r < 0)
		return r;
	if (value[0] != '/') {
		snprintf(err, errsz, "'%.64s' is not an absolute path", value);
		return -EINVAL;
	}
	if (value[strlen(value) - 1] == '/') {
		snprintf(err, errsz, "'%.64s' names a directory, expected a file or device", value);
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

/* The meter's source: a tty's absolute path, or tcp://HOST:PORT (an IPv6
 * address in brackets). */
static int parse_meter_device(const struct conf_key *k, const char *value, void *field, char *err,
			      size_t errsz)
{
	char host[SOURCE_TCP_HOST_MAX];
	uint16_t port;
	int r;

	if (!source_tcp_is(value))
		return parse_path(k, value, field, err, errsz);
	r = check_printable(value, err, errsz);
	if (r < 0)
		return r;
	if (source_tcp_parse(value, host, &port) < 0) {
		snprintf(err, errsz, "'%.64s' is not tcp://HOST:PORT (IPv6 as tcp://[ADDRESS]:PORT)", value);
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

/* An LED's name in the LED class directory: one path component. */
static int parse_led_name(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	int r;

	r = parse_string(k, value, field, err, errsz);
	if (r < 0)
		return r;
	if (strchr(value, '/') || strcmp(value, ".") == 0 || strcmp(value, "..") == 0) {
		snprintf(err, errsz, "'%.64s' is not an LED name (a name in the LED class directory)", value);
		return -EINVAL;
	}
	return 0;
}

/* An input key: a KEY_ or BTN_ name of button-press.c's table, or a number. */
static int parse_key_code(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	if (button_press_key_from_string(value) < 0) {
		snprintf(err, errsz,
			 "unknown key '%.64s', expected KEY_RESTART, another KEY_ name or a key code", value);
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
/* Where the host of "host[:port]" or "[v6][:port]" starts and ends, and the
 * colon before the port (NULL: none). */
static int find_host_port(const char *s, const char **ret_h, const char **ret_hend, const char **ret_colon,
			  char *err, size_t errsz)
{
	const char *h = s, *hend, *colon;

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
	*ret_h = h;
	*ret_hend = hend;
	*ret_colon = colon;
	return 0;
}

static int split_host_port(const char *s, char host[CONFIG_HOST_MAX], uint16_t *ret_port, bool port_optional,
			   char *err, size_t errsz)
{
	const char *h, *hend, *colon;
	unsigned long long port;
	const char *end;
	size_t hlen;
	int r;

	r = find_host_port(s, &h, &hend, &colon, err, errsz);
	if (r < 0)
		return r;

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
	struct listener_address l;
	int r;

	memset(&l, 0, sizeof(l));
	if (!*value && (k->flags & CONF_EMPTY_OK)) {
		memcpy(field, &l, sizeof(l)); /* no host: the listener is off */
		return 0;
	}
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
	const struct listener_address *l = field;

	(void) k;
	if (!l->host[0])
		buf[0] = '\0';
	else
		format_host_port(l->host, l->port, buf, size);
}

static int parse_broker(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	struct mqtt_broker b;
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
	snprintf(buf, size, "%s", ((const struct mqtt_broker *) field)->url);
}

/* A dotted IPv4 address; empty where CONF_EMPTY_OK allows "not set". */
static int parse_ipv4(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	struct in_addr a;

	if (!*value && (k->flags & CONF_EMPTY_OK))
		return set_string(value, field, k->size, err, errsz);
	if (inet_pton(AF_INET, value, &a) != 1) {
		snprintf(err, errsz, "'%.64s' is not an IPv4 address", value);
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

/* A prefix length "24" or "/24", or a dotted mask "255.255.255.0" (contiguous
 * ones); stored as the prefix length. */
static int parse_netmask(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	unsigned long long prefix;
	struct in_addr a;
	const char *end;
	uint32_t m;

	(void) k;
	if (parse_digits(value + (value[0] == '/'), 32, &prefix, &end) == 0 && !*end) {
		*(uint32_t *) field = (uint32_t) prefix;
		return 0;
	}
	if (inet_pton(AF_INET, value, &a) != 1) {
		snprintf(err, errsz,
			 "'%.64s' is not a netmask, expected a prefix length 0..32 or a dotted mask", value);
		return -EINVAL;
	}
	/* Contiguous: the host part, ~m, is 2^n - 1. */
	m = ntohl(a.s_addr);
	if ((~m & (~m + 1)) != 0) {
		snprintf(err, errsz, "'%.64s' is not a contiguous netmask", value);
		return -EINVAL;
	}
	*(uint32_t *) field = (uint32_t) __builtin_popcount(m);
	return 0;
}

/* An absolute file or directory path; empty when the row allows it. */
static int parse_file(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	int r;

	if (*value) {
		r = check_printable(value, err, errsz);
		if (r < 0)
			return r;
		if (value[0] != '/') {
			snprintf(err, errsz, "'%.64s' is not an absolute path", value);
			return -EINVAL;
		}
	}
	return set_string(value, field, k->size, err, errsz);
}

/* A host name or address literal; empty when the row allows it. */
static int parse_host(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	int r;

	if (*value) {
		r = check_host(value, err, errsz);
		if (r < 0)
			return r;
	} else if (!(k->flags & CONF_EMPTY_OK)) {
		snprintf(err, errsz, "must not be empty");
		return -EINVAL;
	}
	return set_string(value, field, k->size, err, errsz);
}

/* "gw.example.org 10.0.0.5": host names or addresses separated by blanks or
 * commas, stored separated by single blanks. */
static int parse_hosts(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	char out[CONFIG_VALUE_MAX] = "", host[CONFIG_HOST_MAX];
	size_t n = 0;
	int r;

	(void) k;
	for (const char *p = value; *p;) {
		size_t len = strcspn(p, " \t,");

		if (len >= sizeof(host)) {
			snprintf(err, errsz, "host name too long");
			return -ERANGE;
		}
		if (len > 0) {
			memcpy(host, p, len);
			host[len] = '\0';
			r = check_host(host, err, errsz);
			if (r < 0)
				return r;
			n += (size_t) snprintf(out + n, sizeof(out) - n, "%s%s", n ? " " : "", host);
			if (n >= sizeof(out)) {
				snprintf(err, errsz, "too long");
				return -ERANGE;
			}
		}
		p += len + (p[len] != '\0');
	}
	return set_string(out, field, k->size, err, errsz);
}

/* "192.168.1.0/24 ::1 10.1.2.3": addresses with optional prefix lengths,
 * separated by blanks or commas. */
static int parse_cidr(const char *s, struct listener_cidr *c, char *err, size_t errsz)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t) (slash - s) : strlen(s);
	unsigned long long prefix;
	const char *end;
	int r;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(err, errsz, "'%.64s' is not an address", s);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	c->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, addr, c->addr) != 1) {
		snprintf(err, errsz, "'%.64s' is not an IPv%c address", addr,
			 c->family == AF_INET ? '4' : '6');
		return -EINVAL;
	}
	c->prefix = c->family == AF_INET ? 32 : 128;
	if (!slash)
		return 0;

	r = parse_digits(slash + 1, c->prefix, &prefix, &end);
	if (r < 0 || *end) {
		snprintf(err, errsz, "'%.64s': the prefix length must be 0..%u", s, c->prefix);
		return r < 0 ? r : -EINVAL;
	}
	c->prefix = (uint8_t) prefix;
	return 0;
}

static int parse_allow(const struct conf_key *k, const char *value, void *field, char *err, size_t errsz)
{
	struct listener_allow a;
	char buf[CONFIG_LINE_MAX + 1], *save = NULL;
	int r;

	(void) k;
	memset(&a, 0, sizeof(a));
	snprintf(buf, sizeof(buf), "%s", value);
	for (char *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (a.n == LISTENER_ALLOW_MAX) {
			snprintf(err, errsz, "more than %d entries", LISTENER_ALLOW_MAX);
			return -ERANGE;
		}
		r = parse_cidr(tok, &a.cidr[a.n++], err, errsz);
		if (r < 0)
			return r;
	}
	memcpy(field, &a, sizeof(a));
	return 0;
}

static void format_allow(const struct conf_key *k, const void *field, char *buf, size_t size)
{
	const struct listener_allow *a = field;
	size_t n = 0;

	(void) k;
	buf[0] = '\0';
	for (uint32_t i = 0; i < a->n && n < size; i++) {
		char addr[INET6_ADDRSTRLEN] = "?";

		(void) inet_ntop(a->cidr[i].family, a->cidr[i].addr, addr, sizeof(addr));
		n += (size_t) snprintf(buf + n, size - n, "%s%s/%u", i ? " " : "", addr, a->cidr[i].prefix);
	}
}

const struct conf_type conf_enum = { parse_enum, format_enum, CONFIG_VALUE_STRING };
const struct conf_type conf_bool = { parse_bool, format_bool, CONFIG_VALUE_BOOL };
const struct conf_type conf_uint = { parse_uint, format_uint, CONFIG_VALUE_INT };
const struct conf_type conf_seconds = { parse_seconds, format_uint, CONFIG_VALUE_INT };
const struct conf_type conf_utc_offset = { parse_utc_offset, format_utc_offset, CONFIG_VALUE_STRING };
const struct conf_type conf_string = { parse_string, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_token = { parse_token, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_dns_label = { parse_dns_label, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_path = { parse_path, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_meter_device = { parse_meter_device, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_listen = { parse_listen, format_listen, CONFIG_VALUE_STRING };
const struct conf_type conf_broker = { parse_broker, format_broker, CONFIG_VALUE_STRING };
const struct conf_type conf_ipv4 = { parse_ipv4, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_netmask = { parse_netmask, format_uint, CONFIG_VALUE_STRING };
const struct conf_type conf_file = { parse_file, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_host = { parse_host, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_hosts = { parse_hosts, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_allow = { parse_allow, format_allow, CONFIG_VALUE_STRING };
const struct conf_type conf_led_name = { parse_led_name, format_string, CONFIG_VALUE_STRING };
const struct conf_type conf_key_code = { parse_key_code, format_string, CONFIG_VALUE_STRING };
