/* SPDX-License-Identifier: MIT */
/*
 * Word-at-a-time byte scans of the framer (telegram.c): eight bytes tested
 * with a few 64-bit operations, in portable C (memcpy loads, no intrinsics).
 * Internal to the framer.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BYTES_01 0x0101010101010101ULL
#define BYTES_80 0x8080808080808080ULL

/* Bit 7 of a byte is set where that byte of w equals c (c < 0x80), provided
 * the byte and those below it lack bit 7; bytes above a match may be marked
 * too (the borrow), those below never are. Hacker's Delight 6-1 without its
 * "& ~x", which only matters for bytes with bit 7, tested apart. */
static inline uint64_t word_match(uint64_t w, uint8_t c)
{
	return (w ^ (BYTES_01 * c)) - BYTES_01;
}

/* Non-zero when some byte of w is below n (n <= 128, bytes without bit 7). */
static inline uint64_t word_has_less(uint64_t w, uint8_t n)
{
	return (w - BYTES_01 * n) & ~w & BYTES_80;
}

/* Bit 7 set in the bytes of w that are '/' or '!' with or without bit 7,
 * exactly for the lowest; above it, a borrow may mark others too. */
static inline uint64_t dsmr_special(uint64_t w)
{
	uint64_t w7 = w & ~BYTES_80;

	return (word_match(w7, '/') | word_match(w7, '!')) & BYTES_80;
}

/* Copy bytes until '/' or '!' (with or without bit 7) or the limit max,
 * sixteen then eight at a time; the bytes keep bit 7, which is collected in
 * *ret_high. Returns the offset of the byte it stopped at. */
static inline size_t dsmr_copy(char *out, const uint8_t *p, size_t i, size_t max, uint64_t *ret_high)
{
	uint64_t high = 0; /* a local: stores to out[] may alias *ret_high */

	for (; i + 16 <= max; i += 16) {
		uint64_t w0, w1;

		memcpy(&w0, p + i, 8);
		memcpy(&w1, p + i + 8, 8);
		memcpy(out + i, &w0, 8);
		memcpy(out + i + 8, &w1, 8);
		if (dsmr_special(w0) | dsmr_special(w1))
			break; /* found again below */
		high |= w0 | w1;
	}
	for (; i + 8 <= max; i += 8) {
		uint64_t w, special;

		memcpy(&w, p + i, 8);
		memcpy(out + i, &w, 8);
		special = dsmr_special(w);
		if (special) {
			unsigned k = (unsigned) __builtin_ctzll(special) >> 3;

			*ret_high |= high | (w & ((UINT64_C(1) << (8 * k)) - 1));
			return i + k;
		}
		high |= w;
	}
	for (; i < max; i++) {
		char c = (char) (p[i] & 0x7f);

		if (c == '/' || c == '!')
			break;
		high |= p[i];
		out[i] = (char) p[i]; /* as received: see dsmr_byte(), telegram.c */
	}
	*ret_high |= high;
	return i;
}
