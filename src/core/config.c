/* SPDX-License-Identifier: MIT */
/*
 * Configuration parser (see config.h): the table of keys, a line splitter,
 * cross-key checks and the diff. The value types are in config-types.c.
 * Pure except config_load(), which reads the file. It never logs: every
 * problem becomes one message for the caller's callback.
 *
 * Not here: the overrides written by the HTTP API (config-json.c overlays
 * them on a parsed config) and applying a config (daemon.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "smartconnectd/core/config.h"

#include "config-types.h"

#define N_KEYS conf_n_keys

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
	const char *section;           /* current known section, NULL before any or in an unknown one */
	bool in_unknown_section;       /* keys of an unknown section are skipped silently */
	unsigned lines[CONF_KEYS_MAX]; /* line that set each key, 0 = not set */
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
		if ((*p == ';' || *p == '#') && conf_is_blank(p[-1]))
			return p;
	return NULL;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && conf_is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* The value after '=': strip blanks and a trailing comment, undo quotes.
 * In place; returns the value or NULL with a message in err. */
static char *extract_value(char *v, char *err, size_t errsz)
{
	char *out, *p, *c;

	while (conf_is_blank(*v))
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
	for (p++; conf_is_blank(*p); p++)
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
	for (rest = end + 1; conf_is_blank(*rest); rest++)
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
		report(
		    ps, line, NULL, NULL,
		    "unknown section [%.64s], expected Daemon, Meter, Modbus, ModbusRTU, HTTP, MQTT, Device, "
		    "Passthrough, HomeWizard, Network, mDNS, Indicator, Button or History",
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
	if (value && !config_text_is_utf8(value)) {
		report(ps, line, k->section, k->key, "not UTF-8 text (the file must be encoded in UTF-8)");
		return;
	}
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

	for (p = buf; conf_is_blank(*p); p++)
		;
	if (!*p || *p == ';' || *p == '#')
		return;
	if (*p == '[')
		parse_section(ps, line, p);
	else
		parse_assignment(ps, c, line, p);
}

/* The message never repeats a key: it is a secret even when mistyped. */
static void check_meter_keys(struct parse_state *ps, const struct config *c)
{
	static const char *const names[] = { "DecryptionKey", "AuthenticationKey" };
	const char *values[] = { c->decryption_key, c->authentication_key };
	uint8_t key[DLMS_KEY_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (values[i][0] && dlms_key_parse(values[i], key) < 0)
			report(ps, ps->lines[find_key("Meter", names[i]) - conf_keys], "Meter", names[i],
			       "expected 32 hexadecimal digits (an AES-128 key)");
	if (!c->decryption_key[0] && c->authentication_key[0])
		report(ps, ps->lines[find_key("Meter", "AuthenticationKey") - conf_keys], "Meter",
		       "AuthenticationKey", "needs a DecryptionKey=");
}

static void check_passthrough(struct parse_state *ps, const struct config *c)
{
	const struct conf_key *pl = find_key("Passthrough", "Listen");
	const struct conf_key *pd = find_key("Passthrough", "Device");
	const struct listener_address *l = &c->passthrough_listen;

	if (l->host[0] && l->port != 0 &&
	    ((strcmp(l->host, c->modbus_listen.host) == 0 && l->port == c->modbus_listen.port) ||
	     (strcmp(l->host, c->http_listen.host) == 0 && l->port == c->http_listen.port) ||
	     (strcmp(l->host, c->http_listen_tls.host) == 0 && l->port == c->http_listen_tls.port)))
		report(ps, ps->lines[pl - conf_keys], "Passthrough", "Listen",
		       "same address as [Modbus] Listen or [HTTP] Listen or ListenTLS");
	/* The meter's own line cannot be its copy too. */
	if (c->passthrough_device[0] && strcmp(c->passthrough_device, c->device) == 0)
		report(ps, ps->lines[pd - conf_keys], "Passthrough", "Device",
		       "same device as [Meter] Device");
}

/* A rate termios knows, and a line nobody else uses. */
static void check_rtu(struct parse_state *ps, const struct config *c)
{
	static const uint32_t rates[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200 };
	bool known = false;

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++)
		known = known || c->rtu_baud == rates[i];
	if (!known)
		report(ps, ps->lines[find_key("ModbusRTU", "Baud") - conf_keys], "ModbusRTU", "Baud",
		       "expected 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200");
	if (c->rtu_device[0] &&
	    (strcmp(c->rtu_device, c->device) == 0 || strcmp(c->rtu_device, c->passthrough_device) == 0))
		report(ps, ps->lines[find_key("ModbusRTU", "Device") - conf_keys], "ModbusRTU", "Device",
		       "same device as [Meter] Device or [Passthrough] Device");
}

/* The HTTPS listener beside the plain one is another address. */
static void check_http_tls(struct parse_state *ps, const struct config *c)
{
	const struct listener_address *t = &c->http_listen_tls;

	if (t->host[0] && t->port != 0 &&
	    ((strcmp(t->host, c->http_listen.host) == 0 && t->port == c->http_listen.port) ||
	     (strcmp(t->host, c->modbus_listen.host) == 0 && t->port == c->modbus_listen.port)))
		report(ps, ps->lines[find_key("HTTP", "ListenTLS") - conf_keys], "HTTP", "ListenTLS",
		       "same address as [HTTP] Listen or [Modbus] Listen");
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
	if (c->mqtt_enabled && !c->mqtt_cert_file[0] != !c->mqtt_key_file[0])
		report(ps, en_line, "MQTT", "Enabled", "CertFile= and KeyFile= go together");

	if (c->eth.mode == CONFIG_IP_MODE_STATIC && !c->eth.address[0])
		report(ps, ps->lines[find_key("Network", "EthernetIpMode") - conf_keys], "Network",
		       "EthernetAddress", "EthernetIpMode=Static needs an address");
	if (c->wifi.mode == CONFIG_IP_MODE_STATIC && !c->wifi.address[0])
		report(ps, ps->lines[find_key("Network", "WiFiIpMode") - conf_keys], "Network", "WiFiAddress",
		       "WiFiIpMode=Static needs an address");
	if (c->netif == CONFIG_NETIF_WIFI && !c->wifi_ssid[0])
		report(ps, ps->lines[find_key("Network", "DefaultNetIf") - conf_keys], "Network", "WiFiSSID",
		       "DefaultNetIf=WiFi needs a WiFiSSID");
	if (c->wifi_password[0] && (strlen(c->wifi_password) < 8 || strlen(c->wifi_password) > 63))
		report(ps, ps->lines[find_key("Network", "WiFiPassword") - conf_keys], "Network",
		       "WiFiPassword", "a WPA2 passphrase has 8 to 63 characters");
	if (!c->http_certificate[0] != !c->http_key[0])
		report(ps, ps->lines[find_key("HTTP", "Certificate") - conf_keys], "HTTP", "Certificate",
		       "Certificate= and Key= go together");

	/* Port 0 asks for a free port each time: two of them never clash. */
	if (strcmp(c->modbus_listen.host, c->http_listen.host) == 0 &&
	    c->modbus_listen.port == c->http_listen.port && c->modbus_listen.port != 0)
		report(ps, ps->lines[ht - conf_keys] ?: ps->lines[mb - conf_keys], "HTTP", "Listen",
		       "same address as [Modbus] Listen");
	check_passthrough(ps, c);
	check_http_tls(ps, c);
	check_meter_keys(ps, c);
	check_rtu(ps, c);
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
	static const char *const names[] = { "log",    "tty",     "meter",       "modbus",
					     "http",   "mqtt",    "passthrough", "mdns",
					     "device", "network", "modbus-rtu",  "history" };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names) && n < size; i++)
		if (mask & (1u << i))
			n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i]);
	if (!mask)
		snprintf(buf, size, "nothing");
	return buf;
}

