/* SPDX-License-Identifier: MIT */
/*
 * Tests of the configuration parser: every key with good, bad and edge values,
 * error messages (file, line, section, key), all errors reported, comments,
 * blanks, CR LF, limits, the cross-key rules, diff, dump round trip, load, and
 * the shipped etc/smartconnect.conf against the built-in defaults.
 */
#define _GNU_SOURCE 1 /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "smartconnectd/core/config.h"
#include "tap.h"

struct errors {
	unsigned n;
	char text[16384];
};

static void collect(const char *msg, void *userdata)
{
	struct errors *e = userdata;
	size_t len = strlen(e->text);

	e->n++;
	snprintf(e->text + len, sizeof(e->text) - len, "%s\n", msg);
}

/* Messages and inputs as one TAP line: newlines shown as " | ". */
static const char *flat(const char *s)
{
	static char bufs[4][4096];
	static unsigned next;
	char *b = bufs[next++ % 4];
	size_t i;

	for (i = 0; s[i] && i < sizeof(bufs[0]) - 4; i++)
		b[i] = s[i] == '\n' ? '|' : s[i] == '\r' ? '~' : s[i];
	b[i] = '\0';
	return b;
}

/* Parse text over the defaults; *ret gets the config, e the messages. */
static int parse(const char *text, struct errors *e, struct config **ret)
{
	struct config *c = config_new();
	int r;

	memset(e, 0, sizeof(*e));
	r = config_parse(c, "test.conf", text, strlen(text), collect, e);
	*ret = c;
	return r;
}

/* One key in its section: parses or not, and if not, says what. */
static void check_value(const char *section, const char *assignment, bool good, const char *want_error)
{
	char text[2048];
	struct errors e;
	struct config *c;
	int r;

	snprintf(text, sizeof(text), "[%s]\n%s\n", section, assignment);
	r = parse(text, &e, &c);
	if (good) {
		tap_ok(r == 0 && e.n == 0, "[%s] %s accepted%s%s", section, assignment, e.n ? ": " : "",
		       flat(e.text));
	} else {
		tap_ok(r == -EINVAL && e.n == 1, "[%s] %s rejected (%u error)", section, assignment, e.n);
		if (want_error)
			tap_ok(strstr(e.text, want_error) != NULL, "  message has '%s': %s", want_error,
			       flat(e.text));
		tap_ok(strncmp(e.text, "test.conf:2: ", 13) == 0, "  message starts with file:line");
	}
	config_free(c);
}

/* Parse one good assignment and hand back the config for field checks. */
static struct config *parse_one(const char *section, const char *assignment)
{
	char text[2048];
	struct errors e;
	struct config *c;

	snprintf(text, sizeof(text), "[%s]\n%s\n", section, assignment);
	if (parse(text, &e, &c) < 0)
		tap_diag("unexpected error: %s", flat(e.text));
	return c;
}

static void test_defaults(void)
{
	struct config *c = config_new();

	TAP_EQ_INT(c->log_level, LOG_INFO, "default LogLevel");
	TAP_EQ_STR(c->device, "/dev/ttyUSB0", "default Device");
	TAP_EQ_INT(c->protocol, READING_PROTO_NONE, "default Protocol");
	TAP_EQ_INT(c->stale_after_sec, 0, "default StaleAfter");
	TAP_EQ_INT(c->utc_offset_min, 60, "default UtcOffset");
	TAP_EQ_INT(c->grid, DECODE_GRID_AUTO, "default Grid");
	TAP_EQ_STR(c->modbus_listen.host, "0.0.0.0", "default Modbus Listen host");
	TAP_EQ_INT(c->modbus_listen.port, 502, "default Modbus Listen port");
	TAP_EQ_INT(c->meter_type, CONFIG_METER_TYPE_EMPRO, "default MeterType");
	TAP_EQ_INT(c->modbus_max_clients, 16, "default MaxClients");
	TAP_EQ_STR(c->http_listen.host, "0.0.0.0", "default HTTP Listen host");
	TAP_EQ_INT(c->http_listen.port, 80, "default HTTP Listen port");
	TAP_EQ_STR(c->http_user, "user", "default HTTP User");
	TAP_EQ_STR(c->http_password, "", "default HTTP Password");
	tap_ok(!c->mqtt_enabled, "default MQTT Enabled=no");
	TAP_EQ_STR(c->mqtt_broker.url, "", "default Broker");
	TAP_EQ_STR(c->mqtt_site, "", "default Site");
	TAP_EQ_STR(c->mqtt_username, "", "default Username");
	TAP_EQ_STR(c->mqtt_password, "", "default MQTT Password");
	TAP_EQ_STR(c->serial, "auto", "default Serial");
	tap_ok(config_validate(c, NULL, NULL) == 0, "defaults are valid");

	struct decode_opts o = config_decode_opts(c);
	TAP_EQ_INT(o.std_offset_min, 60, "decode opts offset");
	TAP_EQ_INT(o.grid, DECODE_GRID_AUTO, "decode opts grid");
	config_free(c);
}

static void test_log_level(void)
{
	struct config *c;

	check_value("Daemon", "LogLevel=debug", true, NULL);
	check_value("Daemon", "LogLevel=error", true, NULL);
	check_value(
	    "Daemon", "LogLevel=verbose", false,
	    "[Daemon] LogLevel: unknown value 'verbose', expected error, warning, notice, info or debug");
	c = parse_one("Daemon", "LogLevel=WARNING");
	TAP_EQ_INT(c->log_level, LOG_WARNING, "LogLevel is case-insensitive");
	config_free(c);
}

