/* SPDX-License-Identifier: MIT */
/*
 * JSON text in a caller's buffer (see jbuf.h). Numbers are formatted from
 * integers by hand: no printf, no double, so "6657.461" is what the meter
 * sent and not 6657.4610000000002.
 *
 * Pure. No I/O. Never logs.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/outputs/jbuf.h"

/* Bytes a string may hold as they are: printable ASCII but the quote and the backslash. */
static const bool plain[256] = {
	[0x20 ... 0x21] = true,
	[0x23 ... 0x5b] = true,
	[0x5d ... 0x7f] = true,
};

void jbuf_init(struct jbuf *j, char *buf, size_t size)
{
	*j = (struct jbuf){ .buf = buf, .size = size, .first[0] = true };
	if (size > 0)
		buf[0] = '\0';
}

static inline void put(struct jbuf *j, const char *s, size_t n)
{
	if (!jbuf_room(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/* The slow way of jbuf_member(): a key longer than 16 bytes, or near the end. */
void jbuf_member_slow(struct jbuf *j, const char *key, size_t key_len, bool comma)
{
	if (comma)
		jbuf_put_char(j, ',');
	put(j, "\"", 1);
	put(j, key, key_len);
	put(j, "\":", 2);
}

static const uint64_t powers_of_10[20] = {
	1ULL,
	10ULL,
	100ULL,
	1000ULL,
	10000ULL,
	100000ULL,
	1000000ULL,
	10000000ULL,
	100000000ULL,
	1000000000ULL,
	10000000000ULL,
	100000000000ULL,
	1000000000000ULL,
	10000000000000ULL,
	100000000000000ULL,
	1000000000000000ULL,
	10000000000000000ULL,
	100000000000000000ULL,
	1000000000000000000ULL,
	10000000000000000000ULL,
};

/* Decimal digits of u > 0: log10 from log2 (1233 / 4096 is about log10(2)),
 * then one comparison. */
static inline unsigned count_digits(uint64_t u)
{
	unsigned t = ((64u - (unsigned) __builtin_clzll(u)) * 1233u) >> 12;

	return t + (u >= powers_of_10[t]);
}

static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
			    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
			    "8081828384858687888990919293949596979899";

/* The last width digits of n (leading zeros included), ending at end. Two per division. */
static inline void digits_back(char *end, uint64_t n, unsigned width)
{
	for (; width >= 2; width -= 2) {
		unsigned r = (unsigned) (n % 100);

		n /= 100;
		end -= 2;
		memcpy(end, pairs + 2 * r, 2);
	}
	if (width)
		end[-1] = (char) ('0' + n % 10);
}

/* The same for n below 2^32 (most numbers): 32-bit divisions, fewer instructions. */
static inline void digits_back32(char *end, uint32_t n, unsigned width)
{
	for (; width >= 2; width -= 2) {
		uint32_t q = n / 100;

		end -= 2;
		memcpy(end, pairs + 2 * (n - 100 * q), 2);
		n = q;
	}
	if (width)
		end[-1] = (char) ('0' + n % 10);
}

/* The general way, for decimals past 19 or a buffer near its end: trailing
 * zeros cut from the integer first, then the text written backwards. */
static __attribute__((noinline)) void decimal_slow(struct jbuf *j, int64_t mant, unsigned decimals)
{
	uint64_t u = mant < 0 ? -(uint64_t) mant : (uint64_t) mant;
	unsigned nd;
	size_t len;
	char *start;

	if (u == 0)
		decimals = 0;
	while (decimals > 0 && u % 10 == 0) {
		u /= 10;
		decimals--;
	}
	nd = u ? count_digits(u) : 1;
	/* Sign, digits, point and the zeros of 0.000ddd. */
	len = (size_t) (mant < 0 && u != 0) + (decimals == 0   ? nd
					       : decimals < nd ? (size_t) nd + 1
							       : (size_t) decimals + 2);
	if (!jbuf_room(j, len))
		return;
	start = j->buf + j->len;
	j->len += len;
	start[0] = '-';
	if (decimals == 0)
		digits_back(start + len, u, nd);
	else if (decimals < nd) {
		digits_back(start + len, u % powers_of_10[decimals], decimals);
		start[len - decimals - 1] = '.';
		digits_back(start + len - decimals - 1, u / powers_of_10[decimals], nd - decimals);
	} else {
		char *zeros = start + len - decimals;

		digits_back(start + len, u, nd);
		memset(zeros, '0', decimals - nd);
		zeros[-1] = '.';
		zeros[-2] = '0';
	}
}

char *jbuf_write_decimal(char *d, int64_t mant, unsigned decimals)
{
	uint64_t u = mant < 0 ? -(uint64_t) mant : (uint64_t) mant, q, r;
	unsigned nd;

	/* Whole part and fraction apart; millionths (most values) and integers
	 * without a division by a variable. */
	if (decimals == 6) {
		q = u / 1000000;
		r = u % 1000000;
	} else if (decimals == 0) {
		q = u;
		r = 0;
	} else {
		q = u / powers_of_10[decimals];
		r = u % powers_of_10[decimals];
	}
	*d = '-';
	d += mant < 0;
	/* Small whole parts (currents, voltages, most powers, 0) the shortest way. */
	if (q < 10)
		*d++ = (char) ('0' + q);
	else if (q < 100) {
		memcpy(d, pairs + 2 * q, 2);
		d += 2;
	} else {
		nd = count_digits(q);
		if (q <= UINT32_MAX)
			digits_back32(d + nd, (uint32_t) q, nd);
		else
			digits_back(d + nd, q, nd);
		d += nd;
	}
	if (!r)
		return d;
	/* The fraction with its leading zeros, then its trailing zeros cut: r is
	 * not 0, so a digit other than 0 stops the scan before the point. */
	*d = '.';
	if (r <= UINT32_MAX)
		digits_back32(d + 1 + decimals, (uint32_t) r, decimals);
	else
		digits_back(d + 1 + decimals, r, decimals);
	d += decimals;
	while (*d == '0')
		d--;
	return d + 1;
}

void jbuf_keyed_decimal(struct jbuf *j, const char *key, size_t key_len, int64_t mant, unsigned decimals)
{
	jbuf_member(j, key, key_len);
	if (decimals > JBUF_DECIMALS_MAX || JBUF_DECIMAL_MAX >= j->size - j->len) {
		decimal_slow(j, mant, decimals);
		return;
	}
	j->len = (size_t) (jbuf_write_decimal(j->buf + j->len, mant, decimals) - j->buf);
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when not valid:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], len, cp;

	if (c < 0x80)
		return 1;
	len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
	if (len == 0 || c > 0xF4 || len > n)
		return 0;
	cp = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_len((const unsigned char *) s + i, n - i)) == 0)
			return false;
	return true;
}

