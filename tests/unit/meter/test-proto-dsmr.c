/* SPDX-License-Identifier: MIT */
/*
 * The DSMR decoder on its own: the reference telegram (shared/reference/p1-dsmr.md
 * §13) with its expected decode, the normalisation rules of snapshot-mapping.md,
 * and broken, truncated, oversized and hostile telegrams.
 */
#include <errno.h>
#include <stdio.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/meter/proto.h"
#include "tap.h"

static struct reading v;
static enum telegram_error err;
static char detail[TELEGRAM_DETAIL_MAX];

/* Decode text as a telegram; with_crc appends the correct CRC after '!'. */
static int decode_opts(const char *body, bool with_crc, const struct decode_opts *o)
{
	size_t n = strlen(body);

	if (n + 8 > sizeof(v.text))
		abort();
	memcpy(v.text, body, n);
	if (with_crc)
		n += (size_t) sprintf(v.text + n, "%04X\r\n", crc16_arc(body, n));
	v.text_len = (uint16_t) n;
	err = _TELEGRAM_ERR_MAX;
	detail[0] = '\0';
	return proto_dsmr_decode(&v, o, 1700000000, &err, detail);
}

static int decode(const char *body, bool with_crc)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;
	return decode_opts(body, with_crc, &o);
}

#define F(x) ((int64_t) ((x) *1000000.0 + ((x) < 0 ? -0.5 : 0.5)))

static const char reference[] = "/ABC5\\2DEMO-0001\r\n"
				"\r\n"
				"1-3:0.2.8(50)\r\n"
				"0-0:1.0.0(240315143000W)\r\n"
				"0-0:96.1.1(44454D4F3030303030303031)\r\n"
				"1-0:1.8.1(001234.567*kWh)\r\n"
				"1-0:1.8.2(002345.678*kWh)\r\n"
				"1-0:2.8.1(000123.456*kWh)\r\n"
				"1-0:2.8.2(000234.567*kWh)\r\n"
				"0-0:96.14.0(0002)\r\n"
				"1-0:1.7.0(00.000*kW)\r\n"
				"1-0:2.7.0(01.250*kW)\r\n"
				"0-0:96.7.21(00003)\r\n"
				"0-0:96.7.9(00001)\r\n"
				"1-0:99.97.0(1)(0-0:96.7.19)(240101120500W)(0000000300*s)\r\n"
				"0-0:96.13.0(48656C6C6F)\r\n"
				"1-0:32.7.0(231.5*V)\r\n"
				"1-0:52.7.0(230.9*V)\r\n"
				"1-0:72.7.0(232.1*V)\r\n"
				"1-0:31.7.0(002*A)\r\n"
				"1-0:51.7.0(003*A)\r\n"
				"1-0:71.7.0(004*A)\r\n"
				"1-0:21.7.0(00.450*kW)\r\n"
				"1-0:41.7.0(00.000*kW)\r\n"
				"1-0:61.7.0(00.000*kW)\r\n"
				"1-0:22.7.0(00.000*kW)\r\n"
				"1-0:42.7.0(00.700*kW)\r\n"
				"1-0:62.7.0(01.000*kW)\r\n"
				"0-1:24.1.0(003)\r\n"
				"0-1:96.1.0(4744454D4F3030303031)\r\n"
				"0-1:24.2.1(240315142500W)(01234.567*m3)\r\n"
				"!F0BF\r\n";