static void test_meter(void)
{
	struct config *c;

	check_value("Meter", "Device=/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0", true, NULL);
	check_value("Meter", "Device=ttyUSB0", false, "[Meter] Device: 'ttyUSB0' is not an absolute path");
	check_value("Meter", "Device=", false, "is not an absolute path");
	check_value("Meter", "Device=/dev/", false, "names a directory");
	check_value("Meter", "Device=tcp://192.0.2.10:2001", true, NULL);
	check_value("Meter", "Device=tcp://p1-dongle.local:23", true, NULL);
	check_value("Meter", "Device=tcp://[2001:db8::1]:8088", true, NULL);
	check_value("Meter", "Device=tcp://2001:db8::1:8088", false, "is not tcp://HOST:PORT");
	check_value("Meter", "Device=tcp://host", false, "is not tcp://HOST:PORT");
	check_value("Meter", "Device=tcp://host:0", false, "is not tcp://HOST:PORT");
	check_value("Meter", "Device=tcp://:23", false, "is not tcp://HOST:PORT");
	check_value("Meter", "Device=tcp://host:23/path", false, "is not tcp://HOST:PORT");

	char longpath[CONFIG_PATH_MAX + 16] = "Device=/";
	memset(longpath + 8, 'd', CONFIG_PATH_MAX);
	longpath[8 + CONFIG_PATH_MAX - 1] = '\0';
	check_value("Meter", longpath, false, "too long (256 characters, at most 255)");
	longpath[8 + CONFIG_PATH_MAX - 2] = '\0';
	check_value("Meter", longpath, true, NULL);
	c = parse_one("Meter", "Device=/dev/ttyAMA0");
	TAP_EQ_STR(c->device, "/dev/ttyAMA0", "Device value");
	config_free(c);

	check_value("Meter", "Protocol=auto", true, NULL);
	check_value("Meter", "Protocol=dsmr", true, NULL);
	check_value("Meter", "Protocol=tic-historique", true, NULL);
	check_value("Meter", "Protocol=tic-standard", true, NULL);
	check_value("Meter", "Protocol=dsmr5", false,
		    "test.conf:2: [Meter] Protocol: unknown value 'dsmr5', expected auto, dsmr, "
		    "tic-historique or tic-standard");
	check_value("Meter", "Protocol=", false, "unknown value ''");
	c = parse_one("Meter", "Protocol=TIC-Standard");
	TAP_EQ_INT(c->protocol, READING_PROTO_TIC_STANDARD, "Protocol is case-insensitive");
	config_free(c);

	static const struct {
		const char *text;
		uint32_t want;
	} stale_good[] = {
		{ "0", 0 },      { "30", 30 },   { "30s", 30 },      { "30 s", 30 },   { "45sec", 45 },
		{ "2min", 120 }, { "1h", 3600 }, { "86400", 86400 }, { "24h", 86400 }, { "007", 7 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(stale_good); i++) {
		char a[64];

		snprintf(a, sizeof(a), "StaleAfter=%s", stale_good[i].text);
		c = parse_one("Meter", a);
		TAP_EQ_INT(c->stale_after_sec, stale_good[i].want, a);
		config_free(c);
	}
	check_value("Meter", "StaleAfter=86401", false, "out of range, expected 0..86400 seconds");
	check_value("Meter", "StaleAfter=25h", false, "out of range");
	check_value("Meter", "StaleAfter=99999999999999999999", false, "out of range");
	check_value("Meter", "StaleAfter=-1", false, "is not a time in seconds");
	check_value("Meter", "StaleAfter=abc", false, "is not a time in seconds");
	check_value("Meter", "StaleAfter=10x", false, "unknown unit in '10x'");
	check_value("Meter", "StaleAfter=", false, "is not a time");

	static const struct {
		const char *text;
		int want;
	} off_good[] = {
		{ "+01:00", 60 },  { "+00:00", 0 },   { "-00:00", 0 },    { "-03:30", -210 },
		{ "+05:45", 345 }, { "+14:00", 840 }, { "-12:00", -720 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(off_good); i++) {
		char a[64];

		snprintf(a, sizeof(a), "UtcOffset=%s", off_good[i].text);
		c = parse_one("Meter", a);
		TAP_EQ_INT(c->utc_offset_min, off_good[i].want, a);
		config_free(c);
	}
	check_value("Meter", "UtcOffset=+14:01", false, "out of range, expected -12:00..+14:00");
	check_value("Meter", "UtcOffset=-12:30", false, "out of range");
	check_value("Meter", "UtcOffset=+01:60", false, "out of range");
	check_value("Meter", "UtcOffset=+1", false, "expected [+-]HH:MM");
	check_value("Meter", "UtcOffset=01:00", false, "expected [+-]HH:MM");
	check_value("Meter", "UtcOffset=+01:00:00", false, "expected [+-]HH:MM");
	check_value("Meter", "UtcOffset=CET", false, "is not a UTC offset");

	check_value("Meter", "Grid=auto", true, NULL);
	check_value("Meter", "Grid=wye", true, NULL);
	c = parse_one("Meter", "Grid=delta");
	TAP_EQ_INT(c->grid, DECODE_GRID_DELTA, "Grid=delta");
	TAP_EQ_INT(config_decode_opts(c).grid, DECODE_GRID_DELTA, "Grid reaches the decoder options");
	config_free(c);
	check_value("Meter", "Grid=triangle", false,
		    "[Meter] Grid: unknown value 'triangle', expected auto, wye or delta");
}

static void test_listen(void)
{
	static const struct {
		const char *text, *host;
		unsigned port;
	} good[] = {
		{ "0.0.0.0:502", "0.0.0.0", 502 },
		{ "127.0.0.1:1502", "127.0.0.1", 1502 },
		{ "[::]:502", "::", 502 },
		{ "[::1]:5020", "::1", 5020 },
		{ "localhost:502", "localhost", 502 },
		{ "gw-1.example.lan:65535", "gw-1.example.lan", 65535 },
		{ "127.0.0.1:0", "127.0.0.1", 0 }, /* a free port, for tests */
	};
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "0.0.0.0", "has no port" },
		{ "502", "is not an IPv4 address" },
		{ ":502", "empty host" },
		{ "0.0.0.0:65536", "out of range" },
		{ "0.0.0.0:http", "is not a port number" },
		{ "::1:502", "in brackets" },
		{ "[::1]502", "expected ':' and a port after ']'" },
		{ "[::1:502", "missing ']'" },
		{ "[127.0.0.1]:502", "is not an IPv6 address" },
		{ "256.1.1.1:502", "is not an IPv4 address" },
		{ "my host:502", "is not a host name" },
		{ "", "empty host" },
	};
	struct config *c;
	char a[128];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(a, sizeof(a), "Listen=%s", good[i].text);
		c = parse_one("Modbus", a);
		tap_ok(strcmp(c->modbus_listen.host, good[i].host) == 0 &&
			   c->modbus_listen.port == good[i].port,
		       "Modbus %s -> host '%s' port %u", a, c->modbus_listen.host, c->modbus_listen.port);
		config_free(c);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(a, sizeof(a), "Listen=%s", bad[i].text);
		check_value("Modbus", a, false, bad[i].error);
	}

	c = parse_one("HTTP", "Listen=[::]:8080");
	tap_ok(strcmp(c->http_listen.host, "::") == 0 && c->http_listen.port == 8080, "HTTP Listen IPv6");
	config_free(c);
	check_value("HTTP", "Listen=0.0.0.0", false, "[HTTP] Listen: '0.0.0.0' has no port");
}

