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
	for (unsigned i = 0; i < v->n_objects; i++) {
		const struct reading_object *o = &v->objects[i];
		const char *t = v->text + o->id.off;

		if (o->id.len != n)
			continue;
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

/* Sign, digits, optional decimal point; the unit is what follows, unchecked. */
static inline int parse_digits(const char *s, size_t n, struct reading_number *ret)
{
	const char *p = s, *end = s + n, *point = NULL, *digits;
	uint64_t mant = 0;
	bool neg = false;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';

	digits = p;
	for (unsigned d; p < end && (d = (unsigned) (*p - '0')) < 10; p++)
		mant = mant * 10 + d;
	if (p < end && *p == '.') {
		point = p++;
		for (unsigned d; p < end && (d = (unsigned) (*p - '0')) < 10; p++)
			mant = mant * 10 + d;
	}

	/* At least one digit, and no bare trailing decimal point ("12."). */
	size_t ndigits = (size_t) (p - digits) - (point != NULL);
	if (ndigits == 0 || p[-1] == '.')
		return -EINVAL;
	if (ndigits > 18) {
		/* Leading zeros are free; 18 significant digits always fit. */
		size_t zeros = 0;
		for (const char *z = digits; z < p && (*z == '0' || *z == '.'); z++)
			zeros += *z == '0';
		if (ndigits - zeros > 18)
			return -ERANGE;
	}

	ret->mant = neg ? -(int64_t) mant : (int64_t) mant;
	ret->decimals = point ? (unsigned) (p - point - 1) : 0;
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

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* Power of ten by which a value in `unit` must be multiplied to give millionths
 * of the quantity's base unit (W, kWh, V, A); -100 when the unit belongs to
 * another quantity. Units come in mixed case ("kWh", "KWH", "kw"). */
static int unit_exponent(enum reading_quantity q, const char *u, size_t n)
{
	int exp = 6;

	if (n >= 2) {
		switch (u[0]) {
		case 'k':
		case 'K':
			exp += 3;
			u++, n--;
			break;
		case 'M':
			exp += 6;
			u++, n--;
			break;
		case 'm':
			exp -= 3;
			u++, n--;
			break;
		default:
			break;
		}
	}

	char b0 = n > 0 ? lower(u[0]) : 0, b1 = n > 1 ? lower(u[1]) : 0;
	switch (q) {
	case READING_Q_POWER:
		if ((n == 1 && b0 == 'w') || (n == 2 && b0 == 'v' && b1 == 'a'))
			return exp;
		break;
	case READING_Q_ENERGY:
		/* Base unit kWh: a value in Wh is a thousandth. */
		if (n == 2 && b0 == 'w' && b1 == 'h')
			return exp - 3;
		break;
	case READING_Q_VOLT:
		if (n == 1 && b0 == 'v')
			return exp;
		break;
	case READING_Q_AMPERE:
		if (n == 1 && b0 == 'a')
			return exp;
		break;
	}
	return -100;
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

int reading_scale(const struct reading_number *num, enum reading_quantity q, const char *default_unit,
		  int64_t *ret_micro)
{
	int exp = num->unit_len ? unit_exponent(q, num->unit, num->unit_len)
				: unit_exponent(q, default_unit, strlen(default_unit));
	int64_t v = num->mant;

	if (exp == -100)
		return -EINVAL;

	exp -= (int) num->decimals;
	if (exp > 0) {
		if (exp >= 19 || __builtin_mul_overflow(v, powers_of_ten[exp], &v))
			return -ERANGE;
	} else if (exp < 0) {
		/* Finer than a millionth: round half away from zero. */
		int64_t d = exp <= -19 ? 0 : powers_of_ten[-exp];
		if (d == 0)
			v = 0;
		else {
			int64_t r = v % d;
			v /= d;
			if (2 * r >= d)
				v++;
			else if (2 * r <= -d)
				v--;
		}
	}

	*ret_micro = v;
	return 0;
}

int reading_hex_to_text(const char *s, size_t n, char *ret, size_t ret_size)
{
	size_t k = 0;

	if (n % 2 || ret_size == 0)
		return -EINVAL;

	for (size_t i = 0; i < n; i += 2) {
		int hi = reading_hex_digit(s[i]), lo = reading_hex_digit(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;

		int c = hi << 4 | lo;
		if (c < 0x20 || c > 0x7e)
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
	return r < 0 ? r : reading_scale(&num, q, default_unit, ret_micro);
}
