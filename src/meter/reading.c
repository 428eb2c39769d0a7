/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the data model: object table, number parsing, unit scaling, hex
 * text. Hand-written parsers instead of strtod/sscanf: they are locale free,
 * exact (no binary floating point before the final division) and cheap enough
 * for the per-telegram instruction budget.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"

void reading_reset(struct reading *v)
{
	/* text[] and its length are left alone: the framer has just filled them. */
	uint16_t len = v->text_len;

	memset(v, 0, offsetof(struct reading, objects));
	v->text_len = len;
}

static const char *const field_names[] = {
	[READING_P] = "P",
	[READING_E_IMPORT] = "E_IMPORT",
	[READING_E_EXPORT] = "E_EXPORT",
	[READING_U12] = "U12",
	[READING_U31] = "U31",
	[READING_U32] = "U32",
	[READING_U1] = "U1",
	[READING_U2] = "U2",
	[READING_U3] = "U3",
	[READING_I1] = "I1",
	[READING_I2] = "I2",
	[READING_I3] = "I3",
	[READING_P1] = "P1",
	[READING_P2] = "P2",
	[READING_P3] = "P3",
};

_Static_assert(ARRAY_SIZE(field_names) == _READING_FIELD_MAX, "a name for every field");
DEFINE_STRING_TABLE_TO(reading_field, enum reading_field, field_names)

static const char *const mbus_kind_names[] = {
	[READING_MBUS_GAS] = "gas",
	[READING_MBUS_WATER] = "water",
	[READING_MBUS_HEAT] = "heat",
	[READING_MBUS_COLD] = "cold",
};

_Static_assert(ARRAY_SIZE(mbus_kind_names) == _READING_MBUS_KIND_MAX, "a name for every kind");
DEFINE_STRING_TABLE_TO(reading_mbus_kind, enum reading_mbus_kind, mbus_kind_names)

/* The drivers' names (proto.h); "none" for a frame no driver reads. */
const char *reading_protocol_to_string(enum reading_protocol p)
{
	return p == READING_PROTO_NONE ? "none" : proto_setting_to_string(p);
}

enum reading_protocol reading_protocol_from_string(const char *s)
{
	if (s && strcmp(s, "none") == 0)
		return READING_PROTO_NONE;
	return proto_from_name(s);
}

const struct reading_object *reading_find(const struct reading *v, const char *id)
{
	size_t n = strlen(id);
	uint64_t head = 0, w;

	/* Most codes are as long as the one sought ("1-0:1.4.0", "1-0:1.8.1"):
	 * their first eight bytes, one word, tell most apart without a call. */
	if (n >= sizeof(head))
		memcpy(&head, id, sizeof(head));
	for (const struct reading_object *o = v->objects, *end = o + v->n_objects; o < end; o++) {
		const char *t;

		if (o->id.len != n)
			continue;
		t = v->text + o->id.off;
		if (n < sizeof(head)) {
			if (memcmp(t, id, n) == 0)
				return o;
			continue;
		}
		memcpy(&w, t, sizeof(w));
		if (w == head && memcmp(t + sizeof(w), id + sizeof(w), n - sizeof(w)) == 0)
			return o;
	}
	return NULL;
}

/* The digits of s up to end, accumulated into *mant; returns where they stop. */
static inline const char *scan_digits(const char *p, const char *end, uint64_t *mant)
{
	uint64_t m = *mant;

	for (; p < end; p++) {
		uint64_t d = (uint64_t) (uint8_t) *p - '0'; /* a byte below '0' wraps round */

		if (d > 9)
			break;
		m = m * 10 + d;
	}
	*mant = m;
	return p;
}

/* More than 18 digits between digits and p: fine when all but 18 are leading zeros. */
static bool too_many_digits(const char *digits, const char *p, size_t ndigits)
{
	size_t zeros = 0;

	for (const char *z = digits; z < p && (*z == '0' || *z == '.'); z++)
		zeros += *z == '0';
	return ndigits - zeros > 18;
}

/* Sign, digits, optional decimal point; the unit is what follows, unchecked. */
static inline int parse_digits(const char *s, size_t n, struct reading_number *ret)
{
	const char *p = s, *end = s + n, *digits, *int_end;
	uint64_t mant = 0;
	unsigned decimals = 0;
	bool neg = false;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';

	digits = p;
	p = int_end = scan_digits(p, end, &mant);
	if (p < end && *p == '.') {
		const char *frac = p + 1;

		p = scan_digits(frac, end, &mant);
		decimals = (unsigned) (p - frac);
		/* No bare trailing decimal point ("12."). */
		if (decimals == 0)
			return -EINVAL;
	}

	size_t ndigits = (size_t) (int_end - digits) + decimals;
	if (ndigits == 0)
		return -EINVAL;
	/* Leading zeros are free; 18 significant digits always fit. */
	if (ndigits > 18 && too_many_digits(digits, p, ndigits))
		return -ERANGE;

	ret->mant = neg ? -(int64_t) mant : (int64_t) mant;
	ret->decimals = decimals;
	if (p < end && *p == '*')
		p++;
	ret->unit = p;
	ret->unit_len = (size_t) (end - p);
	return 0;
}

int reading_parse_number(const char *s, size_t n, struct reading_number *ret)
{
	struct reading_number num;
	int r = parse_digits(s, n, &num);

	if (r < 0)
		return r;
	for (size_t i = 0; i < num.unit_len; i++) {
		char u = num.unit[i];
		if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9')))
			return -EINVAL;
	}
	*ret = num;
	return 0;
}

