/* SPDX-License-Identifier: MIT */
/*
 * The streaming framer: bytes from the serial line in any chunking, decoded
 * frames out. It hunts for the start markers of the drivers in its hunt mask
 * (proto.h: '/' DSMR, STX TIC, 0xDB encrypted DLMS), collects the frame into a
 * bounded buffer (an encrypted one is decrypted with the keys of the decode
 * options first, dlms-decrypt.h), hands it to its driver's decoder and reports each frame as
 * accepted or rejected (with a reason and a counter). Noise between frames is
 * skipped and counted in bytes.
 *
 * Resynchronisation rules: a '/' always starts a new DSMR telegram (the
 * unfinished one is reported truncated); an STX always starts a new TIC frame;
 * a DSMR line longer than TELEGRAM_LINE_MAX or a frame longer than READING_TEXT_MAX
 * is rejected and the framer hunts for the next start marker. An encrypted
 * frame's length field is not trusted to hide what follows: a plaintext
 * telegram with a good CRC inside its stated length ends it (rejected,
 * TELEGRAM_ERR_LENGTH), and one that starts inside a frame that fails and
 * runs past its end is read on. Frame counters must increase per system
 * title; new keys start afresh.
 *
 * Pure. No I/O. Never logs. Buffers and the cipher context are allocated by
 * telegram_new(); feeding never allocates.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"

/* Longest DSMR line accepted: the longest legal line (0-0:96.13.0 with 2048 hex
 * characters) is about 2070 bytes. */
#define TELEGRAM_LINE_MAX 4096

struct telegram_reject {
	enum telegram_error error;
	enum reading_protocol protocol; /* READING_PROTO_NONE for encrypted frames */
	const char *detail;             /* human text, never NULL */
	const char *raw;                /* the rejected bytes (possibly cut at READING_TEXT_MAX; only the
					 * header of an encrypted frame), bit 7 cleared */
	size_t raw_len;
	uint64_t offset;  /* stream offset of the frame's first byte */
	size_t frame_len; /* the frame's bytes on the line (all of an encrypted frame) */
};

struct telegram_counters {
	uint64_t accepted;
	uint64_t rejected; /* sum of by_error[] */
	uint64_t by_error[_TELEGRAM_ERR_MAX];
	uint64_t noise_bytes;     /* bytes outside any frame */
	uint64_t bytes;           /* every byte fed */
	uint64_t encrypted;       /* accepted frames that were encrypted (in accepted) */
	uint64_t tag_unverified;  /* of those, accepted on their CRC with a tag that did not verify */
	uint64_t energy_negative; /* accepted frames with an energy register below 0, published as null */
};

/* Borrowed: valid only during the call. Callbacks must not free the framer. */
typedef void (*telegram_accept_fn)(const struct reading *v, void *userdata);
typedef void (*telegram_reject_fn)(const struct telegram_reject *r, void *userdata);

struct telegram;

/* -ENOMEM or 0. The framer is owned by the caller; free with telegram_free(). */
int telegram_new(unsigned hunt, const struct decode_opts *o, telegram_accept_fn on_accept,
		 telegram_reject_fn on_reject, void *userdata, struct telegram **ret);
struct telegram *telegram_free(struct telegram *t); /* NULL-safe, returns NULL */

/* Feed bytes; calls the callbacks for each frame that completes. now_s is the
 * host's UTC time in seconds (ts of frames without a clock). */
void telegram_feed(struct telegram *t, const void *buf, size_t n, int64_t now_s);

/* Drop a frame in progress (silence on the line, end of input, device lost):
 * reported as TELEGRAM_ERR_TRUNCATED. Nothing happens between frames. */
void telegram_flush(struct telegram *t);

/* True while a frame has started and not ended. */
bool telegram_in_frame(const struct telegram *t);

/* Change what is hunted for (TELEGRAM_HUNT_* bits; protocol detection). Drops a frame in progress silently.
 */
void telegram_set_hunt(struct telegram *t, unsigned hunt);
void telegram_set_opts(struct telegram *t, const struct decode_opts *o);

const struct telegram_counters *telegram_counters(const struct telegram *t);

/* Stream offset of the first byte of the frame last reported or in progress. */
uint64_t telegram_frame_offset(const struct telegram *t);
/* Bytes on the line of the frame last accepted: an encrypted frame's are
 * more than its decrypted text. */
size_t telegram_frame_len(const struct telegram *t);
