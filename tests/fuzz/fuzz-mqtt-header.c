/* SPDX-License-Identifier: MIT */
/*
 * The MQTT fixed header parser that reads the broker's packet headers ahead
 * of libmosquitto (mqtt-limits.c). The input is a byte stream walked as a
 * broker's packets: each header must parse to 2..5 bytes within the input,
 * with a remaining length below 2^28 that the bytes encode, or say "need
 * more" only when the input ends inside the header, or "malformed" only for
 * a fifth length byte.
 */
#include <assert.h>
#include <errno.h>

#include "smartconnectd/outputs/mqtt-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		uint32_t rem = 0, check = 0;
		size_t n = size - pos;
		int r = mqtt_fixed_header(data + pos, n, &rem);

		if (r == 0) {
			/* Only when every length byte present has its continuation bit set. */
			for (size_t i = 1; i < n; i++)
				assert(data[pos + i] & 0x80);
			assert(n < 5);
			return 0;
		}
		if (r < 0) {
			assert(r == -EBADMSG && n >= 5);
			for (size_t i = 1; i < 5; i++)
				assert(data[pos + i] & 0x80);
			return 0;
		}
		assert(r >= 2 && r <= 5 && (size_t) r <= n && rem < (1u << 28));
		for (int i = r - 1; i >= 1; i--)
			check = (check << 7) | (data[pos + (size_t) i] & 0x7f);
		assert(check == rem);
		/* Skip the packet, as the library would read it; a big one ends the walk. */
		if ((uint64_t) rem > size - pos - (size_t) r)
			return 0;
		pos += (size_t) r + rem;
	}
	return 0;
}
