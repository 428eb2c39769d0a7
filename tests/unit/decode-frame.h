/* SPDX-License-Identifier: MIT */
/*
 * For the unit tests: decode a frame written in the test into a reading. A
 * DSMR body from '/' to '!' gets its correct CRC appended; a TIC frame is
 * taken as it is. Returns the decoder's result.
 */
#pragma once

#include <stdio.h>
#include <string.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/meter/proto.h"

__attribute__((unused)) static int decode_frame(struct reading *v, const char *frame, int64_t now_s)
{
	enum telegram_error e;
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = strlen(frame);
	bool dsmr = frame[0] == '/';

	memcpy(v->text, frame, n);
	if (dsmr)
		n += (size_t) snprintf(v->text + n, sizeof(v->text) - n, "%04X\r\n", crc16_arc(frame, n));
	v->text_len = (uint16_t) n;
	return (dsmr ? proto_dsmr_decode : proto_tic_decode)(v, &DECODE_OPTS_DEFAULT, now_s, &e, detail);
}
