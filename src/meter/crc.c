/* SPDX-License-Identifier: MIT */
/*
 * CRC-16/ARC, slice-by-8 with tables generated at build time (crc-gen.c), two
 * blocks a turn. A bit-at-a-time loop costs about 100 instructions per byte,
 * which alone would exceed the per-telegram budget; this costs about three.
 */
#include "smartconnectd/meter/crc.h"

#include "crc-table.h"

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Eight bytes folded into crc with eight lookups. */
static inline uint16_t fold8(const uint16_t (*t)[256], uint16_t crc, const uint8_t *p)
{
	uint32_t a = load_le32(p) ^ crc, b = load_le32(p + 4);

	return t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
	       t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
}

uint16_t crc16_arc_update(uint16_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;
	const uint16_t(*t)[256] = crc16_tables;

	/* Two blocks a turn: half the loop's own instructions. */
	for (; n >= 16; n -= 16, p += 16)
		crc = fold8(t, fold8(t, crc, p), p + 8);
	if (n >= 8) {
		crc = fold8(t, crc, p);
		n -= 8, p += 8;
	}
	for (; n > 0; n--, p++)
		crc = (uint16_t) ((crc >> 8) ^ t[0][(crc ^ *p) & 0xffu]);
	return crc;
}
