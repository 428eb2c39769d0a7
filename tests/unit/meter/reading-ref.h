/* SPDX-License-Identifier: MIT */
/*
 * The number parser and unit scaler as they were before the fast path: a
 * plain model the tests compare reading_parse_scaled() and friends against.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "smartconnectd/meter/reading.h"

static int ref_parse(const char *s, size_t n, struct reading_number *ret)
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
	size_t ndigits = (size_t) (p - digits) - (point != NULL);
	if (ndigits == 0 || p[-1] == '.')
		return -EINVAL;
	if (ndigits > 18) {
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

static char ref_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static int ref_unit_exponent(enum reading_quantity q, const char *u, size_t n)
{
	int exp = 6;

	if (n >= 2 && (u[0] == 'k' || u[0] == 'K' || u[0] == 'M' || u[0] == 'm')) {
		exp += u[0] == 'M' ? 6 : u[0] == 'm' ? -3 : 3;
		u++, n--;
	}
	char b0 = n > 0 ? ref_lower(u[0]) : 0, b1 = n > 1 ? ref_lower(u[1]) : 0;
	switch (q) {
	case READING_Q_POWER:
		return (n == 1 && b0 == 'w') || (n == 2 && b0 == 'v' && b1 == 'a') ? exp : -100;
	case READING_Q_ENERGY:
		return n == 2 && b0 == 'w' && b1 == 'h' ? exp - 3 : -100;
	case READING_Q_VOLT:
		return n == 1 && b0 == 'v' ? exp : -100;
	case READING_Q_AMPERE:
		return n == 1 && b0 == 'a' ? exp : -100;
	}
	return -100;
}

static int ref_scale(const struct reading_number *num, enum reading_quantity q, const char *def, int64_t *ret)
{
	static const int64_t p10[19] = { 1LL,
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
					 1000000000000000000LL };
	int exp = num->unit_len ? ref_unit_exponent(q, num->unit, num->unit_len)
				: ref_unit_exponent(q, def, strlen(def));
	int64_t v = num->mant;

	if (exp == -100)
		return -EINVAL;
	exp -= (int) num->decimals;
	if (exp > 0) {
		if (exp >= 19 || __builtin_mul_overflow(v, p10[exp], &v))
			return -ERANGE;
	} else if (exp < 0) {
		int64_t d = exp <= -19 ? 0 : p10[-exp];
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
	*ret = v;
	return 0;
}