static void test_reference(void)
{
	TAP_EQ_INT(decode(reference, false), 0, "reference telegram decodes");
	TAP_EQ_INT(crc16_arc(reference, strchr(reference, '!') - reference + 1), 0xF0BF, "its CRC is F0BF");
	TAP_EQ_INT(strchr(reference, '!') - reference + 1, 743, "743 bytes from '/' to '!'");
	TAP_EQ_INT(v.ts, 1710509400, "ts = 2024-03-15 13:30:00 UTC");
	TAP_EQ_STR(v.id, "DEMO00000001", "equipment id");
	TAP_EQ_STR(v.version, "5.0", "version");
	TAP_EQ_INT(v.interval_s, 1, "DSMR 5 interval");
	TAP_EQ_INT(v.field[READING_E_IMPORT], F(3580.245), "E_IMPORT = 3580.245 kWh");
	TAP_EQ_INT(v.field[READING_E_EXPORT], F(358.023), "E_EXPORT = 358.023 kWh");
	TAP_EQ_INT(v.field[READING_P], F(-1250), "P = -1250 W");
	TAP_EQ_INT(v.field[READING_P1], F(450), "P1 = +450 W");
	TAP_EQ_INT(v.field[READING_P2], F(-700), "P2 = -700 W");
	TAP_EQ_INT(v.field[READING_P3], F(-1000), "P3 = -1000 W");
	TAP_EQ_INT(v.field[READING_I1], F(2), "I1 = +2 A");
	TAP_EQ_INT(v.field[READING_I2], F(-3), "I2 = -3 A (sign of the phase power)");
	TAP_EQ_INT(v.field[READING_I3], F(-4), "I3 = -4 A");
	TAP_EQ_INT(v.field[READING_U2], F(230.9), "U2");
	tap_ok(!reading_has(&v, READING_U12) && !reading_has(&v, READING_U31) &&
		   !reading_has(&v, READING_U32),
	       "line voltages null");
	TAP_EQ_INT(v.n_objects, 29, "every object kept");
	const struct reading_object *o = reading_find(&v, "0-1:24.2.1");
	tap_ok(o && o->count == 2 && !memcmp(reading_str(&v, v.values[o->first + 1]), "01234.567*m3", 12),
	       "gas reading kept with its capture time");
	o = reading_find(&v, "1-0:99.97.0");
	TAP_EQ_INT(o ? o->count : 0, 4, "failure log values kept");
}

static void test_crc_rules(void)
{
	char buf[1024];

	strcpy(buf, reference);
	buf[100] ^= 1;
	TAP_EQ_INT(decode(buf, false), -EBADMSG, "one flipped bit");
	TAP_EQ_INT(err, TELEGRAM_ERR_CRC, "rejected as CRC mismatch");
	tap_ok(strstr(detail, "F0BF") != NULL, "detail names the stated CRC: %s", detail);

	strcpy(buf, reference);
	strcpy(strchr(buf, '!') + 1, "f0bf\r\n");
	TAP_EQ_INT(decode(buf, false), 0, "lower-case CRC");

	const char *short_crc = "/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(000671.578*kWh)\r\n!";
	snprintf(buf, sizeof(buf), "%s%X\r\n", short_crc, crc16_arc(short_crc, strlen(short_crc)));
	TAP_EQ_INT(decode(short_crc, true), 0, "four-digit CRC");
	const char *b9f = "/HEA5\r\n\r\n0-1:24.2.1(101209112500W)(20001.123*GJ)\r\n!";
	unsigned c = crc16_arc(b9f, strlen(b9f));
	snprintf(buf, sizeof(buf), "%s%X\r\n", b9f, c);
	tap_ok(c < 0x1000 && strlen(strchr(buf, '!')) == 6 && decode(buf, false) == 0, "three-digit CRC %X",
	       c);

	strcpy(buf, reference);
	strcpy(strchr(buf, '!') + 1, "0F0BF\r\n");
	TAP_EQ_INT(decode(buf, false), -EBADMSG, "five CRC digits");
	TAP_EQ_INT(err, TELEGRAM_ERR_SYNTAX, "rejected as malformed");

	strcpy(buf, reference);
	strcpy(strchr(buf, '!') + 1, "\r\n");
	TAP_EQ_INT(decode(buf, false), -EBADMSG, "version 5.0 without CRC");
	TAP_EQ_INT(err, TELEGRAM_ERR_CRC_MISSING, "rejected as CRC missing");

	TAP_EQ_INT(
	    decode("/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(12345.678*kWh)\r\n1-0:1.7.0(001.19*kW)\r\n!\r\n",
		   false),
	    0, "DSMR 2.2/3.0 without CRC");
	TAP_EQ_STR(v.version, "2.2/3.0", "version guessed from the missing CRC");
	tap_ok(v.ts == 1700000000 && (v.flags & READING_FLAG_TS_HOST), "no clock: host time");
	TAP_EQ_INT(v.field[READING_P], F(1190), "P = +1.7.0 when 2.7.0 is absent");
	tap_ok(!reading_has(&v, READING_E_EXPORT), "no export register: E_EXPORT null");
}

