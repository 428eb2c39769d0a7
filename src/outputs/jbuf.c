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

#define JBUF_KEY_FAST 32

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

/* Room for n more bytes, keeping one for the NUL of jbuf_finish(). Once a
 * write did not fit the text is lost (overflow), but nothing is ever written
 * past the buffer. */
static inline bool room(struct jbuf *j, size_t n)
{
	if (n < j->size - j->len)
		return true;
	j->overflow = true;
	return false;
}

static inline void put(struct jbuf *j, const char *s, size_t n)
{
	if (!room(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static inline void putc_(struct jbuf *j, char c)
{
	if (room(j, 1))
		j->buf[j->len++] = c;
}

/* The comma before a value and its key, where one belongs. Keys are our own
 * short literals: copied byte by byte when there is room for the longest,
 * which costs less than strlen() and memcpy() calls. */
static inline void member(struct jbuf *j, const char *key)
{
	char *d;
	size_t k;

	if (!j->first[j->depth])
		putc_(j, ',');
	j->first[j->depth] = false;
	if (!key)
		return;
	if (j->size - j->len <= JBUF_KEY_FAST + 3) {
		put(j, "\"", 1);
		put(j, key, strlen(key));
		put(j, "\":", 2);
		return;
	}
	d = j->buf + j->len;
	*d++ = '"';
	for (k = 0; key[k] && k < JBUF_KEY_FAST; k++)
		d[k] = key[k];
	j->len += k + 1;
	if (key[k])
		put(j, key + k, strlen(key + k));
	put(j, "\":", 2);
}

static void open_(struct jbuf *j, const char *key, char c)
{
	member(j, key);
	putc_(j, c);
	if (j->depth + 1 >= JBUF_DEPTH_MAX) {
		j->overflow = true;
		return;
	}
	j->first[++j->depth] = true;
}

static void close_(struct jbuf *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	putc_(j, c);
}

void jbuf_object(struct jbuf *j, const char *key)
{
	open_(j, key, '{');
}

void jbuf_array(struct jbuf *j, const char *key)
{
	open_(j, key, '[');
}

void jbuf_end_object(struct jbuf *j)
{
	close_(j, '}');
}

void jbuf_end_array(struct jbuf *j)
{
	close_(j, ']');
}

void jbuf_null(struct jbuf *j, const char *key)
{
	member(j, key);
	put(j, "null", 4);
}

void jbuf_bool(struct jbuf *j, const char *key, bool b)
{
	member(j, key);
	if (b)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

/* The digits of n, at least min_digits of them (leading zeros), ending at end:
 * their start. Two digits per division. */
static char *digits(uint64_t n, unsigned min_digits, char *end)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	    "8081828384858687888990919293949596979899";
	char *p = end;

	while (n >= 100) {
		unsigned r = (unsigned) (n % 100);
		n /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (n >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * n, 2);
	} else
		*--p = (char) ('0' + n);
	while ((unsigned) (end - p) < min_digits)
		*--p = '0';
	return p;
}

void jbuf_int(struct jbuf *j, const char *key, int64_t n)
{
	jbuf_decimal(j, key, n, 0);
}

void jbuf_decimal(struct jbuf *j, const char *key, int64_t mant, unsigned decimals)
{
	char tmp[24], *end = tmp + sizeof(tmp), *p, *d;
	uint64_t u = mant < 0 ? -(uint64_t) mant : (uint64_t) mant;
	size_t nd;

	member(j, key);
	/* Trailing zeros of the fraction go: 5.500 is 5.5, 433.000 is 433. Most
	 * values are millionths of a whole number: one division for them. */
	if (decimals == 6 && u % 1000000 == 0) {
		u /= 1000000;
		decimals = 0;
	}
	while (decimals > 0 && u % 10 == 0 && u != 0) {
		u /= 10;
		decimals--;
	}
	if (u == 0)
		decimals = 0;
	p = digits(u, 1, end);
	nd = (size_t) (end - p);
	/* Sign, digits, point and the zeros of 0.000ddd: written in place. */
	if (!room(j, 3 + nd + decimals))
		return;
	d = j->buf + j->len;
	if (mant < 0 && u != 0)
		*d++ = '-';
	if (nd > decimals) {
		for (size_t i = 0; i < nd - decimals; i++)
			*d++ = p[i];
		if (decimals > 0)
			*d++ = '.';
		for (size_t i = nd - decimals; i < nd; i++)
			*d++ = p[i];
	} else {
		*d++ = '0';
		*d++ = '.';
		for (size_t z = nd; z < decimals; z++)
			*d++ = '0';
		for (size_t i = 0; i < nd; i++)
			*d++ = p[i];
	}
	j->len = (size_t) (d - j->buf);
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
 * (most of our strings): true when done, false to take the slow way. */
static bool plain_ascii(struct jbuf *j, const char *s, size_t n)
{
	size_t i = 0;
	char *d;

	if (n + 2 >= j->size - j->len)
		return false;
	d = j->buf + j->len;
	*d++ = '"';
	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if (word_special(x))
			return false;
		memcpy(d + i, &x, 8);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (!plain[c])
			return false;
		d[i] = (char) c;
	}
	d[n] = '"';
	j->len += n + 2;
	return true;
}

void jbuf_string(struct jbuf *j, const char *key, const char *s, size_t n)
{
	member(j, key);
	/* plain_ascii() moves len only when it succeeds. */
	if (plain_ascii(j, s, n))
		return;
	if (!utf8_valid(s, n)) {
		put(j, "null", 4);
		return;
	}
	putc_(j, '"');
	escaped(j, s, n);
	putc_(j, '"');
}

void jbuf_cstring(struct jbuf *j, const char *key, const char *s)
{
	if (!s)
		jbuf_null(j, key);
	else
		jbuf_string(j, key, s, strlen(s));
}

void jbuf_raw(struct jbuf *j, const char *key, const char *text, size_t n)
{
	member(j, key);
	put(j, text, n);
}

int jbuf_finish(struct jbuf *j)
{
	if (j->overflow || j->size == 0)
		return -ENOBUFS;
	j->buf[j->len] = '\0';
	return (int) j->len;
}