static void escaped(struct jbuf *j, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(j, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			e[1] = (char) c;
			put(j, e, 2);
		} else
			put(j, e, sizeof(e));
	}
	put(j, s + run, n - run);
}

/* Whether any of the 8 bytes of x needs escaping or is past ASCII: 0x80 and
 * above, below 0x20, '"' or '\\'. A word at a time with the "has a byte less
 * than" and "has a zero byte" tricks, exact once no byte is 0x80 or above. */
static inline bool word_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');

	return ((x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0;
}

/* Copied in one pass while nothing needs escaping and nothing is past ASCII
 * (most of our strings): true when done, false to take the slow way. Whole
 * words, the last one overlapping the one before. */
static bool plain_ascii(struct jbuf *j, const char *s, size_t n)
{
	char *d;

	if (n + 2 >= j->size - j->len)
		return false;
	d = j->buf + j->len + 1;
	if (n >= 8) {
		uint64_t x;

		for (size_t i = 0; i + 8 <= n; i += 8) {
			memcpy(&x, s + i, 8);
			if (word_special(x))
				return false;
			memcpy(d + i, &x, 8);
		}
		memcpy(&x, s + n - 8, 8);
		if (word_special(x))
			return false;
		memcpy(d + n - 8, &x, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		if (word_special((uint64_t) a << 32 | b))
			return false;
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (!plain[(unsigned char) s[i]])
				return false;
			d[i] = s[i];
		}
	}
	d[-1] = '"';
	d[n] = '"';
	j->len += n + 2;
	return true;
}

/* Not inline: the registers it needs would be saved for every string. */
static __attribute__((noinline)) void string_slow(struct jbuf *j, const char *s, size_t n)
{
	if (!utf8_valid(s, n)) {
		put(j, "null", 4);
		return;
	}
	jbuf_put_char(j, '"');
	escaped(j, s, n);
	jbuf_put_char(j, '"');
}

void jbuf_keyed_string(struct jbuf *j, const char *key, size_t key_len, const char *s, size_t n)
{
	jbuf_member(j, key, key_len);
	/* plain_ascii() moves len only when it succeeds. */
	if (!plain_ascii(j, s, n))
		string_slow(j, s, n);
}

void jbuf_keyed_raw(struct jbuf *j, const char *key, size_t key_len, const char *text, size_t n)
{
	jbuf_member(j, key, key_len);
	put(j, text, n);
}

int jbuf_finish(struct jbuf *j)
{
	if (j->overflow || j->size == 0)
		return -ENOBUFS;
	j->buf[j->len] = '\0';
	return (int) j->len;
}