static void test_modbus_rtu(void)
{
	struct config *c = config_new();

	tap_ok(c->rtu_device[0] == '\0' && c->rtu_baud == 9600 && c->rtu_parity == CONFIG_PARITY_NONE &&
		   c->rtu_stop_bits == 1 && c->rtu_unit_id == 1 &&
		   c->rtu_meter_type == CONFIG_METER_TYPE_SDM630 &&
		   c->rtu_stale_policy == MODBUS_SERVER_STALE_ERROR,
	       "[ModbusRTU] defaults: off, 9600 8N1, unit 1, Eastron-SDM630, error");
	config_free(c);
	c = parse_one("ModbusRTU", "Parity=E");
	TAP_EQ_INT(c->rtu_parity, CONFIG_PARITY_EVEN, "Parity=E");
	TAP_EQ_STR(config_parity_to_string(c->rtu_parity), "E", "parity letter");
	config_free(c);
	c = parse_one("ModbusRTU", "MeterType=Chint-DTSU666");
	TAP_EQ_INT(c->rtu_meter_type, CONFIG_METER_TYPE_DTSU666, "MeterType=Chint-DTSU666");
	config_free(c);
	check_value("ModbusRTU", "Baud=19200", true, NULL);
	check_value("ModbusRTU", "Baud=14400", false,
		    "expected 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200");
	check_value("ModbusRTU", "Baud=230400", false, NULL);
	check_value("ModbusRTU", "Parity=X", false, "unknown value 'X', expected N, E or O");
	check_value("ModbusRTU", "StopBits=3", false, NULL);
	check_value("ModbusRTU", "UnitId=0", false, NULL);
	check_value("ModbusRTU", "UnitId=247", true, NULL);
	check_value("ModbusRTU", "UnitId=248", false, NULL);
	check_value("ModbusRTU", "Device=/dev/ttyUSB0", false, "same device as [Meter] Device");
	check_value("ModbusRTU", "Device=/dev/ttyUSB1", true, NULL);
}

static void test_modbus(void)
{
	static const struct {
		const char *name;
		enum config_meter_type t;
	} types[] = {
		{ "PhoenixContact-EMPro", CONFIG_METER_TYPE_EMPRO },
		{ "Eastron-SDM630", CONFIG_METER_TYPE_SDM630 },
		{ "CarloGavazzi-EM24", CONFIG_METER_TYPE_EM24 },
		{ "SunSpec", CONFIG_METER_TYPE_SUNSPEC },
		{ "sunspec", CONFIG_METER_TYPE_SUNSPEC },
	};
	struct config *c;
	char a[128];

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		snprintf(a, sizeof(a), "MeterType=%s", types[i].name);
		c = parse_one("Modbus", a);
		TAP_EQ_INT(c->meter_type, types[i].t, a);
		config_free(c);
	}
	check_value("Modbus", "MeterType=SDM630", false,
		    "unknown value 'SDM630', expected PhoenixContact-EMPro, Eastron-SDM630, "
		    "CarloGavazzi-EM24, SunSpec, Chint-DTSU666 or CarloGavazzi-EM340");
	TAP_EQ_STR(config_meter_type_to_string(CONFIG_METER_TYPE_EM24), "CarloGavazzi-EM24",
		   "meter type name");

	c = parse_one("Modbus", "MaxClients=1");
	TAP_EQ_INT(c->modbus_max_clients, 1, "MaxClients=1");
	config_free(c);
	c = parse_one("Modbus", "MaxClients=1024");
	TAP_EQ_INT(c->modbus_max_clients, 1024, "MaxClients=1024");
	config_free(c);
	check_value("Modbus", "MaxClients=0", false, "0 is out of range, expected 1..1024");
	check_value("Modbus", "MaxClients=1025", false, "out of range");
	check_value("Modbus", "MaxClients=-1", false, "is not a number");
	check_value("Modbus", "MaxClients=16 clients", false, "is not a number");
	check_value("Modbus", "MaxClients=4294967296", false, "out of range");
}

static void test_http(void)
{
	struct config *c;

	c = parse_one("HTTP", "User=admin");
	TAP_EQ_STR(c->http_user, "admin", "User");
	config_free(c);
	check_value("HTTP", "User=", false, "[HTTP] User: must not be empty");
	check_value("HTTP", "User=a:b", false, "must not contain ':'");

	c = parse_one("HTTP", "Password=s3cr;t#x");
	TAP_EQ_STR(c->http_password, "s3cr;t#x", "';' and '#' inside a value are kept");
	config_free(c);
	c = parse_one("HTTP", "Password=abc  ; a comment");
	TAP_EQ_STR(c->http_password, "abc", "comment after blanks is dropped");
	config_free(c);
	c = parse_one("HTTP", "Password=\" a ;b \\\"q\\\" \\\\ \"  # comment");
	TAP_EQ_STR(c->http_password, " a ;b \"q\" \\ ", "quoted value with escapes");
	config_free(c);
	c = parse_one("HTTP", "Password=");
	TAP_EQ_STR(c->http_password, "", "empty password allowed");
	config_free(c);
	check_value("HTTP", "Password=pa\tss", false, "contains a control character");
	check_value("HTTP", "Password=\"abc", false, "missing closing '\"'");
	check_value("HTTP", "Password=\"a\\nb\"", false, "unknown escape");
	check_value("HTTP", "Password=\"ab\" cd", false, "unexpected text after the closing '\"'");

	/* Secrets are never echoed in error messages. */
	struct errors e;
	parse("[HTTP]\nPassword=\"hunter2\x01\"\n", &e, &c);
	tap_ok(e.n == 1 && !strstr(e.text, "hunter2"), "password not echoed: %s", flat(e.text));
	config_free(c);
}

