/* SPDX-License-Identifier: MIT */
/*
 * The JSON text writer (jbuf) and power_instant written from the integers:
 * exact decimals, escaping, invalid UTF-8, a buffer too small at every size;
 * and for every frame of every sample in the test data, the text parses with
 * jansson and prints exactly as the jansson tree of reading-json.c does (same
 * keys in the same order, same values).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/dlms-decrypt.h"
#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/outputs/jbuf.h"
#include "smartconnectd/outputs/reading-json-text.h"
#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/outputs/status-text.h"
#include "decode-frame.h"
#include "tap.h"

static const char *decimal(int64_t mant, unsigned decimals, char *buf, size_t size)
{
	struct jbuf j;

	jbuf_init(&j, buf, size);
	jbuf_decimal(&j, NULL, mant, decimals);
	return jbuf_finish(&j) < 0 ? "(overflow)" : buf;
}

/* The same by printf: the digits, the point put in, trailing zeros cut. */
static void decimal_reference(int64_t mant, unsigned decimals, char *out, size_t size)
{
	uint64_t u = mant < 0 ? -(uint64_t) mant : (uint64_t) mant;
	char digits[64];
	int n = snprintf(digits, sizeof(digits), "%0*" PRIu64, (int) decimals + 1, u);
	char *end;

	snprintf(out, size, "%s%.*s.%s", mant < 0 ? "-" : "", n - (int) decimals, digits,
		 digits + n - (int) decimals);
	end = out + strlen(out);
	while (end[-1] == '0' && strchr(out, '.'))
		*--end = '\0';
	if (end[-1] == '.')
		*--end = '\0';
	if (!strcmp(out, "-0"))
		strcpy(out, "0");
}

/* Random mantissas of every magnitude (many with trailing zeros, as meters
 * send them) at 0 to 21 decimals, the quick way and the general way (a buffer
 * of the text's size), against printf's digits. */
static void test_decimals_random(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[64], want[64];
	int bad = 0;

	for (unsigned i = 0; i < 200000; i++) {
		int64_t m;
		unsigned dec = i % 22;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		m = (int64_t) (x >> (x % 64));
		for (unsigned z = (unsigned) (x >> 58) % 8; z > 0 && m < INT64_MAX / 10 && m > INT64_MIN / 10;
		     z--)
			m *= 10;
		if (x & 1)
			m = -m;
		decimal_reference(m, dec, want, sizeof(want));
		if (strcmp(decimal(m, dec, buf, sizeof(buf)), want) != 0 && bad++ < 5)
			tap_diag("%" PRId64 " / 10^%u: %s, want %s", m, dec, buf, want);
		if (strcmp(decimal(m, dec, buf, strlen(want) + 1), want) != 0 && bad++ < 5)
			tap_diag("%" PRId64 " / 10^%u in %zu bytes: %s, want %s", m, dec, strlen(want) + 1,
				 buf, want);
	}
	TAP_EQ_INT(bad, 0, "random decimals both ways as printf's digits");
}

