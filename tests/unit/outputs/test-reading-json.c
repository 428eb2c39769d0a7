/* SPDX-License-Identifier: MIT */
/*
 * Golden tests of the JSON shapes: power_instant (keys, nulls, integers versus
 * reals printed as the meter's decimals) and the objects array (times, units,
 * decoded text, failure log and e-MUCS demand history entries).
 */
#include <stdio.h>

#include "smartconnectd/outputs/reading-json.h"
#include "decode-frame.h"
#include "smartconnectd/meter/telegram.h"
#include "tap.h"

static struct reading v;

static int decode(const char *body)
{
	return decode_frame(&v, body, 1700000000);
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, READING_JSON_DUMP_FLAGS);
	json_decref(j);
	return s;
}

static json_t *object(json_t *objects, const char *id)
{
	size_t i;
	json_t *o;

	json_array_foreach (objects, i, o)
		if (!strcmp(json_string_value(json_object_get(o, "id")), id))
			return o;
	return NULL;
}

static void test_power_instant(void)
{
	TAP_EQ_INT(decode("/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(190324150541W)\r\n"
			  "1-0:1.8.1(003432.829*kWh)\r\n1-0:1.8.2(003224.632*kWh)\r\n1-0:1.7.0(00.433*kW)\r\n"
			  "1-0:2.7.0(00.000*kW)\r\n1-0:32.7.0(236.7*V)\r\n1-0:31.7.0(002*A)\r\n"
			  "1-0:21.7.0(00.379*kW)\r\n!"),
		   0, "telegram decodes");

	char *s = dump(reading_json_power_instant(&v));
	TAP_EQ_STR(
	    s,
	    "{\"ts\":1553436341,\"P\":433,\"E_IMPORT\":6657.461,\"E_EXPORT\":null,\"U12\":null,\"U31\":null,"
	    "\"U32\":null,\"l1\":{\"U\":236.7,\"I\":2,\"P\":379},\"l2\":{\"U\":null,\"I\":null,\"P\":null},"
	    "\"l3\":{\"U\":null,\"I\":null,\"P\":null}}",
	    "power_instant, exact");
	free(s);

	s = dump(reading_json_meter(&v));
	TAP_EQ_STR(s,
		   "{\"protocol\":\"dsmr\",\"version\":\"5.0\",\"id\":null,\"ident\":\"ISK5\\\\2M550T-1012\","
		   "\"crc\":\"8-bit\"}",
		   "meter object");
	free(s);
}

static void test_objects(void)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;

	TAP_EQ_INT(decode("/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n"
			  "0-0:96.1.1(3153414733313030373231333236)\r\n"
			  "1-0:1.6.0(231102114500W)(03.064*kW)\r\n"
			  "0-0:98.1.0(2)(1-0:1.6.0)(1-0:1.6.0)(230801000000S)(632525252525W)(00.000*kW)"
			  "(230901000000S)(230831181500S)(01.862*kW)\r\n"
			  "1-0:99.97.0(1)(0-0:96.7.19)(180417201458S)(0000000236*s)\r\n"
			  "0-0:96.13.0(48656C6C6F)\r\n"
			  "0-1:24.2.3(231102121002W)(00092.287*m3)\r\n"
			  "0-1:24.3.0(160315210000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(04083.631)\r\n!"),
		   0, "objects telegram decodes");

	json_t *objs = reading_json_objects(&v, &o);
	TAP_EQ_INT(json_array_size(objs), 8, "every object");

	json_t *id = object(objs, "0-0:96.1.1");
	TAP_EQ_STR(json_string_value(json_object_get(id, "text")), "1SAG3100721326", "equipment id text");
	tap_ok(json_object_get(id, "value") == NULL, "an id is not a number");

	json_t *peak = object(objs, "1-0:1.6.0");
	TAP_EQ_INT(json_integer_value(json_object_get(peak, "time")), 1698921900, "peak time");
	tap_ok(json_real_value(json_object_get(peak, "value")) == 3.064, "peak value");
	TAP_EQ_STR(json_string_value(json_object_get(peak, "unit")), "kW", "peak unit");

	json_t *hist = json_object_get(object(objs, "0-0:98.1.0"), "entries");
	TAP_EQ_INT(json_array_size(hist), 2, "demand history entries");
	tap_ok(json_is_null(json_object_get(json_array_get(hist, 0), "time")),
	       "placeholder peak time is null");
	TAP_EQ_INT(json_integer_value(json_object_get(json_array_get(hist, 1), "month")), 1693519200,
		   "month start");
	tap_ok(json_real_value(json_object_get(json_array_get(hist, 1), "value")) == 1.862, "monthly peak");

	json_t *fail = json_array_get(json_object_get(object(objs, "1-0:99.97.0"), "entries"), 0);
	TAP_EQ_INT(json_integer_value(json_object_get(fail, "end")), 1523988898, "failure end");
	TAP_EQ_INT(json_integer_value(json_object_get(fail, "value")), 236, "failure duration");
	TAP_EQ_STR(json_string_value(json_object_get(fail, "unit")), "s", "failure unit");

	TAP_EQ_STR(json_string_value(json_object_get(object(objs, "0-0:96.13.0"), "text")), "Hello",
		   "text message");

	json_t *gas = object(objs, "0-1:24.2.3");
	TAP_EQ_INT(json_integer_value(json_object_get(gas, "time")), 1698923402, "gas capture time");
	tap_ok(json_real_value(json_object_get(gas, "value")) == 92.287, "gas reading");
	TAP_EQ_STR(json_string_value(json_object_get(gas, "unit")), "m3", "gas unit");

	json_t *old = object(objs, "0-1:24.3.0");
	TAP_EQ_INT(json_array_size(json_object_get(old, "raw")), 7, "2.2 gas profile with its value line");
	tap_ok(json_real_value(json_object_get(old, "value")) == 4083.631, "2.2 gas value");
	TAP_EQ_STR(json_string_value(json_object_get(old, "unit")), "m3", "2.2 gas unit from the profile");
	TAP_EQ_INT(json_integer_value(json_object_get(old, "time")), 1458072000,
		   "2.2 gas time by the EU rule");

	char *s = dump(reading_json_telegram(&v, &o));
	json_t *back = json_loads(s, 0, NULL);
	tap_ok(back && json_is_array(json_object_get(back, "flags")) &&
		   json_is_object(json_object_get(back, "meter")),
	       "whole telegram JSON parses back");
	json_decref(back);
	free(s);
	json_decref(objs);
}

