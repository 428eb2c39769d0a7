/* SPDX-License-Identifier: MIT */
/* CRC-16/ARC: the check value, incremental use, and trailers of real telegrams. */
#include "smartconnectd/meter/crc.h"
#include "tap.h"

/* Reference bit-at-a-time implementation to compare the table against. */
static uint16_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t) ((crc >> 1) ^ 0xA001) : (uint16_t) (crc >> 1);
	}
	return crc;
}

int main(void)
{
	const char *check = "123456789";
	uint8_t all[256];

	TAP_EQ_INT(crc16_arc(check, 9), 0xBB3D, "check value of \"123456789\"");
	TAP_EQ_INT(crc16_arc("", 0), 0, "empty input");
	TAP_EQ_INT(crc16_arc_update(crc16_arc(check, 4), check + 4, 5), 0xBB3D,
		   "split update gives the same CRC");

	for (unsigned i = 0; i < 256; i++)
		all[i] = (uint8_t) i;
	bool same = true;
	for (size_t n = 0; n <= 256; n++)
		same &= crc16_arc(all, n) == crc_bitwise(all, n);
	tap_ok(same, "table matches the bitwise definition for every prefix of 0..255");

	/* Every split of 0..255, so that each block size meets every alignment. */
	same = true;
	for (size_t k = 0; k <= 256; k++)
		same &= crc16_arc_update(crc16_arc(all, k), all + k, 256 - k) == crc_bitwise(all, 256);
	tap_ok(same, "an update from every offset gives the CRC of the whole");

	/* The minimal real DSMR 4 telegram of tests/data (CRC 1E1D). */
	const char *t = "/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(000671.578*kWh)\r\n1-0:1.7.0(00.318*kW)\r\n!";
	TAP_EQ_INT(crc16_arc(t, strlen(t)), 0x1E1D, "CRC of a real telegram");
	return tap_done();
}