static void test_decimals(void)
{
	static const struct {
		int64_t mant;
		unsigned decimals;
		const char *want;
	} cases[] = {
		{ 0, 0, "0" },
		{ 0, 6, "0" },
		{ 433000000, 6, "433" },
		{ 6657461000, 6, "6657.461" },
		{ -500000, 6, "-0.5" },
		{ 1, 6, "0.000001" },
		{ -1, 6, "-0.000001" },
		{ 92287, 3, "92.287" },
		{ 12, 20, "0.00000000000000000012" },
		{ INT64_MAX, 0, "9223372036854775807" },
		{ INT64_MIN, 0, "-9223372036854775808" },
		{ INT64_MIN, 3, "-9223372036854775.808" },
		{ 100, 2, "1" },
		{ 5, 1, "0.5" },
		{ -5, 0, "-5" },
		{ 10, 1, "1" },
		{ 123456, 3, "123.456" },
		{ 1000000000000000000, 0, "1000000000000000000" },
		{ INT64_MAX, 19, "0.9223372036854775807" },
		{ INT64_MAX, 18, "9.223372036854775807" },
		{ 7, 25, "0.0000000000000000000000007" },
	};
	char buf[64], want[64];
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].want);

		TAP_EQ_STR(decimal(cases[i].mant, cases[i].decimals, buf, sizeof(buf)), cases[i].want,
			   "exact decimal");
		/* A buffer with room for the text alone takes the general way. */
		TAP_EQ_STR(decimal(cases[i].mant, cases[i].decimals, buf, n + 1), cases[i].want,
			   "exact decimal in a buffer of its size");
		TAP_EQ_STR(decimal(cases[i].mant, cases[i].decimals, buf, n), "(overflow)",
			   "a byte short: refused");
	}
	/* Around every power of ten, at every count of decimals: as printf's digits say. */
	for (unsigned e = 0; e <= 18; e++)
		for (int64_t off = -2; off <= 2; off++)
			for (unsigned dec = 0; dec <= 21; dec++) {
				int64_t m = (int64_t) 1;

				for (unsigned k = 0; k < e; k++)
					m *= 10;
				m += off;
				decimal_reference(m, dec, want, sizeof(want));
				if (strcmp(decimal(m, dec, buf, sizeof(buf)), want) != 0 && bad++ < 5)
					tap_diag("%" PRId64 " / 10^%u: %s, want %s", m, dec, buf, want);
				decimal_reference(-m, dec, want, sizeof(want));
				if (strcmp(decimal(-m, dec, buf, sizeof(buf)), want) != 0 && bad++ < 5)
					tap_diag("%" PRId64 " / 10^%u: %s, want %s", -m, dec, buf, want);
			}
	TAP_EQ_INT(bad, 0, "decimals around every power of ten as printf's digits");
	test_decimals_random();
}