#define UNIT_NONE (-100)

/* Two bytes of a unit as one key, letters lowered: a byte becomes 'a', 'h',
 * 'v' or 'w' by "| 0x20" only when it is that letter in either case. */
#define UNIT_KEY(a, b) ((unsigned) (a) | (unsigned) (b) << 8)

static inline unsigned unit_key(const char *u, size_t n)
{
	unsigned a = (uint8_t) u[0] | 0x20u;

	return n == 1 ? a : UNIT_KEY(a, (uint8_t) u[1] | 0x20u);
}

/* The power of ten of the base unit (W, kWh, V, A) a unit without prefix
 * (1 or 2 bytes) stands for, in millionths; UNIT_NONE for another quantity. */
static inline int unit_base_exponent(enum reading_quantity q, unsigned key)
{
	switch (q) {
	case READING_Q_POWER:
		return key == 'w' || key == UNIT_KEY('v', 'a') ? 6 : UNIT_NONE;
	case READING_Q_ENERGY:
		/* Base unit kWh: a value in Wh is a thousandth. */
		return key == UNIT_KEY('w', 'h') ? 3 : UNIT_NONE;
	case READING_Q_VOLT:
		return key == 'v' ? 6 : UNIT_NONE;
	case READING_Q_AMPERE:
		return key == 'a' ? 6 : UNIT_NONE;
	}
	return UNIT_NONE;
}

/* Power of ten by which a value in `unit` must be multiplied to give millionths
 * of the quantity's base unit (W, kWh, V, A); UNIT_NONE when the unit belongs
 * to another quantity. Units come in mixed case ("kWh", "KWH", "kw"); the
 * prefix is case-sensitive but for k/K. Three bytes or fewer, by length. */
static inline int unit_exponent(enum reading_quantity q, const char *u, size_t n)
{
	int prefix;

	if (n == 0 || n > 3)
		return UNIT_NONE;
	switch (n >= 2 ? u[0] : 0) {
	case 'k':
	case 'K':
		prefix = 3;
		break;
	case 'M':
		prefix = 6;
		break;
	case 'm':
		prefix = -3;
		break;
	default:
		/* Without a prefix, three bytes are no unit. */
		return n == 3 ? UNIT_NONE : unit_base_exponent(q, unit_key(u, n));
	}

	int exp = unit_base_exponent(q, unit_key(u + 1, n - 1));
	return exp == UNIT_NONE ? UNIT_NONE : exp + prefix;
}

static const int64_t powers_of_ten[19] = {
	1LL,
	10LL,
	100LL,
	1000LL,
	10000LL,
	100000LL,
	1000000LL,
	10000000LL,
	100000000LL,
	1000000000LL,
	10000000000LL,
	100000000000LL,
	1000000000000LL,
	10000000000000LL,
	100000000000000LL,
	1000000000000000LL,
	10000000000000000LL,
	100000000000000000LL,
	1000000000000000000LL,
};

/* Finer than a millionth: divide by 10^-exp, rounding half away from zero. */
static int64_t scale_down(int64_t v, int exp)
{
	if (exp <= -19)
		return 0;

	int64_t d = powers_of_ten[-exp], r = v % d;

	v /= d;
	if (2 * r >= d)
		v++;
	else if (2 * r <= -d)
		v--;
	return v;
}

static inline int scale(const struct reading_number *num, enum reading_quantity q, const char *default_unit,
			int64_t *ret_micro)
{
	int exp = num->unit_len ? unit_exponent(q, num->unit, num->unit_len)
				: unit_exponent(q, default_unit, strlen(default_unit));
	int64_t v = num->mant;

	if (exp == UNIT_NONE)
		return -EINVAL;

	exp -= (int) num->decimals;
	if (exp > 0) {
		if (exp >= 19 || __builtin_mul_overflow(v, powers_of_ten[exp], &v))
			return -ERANGE;
	} else if (exp < 0)
		v = scale_down(v, exp);

	*ret_micro = v;
	return 0;
}

int reading_scale(const struct reading_number *num, enum reading_quantity q, const char *default_unit,
		  int64_t *ret_micro)
{
	return scale(num, q, default_unit, ret_micro);
}

/* One more than the value of each hex digit, 0 for any other byte. */
static const uint8_t hex_value1[256] = {
	['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
	['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

int reading_hex_to_text(const char *s, size_t n, char *ret, size_t ret_size)
{
	size_t k = 0;

	if (n % 2 || ret_size == 0)
		return -EINVAL;

	for (size_t i = 0; i < n; i += 2) {
		unsigned hi = hex_value1[(uint8_t) s[i]], lo = hex_value1[(uint8_t) s[i + 1]];
		if (!hi || !lo)
			return -EINVAL;

		unsigned c = (hi - 1) << 4 | (lo - 1);
		/* Printable: 0x20..0x7e. */
		if (c - 0x20 > 0x7e - 0x20)
			return -EINVAL;
		if (k + 1 < ret_size)
			ret[k++] = (char) c;
	}
	ret[k] = '\0';
	return (int) k;
}

int reading_parse_scaled(const char *s, size_t n, enum reading_quantity q, const char *default_unit,
			 int64_t *ret_micro)
{
	struct reading_number num;
	int r = parse_digits(s, n, &num);

	/* No separate unit check: only the exact units of the quantity scale. */
	return r < 0 ? r : scale(&num, q, default_unit, ret_micro);
}
