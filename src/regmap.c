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

#include "smartconnectd/macro.h"
#include "smartconnectd/regmap.h"

#define F(a, src)                                                     \
	{                                                             \
		.addr = (a), .type = REGMAP_F32_CDAB, .source = (src) \
	}
#define FA(a, src)                                                    \
	{                                                             \
		.addr = (a), .type = REGMAP_F32_ABCD, .source = (src) \
	}
#define CG(a, src, e)                                                             \
	{                                                                         \
		.addr = (a), .type = REGMAP_I32_CDAB, .source = (src), .exp = (e) \
	}
#define U16C(a, c)                                                                           \
	{                                                                                    \
		.addr = (a), .type = REGMAP_U16, .source = REGMAP_SRC_CONST, .constant = (c) \
	}
#define STR(a, n, src, t)                                                                 \
	{                                                                                 \
		.addr = (a), .type = REGMAP_STR, .source = (src), .len = (n), .text = (t) \
	}

/* ---- Phoenix Contact EMpro (EEM-MA370/371): float32 CDAB, 0x8000-0x8035, 0x8100-0x8107 ---- */

static const struct regmap_block empro_blocks[] = { { 0x8000, 0x36 }, { 0x8100, 8 } };
static const struct regmap_point empro_points[] = {
	F(0x8000, MV_U12), F(0x8002, MV_U32),      F(0x8004, MV_U31),      F(0x8006, MV_U1),
	F(0x8008, MV_U2),  F(0x800A, MV_U3),       F(0x800E, MV_I1),       F(0x8010, MV_I2),
	F(0x8012, MV_I3),  F(0x8016, MV_P),        F(0x801E, MV_P1),       F(0x8020, MV_P2),
	F(0x8022, MV_P3),  F(0x8100, MV_E_IMPORT), F(0x8106, MV_E_EXPORT),
};

/* ---- Eastron SDM630: float32 ABCD, measurements on FC 0x04, setup on FC 0x03 ---- */

static const struct regmap_block sdm_blocks[] = {
	{ 0x0000, 0x50 }, { 0x00C8, 0x32 }, { 0x0156, 0x28 }, { 0xFC00, 4 }
};
static const struct regmap_point sdm_points[] = {
	FA(0x0000, MV_U1),
	FA(0x0002, MV_U2),
	FA(0x0004, MV_U3),
	FA(0x0006, MV_I1),
	FA(0x0008, MV_I2),
	FA(0x000A, MV_I3),
	FA(0x000C, MV_P1),
	FA(0x000E, MV_P2),
	FA(0x0010, MV_P3),
	FA(0x0030, REGMAP_SRC_I_SUM),
	FA(0x0034, MV_P),
	FA(0x0048, MV_E_IMPORT),
	FA(0x004A, MV_E_EXPORT),
	FA(0x00C8, MV_U12),
	FA(0x00CA, MV_U32),
	FA(0x00CC, MV_U31),
	FA(0x0156, REGMAP_SRC_E_TOTAL),
	{ .addr = 0xFC00, .type = REGMAP_U32_ABCD, .source = REGMAP_SRC_SERIAL },
	U16C(0xFC02, 112), /* SDM630 v2 model code, as Victron's drivers probe */
	U16C(0xFC03, 0x0100),
};
/* Holding registers 0x000A (system type) and 0x0014 (node address) overlap the
 * FC 0x04 currents and apparent powers; readers ask for them with FC 0x03. */
static const struct regmap_point sdm_holding[] = {
	{ .addr = 0x000A, .type = REGMAP_F32_ABCD, .source = REGMAP_SRC_PHASES },
	{ .addr = 0x0014, .type = REGMAP_F32_ABCD, .source = REGMAP_SRC_CONST, .constant = 1 },
};

/* ---- Carlo Gavazzi EM24 Ethernet: INT32 CDAB scaled, FC 0x03 and 0x04 ---- */

