/* SPDX-License-Identifier: MIT */
/*
 * The framing of a Modbus TCP connection (modbus-framing.c): the first byte
 * picks the connection's framing (auto, tcp, rtu), the rest is its byte
 * stream. Each request found must lie within the input, come out as a
 * well-formed MBAP ADU, and, for an RTU request, encode back through
 * libmodbus into exactly the bytes it was read from (CRC included).
 */
#include <assert.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/outputs/modbus-framing.h"
#include "smartconnectd/outputs/modbus-server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct modbus_framing_codec *c;
	uint8_t mbap[MODBUS_TCP_MAX_ADU_LENGTH], rtu[MODBUS_FRAMING_RTU_MAX];

	if (size < 1)
		return 0;
	if (!c && modbus_framing_codec_new(&c) < 0)
		abort();

	enum modbus_framing f = (enum modbus_framing)(data[0] % _MODBUS_FRAMING_MAX);
	for (size_t off = 1; off < size;) {
		enum modbus_framing before = f;
		size_t len = 0;
		ssize_t n = modbus_framing_next(c, &f, data + off, size - off, mbap, &len);

		if (n <= 0) {
			assert(f == before);
			break;
		}
		assert((size_t) n <= size - off);
		assert(before == MODBUS_FRAMING_AUTO ? f != MODBUS_FRAMING_AUTO : f == before);
		assert(modbus_server_frame_len(mbap, len) == (ssize_t) len);
		if (f == MODBUS_FRAMING_RTU && mbap[6] != 0) {
			ssize_t k = modbus_framing_to_rtu(c, mbap, len, rtu);
			assert(k == n && memcmp(rtu, data + off, (size_t) n) == 0);
		}
		off += (size_t) n;
	}
	return 0;
}