static void test_normalisation(void)
{
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.0(000010.000*kWh)\r\n1-0:1.8.1(000001.000*kWh)\r\n"
			  "1-0:1.8.2(000002.000*kWh)\r\n!",
			  true),
		   0, "total and tariffs");
	TAP_EQ_INT(v.field[READING_E_IMPORT], F(10), "1.8.0 preferred over the tariff sum");

	TAP_EQ_INT(
	    decode(
		"/XXX5\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n1-0:1.8.2(garbage)\r\n1-0:1.7.0(00.100*kW)\r\n!",
		true),
	    0, "an unreadable tariff register");
	tap_ok(!reading_has(&v, READING_E_IMPORT), "E_IMPORT null rather than a partial sum");
	TAP_EQ_INT(v.field[READING_P], F(100), "other values still published");

	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.7.0(00.100*kWh)\r\n!", true), 0, "power with an energy unit");
	tap_ok(!reading_has(&v, READING_P), "P null for a wrong unit");

	TAP_EQ_INT(
	    decode("/XXX5\r\n\r\n1-0:31.7.0(-012.5*A)\r\n1-0:21.7.0(00.000*kW)\r\n1-0:22.7.0(02.000*kW)\r\n!",
		   true),
	    0, "Swedish signed current");
	TAP_EQ_INT(v.field[READING_I1], F(-12.5), "a negative current is kept as sent");

	TAP_EQ_INT(
	    decode("/XXX5\r\n\r\n1-0:31.7.0(003*A)\r\n1-0:21.7.0(00.000*kW)\r\n1-0:22.7.0(00.000*kW)\r\n!",
		   true),
	    0, "no power on the phase");
	TAP_EQ_INT(v.field[READING_I1], F(3), "current stays positive when P is 0");

	/* Belgian 3x230 V: L2 voltage 0, L1/L3 against L2. */
	const char *delta = "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(01.000*kW)\r\n"
			    "1-0:32.7.0(231.0*V)\r\n1-0:52.7.0(000.0*V)\r\n1-0:72.7.0(229.0*V)\r\n"
			    "1-0:31.7.0(002.00*A)\r\n1-0:21.7.0(00.600*kW)\r\n1-0:41.7.0(00.000*kW)\r\n"
			    "1-0:61.7.0(00.400*kW)\r\n!";
	TAP_EQ_INT(decode(delta, true), 0, "e-MUCS on a 3x230 V grid");
	tap_ok(v.flags & READING_FLAG_DELTA_GRID, "detected as delta grid");
	TAP_EQ_INT(v.field[READING_U12], F(231), "U12 from 32.7.0");
	TAP_EQ_INT(v.field[READING_U32], F(229), "U32 from 72.7.0");
	tap_ok(!reading_has(&v, READING_U1) && !reading_has(&v, READING_P1) && !reading_has(&v, READING_I1) &&
		   !reading_has(&v, READING_U31),
	       "no phase values on a delta grid");
	TAP_EQ_INT(v.field[READING_P], F(1000), "P kept");
	TAP_EQ_STR(v.version, "e-MUCS 1.7 (DSMR 5.0.2)", "e-MUCS version");

	struct decode_opts wye = { .std_offset_min = 60, .grid = DECODE_GRID_WYE };
	TAP_EQ_INT(decode_opts(delta, true, &wye), 0, "grid forced to wye");
	tap_ok(!(v.flags & READING_FLAG_DELTA_GRID) && reading_has(&v, READING_U2), "phase values as sent");

	TAP_EQ_INT(decode("/EST5\\253710000_A\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(221006155014S)\r\n"
			  "1-0:1.8.0(006545766*Wh)\r\n1-0:1.7.0(000000286*W)\r\n1-0:2.7.0(000000000*W)\r\n!",
			  true),
		   0, "Wh and W units");
	TAP_EQ_INT(v.field[READING_E_IMPORT], F(6545.766), "Wh scaled to kWh");
	TAP_EQ_INT(v.field[READING_P], F(286), "W kept as W");
	TAP_EQ_INT(v.ts, 1665064214, "summer time telegram");

	TAP_EQ_INT(decode("/XXX5\r\n\r\n0-0:1.0.0(632525252525W)\r\n1-0:1.8.1(1*kWh)\r\n!", true), 0,
		   "placeholder clock");
	tap_ok(v.flags & READING_FLAG_TS_HOST, "placeholder clock: host time");

	TAP_EQ_INT(
	    decode("/KMP5 KA6U001660297912\r\n\r\n0-1:24.3.0(160315210000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n"
		   "(04083.631)\r\n!\r\n",
		   false),
	    0, "DSMR 2.2 gas value on the next line");
	const struct reading_object *o = reading_find(&v, "0-1:24.3.0");
	tap_ok(o && o->count == 7 && !memcmp(reading_str(&v, v.values[o->first + 6]), "04083.631", 9),
	       "continuation value appended to the gas object");

	TAP_EQ_INT(decode("/ESY5Q3DA1004 V3.04\r\n\r\n1-0:1.8.0*255(00032549.5061662*kWh)\r\n"
			  "0-0:96.1.255*255(1ESY1336001560)\r\n!\r\n",
			  false),
		   0, "OBIS codes with *255");
	TAP_EQ_STR(v.id, "1ESY1336001560", "plain serial as identifier");
	TAP_EQ_INT(v.field[READING_E_IMPORT], F(32549.506166), "E_IMPORT to the micro kWh");
}