static const struct regmap_block em24_blocks[] = {
	{ 0x0000, 0x52 }, { 0x0302, 1 }, { 0x0304, 1 }, { 0x1002, 1 },
	{ 0x5000, 7 },    { 0xA000, 1 }, { 0xA100, 1 },
};
static const struct regmap_point em24_points[] = {
	CG(0x0000, MV_U1, 1),
	CG(0x0002, MV_U2, 1),
	CG(0x0004, MV_U3, 1),
	CG(0x0006, MV_U12, 1),
	CG(0x0008, MV_U32, 1),
	CG(0x000A, MV_U31, 1),
	CG(0x000C, MV_I1, 3),
	CG(0x000E, MV_I2, 3),
	CG(0x0010, MV_I3, 3),
	CG(0x0012, MV_P1, 1),
	CG(0x0014, MV_P2, 1),
	CG(0x0016, MV_P3, 1),
	CG(0x0028, MV_P, 1),
	CG(0x0034, MV_E_IMPORT, 1),
	CG(0x004E, MV_E_EXPORT, 1),
	U16C(0x0302, 0x1000), /* hardware 1.0.0 */
	U16C(0x0304, 0x1000), /* firmware 1.0.0 */
	{ .addr = 0x1002, .type = REGMAP_U16, .source = REGMAP_SRC_CG_SYSTEM },
	STR(0x5000, 7, REGMAP_SRC_SERIAL, NULL),
	{ .addr = 0xA000, .type = REGMAP_U16, .source = REGMAP_SRC_WRITABLE },
	U16C(0xA100, 3), /* front selector: locked */
};
static const struct regmap_writable em24_writable[] = { { 0xA000, 7 } }; /* application mode H */
static const struct regmap_single em24_singles[] = { { 0x000B, 1648 } }; /* EM24DINAV23XE1X */

/* ---- SunSpec: common model 1 and meter model 203 (wye, int16 + scale factors) at 40000 ---- */

enum { SSF_A, SSF_V, SSF_HZ, SSF_W, SSF_VA, SSF_VAR, SSF_PF, SSF_WH, _SSF_MAX };
/* Preferred scale factors: 0.01 A, 0.1 V, 0.01 Hz, 1 W; energy in Wh. */
static const int8_t ssf_preferred[_SSF_MAX] = { -2, -1, -2, 0, 0, 0, -2, 0 };

#define M203 40071 /* first data register of model 203 when model 1 has L = 65 */
#define SS(off, src, g)                                                                   \
	{                                                                                 \
		.addr = M203 + (off), .type = REGMAP_I16_SSF, .source = (src), .exp = (g) \
	}
#define SF(off, g)                                                                               \
	{                                                                                        \
		.addr = M203 + (off), .type = REGMAP_SSF, .source = REGMAP_SRC_CONST, .exp = (g) \
	}
#define ACC(off, src, n)                                                                             \
	{                                                                                            \
		.addr = M203 + (off), .type = REGMAP_U32_ABCD, .source = (src), .exp = 3, .len = (n) \
	}

static const struct regmap_block sunspec_blocks[] = { { 40000, 178 } };
static const struct regmap_point sunspec_points[] = {
	U16C(40000, 0x5375), /* "SunS" */
	U16C(40001, 0x6E53),
	U16C(40002, 1),
	U16C(40003, 65),
	STR(40004, 16, REGMAP_SRC_TEXT, "smartconnectd"),
	STR(40020, 16, REGMAP_SRC_TEXT, "Smart meter P1/TIC bridge"),
	STR(40036, 8, REGMAP_SRC_TEXT, ""),
	STR(40044, 8, REGMAP_SRC_VERSION, NULL),
	STR(40052, 16, REGMAP_SRC_SERIAL, NULL),
	U16C(40068, 1),
	U16C(40069, 203),
	U16C(40070, 105),
	SS(0, REGMAP_SRC_I_SUM, SSF_A),
	SS(1, MV_I1, SSF_A),
	SS(2, MV_I2, SSF_A),
	SS(3, MV_I3, SSF_A),
	SF(4, SSF_A),
	SS(6, MV_U1, SSF_V),
	SS(7, MV_U2, SSF_V),
	SS(8, MV_U3, SSF_V),
	SS(10, MV_U12, SSF_V),
	SS(11, MV_U32, SSF_V),
	SS(12, MV_U31, SSF_V),
	SF(13, SSF_V),
	SF(15, SSF_HZ),
	SS(16, MV_P, SSF_W),
	SS(17, MV_P1, SSF_W),
	SS(18, MV_P2, SSF_W),
	SS(19, MV_P3, SSF_W),
	SF(20, SSF_W),
	SF(25, SSF_VA),
	SF(30, SSF_VAR),
	SF(35, SSF_PF),
	ACC(36, MV_E_EXPORT, 1),
	ACC(38, REGMAP_SRC_CONST, 3), /* per-phase export: not measured */
	ACC(44, MV_E_IMPORT, 1),
	ACC(46, REGMAP_SRC_CONST, 3),
	SF(52, SSF_WH),
	ACC(53, REGMAP_SRC_CONST, 8), /* apparent energies */
	U16C(M203 + 69, 0),
	ACC(70, REGMAP_SRC_CONST, 16), /* reactive energies */
	U16C(M203 + 102, 0),
	ACC(103, REGMAP_SRC_CONST, 1), /* events: none */
	U16C(40176, 0xFFFF),           /* end model */
	U16C(40177, 0),
};

