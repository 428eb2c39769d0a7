/* SPDX-License-Identifier: MIT */
/*
 * DSMR P1 telegram decoder: Dutch DSMR 2.2 to 5.0.2, Belgian e-MUCS, Luxembourg
 * Smarty (plain text) and the DSMR-style telegrams of other countries. Checks
 * the CRC-16/ARC trailer, splits the telegram into OBIS objects (every one is
 * kept) and derives the snapshot fields (smartconnect-decode(1), OUTPUT).
 *
 * Pure. No I/O, no logging, no allocation; time is passed in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/meter-time.h"
#include "smartconnectd/meter/proto-dsmr-mbus.h"
#include "smartconnectd/meter/proto.h"

/* Packed OBIS code A-B:C.D.E: one switch finds the objects the snapshot needs. */
#define OBIS(a, b, c, d, e)                                                                         \
	((uint64_t) (a) << 32 | (uint64_t) (b) << 24 | (uint64_t) (c) << 16 | (uint64_t) (d) << 8 | \
	 (uint64_t) (e))

enum {
	ACC_P_IMP = 1u << 0,
	ACC_P_EXP = 1u << 1,
	ACC_E_IMP_TOTAL = 1u << 2,
	ACC_E_EXP_TOTAL = 1u << 3,
	ACC_E_IMP_SUM = 1u << 4,
	ACC_E_EXP_SUM = 1u << 5,
	ACC_E_IMP_BAD = 1u << 6, /* a register did not parse or was negative: no total */
	ACC_E_EXP_BAD = 1u << 7,
	ACC_TS = 1u << 8,
};

/* What the normaliser needs, collected while the lines are parsed. */
struct dsmr_acc {
	uint32_t have;
	int64_t p_imp, p_exp;
	int64_t e_imp_total, e_exp_total, e_imp_sum, e_exp_sum;
	int64_t ph_imp[3], ph_exp[3], ph_u[3], ph_i[3];
	uint8_t ph_have_imp, ph_have_exp, ph_have_u, ph_have_i; /* bit per phase */
	int64_t ts;
	int id_rank;            /* priority of the identifier found so far */
	const char *p1_version; /* "50" of 1-3:0.2.8, NULL if absent */
	const char *be_version; /* "50217" of 0-0:96.1.4 */
	size_t p1_version_len, be_version_len;
	struct proto_dsmr_mbus mbus; /* channels 1..4: gas, water, heat, cooling meters */
};

struct dsmr_ctx {
	struct reading *v;
	const struct decode_opts *o;
	struct dsmr_acc acc;
	enum telegram_error *ret_error;
	char *detail;
};

