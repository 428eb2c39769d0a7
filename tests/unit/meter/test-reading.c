/* SPDX-License-Identifier: MIT */
/* Number parsing, unit scaling and hex text: good, edge and hostile values. */
#include <errno.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/reading.h"
#include "reading-ref.h"
#include "tap.h"

static int64_t micro(const char *s, enum reading_quantity q, const char *def)
{
	struct reading_number n;
	int64_t r;

	if (reading_parse_number(s, strlen(s), &n) < 0 || reading_scale(&n, q, def, &r) < 0)
		return INT64_MIN;
	return r;
}

static int parse_err(const char *s)
{
	struct reading_number n;
	return reading_parse_number(s, strlen(s), &n);
}

/* Objects of every length around the eight-byte word reading_find() compares
 * first, with codes that differ only inside that word or only after it. */
static void test_find(void)
{
	static struct reading v;
	static const char *const ids[] = { "0-0:1.0",   "1-0:1.8.1",  "1-0:1.8.2", "0-1:24.2.1",
					   "1-0:1.4.0", "0-0:96.1.4", "1-0:2.8.1" };
	size_t off = 0;

	reading_reset(&v);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		size_t n = strlen(ids[i]);

		memcpy(v.text + off, ids[i], n);
		(void) reading_add_object(&v, (uint16_t) off, (uint16_t) n);
		off += n;
	}
	v.text_len = (uint16_t) off;
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		tap_ok(reading_find(&v, ids[i]) == &v.objects[i], "find %s", ids[i]);
	tap_ok(!reading_find(&v, "1-0:1.8.3"), "same word, another last byte: none");
	tap_ok(!reading_find(&v, "2-0:1.8.2"), "another first byte: none");
	tap_ok(!reading_find(&v, "0-0:1.1"), "short code, another byte: none");
	tap_ok(!reading_find(&v, "0-0:96.1.1"), "ten bytes, the last differs: none");
	tap_ok(!reading_find(&v, "1-0:1.8"), "a prefix: none");
	tap_ok(!reading_find(&v, ""), "empty: none");
}

/* Units as meters write them, in every case, with prefixes, and near misses. */
static const char *const units[] = {
	"",      "kWh",   "KWH",  "kwh",   "kWH", "Kwh", "Wh",   "wh", "WH", "mWh", "MWh", "mwh",
	"kW",    "KW",    "kw",   "W",     "w",   "MW",  "mW",   "VA", "va", "Va",  "kVA", "KVA",
	"kva",   "MVA",   "V",    "v",     "kV",  "mV",  "A",    "a",  "mA", "MA",  "kA",  "m3",
	"k",     "M",     "m",    "kWhh",  "kWx", "Wx",  "x",    "h",  "H",  "kk",  "KK",  "\xd7",
	"\xd7W", "W\xc8", "\xc1", "\xd6h", "wH ", "s",   "kWh)", "Ah",
};

static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* A number as a meter (or line noise) might write it. */
static size_t random_number(uint32_t *st, char *buf)
{
	static const char *const signs[] = { "", "", "", "-", "+" };
	size_t n = 0;

	n += (size_t) sprintf(buf, "%s", signs[lcg(st) % 5]);
	for (unsigned k = lcg(st) % 22; k > 0; k--)
		buf[n++] = (char) (lcg(st) % 3 == 0 ? '0' : '0' + lcg(st) % 10);
	if (lcg(st) % 2) {
		buf[n++] = '.';
		for (unsigned k = lcg(st) % 9; k > 0; k--)
			buf[n++] = (char) ('0' + lcg(st) % 10);
	}
	if (lcg(st) % 8 == 0)
		buf[n++] = (char) (lcg(st) % 96 + 32);
	if (lcg(st) % 3)
		buf[n++] = '*';
	n += (size_t) sprintf(buf + n, "%s", units[lcg(st) % ARRAY_SIZE(units)]);
	return n;
}

