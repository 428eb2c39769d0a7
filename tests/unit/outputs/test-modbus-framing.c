/* SPDX-License-Identifier: MIT */
/*
 * The framing of a Modbus TCP connection: RTU request lengths by function
 * code, detection from the first bytes (an RTU frame whose first bytes also
 * read as a consistent MBAP header, an MBAP request, garbage, truncated and
 * oversized frames, a bad CRC), and RTU answers with libmodbus's CRC checked
 * against CRCs taken from the Modbus specification's examples.
 */
#include <errno.h>
#include <modbus.h>
#include <string.h>

#include "smartconnectd/outputs/modbus-framing.h"
#include "tap.h"

static void test_lengths(void)
{
	static const struct {
		const char *what;
		uint8_t buf[8];
		size_t n;
		ssize_t want;
	} cases[] = {
		{ "one byte: more needed", { 1 }, 1, 0 },
		{ "FC 3", { 1, 3 }, 2, 8 },
		{ "FC 4", { 1, 4 }, 2, 8 },
		{ "FC 6", { 1, 6 }, 2, 8 },
		{ "FC 0x11", { 1, 0x11 }, 2, 4 },
		{ "FC 0x2B", { 1, 0x2B }, 2, 7 },
		{ "FC 16 before its byte count", { 1, 16, 0, 0, 0, 2 }, 6, 0 },
		{ "FC 16 with 4 bytes", { 1, 16, 0, 0, 0, 2, 4 }, 7, 13 },
		{ "FC 16 with 255 bytes: over 256", { 1, 16, 0, 0, 0, 2, 255 }, 7, -EBADMSG },
		{ "FC 0x17 with 2 bytes", { 1, 0x17, 0, 0, 0, 1, 0, 0 }, 8, 0 },
		{ "unknown FC 0x45", { 1, 0x45 }, 2, -EBADMSG },
		{ "FC 0", { 0, 0 }, 2, -EBADMSG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		TAP_EQ_INT(modbus_framing_rtu_len(cases[i].buf, cases[i].n), cases[i].want, cases[i].what);
	uint8_t rw[11] = { 1, 0x17, 0, 0, 0, 1, 0, 0, 0, 1, 2 };
	TAP_EQ_INT(modbus_framing_rtu_len(rw, sizeof(rw)), 15, "FC 0x17 with 2 bytes");
}

/* Read input registers 0x0000..0x0001 of unit 1; CRC 0xCB71, low byte first. */
static const uint8_t rtu_read[] = { 0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB };
/* Its first six bytes read as an MBAP header: protocol 0, length 2. */
static const uint8_t rtu_ambiguous[] = { 0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B };

static ssize_t next(struct modbus_framing_codec *c, enum modbus_framing *f, const uint8_t *buf, size_t n,
		    uint8_t *mbap, size_t *len)
{
	*len = 0;
	return modbus_framing_next(c, f, buf, n, mbap, len);
}

static void test_detect(struct modbus_framing_codec *c)
{
	uint8_t mbap[MODBUS_TCP_MAX_ADU_LENGTH], bad[8];
	static const uint8_t tcp_read[] = { 0, 7, 0, 0, 0, 6, 1, 4, 0, 0, 0, 2 };
	enum modbus_framing f = MODBUS_FRAMING_AUTO;
	size_t len;

	for (size_t k = 0; k < sizeof(rtu_read); k++) {
		f = MODBUS_FRAMING_AUTO;
		TAP_EQ_INT(next(c, &f, rtu_read, k, mbap, &len), 0, "RTU read truncated: more needed");
	}
	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, rtu_read, sizeof(rtu_read), mbap, &len), 8, "RTU read: 8 bytes");
	tap_ok(f == MODBUS_FRAMING_RTU, "RTU read: the connection is RTU");
	tap_ok(len == 12 && memcmp(mbap, "\0\0\0\0\0\6\1\4\0\0\0\2", 12) == 0, "RTU read as MBAP ADU");

	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, rtu_ambiguous, sizeof(rtu_ambiguous), mbap, &len), 8,
		   "RTU read that is also an MBAP header of length 2: 8 bytes");
	tap_ok(f == MODBUS_FRAMING_RTU, "the valid CRC wins: RTU");

	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, tcp_read, sizeof(tcp_read), mbap, &len), 12, "MBAP read: 12 bytes");
	tap_ok(f == MODBUS_FRAMING_TCP && len == 12 && memcmp(mbap, tcp_read, 12) == 0,
	       "MBAP read: TCP, as is");
	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, tcp_read, 9, mbap, &len), 0, "MBAP read truncated: more needed");
	tap_ok(f == MODBUS_FRAMING_AUTO, "still undecided");

	memcpy(bad, rtu_read, sizeof(bad));
	bad[7] ^= 1;
	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, bad, sizeof(bad), mbap, &len), -EBADMSG,
		   "RTU read with a bad CRC first: garbage");
	f = MODBUS_FRAMING_RTU;
	TAP_EQ_INT(next(c, &f, bad, sizeof(bad), mbap, &len), -EBADMSG,
		   "RTU read with a bad CRC later: garbage");
	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, (const uint8_t *) "GET / HTTP/1.1\r\n", 16, mbap, &len), -EBADMSG,
		   "HTTP: garbage");
	f = MODBUS_FRAMING_RTU;
	TAP_EQ_INT(next(c, &f, tcp_read, sizeof(tcp_read), mbap, &len), -EBADMSG,
		   "Framing=rtu: MBAP is garbage");
	f = MODBUS_FRAMING_TCP;
	TAP_EQ_INT(next(c, &f, rtu_ambiguous, sizeof(rtu_ambiguous), mbap, &len), 8,
		   "Framing=tcp: RTU bytes read as MBAP, as before");
	tap_ok(f == MODBUS_FRAMING_TCP, "Framing=tcp stays");

	/* An MBAP frame whose length does not fit its function: not MBAP to detection. */
	static const uint8_t odd[] = { 0, 7, 0, 0, 0, 4, 1, 3, 0, 0 };
	f = MODBUS_FRAMING_AUTO;
	TAP_EQ_INT(next(c, &f, odd, sizeof(odd), mbap, &len), -EBADMSG, "inconsistent MBAP length: garbage");
}