/* Belgian single-phase e-MUCS: no 21.7.0/22.7.0, so L1's direction is the total's. */
static void test_single_phase_sign(void)
{
	const char *export = "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(00.000*kW)\r\n"
			     "1-0:2.7.0(00.611*kW)\r\n1-0:32.7.0(232.9*V)\r\n1-0:31.7.0(002.00*A)\r\n!";
	const char *import = "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(00.611*kW)\r\n"
			     "1-0:2.7.0(00.000*kW)\r\n1-0:32.7.0(232.9*V)\r\n1-0:31.7.0(002.00*A)\r\n!";
	const char *three = "/XXX5\r\n\r\n1-0:1.7.0(00.000*kW)\r\n1-0:2.7.0(00.611*kW)\r\n"
			    "1-0:31.7.0(002*A)\r\n1-0:51.7.0(001*A)\r\n!";

	TAP_EQ_INT(decode(export, true), 0, "single-phase e-MUCS feeding in");
	TAP_EQ_INT(v.field[READING_P], F(-611), "P = -611 W");
	TAP_EQ_INT(v.field[READING_I1], F(-2), "I1 = -2 A: the sign of the total power");
	TAP_EQ_INT(v.field[READING_U1], F(232.9), "U1 as sent");
	tap_ok(!reading_has(&v, READING_P1), "P1 stays null: the meter does not send it");
	TAP_EQ_INT(decode(import, true), 0, "the same meter drawing");
	TAP_EQ_INT(v.field[READING_I1], F(2), "I1 = +2 A");
	TAP_EQ_INT(decode(three, true), 0, "two phase currents, no phase powers");
	tap_ok(v.field[READING_I1] == F(2) && v.field[READING_I2] == F(1),
	       "more than one phase: currents stay magnitudes");
}

