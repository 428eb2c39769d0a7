/* SPDX-License-Identifier: MIT */
/*
 * Decoders for one complete frame each. The framer (telegram.c) finds frame
 * boundaries; these check integrity (DSMR CRC, TIC group checksums), split the
 * frame into objects and fill the normalised fields.
 *
 * Pure. No I/O, no logging, no allocation; time is passed in.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/reading.h"

/* Why a frame was not accepted. Every rejected frame has exactly one. */
enum telegram_error {
	TELEGRAM_ERR_CRC,           /* DSMR CRC does not match */
	TELEGRAM_ERR_CRC_MISSING,   /* DSMR 4.0+ telegram (version line) without CRC */
	TELEGRAM_ERR_CHECKSUM,      /* TIC group checksum does not match */
	TELEGRAM_ERR_SYNTAX,        /* a line or group that cannot be parsed */
	TELEGRAM_ERR_LINE_TOO_LONG, /* a DSMR line over TELEGRAM_LINE_MAX */
	TELEGRAM_ERR_TOO_LONG,      /* frame over READING_TEXT_MAX, or too many objects */
	TELEGRAM_ERR_TRUNCATED,     /* frame cut off: new start marker, silence, end of input */
	TELEGRAM_ERR_INTERRUPTED,   /* TIC frame aborted by the meter (EOT) */
	TELEGRAM_ERR_ENCRYPTED,     /* DLMS general-glo-ciphering frame (0xDB), not supported */
	TELEGRAM_ERR_EMPTY,         /* frame with no data object */
	_TELEGRAM_ERR_MAX,
};

const char *telegram_error_to_string(enum telegram_error e) __attribute__((const));

/* Grid layout, for the Belgian 3x230 V case (snapshot-mapping.md note 6). */
enum decode_grid {
	DECODE_GRID_AUTO,  /* detect: L2 voltage 0 with L1/L3 present on an e-MUCS meter */
	DECODE_GRID_WYE,   /* 3N x 400 V or single phase: phase quantities as sent */
	DECODE_GRID_DELTA, /* 3 x 230 V without neutral: U12/U32, no phase values */
};

struct decode_opts {
	int std_offset_min; /* meter zone's standard-time UTC offset, minutes (CET: 60) */
	enum decode_grid grid;
};

#define DECODE_OPTS_DEFAULT ((struct decode_opts){ .std_offset_min = 60, .grid = DECODE_GRID_AUTO })

/* Short explanation of a rejection, e.g. "stated 6796, computed 0E9E". */
#define TELEGRAM_DETAIL_MAX 96

/*
 * Decode the DSMR telegram in v->text[0 .. v->text_len): it starts with '/' and
 * ends with the '!' line (CRC digits, CR LF optional). Fills v's objects and
 * fields. now_s is the host's UTC time, used as ts when the telegram has no
 * clock. Returns 0, or -EBADMSG with *ret_error and detail filled.
 */
int proto_dsmr_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		      enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX]);

/*
 * Decode the TIC frame in v->text[0 .. v->text_len): STX, groups, ETX. The mode
 * (historique or standard) follows from the separator. A single group with a bad
 * checksum rejects the whole frame: publishing a frame without one of its
 * groups would turn a known value into null for one telegram.
 * Returns 0, or -EBADMSG with *ret_error and detail filled.
 */
int proto_tic_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		     enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX]);

/* Unit of a TIC label's data as fixed by the Enedis specifications ("Wh", "VA",
 * "A", "V", "kVA", "W", "min"), or NULL for labels that are not quantities. */
const char *proto_tic_unit(const char *label, size_t len);
