/* SPDX-License-Identifier: MIT */
/*
 * The meter templates (shared/reference/modbus-maps.md) and the snapshot to
 * register image conversion. Floats are the snapshot value as the nearest
 * double, rounded to float; integers are the value times 10^exp, rounded half
 * away from zero and clamped to the type's range.
 *
 * Pure. No I/O. Never logs.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/modbus-map.h"

#define F(a, src)                                                         \
	{                                                                 \
		.addr = (a), .type = MODBUS_MAP_F32_CDAB, .source = (src) \
	}
#define FA(a, src)                                                        \
	{                                                                 \
		.addr = (a), .type = MODBUS_MAP_F32_ABCD, .source = (src) \
	}
#define CG(a, src, e)                                                                 \
	{                                                                             \
		.addr = (a), .type = MODBUS_MAP_I32_CDAB, .source = (src), .exp = (e) \
	}
#define U16C(a, c, nm)                                                                                \
	{                                                                                             \
		.addr = (a), .type = MODBUS_MAP_U16, .source = MODBUS_MAP_SRC_CONST, .constant = (c), \
		.name = (nm)                                                                          \
	}
#define STR(a, n, src, t, nm)                                                                               \
	{                                                                                                   \
		.addr = (a), .type = MODBUS_MAP_STR, .source = (src), .len = (n), .text = (t), .name = (nm) \
	}

/* ---- Phoenix Contact EMpro (EEM-MA370/371): float32 CDAB, 0x8000-0x8035, 0x8100-0x8107 ---- */

static const struct modbus_map_block empro_blocks[] = { { 0x8000, 0x36 }, { 0x8100, 8 } };
static const struct modbus_map_point empro_points[] = {
	F(0x8000, READING_U12), F(0x8002, READING_U32),      F(0x8004, READING_U31),
	F(0x8006, READING_U1),  F(0x8008, READING_U2),       F(0x800A, READING_U3),
	F(0x800E, READING_I1),  F(0x8010, READING_I2),       F(0x8012, READING_I3),
	F(0x8016, READING_P),   F(0x801E, READING_P1),       F(0x8020, READING_P2),
	F(0x8022, READING_P3),  F(0x8100, READING_E_IMPORT), F(0x8106, READING_E_EXPORT),
};

/* ---- Eastron SDM630: float32 ABCD, measurements on FC 0x04, setup on FC 0x03 ---- */

static const struct modbus_map_block sdm_blocks[] = {
	{ 0x0000, 0x50 }, { 0x00C8, 0x32 }, { 0x0156, 0x28 }, { 0xFC00, 4 }
};
static const struct modbus_map_point sdm_points[] = {
	FA(0x0000, READING_U1),
	FA(0x0002, READING_U2),
	FA(0x0004, READING_U3),
	FA(0x0006, READING_I1),
	FA(0x0008, READING_I2),
	FA(0x000A, READING_I3),
	FA(0x000C, READING_P1),
	FA(0x000E, READING_P2),
	FA(0x0010, READING_P3),
	FA(0x0030, MODBUS_MAP_SRC_I_SUM),
	FA(0x0034, READING_P),
	FA(0x0048, READING_E_IMPORT),
	FA(0x004A, READING_E_EXPORT),
	FA(0x00C8, READING_U12),
	FA(0x00CA, READING_U32),
	FA(0x00CC, READING_U31),
	FA(0x0156, MODBUS_MAP_SRC_E_TOTAL),
	{ .addr = 0xFC00, .type = MODBUS_MAP_U32_ABCD, .source = MODBUS_MAP_SRC_SERIAL },
	U16C(0xFC02, 112, "Meter code"), /* SDM630 v2 model code, as Victron's drivers probe */
	U16C(0xFC03, 0x0100, "Firmware version"),
};
/* Holding registers 0x000A (system type) and 0x0014 (node address) overlap the
 * FC 0x04 currents and apparent powers; readers ask for them with FC 0x03. */
