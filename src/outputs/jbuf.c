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

void jbuf_init(struct jbuf *j, char *buf, size_t size)
{
	*j = (struct jbuf){ .buf = buf, .size = size, .first[0] = true };
	if (size > 0)
		buf[0] = '\0';
}

static void put(struct jbuf *j, const char *s, size_t n)
{
	/* One byte stays free for the NUL of jbuf_finish(). */
	if (j->overflow || n >= j->size - j->len) {
		j->overflow = true;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void putc_(struct jbuf *j, char c)
{
	put(j, &c, 1);
}

/* The comma before a value and its key, where one belongs. */
static void member(struct jbuf *j, const char *key)
{
	if (!j->first[j->depth])
		putc_(j, ',');
	j->first[j->depth] = false;
	if (key) {
		putc_(j, '"');
		put(j, key, strlen(key));
		put(j, "\":", 2);
	}
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
	/* 20 digits of a uint64_t, as many leading zeros as decimals, sign and point. */
	char tmp[32 + 256], *end = tmp + sizeof(tmp), *p;
	uint64_t u = mant < 0 ? -(uint64_t) mant : (uint64_t) mant;

	member(j, key);
	if (decimals > 255) {
		/* No meter writes such a number; exact would be 0.000... with hundreds of zeros. */
		putc_(j, '0');
		return;
	}
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
	p = digits(u, decimals + 1, end);
	if (mant < 0 && u != 0)
		putc_(j, '-');
	put(j, p, (size_t) (end - p) - decimals);
	if (decimals > 0) {
		putc_(j, '.');
		put(j, end - decimals, decimals);
	}
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

/* Nothing to escape and nothing past ASCII: most of our strings. */
static bool plain_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void jbuf_string(struct jbuf *j, const char *key, const char *s, size_t n)
{
	if (plain_ascii(s, n)) {
		member(j, key);
		putc_(j, '"');
		put(j, s, n);
		putc_(j, '"');
		return;
	}
	if (!utf8_valid(s, n)) {
		jbuf_null(j, key);
		return;
	}
	member(j, key);
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