static void test_answers(struct modbus_framing_codec *c)
{
	/* 2 registers (a float 236.7), an exception, and the same to the broadcast id. */
	static const uint8_t mbap[] = { 0, 0, 0, 0, 0, 7, 1, 4, 4, 0x43, 0x6C, 0xB3, 0x33 };
	static const uint8_t exc[] = { 0, 0, 0, 0, 0, 3, 1, 0x84, 2 };
	static const uint8_t bcast[] = { 0, 0, 0, 0, 0, 3, 0, 0x84, 2 };
	uint8_t out[MODBUS_FRAMING_RTU_MAX];
	ssize_t n;

	n = modbus_framing_to_rtu(c, mbap, sizeof(mbap), out);
	TAP_EQ_INT(n, 9, "answer of 2 registers: 9 bytes");
	tap_ok(n == 9 && memcmp(out, mbap + 6, 7) == 0, "unit id and PDU as given");
	enum modbus_framing f = MODBUS_FRAMING_RTU;
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
	size_t len;
	n = modbus_framing_to_rtu(c, exc, sizeof(exc), out);
	TAP_EQ_INT(n, 5, "exception: 5 bytes");
	tap_ok(n == 5 && out[0] == 1 && out[1] == 0x84 && out[2] == 2 && out[3] == 0xC2 && out[4] == 0xC1,
	       "exception 2 of FC 4: CRC C2 C1");
	TAP_EQ_INT(modbus_framing_to_rtu(c, bcast, sizeof(bcast), out), 0, "broadcast: no answer");
	TAP_EQ_INT(modbus_framing_to_rtu(c, mbap, 6, out), -EBADMSG, "no unit id: refused");
	TAP_EQ_INT(next(c, &f, rtu_read, sizeof(rtu_read), req, &len), 8,
		   "the codec still checks after answers");
}

/* libmodbus answers a read straight in RTU framing, from the mapping. */
static void test_reply(struct modbus_framing_codec *c)
{
	static const uint8_t read2[] = { 0, 0, 0, 0, 0, 6, 1, 3, 0, 4, 0, 2 };
	static const uint8_t bcast[] = { 0, 0, 0, 0, 0, 6, 0, 6, 0, 4, 0, 9 };
	modbus_mapping_t *map = modbus_mapping_new(0, 0, 16, 0);
	uint8_t out[MODBUS_FRAMING_RTU_MAX];
	enum modbus_framing f = MODBUS_FRAMING_RTU;
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
	size_t len;
	ssize_t n;

	if (!map)
		return;
	map->tab_registers[4] = 0x436C;
	map->tab_registers[5] = 0xB333;
	n = modbus_framing_rtu_reply(c, read2, sizeof(read2), map, out);
	TAP_EQ_INT(n, 9, "FC 3 of 2 registers: 9 bytes");
	/* The same answer through the MBAP path and to_rtu(): libmodbus agrees with itself. */
	static const uint8_t mbap[] = { 0, 0, 0, 0, 0, 7, 1, 3, 4, 0x43, 0x6C, 0xB3, 0x33 };
	uint8_t again[MODBUS_FRAMING_RTU_MAX];
	tap_ok(n == 9 && modbus_framing_to_rtu(c, mbap, sizeof(mbap), again) == 9 &&
		   memcmp(out, again, 9) == 0,
	       "the reply equals the MBAP answer turned into RTU");
	TAP_EQ_INT(modbus_framing_rtu_reply(c, bcast, sizeof(bcast), map, out), 0,
		   "broadcast write: no answer");
	TAP_EQ_INT(map->tab_registers[4], 9, "broadcast write: applied");
	TAP_EQ_INT(next(c, &f, rtu_read, sizeof(rtu_read), req, &len), 8,
		   "the codec still checks after replies");
	TAP_EQ_INT(modbus_framing_rtu_reply(c, read2, 6, map, out), -EBADMSG, "no unit id: refused");
	modbus_mapping_free(map);
}

int main(void)
{
	struct modbus_framing_codec *c = NULL;

	tap_ok(modbus_framing_codec_new(&c) == 0, "codec");
	test_lengths();
	test_detect(c);
	test_answers(c);
	test_reply(c);
	TAP_EQ_STR(modbus_framing_to_string(MODBUS_FRAMING_RTU), "rtu", "name");
	tap_ok(modbus_framing_to_string(_MODBUS_FRAMING_MAX) == NULL, "no name out of range");
	modbus_framing_codec_free(c);
	return tap_done();
}