static const struct modbus_map_point sdm_holding[] = {
	{ .addr = 0x000A, .type = MODBUS_MAP_F32_ABCD, .source = MODBUS_MAP_SRC_PHASES },
	{ .addr = 0x0014,
	  .type = MODBUS_MAP_F32_ABCD,
	  .source = MODBUS_MAP_SRC_CONST,
	  .constant = 1,
	  .name = "Modbus node address" },
};

/* Voltages, currents and powers: where every Carlo Gavazzi map has them. */
#define CG_INSTANT                                                                              \
	CG(0x0000, READING_U1, 1), CG(0x0002, READING_U2, 1), CG(0x0004, READING_U3, 1),        \
	    CG(0x0006, READING_U12, 1), CG(0x0008, READING_U32, 1), CG(0x000A, READING_U31, 1), \
	    CG(0x000C, READING_I1, 3), CG(0x000E, READING_I2, 3), CG(0x0010, READING_I3, 3),    \
	    CG(0x0012, READING_P1, 1), CG(0x0014, READING_P2, 1), CG(0x0016, READING_P3, 1),    \
	    CG(0x0028, READING_P, 1)

/* ---- Carlo Gavazzi EM24 Ethernet: INT32 CDAB scaled, FC 0x03 and 0x04 ---- */

static const struct modbus_map_block em24_blocks[] = {
	{ 0x0000, 0x52 }, { 0x0302, 1 }, { 0x0304, 1 }, { 0x1002, 1 },
	{ 0x5000, 7 },    { 0xA000, 1 }, { 0xA100, 1 },
};
static const struct modbus_map_point em24_points[] = {
	CG_INSTANT,
	CG(0x0034, READING_E_IMPORT, 1),
	CG(0x004E, READING_E_EXPORT, 1),
	U16C(0x0302, 0x1000, "Hardware version"), /* 1.0.0 */
	U16C(0x0304, 0x1000, "Firmware version"), /* 1.0.0 */
	{ .addr = 0x1002, .type = MODBUS_MAP_U16, .source = MODBUS_MAP_SRC_CG_SYSTEM },
	STR(0x5000, 7, MODBUS_MAP_SRC_SERIAL, NULL, NULL),
	{ .addr = 0xA000,
	  .type = MODBUS_MAP_U16,
	  .source = MODBUS_MAP_SRC_WRITABLE,
	  .name = "Application mode" },
	U16C(0xA100, 3, "Front selector"), /* locked */
};
static const struct modbus_map_writable em24_writable[] = { { 0xA000, 7 } }; /* application mode H */
static const struct modbus_map_single em24_singles[] = { { 0x000B, 1648 } }; /* EM24DINAV23XE1X */

/* ---- Carlo Gavazzi EM24 on RS-485 (EM24-DIN PFA/PFB/X): INT32 LSW first, FC 0x03 and 0x04 ----
 * Carlo Gavazzi's "EM24-DIN PFA, PFB & X models - Communication Protocol" V4R0,
 * as mbmd's cgem24 (import at 0x42, export at 0x5C; evcc's cg-em24) and Victron's
 * dbus-cgwacs (import at 0x3E, serial at 0x1300, application at 0x1101) read it.
 * The partial counter 0x42 is never reset here, so it equals the total 0x3E. */

static const struct modbus_map_block em24r_blocks[] = {
	{ 0x0000, 0x68 },
	{ 0x0300, 5 },
	{ 0x1101, 2 },
	{ 0x1300, 7 },
};
static const struct modbus_map_point em24r_points[] = {
	CG_INSTANT,
	CG(0x003E, READING_E_IMPORT, 1),
	{ .addr = 0x0042,
	  .type = MODBUS_MAP_I32_CDAB,
	  .source = READING_E_IMPORT,
	  .exp = 1,
	  .name = "Import energy (partial)",
	  .unit = "kWh" },
	CG(0x005C, READING_E_EXPORT, 1),
	U16C(0x0302, 70, "Version code"),  /* EM24DINAV23XXXX (X model, 6 + 64) */
	U16C(0x0304, 3, "Front selector"), /* keypad locked */
	{ .addr = 0x1101,
	  .type = MODBUS_MAP_U16,
	  .source = MODBUS_MAP_SRC_WRITABLE,
	  .name = "Application mode" },
	{ .addr = 0x1102, .type = MODBUS_MAP_U16, .source = MODBUS_MAP_SRC_CG_SYSTEM },
	STR(0x1300, 7, MODBUS_MAP_SRC_SERIAL, NULL, NULL),
};
static const struct modbus_map_writable em24r_writable[] = { { 0x1101, 7 } }; /* application H */
static const struct modbus_map_single em24r_singles[] = { { 0x000B, 71 } };   /* EM24-DIN AV2 */

