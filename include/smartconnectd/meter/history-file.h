/* SPDX-License-Identifier: MIT */
/*
 * The history's save file format (the daemon writes it atomically, see
 * core/daemon-history.c): a 40-byte header, then the used blocks of the
 * minute ring (an hour each: 16-byte block header + 60 records of 24 bytes),
 * then those of the quarter ring (half a day each: 16 + 48 * 11 bytes), as
 * in memory (host byte order: the file never leaves the gateway).
 *
 *   magic "SCHIST\r\n", version, byte-order mark 0x01020304, the two record
 *   sizes, minute blocks, quarter blocks, 0, FNV-1a 64 of every byte after
 *   the header.
 *
 * Only used blocks are written: a new gateway saves a few kilobytes, a full
 * history 40 + 169 * 1 456 + 796 * 544 = 679 128 bytes. Version 2, with
 * 26-byte minutes (16-bit fields each) and days of 12-byte quarters (24-bit
 * energies above the day's base), still loads: its values are kept (a voltage
 * over 1 638.3 V saturates; an energy more than 1 048 kWh above the lowest of
 * its half day is left unknown). Version 1 (56-byte records, never released)
 * is refused as another version.
 *
 * A file of the former longer rings (up to 192 minute blocks, 8 days, and
 * 403 quarter blocks, 13 * 31 days; the same version) still loads: where two
 * hours or days fall on one slot of the shorter ring the newer is kept, the
 * older dropped.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/history.h"

#define HISTORY_FILE_VERSION 3
#define HISTORY_FILE_HEADER 40
#define HISTORY_FILE_MIN_V2 26 /* a minute record of version 2 */
#define HISTORY_FILE_QTR_V2 12 /* a quarter record of version 2 */
#define HISTORY_FILE_MINUTE_BLOCK \
	(sizeof(struct history_block) + HISTORY_MINUTE_BLOCK * sizeof(struct history_min))
#define HISTORY_FILE_QUARTER_BLOCK \
	(sizeof(struct history_block) + HISTORY_QUARTER_BLOCK * sizeof(struct history_qtr))
#define HISTORY_FILE_MINUTE_BLOCKS_MAX 192  /* 8 days: the files of the longer ring */
#define HISTORY_FILE_QUARTER_BLOCKS_MAX 403 /* version 2: 13 * 31 days, likewise */
/* The largest file: version 2 of the longer rings. */
#define HISTORY_FILE_MAX                                                                   \
	(HISTORY_FILE_HEADER +                                                             \
	 HISTORY_FILE_MINUTE_BLOCKS_MAX *                                                  \
	     (sizeof(struct history_block) + HISTORY_MINUTE_BLOCK * HISTORY_FILE_MIN_V2) + \
	 HISTORY_FILE_QUARTER_BLOCKS_MAX * (sizeof(struct history_block) + 96 * HISTORY_FILE_QTR_V2))

/* Bytes history_file_encode() writes for h. */
size_t history_file_size(const struct history *h);

/* Write h's closed records into buf (history_file_size() bytes). Returns the
 * length, or -ENOBUFS when size is too small. */
int64_t history_file_encode(const struct history *h, void *buf, size_t size);

/* Replace h's rings with the file's records; the periods being built are
 * cleared. On any error h is left empty and the error says why:
 *   -ENODATA   shorter than the header (empty, torn at the start)
 *   -EPROTO    not a history file of this build (magic, byte order, record sizes)
 *   -EPROTONOSUPPORT  another format version
 *   -EBADMSG   torn or corrupted (length does not match the counts, checksum)
 *   -EINVAL    a block or record is malformed (history_block_ok()) */
int history_file_decode(struct history *h, const void *buf, size_t n);

/* The checksum of the state files (this one and capacity-file.h): FNV-1a 64. */
uint64_t history_file_checksum(const void *data, size_t n) __attribute__((pure));

/* The error's words for the log. */
const char *history_file_strerror(int r) __attribute__((const));