static void test_mqtt(void)
{
	static const struct {
		const char *text, *host;
		unsigned port;
		bool tls;
	} brokers[] = {
		{ "mqtt://broker:1883", "broker", 1883, false },
		{ "mqtts://broker.example.com:8883", "broker.example.com", 8883, true },
		{ "mqtts://broker.example.com", "broker.example.com", 8883, true },
		{ "mqtt://10.0.0.1", "10.0.0.1", 1883, false },
		{ "mqtt://broker.xemex-cloud.eu:8883", "broker.xemex-cloud.eu", 8883, false },
		{ "MQTT://[::1]:1884", "::1", 1884, false },
	};
	static const struct {
		const char *text, *error;
	} bad[] = {
		{ "http://broker:80", "is not a broker URL" },
		{ "broker.example.com:8883", "is not a broker URL" },
		{ "mqtt://", "empty host" },
		{ "mqtt://host:0", "out of range" },
		{ "mqtt://user@host", "no user, path or query" },
		{ "mqtt://host:1883/topic", "no user, path or query" },
		{ "mqtt://host:port", "is not a port number" },
	};
	struct config *c;
	char a[256];

	for (size_t i = 0; i < ARRAY_SIZE(brokers); i++) {
		snprintf(a, sizeof(a), "Broker=%s", brokers[i].text);
		c = parse_one("MQTT", a);
		tap_ok(strcmp(c->mqtt_broker.host, brokers[i].host) == 0 &&
			   c->mqtt_broker.port == brokers[i].port && c->mqtt_broker.tls == brokers[i].tls &&
			   strcmp(c->mqtt_broker.url, brokers[i].text) == 0,
		       "%s -> host '%s' port %u tls %d", a, c->mqtt_broker.host, c->mqtt_broker.port,
		       c->mqtt_broker.tls);
		config_free(c);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(a, sizeof(a), "Broker=%s", bad[i].text);
		check_value("MQTT", a, false, bad[i].error);
	}
	check_value("MQTT", "Broker=", true, NULL);

	static const char *const yes[] = { "yes", "true", "on", "1", "YES" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		snprintf(a, sizeof(a), "[MQTT]\nEnabled=%s\nBroker=mqtt://b\nSite=s\n", yes[i]);
		struct errors e;
		tap_ok(parse(a, &e, &c) == 0 && c->mqtt_enabled, "Enabled=%s is true", yes[i]);
		config_free(c);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		snprintf(a, sizeof(a), "Enabled=%s", no[i]);
		c = parse_one("MQTT", a);
		tap_ok(!c->mqtt_enabled, "Enabled=%s is false", no[i]);
		config_free(c);
	}
	check_value("MQTT", "Enabled=maybe", false, "unknown value 'maybe', expected yes or no");

	c = parse_one("MQTT", "Site=site-1_a.b");
	TAP_EQ_STR(c->mqtt_site, "site-1_a.b", "Site");
	config_free(c);
	check_value("MQTT", "Site=", true, NULL);
	check_value("MQTT", "Site=my site", false, "contains ' '");
	check_value("MQTT", "Site=a/b", false, "contains '/'");
	check_value("MQTT", "Site=a+b", false, "only letters, digits");
	check_value("MQTT", "Site=a#b", false, "contains '#'");
	check_value("MQTT", "Site=0123456789012345678901234567890123456789012345678901234567890123456789",
		    false, "too long");

	c = parse_one("MQTT", "Username=meter-7");
	TAP_EQ_STR(c->mqtt_username, "meter-7", "Username");
	config_free(c);
	c = parse_one("MQTT", "Password=p@ss w0rd");
	TAP_EQ_STR(c->mqtt_password, "p@ss w0rd", "MQTT Password with a blank inside");
	config_free(c);
}

static void test_device(void)
{
	struct config *c = parse_one("Device", "Serial=SC-000123");

	TAP_EQ_STR(c->serial, "SC-000123", "Serial");
	config_free(c);
	check_value("Device", "Serial=auto", true, NULL);
	check_value("Device", "Serial=", false, "[Device] Serial: must not be empty");
	check_value("Device", "Serial=A B", false, "contains ' '");
}

static void test_network(void)
{
	static const struct {
		const char *mask;
		unsigned prefix;
	} good[] = {
		{ "24", 24 },     { "/16", 16 },           { "0", 0 },
		{ "32", 32 },     { "255.255.255.0", 24 }, { "255.255.255.255", 32 },
		{ "0.0.0.0", 0 }, { "255.128.0.0", 9 },    { "255.255.255.252", 30 },
	};
	char line[64];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct config *c;

		snprintf(line, sizeof(line), "EthernetNetmask=%s", good[i].mask);
		c = parse_one("Network", line);
		TAP_EQ_INT(c->eth.prefix, good[i].prefix, line);
		config_free(c);
	}
	check_value("Network", "EthernetNetmask=255.0.255.0", false, "not a contiguous netmask");
	check_value("Network", "EthernetNetmask=0.255.255.255", false, "not a contiguous netmask");
	check_value("Network", "EthernetNetmask=255.255.255.1", false, "not a contiguous netmask");
	check_value("Network", "EthernetNetmask=33", false, NULL);
	check_value("Network", "EthernetAddress=192.168.1.300", false, NULL);
}

