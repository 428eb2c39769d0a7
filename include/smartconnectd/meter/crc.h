/* SPDX-License-Identifier: MIT */
/*
 * CRC-16/ARC (poly 0x8005 reflected = 0xA001, init 0, no final xor), the DSMR
 * P1 telegram CRC. Table driven, slice-by-8. Check value: "123456789" -> 0xBB3D.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over more bytes; start with crc = 0. */
uint16_t crc16_arc_update(uint16_t crc, const void *data, size_t n);

static inline uint16_t crc16_arc(const void *data, size_t n)
{
	return crc16_arc_update(0, data, n);
}