/* A negative counter under a valid CRC is not a reading: null, and the frame says why. */
static void test_negative_energy(void)
{
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(-000001.000*kWh)\r\n1-0:1.8.2(000002.000*kWh)\r\n"
			  "1-0:2.8.0(000003.000*kWh)\r\n1-0:1.7.0(00.100*kW)\r\n!",
			  true),
		   0, "a negative tariff register: the telegram is accepted");
	tap_ok(!reading_has(&v, READING_E_IMPORT), "E_IMPORT null, not the sum with a negative term");
	tap_ok(v.flags & READING_FLAG_ENERGY_NEGATIVE, "flagged energy_negative");
	TAP_EQ_INT(v.field[READING_E_EXPORT], F(3), "E_EXPORT still published");
	TAP_EQ_INT(v.field[READING_P], F(100), "P still published");

	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:2.8.0(-000003.000*kWh)\r\n1-0:2.8.1(000001.000*kWh)\r\n!", true),
		   0, "a negative total register");
	tap_ok(!reading_has(&v, READING_E_EXPORT), "E_EXPORT null: no fallback to the tariff sum");
	tap_ok(v.flags & READING_FLAG_ENERGY_NEGATIVE, "flagged energy_negative");

	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(000000.000*kWh)\r\n!", true), 0, "zero is a reading");
	tap_ok(reading_has(&v, READING_E_IMPORT) && !(v.flags & READING_FLAG_ENERGY_NEGATIVE),
	       "E_IMPORT = 0, no flag");
}

static void test_hostile(void)
{
	static char big[READING_TEXT_MAX];
	size_t n;

	TAP_EQ_INT(decode("", false), -EBADMSG, "empty");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(1*kWh)\r\n", false), -EBADMSG, "no '!'");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n!", true), -EBADMSG, "no data object");
	TAP_EQ_INT(err, TELEGRAM_ERR_EMPTY, "rejected as empty");
	TAP_EQ_INT(decode("/XXX5\r\n\r\nhello world\r\n!", true), -EBADMSG, "not an OBIS line");
	TAP_EQ_INT(err, TELEGRAM_ERR_SYNTAX, "rejected as malformed");
	tap_ok(strstr(detail, "line 3") != NULL, "detail names the line: %s", detail);
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(1*kWh\r\n!", true), -EBADMSG, "unclosed parenthesis");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(1(2)*kWh)\r\n!", true), -EBADMSG, "nested parenthesis");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(1*kWh)junk\r\n!", true), -EBADMSG, "junk after the values");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1\r\n!", true), -EBADMSG, "code without value");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1000(1)\r\n!", true), -EBADMSG, "OBIS group over 255");
	TAP_EQ_INT(decode("/XXX5\r\n\r\n(1)\r\n!", true), -EBADMSG, "value line without an object");

	n = (size_t) sprintf(big, "/XXX5\r\n\r\n");
	for (unsigned i = 0; i < 300; i++)
		n += (size_t) sprintf(big + n, "1-0:1.8.%u(1)\r\n", i % 200);
	strcpy(big + n, "!");
	TAP_EQ_INT(decode(big, true), -EBADMSG, "300 objects");
	TAP_EQ_INT(err, TELEGRAM_ERR_TOO_LONG, "rejected as too long");

	n = (size_t) sprintf(big, "/XXX5\r\n\r\n0-0:96.13.0");
	for (unsigned i = 0; i < 1100; i++)
		n += (size_t) sprintf(big + n, "()");
	strcpy(big + n, "\r\n!");
	TAP_EQ_INT(decode(big, true), -EBADMSG, "1100 values on one line");
	TAP_EQ_INT(err, TELEGRAM_ERR_TOO_LONG, "rejected as too long");

	TAP_EQ_INT(decode("/XXX5\r\n\r\n1-0:1.8.1(99999999999999999999*kWh)\r\n!", true), 0,
		   "absurdly large number");
	tap_ok(!reading_has(&v, READING_E_IMPORT), "not published");
}

int main(void)
{
	test_reference();
	test_crc_rules();
	test_normalisation();
	test_single_phase_sign();
	test_negative_energy();
	test_hostile();
	return tap_done();
}
