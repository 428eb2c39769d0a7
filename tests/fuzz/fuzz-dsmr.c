/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for DSMR: the framer hunting for P1 telegrams only, then the
 * decoder called directly on the input made into a telegram with a correct
 * CRC. Through the framer almost every mutation fails the CRC check, so the
 * second step is what lets mutated object lines reach the value parsers.
 */
#include "fuzz-framer.h"
#include "fuzz-json-text.h"
#include "smartconnectd/meter/crc.h"

static struct reading dv;
static char text_copy[READING_TEXT_MAX];

/* "/" + input up to its first '!' (bit 7 cleared) + "!" + CRC + CR LF: the
 * shape proto_dsmr_decode() is promised by the framer. */
static void fuzz_decode_direct(const uint8_t *data, size_t size, uint64_t seed)
{
	const struct decode_opts o = fuzz_opts(seed);
	enum telegram_error err = _TELEGRAM_ERR_MAX;
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = 0, len;
	uint16_t crc;
	int r;

	if (size > 0 && (data[0] & 0x7f) == '/') {
		data++;
		size--;
	}

	dv.text[n++] = '/';
	for (size_t i = 0; i < size && n < READING_TEXT_MAX - 7; i++) {
		char c = (char) (data[i] & 0x7f);

		if (c == '!')
			break;
		dv.text[n++] = c;
	}
	dv.text[n++] = '!';
	crc = crc16_arc(dv.text, n);
	for (int shift = 12; shift >= 0; shift -= 4)
		dv.text[n++] = "0123456789ABCDEF"[(crc >> shift) & 0xf];
	dv.text[n++] = '\r';
	dv.text[n++] = '\n';
	len = n;

	dv.text_len = (uint16_t) len;
	reading_reset(&dv);
	memcpy(text_copy, dv.text, len);
	memset(detail, 0xaa, sizeof(detail));

	r = proto_dsmr_decode(&dv, &o, FUZZ_NOW_S, &err, detail);
	fuzz_check_decode(r, &dv, TELEGRAM_HUNT_DSMR, err, detail);
	if (r == 0)
		fuzz_json_text(&dv, &o);
	if (r == 0)
		fuzz_assert(dv.protocol == READING_PROTO_DSMR);

	/* The decoder reads the frame; text[] stays what was received. */
	fuzz_assert(dv.text_len == len);
	fuzz_assert(memcmp(dv.text, text_copy, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_framer(data, size, TELEGRAM_HUNT_DSMR, NULL);
	fuzz_decode_direct(data, size, fuzz_hash(FUZZ_HASH_INIT, data, size));
	return 0;
}
