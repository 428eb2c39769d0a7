/* SPDX-License-Identifier: MIT */
/*
 * The register maps are the Modbus API contract: golden tests of every template
 * against the reference telegram of shared/reference/p1-dsmr.md §13.
 */
#include <stdio.h>
#include <string.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/outputs/modbus-map.h"
#include "tap.h"

static struct reading v;
static uint16_t input[MODBUS_MAP_SIZE], holding[MODBUS_MAP_SIZE];
static const struct modbus_map_ident ident = { .serial = "SC0123456789", .version = "0.1.0" };

static const char reference[] =
    "/ABC5\\2DEMO-0001\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(240315143000W)\r\n"
    "1-0:1.8.1(001234.567*kWh)\r\n1-0:1.8.2(002345.678*kWh)\r\n"
    "1-0:2.8.1(000123.456*kWh)\r\n1-0:2.8.2(000234.567*kWh)\r\n"
    "1-0:1.7.0(00.000*kW)\r\n1-0:2.7.0(01.250*kW)\r\n"
    "1-0:32.7.0(231.5*V)\r\n1-0:52.7.0(230.9*V)\r\n1-0:72.7.0(232.1*V)\r\n"
    "1-0:31.7.0(002*A)\r\n1-0:51.7.0(003*A)\r\n1-0:71.7.0(004*A)\r\n"
    "1-0:21.7.0(00.450*kW)\r\n1-0:41.7.0(00.000*kW)\r\n1-0:61.7.0(00.000*kW)\r\n"
    "1-0:22.7.0(00.000*kW)\r\n1-0:42.7.0(00.700*kW)\r\n1-0:62.7.0(01.000*kW)\r\n!";

static void decode(const char *body)
{
	enum telegram_error e;
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = strlen(body);

	memcpy(v.text, body, n);
	n += (size_t) sprintf(v.text + n, "%04X\r\n", crc16_arc(body, n));
	v.text_len = (uint16_t) n;
	if (proto_dsmr_decode(&v, &DECODE_OPTS_DEFAULT, 0, &e, detail) < 0)
		abort();
}