/* ---- Carlo Gavazzi EM340: the EM300 series layout (as EM24 Ethernet), FC 0x03 and 0x04 ----
 * Carlo Gavazzi's "EM300 and ET300 series - Modbus serial protocol" rev 2.6, as
 * mbmd's cgex3x0 and evcc's cg-emt3xx read it; code 341 is EM340-DIN AV2 3 X S1 X. */

static const struct modbus_map_block em340_blocks[] = {
	{ 0x0000, 0x66 },
	{ 0x0302, 2 },
	{ 0x1002, 1 },
	{ 0x5000, 7 },
};
static const struct modbus_map_point em340_points[] = {
	CG_INSTANT,
	CG(0x0034, READING_E_IMPORT, 1),
	CG(0x004E, READING_E_EXPORT, 1),
	/* 0x0302/0x0303 version "A", revision 0; 0x1002 measuring system 3Pn: the filler 0 */
	STR(0x5000, 7, MODBUS_MAP_SRC_SERIAL, NULL, NULL),
};
static const struct modbus_map_single em340_singles[] = { { 0x000B, 341 } };

/* ---- Chint DTSU666: float32 ABCD in the meter's own units (V x 10, A x 1000, W x 10), FC 0x03 ----
 * Chint's DTSU666 user manual, as mbmd's DTSU666 (energy at 0x101E/0x1028) and
 * openWB's chint counter (energy at 0x401E/0x4028, values times IrAt and UrAt/10)
 * read it. */

static const struct modbus_map_block dtsu_blocks[] = {
	{ 0x0000, 0x30 },
	{ 0x101E, 0x12 },
	{ 0x2000, 0x46 },
	{ 0x401E, 0x12 },
};
#define FX(a, src, e)                                                                 \
	{                                                                             \
		.addr = (a), .type = MODBUS_MAP_F32_ABCD, .source = (src), .exp = (e) \
	}
static const struct modbus_map_point dtsu_points[] = {
	U16C(0x0000, 204, "Software version (REV.)"),
	U16C(0x0001, 701, "Programming code (UCode)"),
	U16C(0x0006, 1, "Current ratio (IrAt)"), /* of the current transformer */
	U16C(0x0007, 10, "Voltage ratio x 10 (UrAt)"),
	FX(0x101E, READING_E_IMPORT, 0),
	FX(0x1028, READING_E_EXPORT, 0),
	FX(0x2000, READING_U12, 1),
	FX(0x2002, READING_U32, 1),
	FX(0x2004, READING_U31, 1),
	FX(0x2006, READING_U1, 1),
	FX(0x2008, READING_U2, 1),
	FX(0x200A, READING_U3, 1),
	FX(0x200C, READING_I1, 3),
	FX(0x200E, READING_I2, 3),
	FX(0x2010, READING_I3, 3),
	FX(0x2012, READING_P, 1),
	FX(0x2014, READING_P1, 1),
	FX(0x2016, READING_P2, 1),
	FX(0x2018, READING_P3, 1),
	FX(0x401E, READING_E_IMPORT, 0),
	FX(0x4028, READING_E_EXPORT, 0),
};

/* ---- SunSpec: common model 1 and meter model 203 (wye, int16 + scale factors) at 40000 ---- */

enum { SSF_A, SSF_V, SSF_HZ, SSF_W, SSF_VA, SSF_VAR, SSF_PF, SSF_WH, _SSF_MAX };
/* Preferred scale factors: 0.01 A, 0.1 V, 0.01 Hz, 1 W; energy in Wh. */
static const int8_t ssf_preferred[_SSF_MAX] = { -2, -1, -2, 0, 0, 0, -2, 0 };