_printf_(3, 4) static int fail(struct dsmr_ctx *c, enum telegram_error e, const char *fmt, ...)
{
	va_list ap;

	*c->ret_error = e;
	va_start(ap, fmt);
	vsnprintf(c->detail, TELEGRAM_DETAIL_MAX, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Check "!XXXX" [CR LF]: 1-4 hex digits (a heat-meter gateway sends 3), or none
 * for DSMR 2.2/3.0. Returns the number of digits or -1 when malformed. */
static int parse_trailer(const char *p, const char *end, unsigned *ret_crc)
{
	unsigned crc = 0;
	int k = 0;

	for (; p < end && reading_hex_digit(*p) >= 0; p++, k++)
		crc = crc << 4 | (unsigned) reading_hex_digit(*p);
	if (k > 4)
		return -1;
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	if (p != end)
		return -1;

	*ret_crc = crc;
	return k;
}

/* One group of an OBIS code: 1-3 digits, at most 255. Unrolled: it runs five
 * times for every line of every telegram. No bounds check: a byte is read
 * only after a digit, and the telegram's '!' (see parse_obis()) is none.
 * Returns the end of the digits. */
static inline const char *obis_group(const char *p, unsigned *ret)
{
	unsigned x = (unsigned) (p[0] - '0'), d;

	if (x > 9)
		return NULL;
	if ((d = (unsigned) (p[1] - '0')) > 9) {
		*ret = x;
		return p + 1;
	}
	x = x * 10 + d;
	if ((d = (unsigned) (p[2] - '0')) > 9) {
		*ret = x;
		return p + 2;
	}
	x = x * 10 + d;
	if (x > 255 || (unsigned) (p[3] - '0') <= 9)
		return NULL;
	*ret = x;
	return p + 3;
}

/* "A-B:C.D.E" with an optional "*F" or ".F" suffix (F = 255 in practice).
 * The line lies before the telegram's '!', which is neither a digit nor a
 * separator: every scan stops there without a length check. Returns the end
 * of the code or NULL. */
static const char *parse_obis(const char *p, uint64_t *ret)
{
	static const char seps[4] = { '-', ':', '.', '.' };
	uint64_t code = 0;
	unsigned x;

	for (unsigned g = 0; g < 5; g++) {
		p = obis_group(p, &x);
		if (!p)
			return NULL;
		code = code << 8 | x;
		if (g < 4) {
			if (*p != seps[g])
				return NULL;
			p++;
		}
	}
	if (*p == '*' || *p == '.') {
		p = obis_group(p + 1, &x);
		if (!p)
			return NULL;
	}

	*ret = code;
	return p;
}

/* Bytes that end the scan of a value. '!' is among them: the telegram's own
 * '!' bounds every scan, so the loop needs no length check. */
static const bool value_stop[256] = { [')'] = true, ['('] = true, ['\n'] = true, ['!'] = true };

/* Values "(..)(..)" appended to the last object; the line lies before the
 * telegram's '!', the first in its text. Returns the end of the last value list, or NULL when a value is not
 * closed on its line or holds a '('. */
static const char *parse_values(struct dsmr_ctx *c, const char *p, int *ret_err)
{
	const char *base = c->v->text;

	/* The '!' is neither '(' nor ')': no length check. */
	while (*p == '(') {
		const char *q = p + 1;

		/* Four bytes a turn; a byte is read only when those before it were
		 * no stop, so never one past the '!'. */
		for (;; q += 4) {
			if (value_stop[(unsigned char) q[0]])
				break;
			if (value_stop[(unsigned char) q[1]]) {
				q += 1;
				break;
			}
			if (value_stop[(unsigned char) q[2]]) {
				q += 2;
				break;
			}
			if (value_stop[(unsigned char) q[3]]) {
				q += 3;
				break;
			}
		}
		if (*q != ')') {
			*ret_err = -EINVAL;
			return NULL;
		}
		if (reading_add_value(c->v, (uint16_t) (p + 1 - base), (uint16_t) (q - p - 1)) < 0) {
			*ret_err = -ENOBUFS;
			return NULL;
		}
		p = q + 1;
	}
	return p;
}

static struct reading_span value_span(const struct reading *v, const struct reading_object *obj, unsigned i)
{
	return v->values[obj->first + i];
}

/* Scale value i of the object; false when absent or not a number of that quantity. */
static bool scaled(const struct dsmr_ctx *c, const struct reading_object *obj, unsigned i,
		   enum reading_quantity q, const char *default_unit, int64_t *ret)
{
	if (i >= obj->count)
		return false;

	struct reading_span s = value_span(c->v, obj, i);
	return reading_parse_scaled(reading_str(c->v, s), s.len, q, default_unit, ret) >= 0;
}

static void take_phase(struct dsmr_ctx *c, const struct reading_object *obj, unsigned phase, int64_t *slot,
		       uint8_t *have, enum reading_quantity q, const char *unit)
{
	if (scaled(c, obj, 0, q, unit, &slot[phase]))
		*have |= (uint8_t) (1u << phase);
}

/* Identifier objects in order of preference: the E-meter's equipment id, the
 * Luxembourg logical device name, the older/Irish 96.1.0, a plain serial. */
static void take_id(struct dsmr_ctx *c, const struct reading_object *obj, int rank, bool hex)
{
	struct reading *v = c->v;

	if (obj->count == 0 || rank <= c->acc.id_rank)
		return;

	struct reading_span s = value_span(v, obj, 0);
	if (s.len == 0)
		return;

	if (hex && reading_hex_to_text(reading_str(v, s), s.len, v->id, sizeof(v->id)) > 0) {
		c->acc.id_rank = rank;
		return;
	}
	/* Not hex-encoded text: keep it as written when printable. */
	size_t n = MIN((size_t) s.len, sizeof(v->id) - 1);
	for (size_t i = 0; i < n; i++)
		if (reading_str(v, s)[i] < 0x20)
			return;
	memcpy(v->id, reading_str(v, s), n);
	v->id[n] = '\0';
	c->acc.id_rank = rank;
}

static void take_energy(struct dsmr_ctx *c, const struct reading_object *obj, unsigned tariff, bool import)
{
	struct dsmr_acc *a = &c->acc;
	int64_t x;
	bool ok = scaled(c, obj, 0, READING_Q_ENERGY, "kWh", &x);

	/* A counter since installation cannot be below 0: whatever the meter
	 * meant, it is not a reading, and a total built from it would be wrong. */
	if (ok && x < 0) {
		c->v->flags |= READING_FLAG_ENERGY_NEGATIVE;
		a->have |= import ? ACC_E_IMP_BAD : ACC_E_EXP_BAD;
		return;
	}
	if (tariff == 0) {
		if (!ok)
			return;
		if (import) {
			a->e_imp_total = x;
			a->have |= ACC_E_IMP_TOTAL;
		} else {
			a->e_exp_total = x;
			a->have |= ACC_E_EXP_TOTAL;
		}
		return;
	}

	if (import) {
		a->e_imp_sum += ok ? x : 0;
		a->have |= ok ? ACC_E_IMP_SUM : ACC_E_IMP_BAD;
	} else {
		a->e_exp_sum += ok ? x : 0;
		a->have |= ok ? ACC_E_EXP_SUM : ACC_E_EXP_BAD;
	}
}

static void take_power(struct dsmr_ctx *c, const struct reading_object *obj, bool import)
{
	struct dsmr_acc *a = &c->acc;

	if (import) {
		if (scaled(c, obj, 0, READING_Q_POWER, "kW", &a->p_imp))
			a->have |= ACC_P_IMP;
	} else if (scaled(c, obj, 0, READING_Q_POWER, "kW", &a->p_exp))
		a->have |= ACC_P_EXP;
}

static void take_version(const struct dsmr_ctx *c, const struct reading_object *obj, const char **ret,
			 size_t *ret_len)
{
	if (obj->count == 0)
		return;
	struct reading_span s = value_span(c->v, obj, 0);
	*ret = reading_str(c->v, s);
	*ret_len = s.len;
}

static void take_ts(struct dsmr_ctx *c, const struct reading_object *obj)
{
	if (obj->count == 0)
		return;
	struct reading_span s = value_span(c->v, obj, 0);
	if (meter_time_parse_tst(reading_str(c->v, s), s.len, c->o->std_offset_min, &c->acc.ts) >= 0)
		c->acc.have |= ACC_TS;
}

/* Per-phase objects: C = 20k + n with k = phase (1..3) and n the quantity. */
static void take_phase_object(struct dsmr_ctx *c, const struct reading_object *obj, unsigned cc)
{
	struct dsmr_acc *a = &c->acc;
	unsigned phase = cc / 20 - 1, kind = cc % 20;

	if (phase > 2)
		return;
	switch (kind) {
	case 1:
		take_phase(c, obj, phase, a->ph_imp, &a->ph_have_imp, READING_Q_POWER, "kW");
		break;
	case 2:
		take_phase(c, obj, phase, a->ph_exp, &a->ph_have_exp, READING_Q_POWER, "kW");
		break;
	case 11:
		take_phase(c, obj, phase, a->ph_i, &a->ph_have_i, READING_Q_AMPERE, "A");
		break;
	case 12:
		take_phase(c, obj, phase, a->ph_u, &a->ph_have_u, READING_Q_VOLT, "V");
		break;
	default:
		break;
	}
}

/* Route one object to the accumulator by its code. Unknown codes are only kept
 * as objects. */
static void dispatch(struct dsmr_ctx *c, const struct reading_object *obj, uint64_t code)
{
	unsigned a = (unsigned) (code >> 32), cc = (unsigned) (code >> 16) & 0xff,
		 d = (unsigned) (code >> 8) & 0xff, e = (unsigned) code & 0xff;

	if (a == 1 && d == 8 && e <= 99 && (cc == 1 || cc == 2)) {
		take_energy(c, obj, e, cc == 1);
		return;
	}
	if (a == 1 && d == 7 && e == 0) {
		if (cc == 1 || cc == 2)
			take_power(c, obj, cc == 1);
		else if (cc >= 21 && cc <= 72)
			take_phase_object(c, obj, cc);
		return;
	}

	/* 0-n: the M-Bus channels, by device type rather than by n. */
	if (a == 0 && (unsigned) (code >> 24 & 0xff) - 1 < PROTO_DSMR_MBUS_CHANNELS) {
		proto_dsmr_mbus_take(&c->acc.mbus, c->v, obj, (unsigned) (code >> 24) & 0xff, cc, d);
		return;
	}

	switch (code) {
	case OBIS(1, 3, 0, 2, 8):
		take_version(c, obj, &c->acc.p1_version, &c->acc.p1_version_len);
		break;
	case OBIS(0, 0, 96, 1, 4):
		take_version(c, obj, &c->acc.be_version, &c->acc.be_version_len);
		break;
	case OBIS(0, 0, 1, 0, 0):
		take_ts(c, obj);
		break;
	case OBIS(0, 0, 96, 1, 1):
		take_id(c, obj, 4, true);
		break;
	case OBIS(0, 0, 42, 0, 0):
		take_id(c, obj, 3, true);
		break;
	case OBIS(0, 0, 96, 1, 0):
		take_id(c, obj, 2, true);
		break;
	case OBIS(1, 0, 0, 0, 0):
	case OBIS(0, 0, 96, 1, 255):
		take_id(c, obj, 1, false);
		break;
	default:
		break;
	}
}

/* After the values: optional blanks, then CR LF, a bare LF, or '!' right away.
 * Returns the start of the next line or NULL. */
static inline const char *line_end(const char *p, const char *bang)
{
	/* *bang is '!': none of these bytes, so no length check. */
	while (*p == ' ')
		p++;
	if (*p == '\r')
		p++;
	if (*p == '\n')
		return p + 1;
	return p == bang ? bang : NULL;
}

/* One line from p; returns the start of the next line, or NULL with the error set. */
static const char *parse_line(struct dsmr_ctx *c, const char *p, const char *bang, unsigned lineno)
{
	struct reading *v = c->v;
	const char *q;
	uint64_t code = 0;
	int r = 0;

	if (*p == '(') {
		/* DSMR 2.2/3.0 gas profile: the value continues the previous object. */
		q = v->n_objects > 0 ? parse_values(c, p, &r) : NULL;
		if (!q || !(q = line_end(q, bang)))
			fail(c, r == -ENOBUFS ? TELEGRAM_ERR_TOO_LONG : TELEGRAM_ERR_SYNTAX,
			     "line %u: stray value line", lineno);
		return q;
	}
	if (*p == '\r' || *p == '\n' || *p == ' ') {
		/* The blank line after the header, or padding. */
		if (!(q = line_end(p, bang)))
			fail(c, TELEGRAM_ERR_SYNTAX, "line %u: no OBIS code", lineno);
		return q;
	}

	const char *id_end = parse_obis(p, &code);
	if (!id_end || id_end >= bang || *id_end != '(') {
		fail(c, TELEGRAM_ERR_SYNTAX, "line %u: no OBIS code", lineno);
		return NULL;
	}
	if (reading_add_object(v, (uint16_t) (p - v->text), (uint16_t) (id_end - p)) < 0) {
		fail(c, TELEGRAM_ERR_TOO_LONG, "line %u: too many objects", lineno);
		return NULL;
	}

	q = parse_values(c, id_end, &r);
	if (!q) {
		fail(c, r == -ENOBUFS ? TELEGRAM_ERR_TOO_LONG : TELEGRAM_ERR_SYNTAX,
		     r == -ENOBUFS ? "line %u: too many values" : "line %u: bad value list", lineno);
		return NULL;
	}
	dispatch(c, &v->objects[v->n_objects - 1], code);

	if (!(q = line_end(q, bang)))
		fail(c, TELEGRAM_ERR_SYNTAX, "line %u: bad value list", lineno);
	return q;
}

/* Lines between the header and '!'. Line ends are CR LF; a bare LF is accepted. */
static int parse_body(struct dsmr_ctx *c, const char *p, const char *bang)
{
	for (unsigned lineno = 2; p && p < bang; lineno++)
		p = parse_line(c, p, bang, lineno);
	return p ? 0 : -EBADMSG;
}

/* Interpret the version objects: "50" → "5.0"; "50217" → e-MUCS 1.7 on DSMR 5.0.2. */
static void set_version(struct dsmr_ctx *c, bool has_crc)
{
	struct reading *v = c->v;
	const struct dsmr_acc *a = &c->acc;
	const char *s;

	if (a->be_version && a->be_version_len == 5) {
		s = a->be_version;
		snprintf(v->version, sizeof(v->version), "e-MUCS %c.%c (DSMR %c.%c.%c)", s[3], s[4], s[0],
			 s[1], s[2]);
		v->interval_s = 1;
	} else if (a->p1_version && a->p1_version_len == 2) {
		/* Built by hand: snprintf would be a tenth of the telegram's cost. */
		s = a->p1_version;
		v->version[0] = s[0];
		v->version[1] = '.';
		v->version[2] = s[1];
		v->version[3] = '\0';
		/* DSMR 5 sends every second; 4.x and Smarty (which says "42") every 10 s. */
		v->interval_s = s[0] >= '5' ? 1 : 10;
	} else {
		snprintf(v->version, sizeof(v->version), "%s",
			 has_crc ? "P1 (no version object)" : "2.2/3.0");
		v->interval_s = 10;
	}
}

static int64_t signed_phase_current(int64_t magnitude, bool have_p, int64_t p)
{
	/* NL/BE/LU currents are magnitudes; Sweden sends signed ones, kept as sent. */
	if (magnitude < 0 || !have_p || p == 0)
		return magnitude;
	return p < 0 ? -magnitude : magnitude;
}

/*
 * A single-phase meter without per-phase power objects (Belgian single-phase
 * e-MUCS): L1 carries the whole power, so the total's sign is the phase's.
 * Only when nothing of L2 or L3 is sent: on three phases one may feed in
 * while another draws.
 */
static bool single_phase_without_powers(const struct dsmr_acc *a)
{
	return !(a->ph_have_imp | a->ph_have_exp) && !((a->ph_have_u | a->ph_have_i) & 6) &&
	       (a->have & ACC_P_IMP);
}

static bool is_delta_grid(const struct dsmr_ctx *c)
{
	const struct dsmr_acc *a = &c->acc;

	if (c->o->grid != DECODE_GRID_AUTO)
		return c->o->grid == DECODE_GRID_DELTA;

	/* e-MUCS Aron metering: L2 voltage reads 0 while L1 and L3 carry ~230 V. */
	return a->be_version && a->ph_have_u == 7 && a->ph_u[1] == 0 && a->ph_u[0] > 100 * READING_SCALE &&
	       a->ph_u[2] > 100 * READING_SCALE;
}

static void normalise_phases(struct dsmr_ctx *c)
{
	struct reading *v = c->v;
	const struct dsmr_acc *a = &c->acc;

	if (is_delta_grid(c)) {
		v->flags |= READING_FLAG_DELTA_GRID;
		if (a->ph_have_u & 1)
			reading_set(v, READING_U12, a->ph_u[0]);
		if (a->ph_have_u & 4)
			reading_set(v, READING_U32, a->ph_u[2]);
		return;
	}

	if (single_phase_without_powers(a)) {
		if (a->ph_have_u & 1)
			reading_set(v, READING_U1, a->ph_u[0]);
		if (a->ph_have_i & 1)
			reading_set(v, READING_I1,
				    signed_phase_current(a->ph_i[0], true, v->field[READING_P]));
		return;
	}

	for (unsigned x = 0; x < 3; x++) {
		unsigned bit = 1u << x;
		bool have_p = (a->ph_have_imp | a->ph_have_exp) & bit;
		int64_t p =
		    ((a->ph_have_imp & bit) ? a->ph_imp[x] : 0) - ((a->ph_have_exp & bit) ? a->ph_exp[x] : 0);

		if (have_p)
			reading_set(v, (enum reading_field)(READING_P1 + x), p);
		if (a->ph_have_u & bit)
			reading_set(v, (enum reading_field)(READING_U1 + x), a->ph_u[x]);
		if (a->ph_have_i & bit)
			reading_set(v, (enum reading_field)(READING_I1 + x),
				    signed_phase_current(a->ph_i[x], have_p, p));
	}
}

static void normalise(struct dsmr_ctx *c, int64_t now_s)
{
	struct reading *v = c->v;
	const struct dsmr_acc *a = &c->acc;

	if (a->have & ACC_TS)
		v->ts = a->ts;
	else {
		v->ts = now_s;
		v->flags |= READING_FLAG_TS_HOST;
	}

	/* Without 2.7.0 (early 2.2 meters) the export side is unknown but P = +1.7.0. */
	if (a->have & ACC_P_IMP)
		reading_set(v, READING_P, a->p_imp - ((a->have & ACC_P_EXP) ? a->p_exp : 0));

	if (a->have & ACC_E_IMP_TOTAL)
		reading_set(v, READING_E_IMPORT, a->e_imp_total);
	else if ((a->have & (ACC_E_IMP_SUM | ACC_E_IMP_BAD)) == ACC_E_IMP_SUM)
		reading_set(v, READING_E_IMPORT, a->e_imp_sum);

	if (a->have & ACC_E_EXP_TOTAL)
		reading_set(v, READING_E_EXPORT, a->e_exp_total);
	else if ((a->have & (ACC_E_EXP_SUM | ACC_E_EXP_BAD)) == ACC_E_EXP_SUM)
		reading_set(v, READING_E_EXPORT, a->e_exp_sum);

	normalise_phases(c);
	proto_dsmr_mbus_normalise(&a->mbus, v, c->o->std_offset_min);
}

/* CRC-16/ARC over n bytes with bit 7 cleared, a block at a time. */
static uint16_t crc_7bit(const char *text, size_t n)
{
	uint8_t block[64];
	uint16_t crc = 0;

	for (size_t off = 0; off < n; off += sizeof(block)) {
		size_t k = MIN(sizeof(block), n - off);

		for (size_t i = 0; i < k; i++)
			block[i] = (uint8_t) text[off + i] & 0x7f;
		crc = crc16_arc_update(crc, block, k);
	}
	return crc;
}

/* Eight bytes at a time: telegrams are nearly always plain ASCII. */
static bool has_bit7(const char *text, size_t n)
{
	uint64_t w, any = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, text + i, 8);
		any |= w;
	}
	for (; i < n; i++)
		any |= (uint8_t) text[i];
	return any & UINT64_C(0x8080808080808080);
}

