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
 * member costs no strlen() and no byte-by-byte copy of its name. */
void jbuf_keyed_open(struct jbuf *j, const char *key, size_t key_len, char bracket);
void jbuf_keyed_null(struct jbuf *j, const char *key, size_t key_len);
void jbuf_keyed_bool(struct jbuf *j, const char *key, size_t key_len, bool b);
void jbuf_keyed_decimal(struct jbuf *j, const char *key, size_t key_len, int64_t mant, unsigned decimals);
void jbuf_keyed_string(struct jbuf *j, const char *key, size_t key_len, const char *s, size_t n);
void jbuf_keyed_raw(struct jbuf *j, const char *key, size_t key_len, const char *text, size_t n);
void jbuf_end_object(struct jbuf *j);
void jbuf_end_array(struct jbuf *j);

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
	jbuf_keyed_null(j, key, jbuf_key_len(key));
}

static inline void jbuf_bool(struct jbuf *j, const char *key, bool b)
{
	jbuf_keyed_bool(j, key, jbuf_key_len(key), b);
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
		jbuf_keyed_null(j, key, jbuf_key_len(key));
}

/* Text that is JSON already (a value dumped by jansson), written as it is. */
static inline void jbuf_raw(struct jbuf *j, const char *key, const char *text, size_t n)
{
	jbuf_keyed_raw(j, key, jbuf_key_len(key), text, n);
}

/* NUL-terminate: the text's length, or -ENOBUFS when it did not fit (the buffer
 * then holds no usable text). */
int jbuf_finish(struct jbuf *j);