static void test_mdns_and_summary(void)
{
	struct config *c = config_new();
	char name63[80], assign[96];

	TAP_EQ_INT(c->mdns_enabled, true, "default [mDNS] Enabled");
	TAP_EQ_STR(c->mdns_name, "smart-connect", "default [mDNS] Name");
	TAP_EQ_INT(c->log_summary_sec, 60, "default LogSummaryInterval");
	config_free(c);

	c = parse_one("mDNS", "Name=Meter-GW-2");
	TAP_EQ_STR(c->mdns_name, "Meter-GW-2", "Name");
	config_free(c);
	c = parse_one("Daemon", "LogSummaryInterval=5min");
	TAP_EQ_INT(c->log_summary_sec, 300, "LogSummaryInterval=5min");
	config_free(c);

	memset(name63, 'a', 63);
	name63[63] = '\0';
	snprintf(assign, sizeof(assign), "Name=%s", name63);
	check_value("mDNS", assign, true, NULL);
	snprintf(assign, sizeof(assign), "Name=%sa", name63);
	check_value("mDNS", assign, false, "not a host name label");
	check_value("mDNS", "Enabled=no", true, NULL);
	check_value("mDNS", "Enabled=maybe", false, "[mDNS] Enabled: unknown value");
	check_value("mDNS", "Name=", false, "not a host name label");
	check_value("mDNS", "Name=-gw", false, "not a host name label");
	check_value("mDNS", "Name=gw-", false, "not a host name label");
	check_value("mDNS", "Name=gw.local", false, "not a host name label");
	check_value("mDNS", "Name=gw_1", false, "not a host name label");
	check_value("mDNS", "Name=gw 1", false, "contains ' '");
	check_value("Daemon", "LogSummaryInterval=1", true, NULL);
	check_value("Daemon", "LogSummaryInterval=24h", true, NULL);
	check_value("Daemon", "LogSummaryInterval=0", false, "out of range, expected 1..86400");
	check_value("Daemon", "LogSummaryInterval=86401", false, "out of range");
}

static void test_cross_keys(void)
{
	struct errors e;
	struct config *c;

	tap_ok(parse("[MQTT]\nEnabled=yes\n", &e, &c) == -EINVAL && e.n == 1,
	       "Enabled=yes without Broker: 1 error");
	tap_ok(strstr(e.text, "test.conf:2: [MQTT] Enabled: yes needs a Broker= in [MQTT]") != NULL,
	       "missing Broker reported at the Enabled line: %s", flat(e.text));
	config_free(c);

	tap_ok(parse("[MQTT]\nEnabled=yes\nBroker=mqtt://b\n", &e, &c) == 0, "Site may be empty");
	config_free(c);

	tap_ok(parse("[MQTT]\nEnabled=yes\nBroker=mqtts://b\nCertFile=/c.pem\n", &e, &c) == -EINVAL &&
		   strstr(e.text, "test.conf:2: [MQTT] Enabled: CertFile= and KeyFile= go together"),
	       "CertFile without KeyFile: %s", flat(e.text));
	config_free(c);

	c = parse_one("MQTT", "CAPath=/etc/ssl/certs/");
	TAP_EQ_STR(c->mqtt_ca_path, "/etc/ssl/certs/", "CAPath with a trailing slash");
	config_free(c);
	check_value("MQTT", "CAFile=ca.pem", false, "is not an absolute path");
	check_value("MQTT", "CountersInterval=0", false, "out of range");
	check_value("MQTT", "PingGateway=", true, NULL);
	check_value("MQTT", "PingHost=bad host", false, "is not a host name");
	check_value("MQTT", "DiscoveryPrefix=a/b", false, "contains '/'");

	tap_ok(parse("[MQTT]\nEnabled=yes\nBroker=mqtts://b:8883\nSite=home\n", &e, &c) == 0,
	       "Enabled=yes with Broker and Site");
	config_free(c);

	tap_ok(parse("[Modbus]\nListen=0.0.0.0:8080\n[HTTP]\nListen=0.0.0.0:8080\n", &e, &c) == -EINVAL &&
		   strstr(e.text, "test.conf:4: [HTTP] Listen: same address as [Modbus] Listen"),
	       "Modbus and HTTP on one address: %s", flat(e.text));
	config_free(c);

	c = config_new();
	c->mqtt_enabled = true;
	memset(&e, 0, sizeof(e));
	tap_ok(config_validate(c, collect, &e) == -EINVAL && e.n == 1 &&
		   strncmp(e.text, "[MQTT] Enabled: yes needs a Broker=", 35) == 0,
	       "config_validate without a file: %s", flat(e.text));
	config_free(c);
}

static void test_https_keys(void)
{
	struct errors e;
	struct config *c;

	c = config_new();
	tap_ok(c && !c->http_listen_tls.host[0] && !c->http_require_tls,
	       "ListenTLS= empty, RequireTLS=no by default");
	config_free(c);
	c = parse_one("HTTP", "ListenTLS=[::]:443");
	tap_ok(c && strcmp(c->http_listen_tls.host, "::") == 0 && c->http_listen_tls.port == 443,
	       "ListenTLS=[::]:443");
	config_free(c);
	check_value("HTTP", "ListenTLS=nowhere", false, NULL);
	check_value("HTTP", "RequireTLS=maybe", false, NULL);
	tap_ok(parse("[HTTP]\nListen=0.0.0.0:8080\nListenTLS=0.0.0.0:8080\n", &e, &c) == -EINVAL &&
		   strstr(e.text, "test.conf:3: [HTTP] ListenTLS: same address as [HTTP] Listen"),
	       "HTTP and HTTPS on one address: %s", flat(e.text));
	config_free(c);
	tap_ok(parse("[HTTP]\nListen=127.0.0.1:0\nListenTLS=127.0.0.1:0\nRequireTLS=yes\n", &e, &c) == 0 &&
		   c->http_require_tls,
	       "port 0 twice (each a free port), RequireTLS=yes");
	config_free(c);
}