#define M203 40071 /* first data register of model 203 when model 1 has L = 65 */
#define SS(off, src, g)                                                                       \
	{                                                                                     \
		.addr = M203 + (off), .type = MODBUS_MAP_I16_SSF, .source = (src), .exp = (g) \
	}
#define SF(off, g)                                                                                       \
	{                                                                                                \
		.addr = M203 + (off), .type = MODBUS_MAP_SSF, .source = MODBUS_MAP_SRC_CONST, .exp = (g) \
	}
#define ACC(off, src, n)                                                                                 \
	{                                                                                                \
		.addr = M203 + (off), .type = MODBUS_MAP_U32_ABCD, .source = (src), .exp = 3, .len = (n) \
	}

/* A constant accumulator of n acc32 values: what the gateway does not measure. */
#define ACCN(off, n, nm, u)                                                                                  \
	{                                                                                                    \
		.addr = M203 + (off), .type = MODBUS_MAP_U32_ABCD, .source = MODBUS_MAP_SRC_CONST, .exp = 3, \
		.len = (n), .name = (nm), .unit = (u)                                                        \
	}

static const struct modbus_map_block sunspec_blocks[] = { { 40000, 178 } };
static const struct modbus_map_point sunspec_points[] = {
	U16C(40000, 0x5375, "SunSpec ID"), /* "SunS" */
	U16C(40001, 0x6E53, "SunSpec ID"),
	U16C(40002, 1, "Common model ID"),
	U16C(40003, 65, "Common model length"),
	STR(40004, 16, MODBUS_MAP_SRC_TEXT, "smartconnectd", "Manufacturer"),
	STR(40020, 16, MODBUS_MAP_SRC_TEXT, "Smart meter P1/TIC bridge", "Model"),
	STR(40036, 8, MODBUS_MAP_SRC_TEXT, "", "Options"),
	STR(40044, 8, MODBUS_MAP_SRC_VERSION, NULL, NULL),
	STR(40052, 16, MODBUS_MAP_SRC_SERIAL, NULL, NULL),
	U16C(40068, 1, "Device address"),
	U16C(40069, 203, "Meter model ID"),
	U16C(40070, 105, "Meter model length"),
	SS(0, MODBUS_MAP_SRC_I_SUM, SSF_A),
	SS(1, READING_I1, SSF_A),
	SS(2, READING_I2, SSF_A),
	SS(3, READING_I3, SSF_A),
	SF(4, SSF_A),
	SS(6, READING_U1, SSF_V),
	SS(7, READING_U2, SSF_V),
	SS(8, READING_U3, SSF_V),
	SS(10, READING_U12, SSF_V),
	SS(11, READING_U32, SSF_V),
	SS(12, READING_U31, SSF_V),
	SF(13, SSF_V),
	SF(15, SSF_HZ),
	SS(16, READING_P, SSF_W),
	SS(17, READING_P1, SSF_W),
	SS(18, READING_P2, SSF_W),
	SS(19, READING_P3, SSF_W),
	SF(20, SSF_W),
	SF(25, SSF_VA),
	SF(30, SSF_VAR),
	SF(35, SSF_PF),
	ACC(36, READING_E_EXPORT, 1),
	ACCN(38, 3, "Export energy L1, L2, L3", "kWh"), /* per phase: not measured */
	ACC(44, READING_E_IMPORT, 1),
	ACCN(46, 3, "Import energy L1, L2, L3", "kWh"),
	SF(52, SSF_WH),
	ACCN(53, 8, "Apparent energies", "kVAh"),
	U16C(M203 + 69, 0, "Apparent energy scale factor"),
	ACCN(70, 16, "Reactive energies", "kvarh"),
	U16C(M203 + 102, 0, "Reactive energy scale factor"),
	ACCN(103, 1, "Events", ""), /* none */
	U16C(40176, 0xFFFF, "End model ID"),
	U16C(40177, 0, "End model length"),
};