#define TEMPLATE(n, b, p) \
	.name = (n), .blocks = (b), .n_blocks = ARRAY_SIZE(b), .points = (p), .n_points = ARRAY_SIZE(p)

static const struct regmap_template templates[] = {
	{ TEMPLATE("PhoenixContact-EMPro", empro_blocks, empro_points) },
	{ TEMPLATE("Eastron-SDM630", sdm_blocks, sdm_points), .holding = sdm_holding,
	  .n_holding = ARRAY_SIZE(sdm_holding) },
	{ TEMPLATE("CarloGavazzi-EM24", em24_blocks, em24_points), .writable = em24_writable,
	  .n_writable = ARRAY_SIZE(em24_writable), .singles = em24_singles,
	  .n_singles = ARRAY_SIZE(em24_singles) },
	{ TEMPLATE("SunSpec", sunspec_blocks, sunspec_points), .filler = 0x8000, .sunspec = true },
};

static const struct regmap_template *const template_list[] = { &templates[0], &templates[1], &templates[2],
							       &templates[3], NULL };

const struct regmap_template *const *regmap_templates(void)
{
	return template_list;
}

const struct regmap_template *regmap_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (strcasecmp(templates[i].name, name) == 0)
			return &templates[i];
	return NULL;
}

bool regmap_readable(const struct regmap_template *t, unsigned addr, unsigned count)
{
	for (size_t i = 0; i < t->n_blocks; i++)
		if (addr >= t->blocks[i].start &&
		    addr + count <= (unsigned) t->blocks[i].start + t->blocks[i].len)
			return true;
	return false;
}

bool regmap_single_read(const struct regmap_template *t, unsigned addr, uint16_t *ret)
{
	for (size_t i = 0; i < t->n_singles; i++)
		if (t->singles[i].addr == addr) {
			*ret = t->singles[i].value;
			return true;
		}
	return false;
}

int regmap_writable_index(const struct regmap_template *t, unsigned addr)
{
	for (size_t i = 0; i < t->n_writable; i++)
		if (t->writable[i].addr == addr)
			return (int) i;
	return -1;
}

/* Without data a meter still has a wiring; three phases is the safe guess. */
static bool single_phase(const struct meter_values *v)
{
	return v && !mv_has(v, MV_U2) && !mv_has(v, MV_I2) && !mv_has(v, MV_P2) && !mv_has(v, MV_U12);
}

/* The snapshot value of a numeric source in millionths of its unit. */
static bool source_micro(const struct regmap_point *p, const struct meter_values *v, const uint16_t *written,
			 int64_t *ret)
{
	if (p->source < _MV_FIELD_MAX) {
		if (!v || !mv_has(v, (enum mv_field) p->source))
			return false;
		*ret = v->field[p->source];
		return true;
	}

	switch ((enum regmap_source) p->source) {
	case REGMAP_SRC_CONST:
		*ret = (int64_t) p->constant * MV_SCALE;
		return true;
	case REGMAP_SRC_I_SUM:
		if (!v || !mv_has(v, MV_I1) || !mv_has(v, MV_I2) || !mv_has(v, MV_I3))
			return false;
		*ret = v->field[MV_I1] + v->field[MV_I2] + v->field[MV_I3];
		return true;
	case REGMAP_SRC_E_TOTAL:
		if (!v || !mv_has(v, MV_E_IMPORT) || !mv_has(v, MV_E_EXPORT))
			return false;
		*ret = v->field[MV_E_IMPORT] + v->field[MV_E_EXPORT];
		return true;
	case REGMAP_SRC_WRITABLE:
		*ret = (int64_t) written[0] * MV_SCALE;
		return true;
	case REGMAP_SRC_PHASES:
		*ret = (single_phase(v) ? 1 : 3) * MV_SCALE;
		return true;
	case REGMAP_SRC_CG_SYSTEM:
		*ret = (single_phase(v) ? 3 : 0) * MV_SCALE; /* 1P or 3P.n */
		return true;
	case REGMAP_SRC_SERIAL:
	case REGMAP_SRC_VERSION:
	case REGMAP_SRC_TEXT:
		break;
	}
	return false;
}

