/* SPDX-License-Identifier: MIT */
/*
 * M-Bus channels by device type: gas, water, heat and cooling meters on any
 * channel, each with its own capture time; a swapped meter that leaves a dead
 * channel behind (placeholder time, empty or frozen value); the DSMR 2.2/3.0
 * gas profile; and the real e-MUCS telegrams of tests/data.
 */
#include <stdio.h>
#include <stdlib.h>

#include "decode-frame.h"
#include "tap.h"

static struct reading v;

static int decode(const char *body)
{
	return decode_frame(&v, body, 1700000000);
}

static bool unit_is(const struct reading_mbus *m, const char *unit)
{
	return m->unit.len == strlen(unit) && !memcmp(reading_str(&v, m->unit), unit, m->unit.len);
}

#define HEAD "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(00.338*kW)\r\n"

static void test_kinds(void)
{
	const struct reading_mbus *gas = &v.mbus[READING_MBUS_GAS], *water = &v.mbus[READING_MBUS_WATER],
				  *heat = &v.mbus[READING_MBUS_HEAT], *cold = &v.mbus[READING_MBUS_COLD];

	/* Water first, gas on channel 3, heat in GJ on 2, cooling in kWh on 4. */
	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(007)\r\n0-1:96.1.1(3853455430303030393631313733)\r\n"
			       "0-1:24.2.1(231102121532W)(00008.579*m3)\r\n"
			       "0-2:24.1.0(004)\r\n0-2:24.2.1(231102120000W)(00012.345*GJ)\r\n"
			       "0-3:24.1.0(003)\r\n0-3:96.1.1(37464C4F32313233303838303237)\r\n"
			       "0-3:24.2.3(231102121002W)(00092.287*m3)\r\n"
			       "0-4:24.1.0(010)\r\n0-4:24.2.1(231102110000W)(00123.4*kWh)\r\n!"),
		   0, "four channels decode");
	tap_ok(gas->channel == 3 && gas->mant == 92287 && gas->decimals == 3 && unit_is(gas, "m3"),
	       "gas by device type 3, on channel 3: 92.287 m3");
	TAP_EQ_INT(gas->ts, 1698923402, "gas keeps its own capture time");
	tap_ok(gas->id.len == 28, "gas id span kept");
	tap_ok(water->channel == 1 && water->mant == 8579 && unit_is(water, "m3"),
	       "water by type 7 on channel 1");
	TAP_EQ_INT(water->ts, 1698923732, "water capture time");
	tap_ok(heat->channel == 2 && heat->mant == 12345 && unit_is(heat, "GJ"), "heat by type 4, in GJ");
	tap_ok(cold->channel == 4 && cold->mant == 1234 && cold->decimals == 1 && unit_is(cold, "kWh"),
	       "cooling by type 0x0A (010), in kWh");

	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(022)\r\n0-1:24.2.1(231102121532W)(00001.000*m3)\r\n"
			       "0-2:24.1.0(012)\r\n0-2:24.2.1(231102121532W)(00002.000*kWh)\r\n"
			       "0-3:24.1.0(002)\r\n0-3:24.2.1(231102121532W)(00003.000*kWh)\r\n!"),
		   0, "cold water, inlet heat meter and an unknown type");
	tap_ok(water->channel == 1 && heat->channel == 2, "0x16 cold water is water, 0x0C is heat");
	tap_ok(gas->channel == 0 && cold->channel == 0, "an electricity sub-meter (2) is no kind of ours");
}

static void test_swapped_meter(void)
{
	const struct reading_mbus *gas = &v.mbus[READING_MBUS_GAS];

	/* The old gas meter stays on channel 1 with a placeholder time. */
	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(003)\r\n0-1:96.1.1(1234567890123456789012345678)\r\n"
			       "0-1:24.2.3(632525252525W)(00000.000)\r\n"
			       "0-2:24.1.0(003)\r\n0-2:96.1.1(37464C4F32313233303838303237)\r\n"
			       "0-2:24.2.3(231102121002W)(00092.287*m3)\r\n!"),
		   0, "a dead channel 1 and a live channel 2");
	tap_ok(gas->channel == 2 && gas->mant == 92287, "the live channel wins");

	/* Both report, the old one frozen at an older time: the newer one is the meter in use. */
	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(003)\r\n0-1:24.2.1(230101000000W)(00500.000*m3)\r\n"
			       "0-2:24.1.0(003)\r\n0-2:24.2.1(231102121002W)(00001.500*m3)\r\n!"),
		   0, "two gas channels");
	tap_ok(gas->channel == 2 && gas->mant == 1500, "the newer capture time wins");
	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(003)\r\n0-1:24.2.1(231102121002W)(00500.000*m3)\r\n"
			       "0-2:24.1.0(003)\r\n0-2:24.2.1(231102121002W)(00001.500*m3)\r\n!"),
		   0, "two gas channels at the same time");
	TAP_EQ_INT(gas->channel, 1, "a tie goes to the lower channel");

	TAP_EQ_INT(decode(HEAD "0-1:24.1.0(003)\r\n0-1:24.2.1(231102121002W)(-0001.000*m3)\r\n!"), 0,
		   "a negative gas counter");
	TAP_EQ_INT(gas->channel, 0, "is not a reading");
	TAP_EQ_INT(decode(HEAD "0-1:24.2.1(231102121002W)(00001.000*m3)\r\n!"), 0, "no device type");
	TAP_EQ_INT(gas->channel, 0, "a channel without type is not guessed to be gas");
}

static void test_profile(void)
{
	const struct reading_mbus *gas = &v.mbus[READING_MBUS_GAS];

	TAP_EQ_INT(decode("/ISk5\\2MT382-1003\r\n\r\n0-2:24.1.0(3)\r\n"
			  "0-2:96.1.0(3238303131303038333036343239303133)\r\n"
			  "0-2:24.3.0(211122210000)(00)(60)(1)(0-2:24.2.1)(m3)\r\n(13368.864)\r\n!"),
		   0, "DSMR 2.2 gas profile on channel 2");
	tap_ok(gas->channel == 2 && gas->mant == 13368864 && unit_is(gas, "m3"),
	       "value from the next line, unit from the profile");
	TAP_EQ_INT(gas->ts, 1637611200, "time by the EU rule (winter)");
}

/* The real e-MUCS telegram whose gas meter was never read: no gas, but still every object. */
static void test_real_dead_channel(void)
{
	const char *dir = getenv("TESTDATA");
	char path[4096], *raw;
	size_t n = 0;
	enum telegram_error e;
	char detail[TELEGRAM_DETAIL_MAX];

	snprintf(path, sizeof(path), "%s/dsmr/be_emucs_fluvius-50213_invalid-gasmeter_openhab.raw",
		 dir ?: ".");
	raw = tap_read_file(path, &n);
	if (!tap_ok(raw && n < sizeof(v.text), "sample loads"))
		return;
	memcpy(v.text, raw, n);
	v.text_len = (uint16_t) n;
	TAP_EQ_INT(proto_dsmr_decode(&v, &DECODE_OPTS_DEFAULT, 1700000000, &e, detail), 0, "it decodes");
	TAP_EQ_INT(v.mbus[READING_MBUS_GAS].channel, 0, "its dead gas channel gives no gas");
	tap_ok(reading_find(&v, "0-1:24.2.3") != NULL, "the channel's object is still kept");
	free(raw);
}

int main(void)
{
	test_kinds();
	test_swapped_meter();
	test_profile();
	test_real_dead_channel();
	TAP_EQ_STR(reading_mbus_kind_to_string(READING_MBUS_HEAT), "heat", "kind names");
	return tap_done();
}