static void test_strings(void)
{
	char buf[128];
	struct jbuf j;

	jbuf_init(&j, buf, sizeof(buf));
	jbuf_object(&j, NULL);
	jbuf_string(&j, "a", "q\"b\\\n\x01z", 7);
	jbuf_string(&j, "b", "\xc3\xa9t\xc3\xa9", 5);
	jbuf_string(&j, "c", "\xc3(", 2);        /* a broken sequence */
	jbuf_string(&j, "d", "\xed\xa0\x80", 3); /* a surrogate */
	jbuf_string(&j, "e", "\xe0\x80\xaf", 3); /* overlong */
	jbuf_cstring(&j, "f", NULL);
	jbuf_array(&j, "g");
	jbuf_bool(&j, NULL, true);
	jbuf_int(&j, NULL, -3);
	jbuf_end_array(&j);
	jbuf_end_object(&j);
	TAP_EQ_INT(jbuf_finish(&j) > 0, 1, "strings fit");
	TAP_EQ_STR(buf,
		   "{\"a\":\"q\\\"b\\\\\\u000a\\u0001z\",\"b\":\"\xc3\xa9t\xc3\xa9\",\"c\":null,\"d\":null,"
		   "\"e\":null,\"f\":null,\"g\":[true,-3]}",
		   "escaped, invalid UTF-8 as null");
	json_t *p = json_loads(buf, 0, NULL);
	tap_ok(p && !strcmp(json_string_value(json_object_get(p, "a")), "q\"b\\\n\x01z"),
	       "jansson reads the escapes back");
	json_decref(p);

	/* Every special byte at every place of a string longer than a word. */
	static const char specials[] = { 0x01, 0x1f, '"', '\\', 0x7f, ' ', (char) 0xc3 };
	int bad = 0;
	for (size_t k = 0; k < sizeof(specials); k++)
		for (size_t pos = 0; pos < 19; pos++) {
			char in[20] = "abcdefghijklmnopqrs";
			json_t *back;

			in[pos] = specials[k];
			jbuf_init(&j, buf, sizeof(buf));
			jbuf_string(&j, NULL, in, 19);
			if (jbuf_finish(&j) < 0) {
				bad++;
				continue;
			}
			back = json_loads(buf, JSON_DECODE_ANY, NULL);
			/* 0xc3 alone is not UTF-8: null; the rest reads back as it was. */
			if (specials[k] == (char) 0xc3
				? !json_is_null(back)
				: !json_is_string(back) || json_string_length(back) != 19 ||
				      memcmp(json_string_value(back), in, 19) != 0)
				bad++;
			json_decref(back);
		}
	TAP_EQ_INT(bad, 0, "special bytes at every place of a long string");

	/* Every length up to three words, each special byte at every place:
	 * the short and the overlapping copies. */
	bad = 0;
	for (size_t len = 0; len <= 24; len++)
		for (size_t k = 0; k <= sizeof(specials); k++)
			for (size_t pos = 0; pos < (len ? len : 1); pos++) {
				char in[25] = "ABCDEFGHIJKLMNOPQRSTUVWX";
				json_t *back;

				if (k < sizeof(specials) && len > 0)
					in[pos] = specials[k];
				jbuf_init(&j, buf, sizeof(buf));
				jbuf_string(&j, NULL, in, len);
				back = jbuf_finish(&j) < 0 ? NULL : json_loads(buf, JSON_DECODE_ANY, NULL);
				if (k < sizeof(specials) && len > 0 && specials[k] == (char) 0xc3
					? !json_is_null(back)
					: !json_is_string(back) || json_string_length(back) != len ||
					      memcmp(json_string_value(back), in, len) != 0)
					bad++;
				json_decref(back);
			}
	TAP_EQ_INT(bad, 0, "strings of every length up to 24, special bytes anywhere");

	/* Keys of every length up to 40 in buffers of every size: the text
	 * jansson reads back, or -ENOBUFS and nothing past the buffer. */
	bad = 0;
	for (size_t klen = 1; klen <= 40; klen++) {
		char key[41], big[256], small[256];
		int n;

		memset(key, 'k', klen);
		key[klen] = '\0';
		jbuf_init(&j, big, sizeof(big));
		jbuf_object(&j, NULL);
		jbuf_int(&j, "a", 1);
		jbuf_int(&j, key, 2);
		jbuf_object(&j, key + 1);
		jbuf_end_object(&j);
		jbuf_end_object(&j);
		n = jbuf_finish(&j);
		json_t *back = n > 0 ? json_loads(big, 0, NULL) : NULL;
		if (!back || json_integer_value(json_object_get(back, key)) != 2 ||
		    !json_is_object(json_object_get(back, key + 1)))
			bad++;
		json_decref(back);
		for (int size = 0; size <= n; size++) {
			memset(small, 'x', sizeof(small));
			jbuf_init(&j, small, (size_t) size);
			jbuf_object(&j, NULL);
			jbuf_int(&j, "a", 1);
			jbuf_int(&j, key, 2);
			jbuf_object(&j, key + 1);
			jbuf_end_object(&j);
			jbuf_end_object(&j);
			if ((jbuf_finish(&j) < 0) != (size <= n) || small[size] != 'x')
				bad++;
		}
	}
	TAP_EQ_INT(bad, 0, "keys of every length up to 40, buffers of every size");

	/* Deeper than the writer keeps track of: refused, never a wrong text. */
	jbuf_init(&j, buf, sizeof(buf));
	for (int i = 0; i < JBUF_DEPTH_MAX + 2; i++)
		jbuf_array(&j, NULL);
	TAP_EQ_INT(jbuf_finish(&j), -ENOBUFS, "too deep: refused");
}

static struct reading v;