int proto_dsmr_crc(const char *text, size_t bang, unsigned stated, unsigned line_bits)
{
	size_t n = bang + 1;

	if (line_bits != 7 && crc16_arc(text, n) == stated)
		return 0;
	/* Only a line that may carry parity in bit 7 gets the second reading. */
	if (line_bits != 8 && (line_bits == 7 || has_bit7(text, n)) && crc_7bit(text, n) == stated)
		return 1;
	return -EBADMSG;
}

/* The CRC, then the text as 7-bit characters for everything after it. */
static int check_crc(struct dsmr_ctx *c, size_t bang, unsigned stated)
{
	struct reading *v = c->v;
	int r = proto_dsmr_crc(v->text, bang, stated, c->o->line_bits);

	if (r < 0) {
		unsigned computed =
		    c->o->line_bits == 7 ? crc_7bit(v->text, bang + 1) : crc16_arc(v->text, bang + 1);

		*c->ret_error = TELEGRAM_ERR_CRC;
		snprintf(c->detail, TELEGRAM_DETAIL_MAX, "stated %04X, computed %04X", stated, computed);
		return -EBADMSG;
	}
	v->flags |= READING_FLAG_CRC_PRESENT | (r == 1 ? READING_FLAG_CRC_7BIT : 0);
	return 0;
}