/* micro x 10^exp / 10^6, rounded half away from zero. */
static int64_t scale_micro(int64_t micro, int exp)
{
	double x = (double) micro / (double) MV_SCALE * pow(10.0, exp);
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

static void put_text(uint16_t *regs, const struct regmap_point *p, const char *s)
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
static void choose_ssf(const struct regmap_template *t, const struct meter_values *v, int8_t ssf[_SSF_MAX])
{
	memcpy(ssf, ssf_preferred, _SSF_MAX);
	for (size_t i = 0; i < t->n_points; i++) {
		const struct regmap_point *p = &t->points[i];
		int64_t micro;

		if (p->type != REGMAP_I16_SSF || !source_micro(p, v, NULL, &micro))
			continue;
		while (ssf[p->exp] < 10 && llabs(scale_micro(micro, -ssf[p->exp])) > 32767)
			ssf[p->exp]++;
	}
}

static void put_number(uint16_t *regs, const struct regmap_template *t, const struct regmap_point *p,
		       const struct meter_values *v, const uint16_t *written, const int8_t *ssf)
{
	int64_t micro = 0;
	bool known = source_micro(p, v, written, &micro);
	float f = known ? (float) ((double) micro / (double) MV_SCALE * pow(10.0, p->exp)) : 0.0f;
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	switch ((enum regmap_type) p->type) {
	case REGMAP_F32_CDAB:
	case REGMAP_F32_ABCD:
		put32(regs, p->addr, bits, p->type == REGMAP_F32_CDAB);
		break;
	case REGMAP_I32_CDAB:
		put32(regs, p->addr,
		      (uint32_t) clamp(known ? scale_micro(micro, p->exp) : 0, INT32_MIN, INT32_MAX), true);
		break;
	case REGMAP_U32_ABCD:
		for (unsigned k = 0; k < MAX(p->len, 1); k++)
			put32(regs, p->addr + 2 * k,
			      (uint32_t) clamp(known ? scale_micro(micro, p->exp) : 0, 0, UINT32_MAX), false);
		break;
	case REGMAP_I16:
		regs[p->addr] =
		    (uint16_t) clamp(known ? scale_micro(micro, p->exp) : 0, INT16_MIN, INT16_MAX);
		break;
	case REGMAP_U16:
		regs[p->addr] = (uint16_t) clamp(known ? scale_micro(micro, p->exp) : 0, 0, UINT16_MAX);
		break;
	case REGMAP_SSF:
		regs[p->addr] = (uint16_t) (int16_t) ssf[p->exp];
		break;
	case REGMAP_I16_SSF:
		regs[p->addr] =
		    known ? (uint16_t) clamp(scale_micro(micro, -ssf[p->exp]), -32767, 32767) : t->filler;
		break;
	case REGMAP_STR:
		break;
	}
}

static void fill_points(const struct regmap_template *t, const struct regmap_point *points, size_t n,
			const struct meter_values *v, const struct regmap_ident *id, const uint16_t *written,
			const int8_t *ssf, uint16_t *regs)
{
	for (size_t i = 0; i < n; i++) {
		const struct regmap_point *p = &points[i];

		if (p->type == REGMAP_STR)
			put_text(regs, p,
				 p->source == REGMAP_SRC_SERIAL    ? id->serial
				 : p->source == REGMAP_SRC_VERSION ? id->version
								   : p->text);
		else if (p->source == REGMAP_SRC_SERIAL)
			put32(regs, p->addr, serial_number(id->serial), false);
		else {
			int w = p->source == REGMAP_SRC_WRITABLE ? regmap_writable_index(t, p->addr) : 0;
			put_number(regs, t, p, v, written ? written + MAX(w, 0) : NULL, ssf);
		}
	}
}

void regmap_fill(const struct regmap_template *t, const struct meter_values *v, const struct regmap_ident *id,
		 const uint16_t *written, uint16_t *input, uint16_t *holding)
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