static void test_too_small(void)
{
	char full[READING_JSON_TEXT_POWER_MAX], small[READING_JSON_TEXT_POWER_MAX];
	int n, bad = 0;

	TAP_EQ_INT(decode_frame(&v,
				"/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n"
				"1-0:1.8.1(003432.829*kWh)\r\n1-0:1.7.0(00.433*kW)\r\n"
				"0-1:24.1.0(003)\r\n0-1:96.1.0(4730303139333430323231313938313135)\r\n"
				"0-1:24.2.1(190324150500W)(00092.287*m3)\r\n!",
				1700000000),
		   0, "telegram with gas decodes");
	n = reading_json_text_power_instant(&v, full, sizeof(full));
	tap_ok(n > 0 && strstr(full, "\"gas\":{\"value\":92.287,\"unit\":\"m3\"") != NULL, "gas channel: %s",
	       full);
	/* Every smaller buffer: -ENOBUFS, and nothing written past its end. */
	for (int size = 0; size <= n; size++) {
		memset(small, 'x', sizeof(small));
		if (reading_json_text_power_instant(&v, small, (size_t) size) != -ENOBUFS ||
		    small[size] != 'x')
			bad++;
	}
	TAP_EQ_INT(bad, 0, "every buffer too small is refused and not overrun");
	TAP_EQ_INT(reading_json_text_power_instant(&v, small, (size_t) n + 1), n, "the exact size fits");
}

enum section { SYSTEM, METER, NETWORK, MQTT, MODBUS, MODBUS_RTU };

struct section_case {
	enum section which;
	const struct status_meter_report *r;
	struct netinfo ni;
	int a, b;
	const char *s1, *s2;
	struct status_rtu_report rtu;
};

/* One section as text (in an object the test opens) against status.c's tree. */
static void same_section(const struct section_case *c, const char *what)
{
	char buf[4096];
	struct jbuf j;
	json_t *tree = NULL, *parsed;
	char *a = NULL, *b = NULL;

	jbuf_init(&j, buf, sizeof(buf));
	jbuf_object(&j, NULL);
	switch (c->which) {
	case SYSTEM:
		status_text_system(&j, c->s1, c->s2, (uint64_t) c->a);
		tree = status_system(c->s1, c->s2, (uint64_t) c->a);
		break;
	case METER:
		status_text_meter(&j, c->r);
		tree = status_meter(c->r);
		break;
	case NETWORK:
		status_text_network(&j, &c->ni, c->a, c->b);
		tree = status_network(&c->ni, c->a, c->b);
		break;
	case MQTT:
		status_text_mqtt(&j, c->a, c->s1, c->s2);
		tree = status_mqtt(c->a, c->s1, c->s2);
		break;
	case MODBUS:
		status_text_modbus(&j, (unsigned) c->a, (uint16_t) c->b, c->s1);
		tree = status_modbus((unsigned) c->a, (uint16_t) c->b, c->s1);
		break;
	case MODBUS_RTU:
		status_text_modbus_rtu(&j, &c->rtu);
		tree = status_modbus_rtu(&c->rtu);
		break;
	}
	jbuf_end_object(&j);
	parsed = jbuf_finish(&j) >= 0 ? json_loads(buf, JSON_REJECT_DUPLICATES, NULL) : NULL;
	a = tree ? json_dumps(tree, READING_JSON_DUMP_FLAGS) : NULL;
	b = parsed ? json_dumps(parsed, READING_JSON_DUMP_FLAGS) : NULL;
	if (!tap_ok(a && b && !strcmp(a, b), "status section as text equals the tree: %s", what))
		tap_diag("tree %s, text %s", a ? a : "(null)", buf);
	free(a);
	free(b);
	json_decref(tree);
	json_decref(parsed);
}