/* TIC has apparent power only: "P" null, the value under "S" (VA). */
static void test_apparent(void)
{
	TAP_EQ_INT(
	    decode("\x02\nADCO 021528603314 :\r\nBASE 012345678 /\r\nIINST 005 \\\r\nPAPP 01250 )\r\x03"), 0,
	    "TIC historique decodes");
	char *s = dump(reading_json_power_instant(&v));
	TAP_EQ_STR(s,
		   "{\"ts\":1700000000,\"P\":null,\"E_IMPORT\":12345.678,\"E_EXPORT\":null,\"U12\":null,"
		   "\"U31\":null,\"U32\":null,\"l1\":{\"U\":null,\"I\":5,\"P\":null,\"S\":1250},"
		   "\"l2\":{\"U\":null,\"I\":null,\"P\":null,\"S\":null},"
		   "\"l3\":{\"U\":null,\"I\":null,\"P\":null,\"S\":null},\"S\":1250}",
		   "power_instant: apparent power as S in VA, P null");
	free(s);
}

/* M-Bus channels by kind, after the seed's keys, only when the meter has them. */
static void test_mbus(void)
{
	TAP_EQ_INT(decode("/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n1-0:1.7.0(00.000*kW)\r\n"
			  "1-0:2.7.0(00.611*kW)\r\n1-0:31.7.0(002.00*A)\r\n"
			  "0-1:24.1.0(003)\r\n0-1:96.1.1(1234567890123456789012345678)\r\n"
			  "0-1:24.2.3(632525252525W)(00000.000)\r\n"
			  "0-2:24.1.0(003)\r\n0-2:96.1.1(37464C4F32313233303838303237)\r\n"
			  "0-2:24.2.3(231102121002W)(00092.287*m3)\r\n!"),
		   0, "e-MUCS with a dead and a live gas channel");
	char *s = dump(reading_json_power_instant(&v));
	TAP_EQ_STR(
	    s,
	    "{\"ts\":1700000000,\"P\":-611,\"E_IMPORT\":null,\"E_EXPORT\":null,\"U12\":null,\"U31\":null,"
	    "\"U32\":null,\"l1\":{\"U\":null,\"I\":-2,\"P\":null},\"l2\":{\"U\":null,\"I\":null,\"P\":null},"
	    "\"l3\":{\"U\":null,\"I\":null,\"P\":null},\"gas\":{\"value\":92.287,\"unit\":\"m3\","
	    "\"timestamp\":1698923402,\"channel\":2,\"id\":\"7FLO2123088027\"}}",
	    "power_instant: I1 signed like P, gas from the live channel with its own time");
	free(s);
}

/* Values with more decimals than an int64 divisor holds: a double, except a
 * zero, which stays the integer 0 as in the text output. */
static void test_long_decimals(void)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;

	TAP_EQ_INT(decode("/XMX5LGBBM\r\n\r\n1-0:2.8.1(000000.0000000000000000000)\r\n"
			  "1-0:2.8.2(000000.0000000000000000001)\r\n!"),
		   0, "values with 19 decimals decode");

	json_t *objs = reading_json_objects(&v, &o);
	json_t *zero = json_object_get(object(objs, "1-0:2.8.1"), "value");
	json_t *tiny = json_object_get(object(objs, "1-0:2.8.2"), "value");
	tap_ok(json_is_integer(zero) && json_integer_value(zero) == 0,
	       "0.000... with 19 decimals is the integer 0");
	tap_ok(json_is_real(tiny) && json_real_value(tiny) > 0.99e-19 && json_real_value(tiny) < 1.01e-19,
	       "a one in the 19th decimal is a real");
	json_decref(objs);
}

int main(void)
{
	test_long_decimals();
	test_apparent();
	test_mbus();
	test_power_instant();
	test_objects();
	return tap_done();
}