#define TEMPLATE(n, b, p) \
	.name = (n), .blocks = (b), .n_blocks = ARRAY_SIZE(b), .points = (p), .n_points = ARRAY_SIZE(p)

static const struct modbus_map_template templates[] = {
	{ TEMPLATE("PhoenixContact-EMPro", empro_blocks, empro_points) },
	{ TEMPLATE("Eastron-SDM630", sdm_blocks, sdm_points), .holding = sdm_holding,
	  .n_holding = ARRAY_SIZE(sdm_holding) },
	{ TEMPLATE("CarloGavazzi-EM24", em24_blocks, em24_points), .writable = em24_writable,
	  .n_writable = ARRAY_SIZE(em24_writable), .singles = em24_singles,
	  .n_singles = ARRAY_SIZE(em24_singles) },
	{ TEMPLATE("SunSpec", sunspec_blocks, sunspec_points), .filler = 0x8000, .sunspec = true },
	{ TEMPLATE("Chint-DTSU666", dtsu_blocks, dtsu_points) },
	{ TEMPLATE("CarloGavazzi-EM340", em340_blocks, em340_points), .singles = em340_singles,
	  .n_singles = ARRAY_SIZE(em340_singles) },
	/* Not a MeterType of its own: what CarloGavazzi-EM24 is on RS-485 (modbus_map_for_rtu()). */
	{ TEMPLATE("CarloGavazzi-EM24-RS485", em24r_blocks, em24r_points), .writable = em24r_writable,
	  .n_writable = ARRAY_SIZE(em24r_writable), .singles = em24r_singles,
	  .n_singles = ARRAY_SIZE(em24r_singles) },
};

static const struct modbus_map_template *const template_list[] = { &templates[0], &templates[1],
								   &templates[2], &templates[3],
								   &templates[4], &templates[5],
								   &templates[6], NULL };
_Static_assert(ARRAY_SIZE(template_list) == ARRAY_SIZE(templates) + 1, "every template in the list");

const struct modbus_map_template *const *modbus_map_templates(void)
{
	return template_list;
}

const struct modbus_map_template *modbus_map_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (strcasecmp(templates[i].name, name) == 0)
			return &templates[i];
	return NULL;
}

const struct modbus_map_template *modbus_map_for_rtu(const struct modbus_map_template *t)
{
	/* The EM24 on Ethernet and on RS-485 have different maps (evcc#11513): a
	 * reader on the serial bus expects the RS-485 model's. */
	return t == &templates[2] ? &templates[6] : t;
}

bool modbus_map_readable(const struct modbus_map_template *t, unsigned addr, unsigned count)
{
	for (size_t i = 0; i < t->n_blocks; i++)
		if (addr >= t->blocks[i].start &&
		    addr + count <= (unsigned) t->blocks[i].start + t->blocks[i].len)
			return true;
	return false;
}

bool modbus_map_single_read(const struct modbus_map_template *t, unsigned addr, uint16_t *ret)
{
	for (size_t i = 0; i < t->n_singles; i++)
		if (t->singles[i].addr == addr) {
			*ret = t->singles[i].value;
			return true;
		}
	return false;
}

int modbus_map_writable_index(const struct modbus_map_template *t, unsigned addr)
{
	for (size_t i = 0; i < t->n_writable; i++)
		if (t->writable[i].addr == addr)
			return (int) i;
	return -1;
}

/* Without data a meter still has a wiring; three phases is the safe guess. */
static bool single_phase(const struct reading *v)
{
	return v && !reading_has(v, READING_U2) && !reading_has(v, READING_I2) &&
	       !reading_has(v, READING_P2) && !reading_has(v, READING_U12);
}