static void test_status_sections(void)
{
	static struct snapshot snap = { .real_usec = 1700000000 * USEC_PER_SEC + 500000 };
	struct status_meter_report none = { .state = STATUS_METER_NO_DATA,
					    .status = "no meter data",
					    .device = "/dev/ttyUSB0",
					    .protocol = "" };
	struct status_meter_report live = { .state = STATUS_METER_RECEIVING,
					    .status = "receiving DSMR 5.0 telegrams",
					    .device = "/dev/ttyUSB0",
					    .protocol = "dsmr",
					    .stale = true,
					    .telegrams_pass = 12345678901ULL,
					    .telegrams_fail = 2,
					    .frame_fail = 3,
					    .snap = &snap };
	struct netinfo ni = { .interface = "eth0",
			      .link = NETINFO_LINK_UP,
			      .address = "192.168.1.20",
			      .gateway = "192.168.1.1" };

	snap.v = v; /* the gas meter of test_too_small() */
	same_section(&(struct section_case){ .which = SYSTEM, .s1 = "0123abcd", .s2 = "1.2.3", .a = 42 },
		     "system");
	same_section(&(struct section_case){ .which = METER, .r = &none }, "meter, no data");
	same_section(&(struct section_case){ .which = METER, .r = &live }, "meter, receiving, with gas");
	for (int g = -1; g <= 1; g++)
		same_section(&(struct section_case){ .which = NETWORK, .ni = ni, .a = g, .b = -g },
			     "network");
	same_section(&(struct section_case){ .which = NETWORK, .a = -1, .b = -1 }, "network, nothing known");
	same_section(&(struct section_case){ .which = MQTT, .a = 1, .s1 = "connected" }, "mqtt, no error");
	same_section(&(struct section_case){ .which = MQTT, .s1 = "disabled", .s2 = "" },
		     "mqtt, empty error");
	same_section(
	    &(struct section_case){ .which = MQTT, .a = 1, .s1 = "disconnected", .s2 = "refused \"x\"" },
	    "mqtt, an error to escape");
	same_section(
	    &(struct section_case){ .which = MODBUS, .a = 3, .b = 502, .s1 = "PhoenixContact-EMPro" },
	    "modbus");
	same_section(
	    &(struct section_case){ .which = MODBUS_RTU,
				    .rtu = { .device = "", .unit_id = 1, .meter_type = "Eastron-SDM630" } },
	    "modbus_rtu, off");
	same_section(&(struct section_case){ .which = MODBUS_RTU,
					     .rtu = { .enabled = true,
						      .device = "/dev/ttyS1",
						      .open = true,
						      .unit_id = 247,
						      .meter_type = "PhoenixContact-EMPro",
						      .requests = 18446744073709551ULL,
						      .exceptions = 2,
						      .ignored = 3,
						      .bad_frames = 4 } },
		     "modbus_rtu, open, counting");
	same_section(
	    &(struct section_case){
		.which = MODBUS_RTU,
		.rtu = { .enabled = true, .device = "/dev/tty\"x\"", .meter_type = "x" } },
	    "modbus_rtu, a device to escape, closed");
}

struct sample {
	const char *name;
	struct decode_opts opts;
	unsigned frames, same, same_lines, same_tight;
	char *line; /* READING_JSON_TEXT_TELEGRAM_MAX */
};

/* A whole smartconnect-decode line, text against tree. */
static void same_line(struct sample *s, const struct reading *r)
{
	json_t *tree = reading_json_telegram(r, &s->opts), *parsed = NULL;
	char *a = tree ? json_dumps(tree, READING_JSON_DUMP_FLAGS) : NULL, *b = NULL;

	if (reading_json_text_telegram(r, &s->opts, s->line, READING_JSON_TEXT_TELEGRAM_MAX) >= 0)
		parsed = json_loads(s->line, JSON_REJECT_DUPLICATES, NULL);
	if (parsed)
		b = json_dumps(parsed, READING_JSON_DUMP_FLAGS);
	if (a && b && !strcmp(a, b) && json_equal(tree, parsed))
		s->same_lines++;
	else
		tap_diag("%s: frame %u: tree %s\ntext %s", s->name, s->frames, a ? a : "(null)", s->line);
	free(a);
	free(b);
	json_decref(tree);
	json_decref(parsed);
}