static void strip_bit7(struct reading *v)
{
	if (!has_bit7(v->text, v->text_len))
		return;
	for (size_t i = 0; i < v->text_len; i++)
		v->text[i] &= 0x7f;
}

int proto_dsmr_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		      enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX])
{
	struct dsmr_ctx c = { .v = v, .o = o, .ret_error = ret_error, .detail = detail };
	const char *text = v->text, *end = v->text + v->text_len;
	unsigned stated = 0;
	int r;

	reading_reset(v);
	v->protocol = READING_PROTO_DSMR;

	const char *bang = v->text_len > 0 && text[0] == '/' ? memchr(text, '!', v->text_len) : NULL;
	if (!bang)
		return fail(&c, TELEGRAM_ERR_SYNTAX, "no '/' ... '!' telegram");

	int digits = parse_trailer(bang + 1, end, &stated);
	if (digits < 0)
		return fail(&c, TELEGRAM_ERR_SYNTAX, "bad CRC field after '!'");
	if (digits > 0 && check_crc(&c, (size_t) (bang - text), stated) < 0)
		return -EBADMSG;
	if (!o->ascii)
		strip_bit7(v);

	/* The identification line: "/XXX5..." up to its line end. */
	const char *nl = memchr(text, '\n', (size_t) (bang - text));
	const char *hdr_end = nl ? nl : bang;
	if (hdr_end > text && hdr_end[-1] == '\r')
		hdr_end--;
	v->ident = (struct reading_span){ 1, (uint16_t) (hdr_end - text - 1) };

	r = parse_body(&c, nl ? nl + 1 : bang, bang);
	if (r < 0)
		return r;
	if (v->n_objects == 0)
		return fail(&c, TELEGRAM_ERR_EMPTY, "no data object");

	/* From DSMR 4.0 on (and in every e-MUCS telegram) the CRC is mandatory. */
	if (digits == 0 && (c.acc.p1_version || c.acc.be_version))
		return fail(&c, TELEGRAM_ERR_CRC_MISSING, "a telegram with a version object has no CRC");

	set_version(&c, digits > 0);
	normalise(&c, now_s);
	return 0;
}