/* The snapshot value of a numeric source in millionths of its unit. */
static bool source_micro(const struct modbus_map_point *p, const struct reading *v, const uint16_t *written,
			 int64_t *ret)
{
	if (p->source < _READING_FIELD_MAX) {
		if (!v || !reading_has(v, (enum reading_field) p->source))
			return false;
		*ret = v->field[p->source];
		return true;
	}

	switch ((enum modbus_map_source) p->source) {
	case MODBUS_MAP_SRC_CONST:
		*ret = (int64_t) p->constant * READING_SCALE;
		return true;
	case MODBUS_MAP_SRC_I_SUM:
		if (!v || !reading_has(v, READING_I1) || !reading_has(v, READING_I2) ||
		    !reading_has(v, READING_I3))
			return false;
		*ret = v->field[READING_I1] + v->field[READING_I2] + v->field[READING_I3];
		return true;
	case MODBUS_MAP_SRC_E_TOTAL:
		if (!v || !reading_has(v, READING_E_IMPORT) || !reading_has(v, READING_E_EXPORT))
			return false;
		*ret = v->field[READING_E_IMPORT] + v->field[READING_E_EXPORT];
		return true;
	case MODBUS_MAP_SRC_WRITABLE:
		*ret = (int64_t) written[0] * READING_SCALE;
		return true;
	case MODBUS_MAP_SRC_PHASES:
		*ret = (single_phase(v) ? 1 : 3) * READING_SCALE;
		return true;
	case MODBUS_MAP_SRC_CG_SYSTEM:
		*ret = (single_phase(v) ? 3 : 0) * READING_SCALE; /* 1P or 3P.n */
		return true;
	case MODBUS_MAP_SRC_SERIAL:
	case MODBUS_MAP_SRC_VERSION:
	case MODBUS_MAP_SRC_TEXT:
		break;
	}
	return false;
}

/* 10^k correctly rounded, as glibc's pow(10.0, k) gives it for these k, without
 * a call per register: the image is rebuilt for each telegram a client reads. */
static double pow10i(int k)
{
	static const double t[] = { 1e-22, 1e-21, 1e-20, 1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14,
				    1e-13, 1e-12, 1e-11, 1e-10, 1e-9,  1e-8,  1e-7,  1e-6,  1e-5,
				    1e-4,  1e-3,  1e-2,  1e-1,  1e0,   1e1,   1e2,   1e3,   1e4,
				    1e5,   1e6,   1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13,
				    1e14,  1e15,  1e16,  1e17,  1e18,  1e19,  1e20,  1e21,  1e22 };

	return k >= -22 && k <= 22 ? t[k + 22] : pow(10.0, k);
}

/* micro x 10^exp / 10^6, rounded half away from zero. */
static int64_t scale_micro(int64_t micro, int exp)
{
	double x = (double) micro / (double) READING_SCALE * pow10i(exp);
	return (int64_t) llround(x);
}