/* The fast path against the plain model: same verdict, same value, same unit. */
static void test_against_model(uint32_t seed)
{
	static const char *const defaults[] = { "kWh", "kW", "V", "A", "VA", "W", "Wh", "mA" };
	uint32_t st = seed;
	unsigned bad = 0, runs = 20000;

	tap_diag("model seed %u", seed);
	for (unsigned i = 0; i < runs; i++) {
		char buf[96];
		size_t n = random_number(&st, buf);
		enum reading_quantity q = (enum reading_quantity)(lcg(&st) % 4);
		const char *def = defaults[lcg(&st) % ARRAY_SIZE(defaults)];
		struct reading_number a, b;
		int64_t x = 0, y = 0;
		int ra = ref_parse(buf, n, &a), rb = reading_parse_number(buf, n, &b);
		int sa = ra < 0 ? ra : ref_scale(&a, q, def, &x),
		    sb = reading_parse_scaled(buf, n, q, def, &y);

		if (rb >= 0 && (ra < 0 || a.mant != b.mant || a.decimals != b.decimals || a.unit != b.unit ||
				a.unit_len != b.unit_len))
			rb = -1000;
		if (sa != sb || (sa == 0 && x != y) || (rb < 0 && rb != ra && rb != -EINVAL) || rb == -1000) {
			if (bad++ < 5)
				tap_diag("differs: \"%.*s\" q %d default %s", (int) n, buf, q, def);
		}
	}
	tap_ok(bad == 0, "%u generated numbers parse and scale as the plain model does", runs);
}

