/* SPDX-License-Identifier: MIT */
/*
 * JSON text written straight into a caller's buffer: objects, arrays, keys,
 * integers, exact decimals (a mantissa and a count of decimals, never a
 * double), strings and null. For fixed-shape payloads written once per
 * telegram (MQTT power_instant, the HTTP status), where a jansson tree would
 * cost an allocation per node and a printf per real. jansson stays where a
 * tree pays off (configuration, PATCH).
 *
 * Nothing allocates. Output past the buffer's end is dropped and remembered:
 * jbuf_finish() then says -ENOBUFS, so a cut text is never used. Keys are
 * the caller's own literals and are written as they are; string values are
 * escaped, and a value that is not valid UTF-8 becomes null, as jansson
 * would refuse it.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBUF_DEPTH_MAX 16

struct jbuf {
	char *buf;
	size_t size, len;
	bool overflow;
	unsigned depth;
	bool first[JBUF_DEPTH_MAX]; /* nothing written yet at this level: no comma */
};

void jbuf_init(struct jbuf *j, char *buf, size_t size);

/* The writers below take a key and its length: the inline wrappers after them
 * pass strlen(key), which the compiler counts for a literal key, so writing a
 * member costs no strlen() and no byte-by-byte copy of its name. The small
 * steps are inline too: a call would cost more than they do. */
void jbuf_keyed_decimal(struct jbuf *j, const char *key, size_t key_len, int64_t mant, unsigned decimals);
void jbuf_keyed_string(struct jbuf *j, const char *key, size_t key_len, const char *s, size_t n);
void jbuf_keyed_raw(struct jbuf *j, const char *key, size_t key_len, const char *text, size_t n);
void jbuf_member_slow(struct jbuf *j, const char *key, size_t key_len, bool comma);

/* Room for n more bytes, keeping one for the NUL of jbuf_finish(). Once a
 * write did not fit the text is lost (overflow), but nothing is ever written
 * past the buffer. */
static inline bool jbuf_room(struct jbuf *j, size_t n)
{
	if (n < j->size - j->len)
		return true;
	j->overflow = true;
	return false;
}

static inline void jbuf_put_char(struct jbuf *j, char c)
{
	if (jbuf_room(j, 1))
		j->buf[j->len++] = c;
}

/* n <= 16 bytes copied without a call to memcpy(): two moves that may overlap. */
static inline void jbuf_copy_short(char *d, const char *s, size_t n)
{
	if (n >= 8) {
		uint64_t a, b;

		__builtin_memcpy(&a, s, 8);
		__builtin_memcpy(&b, s + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		__builtin_memcpy(&a, s, 4);
		__builtin_memcpy(&b, s + n - 4, 4);
		__builtin_memcpy(d, &a, 4);
		__builtin_memcpy(d + n - 4, &b, 4);
	} else if (n > 0) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* The comma before a value and its key, where one belongs: written in place. */
static inline void jbuf_member(struct jbuf *j, const char *key, size_t key_len)
{
	bool comma = !j->first[j->depth];
	char *d;

	j->first[j->depth] = false;
	if (!key) {
		if (comma)
			jbuf_put_char(j, ',');
		return;
	}
	if (key_len > 16 || comma + key_len + 3 >= j->size - j->len) {
		jbuf_member_slow(j, key, key_len, comma);
		return;
	}
	d = j->buf + j->len;
	*d = ',';
	d += comma;
	*d++ = '"';
	jbuf_copy_short(d, key, key_len);
	d += key_len;
	*d++ = '"';
	*d++ = ':';
	j->len = (size_t) (d - j->buf);
}

static inline void jbuf_keyed_open(struct jbuf *j, const char *key, size_t key_len, char bracket)
{
	jbuf_member(j, key, key_len);
	jbuf_put_char(j, bracket);
	if (j->depth + 1 >= JBUF_DEPTH_MAX) {
		j->overflow = true;
		return;
	}
	j->first[++j->depth] = true;
}

static inline void jbuf_close(struct jbuf *j, char bracket)
{
	if (j->depth > 0)
		j->depth--;
	jbuf_put_char(j, bracket);
}

static inline void jbuf_end_object(struct jbuf *j)
{
	jbuf_close(j, '}');
}

static inline void jbuf_end_array(struct jbuf *j)
{
	jbuf_close(j, ']');
}

static inline void jbuf_keyed_word(struct jbuf *j, const char *key, size_t key_len, const char *w, size_t n)
{
	jbuf_member(j, key, key_len);
	if (jbuf_room(j, n)) {
		__builtin_memcpy(j->buf + j->len, w, n);
		j->len += n;
	}
}

static inline size_t jbuf_key_len(const char *key)
{
	return key ? __builtin_strlen(key) : 0;
}

/* Containers. key: the member's name inside an object, NULL in an array or at the top. */
static inline void jbuf_object(struct jbuf *j, const char *key)
{
	jbuf_keyed_open(j, key, jbuf_key_len(key), '{');
}

static inline void jbuf_array(struct jbuf *j, const char *key)
{
	jbuf_keyed_open(j, key, jbuf_key_len(key), '[');
}

static inline void jbuf_null(struct jbuf *j, const char *key)
{
	jbuf_keyed_word(j, key, jbuf_key_len(key), "null", 4);
}

static inline void jbuf_bool(struct jbuf *j, const char *key, bool b)
{
	if (b)
		jbuf_keyed_word(j, key, jbuf_key_len(key), "true", 4);
	else
		jbuf_keyed_word(j, key, jbuf_key_len(key), "false", 5);
}

/* mant / 10^decimals, exactly: "6657.461", "433", "-0.5". An integer when whole. */
static inline void jbuf_decimal(struct jbuf *j, const char *key, int64_t mant, unsigned decimals)
{
	jbuf_keyed_decimal(j, key, jbuf_key_len(key), mant, decimals);
}

static inline void jbuf_int(struct jbuf *j, const char *key, int64_t n)
{
	jbuf_keyed_decimal(j, key, jbuf_key_len(key), n, 0);
}

/* s[0..n) escaped; null when it is not valid UTF-8. */
static inline void jbuf_string(struct jbuf *j, const char *key, const char *s, size_t n)
{
	jbuf_keyed_string(j, key, jbuf_key_len(key), s, n);
}

/* A NUL-terminated string; NULL writes null. */
static inline void jbuf_cstring(struct jbuf *j, const char *key, const char *s)
{
	if (s)
		jbuf_keyed_string(j, key, jbuf_key_len(key), s, __builtin_strlen(s));
	else
		jbuf_null(j, key);
}

/* Text that is JSON already (a value dumped by jansson), written as it is. */
static inline void jbuf_raw(struct jbuf *j, const char *key, const char *text, size_t n)
{
	jbuf_keyed_raw(j, key, jbuf_key_len(key), text, n);
}

/* For a writer of a fixed shape that checked its room once: mant /
 * 10^decimals written at d as jbuf_decimal() writes it, for decimals up to
 * JBUF_DECIMALS_MAX, in at most JBUF_DECIMAL_MAX bytes (the sign, 19 digits
 * of 2^63, the point, 19 decimals). Returns the end of the text; no NUL. */
#define JBUF_DECIMALS_MAX 19
#define JBUF_DECIMAL_MAX 40
char *jbuf_write_decimal(char *d, int64_t mant, unsigned decimals);

/* NUL-terminate: the text's length, or -ENOBUFS when it did not fit (the buffer
 * then holds no usable text). */
int jbuf_finish(struct jbuf *j);
