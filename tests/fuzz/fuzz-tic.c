/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for TIC: the framer hunting for Enedis frames only, then the
 * decoder called directly on the input wrapped in STX .. ETX, once as it is
 * and once with every group checksum made correct. A single bad checksum
 * rejects the whole frame, so without the repair almost no mutation would
 * reach the label and value parsers.
 */
#include "fuzz-framer.h"
#include "fuzz-json-text.h"

static struct reading dv;
static char text_copy[READING_TEXT_MAX];

/* Rewrite the checksum of every LF .. CR group the way the meter computes
 * it: standard mode (HT before the checksum) sums up to and including that
 * HT, historique mode (SP) stops before it. */
static void fix_checksums(char *text, size_t len)
{
	size_t start = SIZE_MAX;

	for (size_t i = 0; i < len; i++) {
		unsigned sum = 0;
		size_t end;

		if (text[i] == '\n') {
			start = i + 1;
			continue;
		}
		if (text[i] != '\r' || start == SIZE_MAX)
			continue;
		if (i < start + 3) { /* no room for label, separator and checksum */
			start = SIZE_MAX;
			continue;
		}

		end = text[i - 2] == '\t' ? i - 1 : i - 2;
		for (size_t k = start; k < end; k++)
			sum += (unsigned char) text[k];
		text[i - 1] = (char) ((sum & 0x3f) + 0x20);
		start = SIZE_MAX;
	}
}

static void decode_direct(const uint8_t *data, size_t size, uint64_t seed, bool repair)
{
	const struct decode_opts o = fuzz_opts(seed);
	enum telegram_error err = _TELEGRAM_ERR_MAX;
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = 0;
	int r;

	dv.text[n++] = STX;
	for (size_t i = 0; i < size && n < READING_TEXT_MAX - 1; i++)
		dv.text[n++] = (char) (data[i] & 0x7f);
	dv.text[n++] = ETX;
	if (repair)
		fix_checksums(dv.text, n);

	dv.text_len = (uint16_t) n;
	reading_reset(&dv);
	memcpy(text_copy, dv.text, n);
	memset(detail, 0xaa, sizeof(detail));

	r = proto_tic_decode(&dv, &o, FUZZ_NOW_S, &err, detail);
	fuzz_check_decode(r, &dv, TELEGRAM_HUNT_TIC, err, detail);
	if (r == 0)
		fuzz_json_text(&dv, &o);

	fuzz_assert(dv.text_len == n);
	fuzz_assert(memcmp(dv.text, text_copy, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = fuzz_hash(FUZZ_HASH_INIT, data, size);

	fuzz_framer(data, size, TELEGRAM_HUNT_TIC, NULL);

	/* Seeds are whole frames: strip their own STX and ETX so the wrapped
	 * text is the frame itself rather than a frame inside a frame. */
	if (size > 0 && (data[0] & 0x7f) == STX) {
		data++;
		size--;
	}
	if (size > 0 && (data[size - 1] & 0x7f) == ETX)
		size--;

	decode_direct(data, size, seed, false);
	decode_direct(data, size, seed, true);
	return 0;
}