static float f32(const uint16_t *r, unsigned a, bool low_first)
{
	uint32_t bits = low_first ? (uint32_t) r[a + 1] << 16 | r[a] : (uint32_t) r[a] << 16 | r[a + 1];
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static int32_t i32_cdab(const uint16_t *r, unsigned a)
{
	return (int32_t) ((uint32_t) r[a + 1] << 16 | r[a]);
}

static uint32_t u32_abcd(const uint16_t *r, unsigned a)
{
	return (uint32_t) r[a] << 16 | r[a + 1];
}

#define TAP_F32(got, want, what) \
	tap_ok((got) == (float) (want), "%s: %g == %g", what, (double) (got), (double) (float) (want))

static void test_empro(void)
{
	const struct modbus_map_template *t = modbus_map_find("phoenixcontact-empro");

	if (!tap_ok(t != NULL, "EMpro found, name case-insensitive"))
		return;
	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	TAP_F32(f32(input, 0x8006, true), 231.5, "U1 float CDAB");
	TAP_F32(f32(input, 0x8008, true), 230.9, "U2");
	TAP_F32(f32(input, 0x800A, true), 232.1, "U3");
	TAP_F32(f32(input, 0x800E, true), 2, "I1");
	TAP_F32(f32(input, 0x8010, true), -3, "I2 signed like P2");
	TAP_F32(f32(input, 0x8016, true), -1250, "P");
	TAP_F32(f32(input, 0x801E, true), 450, "P1");
	TAP_F32(f32(input, 0x8022, true), -1000, "P3");
	TAP_F32(f32(input, 0x8100, true), 3580.245, "import kWh");
	TAP_F32(f32(input, 0x8106, true), 358.023, "export kWh");
	TAP_F32(f32(input, 0x8000, true), 0, "U12 unknown reads 0");
	TAP_F32(f32(input, 0x800C, true), 0, "frequency not given reads 0");
	tap_ok(input[0x8034] == 0 && input[0x8035] == 0, "last words of the block read 0");
	tap_ok(!memcmp(input + 0x8000, holding + 0x8000, 0x36 * 2), "FC 0x03 and 0x04 identical");
	tap_ok(modbus_map_readable(t, 0x8000, 0x36), "0x8000-0x8035 readable");
	tap_ok(modbus_map_readable(t, 0x8100, 8), "0x8100-0x8107 readable");
	tap_ok(!modbus_map_readable(t, 0x8035, 2), "0x8036 not readable");
	tap_ok(!modbus_map_readable(t, 0x8000, 0x108), "a read spanning the gap is refused");
	tap_ok(!modbus_map_readable(t, 0x0000, 1), "0x0000 not readable");

	modbus_map_fill(t, NULL, &ident, NULL, input, holding);
	TAP_F32(f32(input, 0x8016, true), 0, "without data P reads 0");
}

static void test_sdm630(void)
{
	const struct modbus_map_template *t = modbus_map_find("Eastron-SDM630");

	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	TAP_F32(f32(input, 0x0000, false), 231.5, "U1 float ABCD");
	TAP_F32(f32(input, 0x000A, false), -4, "I3 on FC 0x04");
	TAP_F32(f32(holding, 0x000A, false), 3, "system type 3P4W on FC 0x03");
	TAP_F32(f32(holding, 0x0014, false), 1, "node address on FC 0x03");
	TAP_F32(f32(input, 0x0034, false), -1250, "total power");
	TAP_F32(f32(input, 0x0030, false), -5, "sum of line currents");
	TAP_F32(f32(input, 0x0048, false), 3580.245, "import");
	TAP_F32(f32(input, 0x004A, false), 358.023, "export");
	TAP_F32(f32(input, 0x0156, false), 3938.268, "total kWh");
	TAP_EQ_INT(holding[0xFC02], 112, "model code SDM630");
	TAP_EQ_INT(u32_abcd(holding, 0xFC00), 123456789, "serial as a number");
	tap_ok(modbus_map_readable(t, 0x0000, 80) && !modbus_map_readable(t, 0x0000, 81),
	       "0x0000-0x004F readable");
}

static void test_em24(void)
{
	const struct modbus_map_template *t = modbus_map_find("CarloGavazzi-EM24");
	uint16_t written[1] = { 7 }, x;

	modbus_map_fill(t, &v, &ident, written, input, holding);
	TAP_EQ_INT(i32_cdab(input, 0x0000), 2315, "U1 x10 INT32 CDAB");
	TAP_EQ_INT(i32_cdab(input, 0x000C), 2000, "I1 x1000");
	TAP_EQ_INT(i32_cdab(input, 0x000E), -3000, "I2 x1000");
	TAP_EQ_INT(i32_cdab(input, 0x0012), 4500, "P1 x10");
	TAP_EQ_INT(i32_cdab(input, 0x0028), -12500, "P x10");
	TAP_EQ_INT(i32_cdab(input, 0x0034), 35802, "import kWh x10");
	TAP_EQ_INT(i32_cdab(input, 0x004E), 3580, "export kWh x10");
	tap_ok(modbus_map_single_read(t, 0x000B, &x) && x == 1648,
	       "model code on a one-register read of 0x000B");
	TAP_EQ_INT(holding[0xA000], 7, "application mode H");
	TAP_EQ_INT(modbus_map_writable_index(t, 0xA000), 0, "0xA000 writable");
	TAP_EQ_INT(modbus_map_writable_index(t, 0x0000), -1, "0x0000 not writable");
	TAP_EQ_INT(holding[0x1002], 0, "measuring system 3P.n");
	TAP_EQ_INT(holding[0x5000], ('S' << 8) | 'C', "serial ASCII");
	written[0] = 3;
	modbus_map_fill(t, &v, &ident, written, input, holding);
	TAP_EQ_INT(input[0xA000], 3, "a written value reads back");
}

static float f32_abcd(const uint16_t *r, unsigned a)
{
	uint32_t bits = (uint32_t) r[a] << 16 | r[a + 1];
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

static void test_dtsu666(void)
{
	const struct modbus_map_template *t = modbus_map_find("Chint-DTSU666");

	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	TAP_F32(f32_abcd(holding, 0x2006), 2315, "Ua in V x 10, float ABCD");
	TAP_F32(f32_abcd(holding, 0x200C), 2000, "Ia in A x 1000");
	TAP_F32(f32_abcd(holding, 0x2012), -12500, "Pt in W x 10");
	TAP_F32(f32_abcd(holding, 0x101E), 3580.245, "import kWh (mbmd's address)");
	TAP_F32(f32_abcd(holding, 0x401E), 3580.245, "import kWh (openWB's address)");
	TAP_F32(f32_abcd(holding, 0x4028), 358.023, "export kWh");
	tap_ok(holding[0x0006] == 1 && holding[0x0007] == 10, "IrAt 1, UrAt 10");
	tap_ok(modbus_map_readable(t, 0x2000, 0x46) && !modbus_map_readable(t, 0x2000, 0x47),
	       "0x2000-0x2045 readable");
}

static void test_em340_and_rs485(void)
{
	const struct modbus_map_template *em340 = modbus_map_find("CarloGavazzi-EM340");
	const struct modbus_map_template *em24 = modbus_map_find("CarloGavazzi-EM24");
	const struct modbus_map_template *r = modbus_map_for_rtu(em24);
	uint16_t written[1] = { 7 }, x;

	modbus_map_fill(em340, &v, &ident, NULL, input, holding);
	TAP_EQ_INT(i32_cdab(input, 0x0034), 35802, "EM340 import kWh x10 at 0x34");
	TAP_EQ_INT(i32_cdab(input, 0x004E), 3580, "EM340 export kWh x10 at 0x4E");
	tap_ok(modbus_map_single_read(em340, 0x000B, &x) && x == 341, "EM340 model code 341");
	tap_ok(modbus_map_for_rtu(em340) == em340, "EM340: one map on both wires");

	tap_ok(r && r != em24 && strcmp(r->name, "CarloGavazzi-EM24-RS485") == 0,
	       "EM24 on RTU: the RS-485 map");
	modbus_map_fill(r, &v, &ident, written, input, holding);
	TAP_EQ_INT(i32_cdab(input, 0x0028), -12500, "EM24 RS-485 P x10");
	TAP_EQ_INT(i32_cdab(input, 0x003E), 35802, "EM24 RS-485 import total at 0x3E");
	TAP_EQ_INT(i32_cdab(input, 0x0042), 35802, "EM24 RS-485 import at 0x42 (mbmd, evcc)");
	TAP_EQ_INT(i32_cdab(input, 0x005C), 3580, "EM24 RS-485 export at 0x5C");
	tap_ok(modbus_map_single_read(r, 0x000B, &x) && x == 71, "EM24 RS-485 code 71");
	TAP_EQ_INT(holding[0x1101], 7, "application H");
	TAP_EQ_INT(holding[0x1300], ('S' << 8) | 'C', "serial ASCII at 0x1300");
	tap_ok(modbus_map_for_rtu(modbus_map_find("Eastron-SDM630")) == modbus_map_find("Eastron-SDM630"),
	       "SDM630: one map on both wires");
}

static void test_sunspec(void)
{
	const struct modbus_map_template *t = modbus_map_find("SunSpec");

	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	tap_ok(input[40000] == 0x5375 && input[40001] == 0x6E53, "SunS marker");
	tap_ok(input[40002] == 1 && input[40003] == 65, "model 1, length 65");
	tap_ok(input[40069] == 203 && input[40070] == 105, "model 203, length 105");
	tap_ok(input[40176] == 0xFFFF && input[40177] == 0, "end marker");
	TAP_EQ_INT(input[40004], ('s' << 8) | 'm', "manufacturer text");
	TAP_EQ_INT((int16_t) input[40071 + 20], 0, "W_SF 0");
	TAP_EQ_INT((int16_t) input[40071 + 16], -1250, "W");
	TAP_EQ_INT((int16_t) input[40071 + 4], -2, "A_SF -2");
	TAP_EQ_INT((int16_t) input[40071 + 1], 200, "AphA 2.00 A");
	TAP_EQ_INT((int16_t) input[40071 + 6], 2315, "PhVphA 231.5 V");
	TAP_EQ_INT(input[40071 + 10], 0x8000, "PhVphAB not implemented");
	TAP_EQ_INT(u32_abcd(input, 40071 + 44), 3580245, "TotWhImp");
	TAP_EQ_INT(u32_abcd(input, 40071 + 36), 358023, "TotWhExp");
	TAP_EQ_INT(u32_abcd(input, 40071 + 53), 0, "unimplemented acc32 reads 0");
	tap_ok(modbus_map_readable(t, 40000, 125) && modbus_map_readable(t, 40125, 53) &&
		   !modbus_map_readable(t, 40177, 2),
	       "40000-40177 readable");

	decode("/XXX5\r\n\r\n1-0:1.7.0(43.210*kW)\r\n1-0:2.7.0(00.000*kW)\r\n!");
	modbus_map_fill(t, &v, &ident, NULL, input, holding);
	TAP_EQ_INT((int16_t) input[40071 + 20], 1, "W_SF raised for 43 kW");
	TAP_EQ_INT((int16_t) input[40071 + 16], 4321, "W scaled to fit int16");
	decode(reference);
}

int main(void)
{
	decode(reference);
	test_empro();
	test_sdm630();
	test_em24();
	test_sunspec();
	test_dtsu666();
	test_em340_and_rs485();

	const struct modbus_map_template *const *all = modbus_map_templates();
	unsigned n = 0;
	while (all[n])
		n++;
	TAP_EQ_INT(n, 7, "seven templates (the EM24's RS-485 map among them)");
	tap_ok(modbus_map_find("nope") == NULL, "unknown template");
	return tap_done();
}