/* "C.D.E" is what follows the colon of "A-B:C.D.E" (rest, n bytes), an "*255"
 * or ".255" suffix ignored. */
static bool id_is(const char *rest, size_t n, const char *suffix, size_t k)
{
	return n >= k && rest[0] == suffix[0] && (n == k || rest[k] == '*' || rest[k] == '.') &&
	       memcmp(rest, suffix, k) == 0;
}

#define ID(s)                    \
	{                        \
		s, sizeof(s) - 1 \
	}

/* Asked once per object by every JSON output: the id is split once and the
 * names compared by length first. */
static enum proto_object_kind dsmr_object_kind(const struct reading *v, const struct reading_object *o)
{
	/* Equipment identifiers and text messages, hex-encoded. */
	static const struct {
		const char *s;
		size_t n;
	} text_ids[] = {
		ID("96.1.0"),  ID("96.1.1"),  ID("42.0.0"),  ID("96.13.0"), ID("96.13.1"),
		ID("96.13.2"), ID("96.13.3"), ID("96.13.4"), ID("96.13.5"),
	};
	const char *s = reading_str(v, o->id);
	const char *colon = memchr(s, ':', o->id.len);
	const char *rest;
	size_t n;

	if (!colon)
		return PROTO_OBJECT_MEASURE;
	rest = colon + 1;
	n = o->id.len - (size_t) (rest - s);
	for (size_t i = 0; i < ARRAY_SIZE(text_ids); i++)
		if (id_is(rest, n, text_ids[i].s, text_ids[i].n))
			return PROTO_OBJECT_TEXT;
	if (id_is(rest, n, "99.97.0", 7))
		return PROTO_OBJECT_FAILURE_LOG;
	/* An e-MUCS history without its object ids is read as a plain value. */
	if (id_is(rest, n, "98.1.0", 6) && o->count >= 3 && v->values[o->first + 1].len > 0)
		return PROTO_OBJECT_PEAK_HISTORY;
	if (id_is(rest, n, "24.3.0", 6))
		return PROTO_OBJECT_PROFILE;
	return PROTO_OBJECT_MEASURE;
}

/* 8N1 for DSMR 4.x/5.x, e-MUCS and Smarty first: they are the common meters
 * today; 7E1 for DSMR 2.2/3.0. Values carry their units ("*kWh"). */
static const enum tty_setting dsmr_serial[] = { TTY_SETTING_115200_8N1, TTY_SETTING_9600_7E1 };

const struct proto_driver proto_dsmr = {
	.id = READING_PROTO_DSMR,
	.name = "dsmr",
	.title = "DSMR",
	.title_version = true,
	.hunt = TELEGRAM_HUNT_DSMR,
	.settings = dsmr_serial,
	.n_settings = ARRAY_SIZE(dsmr_serial),
	.decode = proto_dsmr_decode,
	.object_kind = dsmr_object_kind,
};