static void test_syntax(void)
{
	struct errors e;
	struct config *c;
	int r;

	r = parse("; comment\n# comment\n   # indented comment\n\n[Meter]   ; section comment\n"
		  "  Protocol  =  dsmr  \n\tStaleAfter\t=\t5\t# tabs\n",
		  &e, &c);
	tap_ok(r == 0 && c->protocol == READING_PROTO_DSMR && c->stale_after_sec == 5,
	       "comments and blanks: %s", flat(e.text));
	config_free(c);

	r = parse("[Meter]\r\nProtocol=tic-standard\r\nDevice=/dev/ttyS1\r\n", &e, &c);
	tap_ok(r == 0 && c->protocol == READING_PROTO_TIC_STANDARD && strcmp(c->device, "/dev/ttyS1") == 0,
	       "CR LF line ends: %s", flat(e.text));
	config_free(c);

	r = parse("[Meter]\nProtocol=dsmr", &e, &c);
	tap_ok(r == 0 && c->protocol == READING_PROTO_DSMR, "no newline at the end");
	config_free(c);

	r = parse("\xef\xbb\xbf[Meter]\nProtocol=dsmr\n", &e, &c);
	tap_ok(r == 0 && c->protocol == READING_PROTO_DSMR, "byte order mark skipped: %s", flat(e.text));
	config_free(c);

	r = parse("", &e, &c);
	tap_ok(r == 0 && e.n == 0, "empty file: defaults");
	config_free(c);

	r = parse("[Meter]\nProtocol=dsmr# not a comment\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "unknown value 'dsmr# not a comment'"),
	       "'#' without a blank before it is part of the value");
	config_free(c);

	r = parse("[Meter]\nProtocol=dsmr\nProtocol=auto\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "test.conf:3: [Meter] Protocol: set twice, first on line 2"),
	       "key set twice: %s", flat(e.text));
	config_free(c);

	r = parse("[Meter]\nProtocol=dsmr\n[Modbus]\nMaxClients=3\n[Meter]\nGrid=wye\n", &e, &c);
	tap_ok(r == 0 && c->grid == DECODE_GRID_WYE && c->modbus_max_clients == 3,
	       "a section may appear twice");
	config_free(c);

	r = parse("Protocol=dsmr\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "test.conf:1: Protocol: key outside of any [Section]"),
	       "key before any section: %s", flat(e.text));
	config_free(c);

	r = parse("[Meter]\nProtocl=dsmr\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "test.conf:2: [Meter] Protocl: unknown key\n"),
	       "unknown key: %s", flat(e.text));
	config_free(c);

	r = parse("[Meter]\nprotocol=dsmr\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "[Meter] protocol: unknown key, did you mean 'Protocol'?"),
	       "unknown key with a hint: %s", flat(e.text));
	config_free(c);

	r = parse("[Modbus]\nDevice=/dev/ttyS0\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "[Modbus] Device: unknown key"), "key of another section: %s",
	       flat(e.text));
	config_free(c);

	r = parse("[Wifi]\nSSID=x\nPassword=y\n[Meter]\nProtocol=dsmr\n", &e, &c);
	tap_ok(r == -EINVAL && e.n == 1 &&
		   strstr(e.text, "test.conf:1: unknown section [Wifi], expected Daemon, Meter"),
	       "unknown section, reported once, its keys skipped: %s", flat(e.text));
	tap_ok(c->protocol == READING_PROTO_DSMR, "parsing goes on after an unknown section");
	config_free(c);

	r = parse("[meter]\n", &e, &c);
	tap_ok(r == -EINVAL && strstr(e.text, "unknown section [meter], did you mean [Meter]?"),
	       "section name hint");
	config_free(c);

	static const struct {
		const char *text, *error;
	} broken[] = {
		{ "[Meter\n", "test.conf:1: missing ']' in section header" },
		{ "[Meter] x\n", "unexpected text after section header" },
		{ "[Meter]\nProtocol\n", "test.conf:2: expected Key=Value or [Section], got 'Protocol'" },
		{ "[Meter]\n=dsmr\n", "test.conf:2: missing key name before '='" },
		{ "[Meter]\nDevice=/dev/a\0b\n", "test.conf:2: line contains a NUL byte" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(broken); i++) {
		size_t n = strlen(broken[i].text);

		if (strstr(broken[i].error, "NUL"))
			n = sizeof("[Meter]\nDevice=/dev/a\0b\n") - 1;
		c = config_new();
		memset(&e, 0, sizeof(e));
		r = config_parse(c, "test.conf", broken[i].text, n, collect, &e);
		tap_ok(r == -EINVAL && strstr(e.text, broken[i].error), "'%s': %s", broken[i].error,
		       flat(e.text));
		config_free(c);
	}
}

static void test_all_errors_reported(void)
{
	struct errors e;
	struct config *c;
	int r;

	r = parse("[Meter]\n"         /* 1 */
		  "Protocol=dsmr5\n"  /* 2 */
		  "StaleAfter=soon\n" /* 3 */
		  "Grid=auto\n"       /* 4: fine */
		  "[Modbus]\n"        /* 5 */
		  "MaxClients=0\n"    /* 6 */
		  "Colour=blue\n"     /* 7 */
		  "[Nope]\n"          /* 8 */
		  "[HTTP]\n"          /* 9 */
		  "User=a:b\n",       /* 10 */
		  &e, &c);
	tap_ok(r == -EINVAL && e.n == 6, "six errors, all reported (%u)", e.n);
	static const char *const where[] = {
		"test.conf:2: [Meter] Protocol:",      "test.conf:3: [Meter] StaleAfter:",
		"test.conf:6: [Modbus] MaxClients:",   "test.conf:7: [Modbus] Colour:",
		"test.conf:8: unknown section [Nope]", "test.conf:10: [HTTP] User:"
	};
	for (size_t i = 0; i < ARRAY_SIZE(where); i++)
		tap_ok(strstr(e.text, where[i]) != NULL, "reported: %s", where[i]);
	config_free(c);
}

static void test_limits(void)
{
	char *big = malloc(CONFIG_FILE_MAX + 2);
	char line[CONFIG_LINE_MAX + 64];
	struct errors e;
	struct config *c;
	int r;

	/* Exactly at the line limit: fine. One more: an error, and parsing goes on. */
	memset(line, 0, sizeof(line));
	line[0] = '#';
	memset(line + 1, 'x', CONFIG_LINE_MAX - 1);
	r = parse(line, &e, &c);
	tap_ok(r == 0, "a line of exactly %d characters is fine", CONFIG_LINE_MAX);
	config_free(c);

	snprintf(line, sizeof(line), "[Meter]\n#");
	memset(line + 9, 'x', CONFIG_LINE_MAX);
	strcpy(line + 9 + CONFIG_LINE_MAX, "\nProtocol=bad\n");
	r = parse(line, &e, &c);
	tap_ok(r == -EINVAL && e.n == 2, "overlong line and the next line's error: %u errors", e.n);
	tap_ok(strstr(e.text, "test.conf:2: line too long (1025 characters, at most 1024)") != NULL,
	       "overlong line named: %s", flat(e.text));
	tap_ok(strstr(e.text, "test.conf:3: [Meter] Protocol:") != NULL, "parsing went on after it");
	config_free(c);

	/* CR LF does not count against the limit. */
	memset(line, 0, sizeof(line));
	line[0] = '#';
	memset(line + 1, 'x', CONFIG_LINE_MAX - 1);
	strcat(line, "\r\n");
	r = parse(line, &e, &c);
	tap_ok(r == 0, "CR LF after a full-length line");
	config_free(c);

	memset(big, '#', CONFIG_FILE_MAX + 1);
	for (size_t i = 100; i < CONFIG_FILE_MAX + 1; i += 100)
		big[i] = '\n';
	c = config_new();
	memset(&e, 0, sizeof(e));
	r = config_parse(c, "test.conf", big, CONFIG_FILE_MAX, collect, &e);
	tap_ok(r == 0, "a file of exactly %d bytes is fine", CONFIG_FILE_MAX);
	r = config_parse(c, "test.conf", big, CONFIG_FILE_MAX + 1, collect, &e);
	tap_ok(r == -EFBIG && strstr(e.text, "test.conf: file too large"), "one byte more: %s", flat(e.text));
	config_free(c);
	free(big);
}

static void test_diff(void)
{
	static const struct {
		const char *text;
		unsigned want;
	} cases[] = {
		{ "[Daemon]\nLogLevel=debug\n", CONFIG_APPLY_LOG },
		{ "[Meter]\nDevice=/dev/ttyS3\n", CONFIG_APPLY_TTY },
		{ "[Meter]\nProtocol=dsmr\n", CONFIG_APPLY_TTY },
		{ "[Meter]\nStaleAfter=9\n", CONFIG_APPLY_METER },
		{ "[Meter]\nUtcOffset=+02:00\n", CONFIG_APPLY_METER },
		{ "[Meter]\nGrid=delta\n", CONFIG_APPLY_METER },
		{ "[Modbus]\nListen=127.0.0.1:502\n", CONFIG_APPLY_MBSRV },
		{ "[Modbus]\nMeterType=SunSpec\n", CONFIG_APPLY_MBSRV },
		{ "[Modbus]\nMaxClients=2\n", CONFIG_APPLY_MBSRV },
		{ "[HTTP]\nListen=127.0.0.1:80\n", CONFIG_APPLY_HTTP },
		{ "[HTTP]\nUser=u\n", CONFIG_APPLY_HTTP },
		{ "[HTTP]\nPassword=p\n", CONFIG_APPLY_HTTP },
		{ "[MQTT]\nBroker=mqtt://b\n", CONFIG_APPLY_MQTT },
		{ "[MQTT]\nSite=s\n", CONFIG_APPLY_MQTT },
		{ "[MQTT]\nUsername=u\n", CONFIG_APPLY_MQTT },
		{ "[MQTT]\nPassword=p\n", CONFIG_APPLY_MQTT },
		{ "[Device]\nSerial=X1\n", CONFIG_APPLY_MQTT | CONFIG_APPLY_HTTP | CONFIG_APPLY_MBSRV |
					       CONFIG_APPLY_MBRTU | CONFIG_APPLY_MDNS },
		{ "[ModbusRTU]\nDevice=/dev/ttyUSB1\nBaud=19200\nParity=E\n", CONFIG_APPLY_MBRTU },
		{ "[Meter]\nDevice=/dev/ttyS3\nStaleAfter=9\n[Daemon]\nLogLevel=error\n",
		  CONFIG_APPLY_TTY | CONFIG_APPLY_METER | CONFIG_APPLY_LOG },
		{ "[Meter]\nDevice=/dev/ttyUSB0\nProtocol=auto\n", 0 },
		{ "[Daemon]\nLogSummaryInterval=5\n",
		  CONFIG_APPLY_METER | CONFIG_APPLY_MBSRV | CONFIG_APPLY_PASSTHROUGH },
		{ "[mDNS]\nEnabled=no\n", CONFIG_APPLY_MDNS },
		{ "[mDNS]\nName=gw\n", CONFIG_APPLY_MDNS },
	};
	struct config *base = config_new();
	char buf[128];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct errors e;
		struct config *c;

		parse(cases[i].text, &e, &c);
		tap_ok(config_diff(base, c) == cases[i].want && config_diff(c, base) == cases[i].want,
		       "diff of '%.40s' = %s", flat(cases[i].text),
		       config_apply_to_string(config_diff(base, c), buf, sizeof(buf)));
		config_free(c);
	}
	TAP_EQ_STR(config_apply_to_string(0, buf, sizeof(buf)), "nothing", "empty mask");
	TAP_EQ_STR(config_apply_to_string(CONFIG_APPLY_TTY | CONFIG_APPLY_MQTT, buf, sizeof(buf)),
		   "tty, mqtt", "mask names");

	/* The same Password set twice over in different files is no change. */
	struct errors e;
	struct config *a, *b;
	parse("[HTTP]\nPassword=\"x\"\n", &e, &a);
	parse("[HTTP]\nPassword=x ; comment\n", &e, &b);
	TAP_EQ_INT(config_diff(a, b), 0, "same value written differently: no diff");
	config_free(a);
	config_free(b);
	config_free(base);
}