int main(void)
{
	char text[64];

	TAP_EQ_INT(micro("003432.829*kWh", READING_Q_ENERGY, "kWh"), 3432829000LL, "kWh with '*'");
	TAP_EQ_INT(micro("001247.747kWh", READING_Q_ENERGY, "kWh"), 1247747000LL, "kWh without '*'");
	TAP_EQ_INT(micro("006545766*Wh", READING_Q_ENERGY, "kWh"), 6545766000LL, "integer Wh");
	TAP_EQ_INT(micro("00.433*kW", READING_Q_POWER, "kW"), 433000000LL, "kW to W");
	TAP_EQ_INT(micro("000000286*W", READING_Q_POWER, "kW"), 286000000LL, "W");
	TAP_EQ_INT(micro("000.27*A", READING_Q_AMPERE, "A"), 270000LL, "0.01 A resolution");
	TAP_EQ_INT(micro("-040*A", READING_Q_AMPERE, "A"), -40000000LL, "negative value");
	TAP_EQ_INT(micro("0230.0*V", READING_Q_VOLT, "V"), 230000000LL, "width not as specified");
	TAP_EQ_INT(micro("02700", READING_Q_POWER, "VA"), 2700000000LL, "no unit: the default unit");
	TAP_EQ_INT(micro("00032549.5061662*kWh", READING_Q_ENERGY, "kWh"), 32549506166LL,
		   "beyond micro: rounded");
	TAP_EQ_INT(micro("1.0000005*kWh", READING_Q_ENERGY, "kWh"), 1000001LL, "half rounds away from zero");
	TAP_EQ_INT(micro("01.000*kW", READING_Q_ENERGY, "kWh"), INT64_MIN,
		   "unit of another quantity refused");
	TAP_EQ_INT(micro("00092.287*m3", READING_Q_ENERGY, "kWh"), INT64_MIN, "m3 is no energy");
	TAP_EQ_INT(micro("1*KWH", READING_Q_ENERGY, "kWh"), 1000000LL, "KWH: units in any case");
	TAP_EQ_INT(micro("1*wH", READING_Q_ENERGY, "kWh"), 1000LL, "wH");
	TAP_EQ_INT(micro("1*mwh", READING_Q_ENERGY, "kWh"), 1LL, "m is milli");
	TAP_EQ_INT(micro("1*Mwh", READING_Q_ENERGY, "kWh"), 1000000000LL, "M is mega");
	TAP_EQ_INT(micro("1*Kva", READING_Q_POWER, "kW"), 1000000000LL, "Kva");
	TAP_EQ_INT(micro("2*mA", READING_Q_AMPERE, "A"), 2000LL, "mA");
	TAP_EQ_INT(micro("2*kv", READING_Q_VOLT, "V"), 2000000000LL, "kv");
	TAP_EQ_INT(micro("2*kVAh", READING_Q_POWER, "kW"), INT64_MIN, "four bytes: no unit");
	TAP_EQ_INT(micro("2*xWh", READING_Q_ENERGY, "kWh"), INT64_MIN, "three bytes without a prefix: none");
	TAP_EQ_INT(micro("2*k", READING_Q_POWER, "kW"), INT64_MIN, "a prefix alone: none");
	TAP_EQ_INT(micro("999999999999999999*MW", READING_Q_POWER, "kW"), INT64_MIN, "overflow refused");
	TAP_EQ_INT(parse_err(""), -EINVAL, "empty");
	TAP_EQ_INT(parse_err("*kWh"), -EINVAL, "unit only");
	TAP_EQ_INT(parse_err("."), -EINVAL, "point only");
	TAP_EQ_INT(parse_err("12."), -EINVAL, "trailing point");
	TAP_EQ_INT(parse_err("1.2.3"), -EINVAL, "two points");
	TAP_EQ_INT(parse_err("12 kWh"), -EINVAL, "space before the unit");
	TAP_EQ_INT(parse_err("-"), -EINVAL, "sign only");
	TAP_EQ_INT(parse_err("12345678901234567890"), -ERANGE, "20 significant digits");
	TAP_EQ_INT(parse_err("000000000000000000000001"), 0, "leading zeros are not significant");

	TAP_EQ_INT(reading_hex_to_text("4B384547303034303436333935353037", 32, text, sizeof(text)), 16,
		   "hex id");
	TAP_EQ_STR(text, "K8EG004046395507", "hex id decoded");
	TAP_EQ_INT(reading_hex_to_text("48656c6c6f", 10, text, sizeof(text)), 5, "lower-case hex");
	TAP_EQ_INT(reading_hex_to_text("123", 3, text, sizeof(text)), -EINVAL, "odd length");
	TAP_EQ_INT(reading_hex_to_text("0001", 4, text, sizeof(text)), -EINVAL, "control bytes");
	TAP_EQ_INT(reading_hex_to_text("zz", 2, text, sizeof(text)), -EINVAL, "not hex");
	TAP_EQ_INT(reading_hex_to_text("207E4a4B", 8, text, sizeof(text)), 4, "0x20 and 0x7e, mixed case");
	TAP_EQ_STR(text, " ~JK", "the printable edges decoded");
	TAP_EQ_INT(reading_hex_to_text("7F", 2, text, sizeof(text)), -EINVAL, "DEL refused");
	TAP_EQ_INT(reading_hex_to_text("1F", 2, text, sizeof(text)), -EINVAL, "0x1f refused");
	TAP_EQ_INT(reading_hex_to_text("80", 2, text, sizeof(text)), -EINVAL, "0x80 refused");
	TAP_EQ_INT(reading_hex_to_text("4G", 2, text, sizeof(text)), -EINVAL, "G is no hex digit");
	TAP_EQ_INT(reading_hex_to_text("g4", 2, text, sizeof(text)), -EINVAL, "g is no hex digit");
	TAP_EQ_INT(reading_hex_to_text("4\xb1", 2, text, sizeof(text)), -EINVAL, "'1' with bit 7 is none");
	TAP_EQ_INT(reading_hex_to_text("414243", 6, text, 3), 2, "cut at the buffer size");
	TAP_EQ_STR(text, "AB", "cut text is terminated");

	TAP_EQ_STR(reading_field_to_string(READING_E_IMPORT), "E_IMPORT", "field names");
	TAP_EQ_INT(reading_protocol_from_string("tic-standard"), READING_PROTO_TIC_STANDARD,
		   "protocol names");
	TAP_EQ_INT(reading_protocol_from_string("x"), _READING_PROTO_MAX, "unknown protocol name");
	test_find();
	test_against_model(20261207);
	return tap_done();
}