static void on_accept(const struct reading *r, void *userdata)
{
	struct sample *s = userdata;
	char text[READING_JSON_TEXT_POWER_MAX];
	json_t *tree = reading_json_power_instant(r), *parsed = NULL;
	char *a = tree ? json_dumps(tree, READING_JSON_DUMP_FLAGS) : NULL, *b = NULL;

	char tight[READING_JSON_TEXT_POWER_MAX];
	int n;

	s->frames++;
	n = reading_json_text_power_instant(r, text, sizeof(text));
	if (n >= 0)
		parsed = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	/* Byte for byte the same in a buffer of its size, written member by member. */
	if (n >= 0 && reading_json_text_power_instant(r, tight, (size_t) n + 1) == n && !strcmp(tight, text))
		s->same_tight++;
	else
		tap_diag("%s: frame %u: in %d bytes %s, text %s", s->name, s->frames, n + 1, tight, text);
	if (parsed)
		b = json_dumps(parsed, READING_JSON_DUMP_FLAGS);
	if (a && b && !strcmp(a, b) && json_equal(tree, parsed))
		s->same++;
	else
		tap_diag("%s: frame %u: tree %s, text %s", s->name, s->frames, a ? a : "(null)", text);
	free(a);
	free(b);
	json_decref(tree);
	json_decref(parsed);
	same_line(s, r);
}

static void on_reject(const struct telegram_reject *r, void *userdata)
{
	(void) r;
	(void) userdata;
}

/* The keys of an encrypted sample, from its sidecar: its frames count too. */
static struct decode_opts sample_opts(const char *side_path)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;
	json_t *side = json_load_file(side_path, 0, NULL);
	json_t *keys = json_object_get(side, "keys");
	const char *enc = json_string_value(json_object_get(keys, "encryption_key"));
	const char *auth = json_string_value(json_object_get(keys, "authentication_key"));

	o.keys.has_enc = enc && dlms_key_parse(enc, o.keys.enc) == 0;
	o.keys.has_auth = auth && dlms_key_parse(auth, o.keys.auth) == 0;
	json_decref(side);
	return o;
}

static unsigned run_file(const char *dir, const char *name)
{
	char path[4096];
	size_t len;
	struct sample s = { .name = name, .line = malloc(READING_JSON_TEXT_TELEGRAM_MAX) };
	struct telegram *t;

	if (snprintf(path, sizeof(path), "%s/%.*s.json", dir, (int) (strlen(name) - 4), name) >=
	    (int) sizeof(path))
		return 0;
	s.opts = sample_opts(path);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path))
		return 0;
	char *data = tap_read_file(path, &len);

	if (!data || !s.line || telegram_new(TELEGRAM_HUNT_ALL, &s.opts, on_accept, on_reject, &s, &t) < 0) {
		tap_ok(false, "%s: loads", name);
		free(data);
		free(s.line);
		return 0;
	}
	telegram_feed(t, data, len, 1700000000);
	telegram_flush(t);
	telegram_free(t);
	free(data);
	tap_ok(s.same == s.frames, "%s: power_instant text equals the tree in %u of %u frames", name, s.same,
	       s.frames);
	tap_ok(s.same_lines == s.frames, "%s: the decode line (objects) equals the tree in %u of %u frames",
	       name, s.same_lines, s.frames);
	tap_ok(s.same_tight == s.frames,
	       "%s: power_instant the same in a buffer of its size in %u of %u frames", name, s.same_tight,
	       s.frames);
	free(s.line);
	return s.frames;
}

static void run_dir(const char *datadir, const char *sub)
{
	char dir[4096];
	unsigned frames = 0;
	struct dirent *de;

	snprintf(dir, sizeof(dir), "%s/%s", datadir, sub);
	DIR *d = opendir(dir);
	if (!tap_ok(d != NULL, "open %s", dir))
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && !strcmp(de->d_name + l - 4, ".raw"))
			frames += run_file(dir, de->d_name);
	}
	closedir(d);
	tap_ok(frames > 0, "%s: %u frames compared", sub, frames);
}

int main(void)
{
	const char *datadir = getenv("TESTDATA");

	test_decimals();
	test_strings();
	test_too_small();
	test_status_sections();
	if (tap_ok(datadir != NULL, "TESTDATA is set")) {
		run_dir(datadir, "dsmr");
		run_dir(datadir, "tic");
		run_dir(datadir, "bad");
	}
	return tap_done();
}