struct decode_opts config_decode_opts(const struct config *c)
{
	struct decode_opts o = { .std_offset_min = c->utc_offset_min, .grid = c->grid };

	/* Validated: a key that does not parse stays unset. */
	o.keys.has_enc = c->decryption_key[0] && dlms_key_parse(c->decryption_key, o.keys.enc) == 0;
	o.keys.has_auth = c->authentication_key[0] && dlms_key_parse(c->authentication_key, o.keys.auth) == 0;
	return o;
}

size_t config_n_keys(void)
{
	return N_KEYS;
}

struct config_key_info config_key_at(size_t i)
{
	const struct conf_key *k = &conf_keys[i];

	return (struct config_key_info){
		.section = k->section,
		.key = k->key,
		.kind = k->type->kind,
		.secret = k->flags & CONF_SECRET,
		.read_file = k->flags & CONF_READ_FILE,
		.apply = k->apply,
	};
}

int config_key_find(const char *section, const char *key)
{
	const struct conf_key *k = find_key(section, key);

	return k ? (int) (k - conf_keys) : -ENOENT;
}

const char *config_get(const struct config *c, size_t i, char *buf, size_t size)
{
	conf_keys[i].type->format(&conf_keys[i], cfield_of(c, &conf_keys[i]), buf, size);
	return buf;
}

bool config_text_is_utf8(const char *s)
{
	/* Every value ends up in JSON (the API, MQTT, the status): jansson's own
	 * check is the one that must pass. */
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

int config_set(struct config *c, size_t i, const char *value, char *err, size_t errsz)
{
	const struct conf_key *k = &conf_keys[i];
	struct config tmp = *c;
	int r;

	if (!config_text_is_utf8(value)) {
		snprintf(err, errsz, "not UTF-8 text");
		return -EINVAL;
	}
	/* Parse into a copy: a failing parser may have written part of the field. */
	r = k->type->parse(k, value, field_of(&tmp, k), err, errsz);
	if (r < 0)
		return r;
	memcpy(field_of(c, k), cfield_of(&tmp, k), k->size);
	return 0;
}