static void test_dump(void)
{
	const char *text = "[Daemon]\nLogLevel=notice\n"
			   "[Meter]\nDevice=/dev/serial/by-id/usb-x ; y\nProtocol=tic-historique\n"
			   "StaleAfter=2min\nUtcOffset=-03:30\nGrid=wye\n"
			   "[Modbus]\nListen=[::1]:1502\nMeterType=Eastron-SDM630\nMaxClients=3\n"
			   "[HTTP]\nListen=127.0.0.1:8080\nUser=admin\nPassword=\" a ;b \\\"q\\\" \\\\ \"\n"
			   "[MQTT]\nEnabled=yes\nBroker=mqtts://[::1]\nSite=home\nUsername=me\n"
			   "Password=#secret\n"
			   "[Device]\nSerial=SN-1\n";
	struct config *c, *back;
	struct errors e;
	char *out = NULL;
	size_t n = 0;
	FILE *f;
	int r;

	r = parse(text, &e, &c);
	tap_ok(r == 0, "dump input parses: %s", flat(e.text));

	f = open_memstream(&out, &n);
	tap_ok(config_dump(c, f, true) == 0, "config_dump with secrets");
	fclose(f);
	back = config_new();
	memset(&e, 0, sizeof(e));
	r = config_parse(back, "dump", out, n, collect, &e);
	tap_ok(r == 0 && config_diff(c, back) == 0, "dump parses back into the same config: %s",
	       flat(e.text));
	TAP_EQ_STR(back->http_password, " a ;b \"q\" \\ ", "quoted password survives the round trip");
	TAP_EQ_STR(back->mqtt_password, "#secret", "'#' at the start of a value survives");
	tap_ok(strstr(out, "UtcOffset=-03:30\n") && strstr(out, "Listen=[::1]:1502\n") &&
		   strstr(out, "StaleAfter=120\n") && strstr(out, "Broker=mqtts://[::1]\n"),
	       "dump writes canonical values");
	config_free(back);
	free(out);

	out = NULL;
	f = open_memstream(&out, &n);
	tap_ok(config_dump(c, f, false) == 0, "config_dump without secrets");
	fclose(f);
	tap_ok(!strstr(out, "secret") && !strstr(out, "\\\"q") && strstr(out, "Password=<set>\n"),
	       "secrets hidden");
	free(out);
	config_free(c);
}