static int64_t clamp(int64_t x, int64_t lo, int64_t hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static void put32(uint16_t *regs, unsigned addr, uint32_t x, bool low_first)
{
	regs[addr] = (uint16_t) (low_first ? x : x >> 16);
	regs[addr + 1] = (uint16_t) (low_first ? x >> 16 : x);
}

static void put_text(uint16_t *regs, const struct modbus_map_point *p, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	for (unsigned i = 0; i < p->len; i++) {
		uint8_t hi = 2 * i < n ? (uint8_t) s[2 * i] : 0,
			lo = 2 * i + 1 < n ? (uint8_t) s[2 * i + 1] : 0;
		regs[p->addr + i] = (uint16_t) (hi << 8 | lo);
	}
}

/* The decimal digits of the serial as a number (openWB only needs an answer). */
static uint32_t serial_number(const char *s)
{
	uint32_t x = 0;

	for (; s && *s; s++)
		if (*s >= '0' && *s <= '9')
			x = (x % 100000000u) * 10 + (uint32_t) (*s - '0');
	return x;
}

/* Smallest scale factor from the preferred one up at which every known value
 * of the group fits an int16 (SunSpec lets the factor change per read). */
static void choose_ssf(const struct modbus_map_template *t, const struct reading *v, int8_t ssf[_SSF_MAX])
{
	memcpy(ssf, ssf_preferred, _SSF_MAX);
	for (size_t i = 0; i < t->n_points; i++) {
		const struct modbus_map_point *p = &t->points[i];
		int64_t micro;

		if (p->type != MODBUS_MAP_I16_SSF || !source_micro(p, v, NULL, &micro))
			continue;
		while (ssf[p->exp] < 10 && llabs(scale_micro(micro, -ssf[p->exp])) > 32767)
			ssf[p->exp]++;
	}
}

static void put_number(uint16_t *regs, const struct modbus_map_template *t, const struct modbus_map_point *p,
		       const struct reading *v, const uint16_t *written, const int8_t *ssf)
{
	int64_t micro = 0;
	bool known = source_micro(p, v, written, &micro);
	float f = known ? (float) ((double) micro / (double) READING_SCALE * pow10i(p->exp)) : 0.0f;
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	switch ((enum modbus_map_type) p->type) {
	case MODBUS_MAP_F32_CDAB:
	case MODBUS_MAP_F32_ABCD:
		put32(regs, p->addr, bits, p->type == MODBUS_MAP_F32_CDAB);
		break;
	case MODBUS_MAP_I32_CDAB:
		put32(regs, p->addr,
		      (uint32_t) clamp(known ? scale_micro(micro, p->exp) : 0, INT32_MIN, INT32_MAX), true);
		break;
	case MODBUS_MAP_U32_ABCD:
		for (unsigned k = 0; k < MAX(p->len, 1); k++)
			put32(regs, p->addr + 2 * k,
			      (uint32_t) clamp(known ? scale_micro(micro, p->exp) : 0, 0, UINT32_MAX), false);
		break;
	case MODBUS_MAP_I16:
		regs[p->addr] =
		    (uint16_t) clamp(known ? scale_micro(micro, p->exp) : 0, INT16_MIN, INT16_MAX);
		break;
	case MODBUS_MAP_U16:
		regs[p->addr] = (uint16_t) clamp(known ? scale_micro(micro, p->exp) : 0, 0, UINT16_MAX);
		break;
	case MODBUS_MAP_SSF:
		regs[p->addr] = (uint16_t) (int16_t) ssf[p->exp];
		break;
	case MODBUS_MAP_I16_SSF:
		regs[p->addr] =
		    known ? (uint16_t) clamp(scale_micro(micro, -ssf[p->exp]), -32767, 32767) : t->filler;
		break;
	case MODBUS_MAP_STR:
		break;
	}
}

static void fill_points(const struct modbus_map_template *t, const struct modbus_map_point *points, size_t n,
			const struct reading *v, const struct modbus_map_ident *id, const uint16_t *written,
			const int8_t *ssf, uint16_t *regs)
{
	for (size_t i = 0; i < n; i++) {
		const struct modbus_map_point *p = &points[i];

		if (p->type == MODBUS_MAP_STR)
			put_text(regs, p,
				 p->source == MODBUS_MAP_SRC_SERIAL    ? id->serial
				 : p->source == MODBUS_MAP_SRC_VERSION ? id->version
								       : p->text);
		else if (p->source == MODBUS_MAP_SRC_SERIAL)
			put32(regs, p->addr, serial_number(id->serial), false);
		else {
			int w =
			    p->source == MODBUS_MAP_SRC_WRITABLE ? modbus_map_writable_index(t, p->addr) : 0;
			put_number(regs, t, p, v, written ? written + MAX(w, 0) : NULL, ssf);
		}
	}
}

void modbus_map_fill(const struct modbus_map_template *t, const struct reading *v,
		     const struct modbus_map_ident *id, const uint16_t *written, uint16_t *input,
		     uint16_t *holding)
{
	int8_t ssf[_SSF_MAX];

	for (size_t i = 0; i < t->n_blocks; i++)
		for (unsigned a = t->blocks[i].start; a < (unsigned) t->blocks[i].start + t->blocks[i].len;
		     a++)
			input[a] = t->filler;

	choose_ssf(t, v, ssf);
	fill_points(t, t->points, t->n_points, v, id, written, ssf, input);

	for (size_t i = 0; i < t->n_blocks; i++)
		memcpy(holding + t->blocks[i].start, input + t->blocks[i].start,
		       t->blocks[i].len * sizeof(uint16_t));
	fill_points(t, t->holding, t->n_holding, v, id, written, ssf, holding);
}
