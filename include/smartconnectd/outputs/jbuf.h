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

/* Containers. key: the member's name inside an object, NULL in an array or at the top. */
void jbuf_object(struct jbuf *j, const char *key);
void jbuf_array(struct jbuf *j, const char *key);
void jbuf_end_object(struct jbuf *j);
void jbuf_end_array(struct jbuf *j);

void jbuf_null(struct jbuf *j, const char *key);
void jbuf_bool(struct jbuf *j, const char *key, bool b);
void jbuf_int(struct jbuf *j, const char *key, int64_t n);
/* mant / 10^decimals, exactly: "6657.461", "433", "-0.5". An integer when whole. */
void jbuf_decimal(struct jbuf *j, const char *key, int64_t mant, unsigned decimals);
/* s[0..n) escaped; null when it is not valid UTF-8. */
void jbuf_string(struct jbuf *j, const char *key, const char *s, size_t n);
/* A NUL-terminated string; NULL writes null. */
void jbuf_cstring(struct jbuf *j, const char *key, const char *s);

/* Text that is JSON already (a value dumped by jansson), written as it is. */
void jbuf_raw(struct jbuf *j, const char *key, const char *text, size_t n);

/* NUL-terminate: the text's length, or -ENOBUFS when it did not fit (the buffer
 * then holds no usable text). */
int jbuf_finish(struct jbuf *j);