static char tmpdir[] = "/tmp/test-config-XXXXXX";

static char *write_file(const char *name, const char *text, size_t n)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	f = fopen(path, "w");
	fwrite(text, 1, n, f);
	fclose(f);
	return path;
}

static void test_load(void)
{
	struct config *c = NULL;
	struct errors e;
	char *path;
	int r;

	if (!mkdtemp(tmpdir))
		abort();

	path = write_file("good.conf", "[Meter]\nProtocol=dsmr\n", 21);
	memset(&e, 0, sizeof(e));
	r = config_load(path, collect, &e, &c);
	tap_ok(r == 0 && c && c->protocol == READING_PROTO_DSMR, "config_load of a good file");
	c = config_free(c);
	unlink(path);
	free(path);

	path = write_file("bad.conf", "[Meter]\n\nProtocol=dsmr5\n", 24);
	memset(&e, 0, sizeof(e));
	r = config_load(path, collect, &e, &c);
	tap_ok(r == -EINVAL && !c, "config_load of a bad file fails");
	tap_ok(strstr(e.text, "/bad.conf:3: [Meter] Protocol: unknown value 'dsmr5'") != NULL,
	       "message names the path: %s", flat(e.text));
	unlink(path);
	free(path);

	memset(&e, 0, sizeof(e));
	r = config_load("/nonexistent/smartconnect.conf", collect, &e, &c);
	tap_ok(r == -ENOENT && e.n == 0, "missing file: -ENOENT, not reported");

	memset(&e, 0, sizeof(e));
	r = config_load(tmpdir, collect, &e, &c);
	tap_ok(r < 0 && strstr(e.text, "not a regular file"), "a directory: %s", flat(e.text));

	char *big = malloc(CONFIG_FILE_MAX + 1);
	memset(big, '\n', CONFIG_FILE_MAX + 1);
	path = write_file("big.conf", big, CONFIG_FILE_MAX + 1);
	memset(&e, 0, sizeof(e));
	r = config_load(path, collect, &e, &c);
	tap_ok(r == -EFBIG && strstr(e.text, "file too large"), "oversized file: %s", flat(e.text));
	unlink(path);
	free(path);
	path = write_file("limit.conf", big, CONFIG_FILE_MAX);
	r = config_load(path, collect, &e, &c);
	tap_ok(r == 0, "file at the size limit loads");
	c = config_free(c);
	unlink(path);
	free(path);
	free(big);

	rmdir(tmpdir);
}

/* The shipped file documents every key with its default: commented out it
 * changes nothing, uncommented it still changes nothing, and no key is missing. */
static void test_shipped_file(void)
{
	const char *testdata = getenv("TESTDATA");
	struct config *defaults = config_new(), *c = NULL;
	char *path, *text = NULL, *dump = NULL;
	struct errors e;
	size_t n = 0, dn = 0;
	FILE *f;
	int r;

	if (asprintf(&path, "%s/../../etc/smartconnect.conf", testdata ?: "tests/data") < 0)
		abort();

	memset(&e, 0, sizeof(e));
	r = config_load(path, collect, &e, &c);
	tap_ok(r == 0, "etc/smartconnect.conf parses: %s", flat(e.text));
	tap_ok(c && config_diff(defaults, c) == 0, "etc/smartconnect.conf as shipped = defaults");
	c = config_free(c);

	/* Uncomment every "#Key=value" line. */
	f = fopen(path, "r");
	if (f) {
		char line[1100];
		FILE *o = open_memstream(&text, &n);

		while (fgets(line, sizeof(line), f))
			fputs(line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' && strchr(line, '=')
				  ? line + 1
				  : line,
			      o);
		fclose(o);
		fclose(f);
	}
	c = config_new();
	memset(&e, 0, sizeof(e));
	r = text ? config_parse(c, path, text, n, collect, &e) : -EIO;
	tap_ok(r == 0 && config_diff(defaults, c) == 0, "etc/smartconnect.conf uncommented = defaults: %s",
	       flat(e.text));

	/* Every key of the dump appears as "#Key=" in the file. */
	f = open_memstream(&dump, &dn);
	config_dump(defaults, f, true);
	fclose(f);
	bool all = text != NULL;
	char *save = NULL;
	for (char *l = strtok_r(dump, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char key[80];
		const char *eq = strchr(l, '=');

		if (!eq || l[0] == '[')
			continue;
		snprintf(key, sizeof(key), "\n%.*s", (int) (eq - l + 1), l);
		if (!strstr(text, key)) {
			tap_diag("not in etc/smartconnect.conf: %s", key + 1);
			all = false;
		}
	}
	tap_ok(all, "etc/smartconnect.conf lists every key");

	free(dump);
	free(text);
	free(path);
	config_free(c);
	config_free(defaults);
}

int main(void)
{
	test_defaults();
	test_log_level();
	test_meter();
	test_listen();
	test_modbus();
	test_modbus_rtu();
	test_http();
	test_mqtt();
	test_device();
	test_network();
	test_mdns_and_summary();
	test_cross_keys();
	test_https_keys();
	test_syntax();
	test_all_errors_reported();
	test_limits();
	test_diff();
	test_dump();
	test_load();
	test_shipped_file();
	return tap_done();
}
