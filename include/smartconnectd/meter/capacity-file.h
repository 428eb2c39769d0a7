/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff's save file (the daemon writes it atomically next to
 * the history, see core/daemon-history.c): what capacity.h computed and a
 * restart would forget. The running month's key and computed peak, and the
 * computed peaks of the closed months; nothing of the running quarter (see
 * capacity.h: the quarter in progress at a stop stays incomplete). Host byte
 * order: the file never leaves the gateway.
 *
 *   header, 32 bytes: magic "SCCAPA\r\n", version, byte-order mark
 *   0x01020304, total length, number of past months, FNV-1a 64 of every
 *   byte after the header;
 *   running month, 40 bytes: flags (1: month known, 2: peak known), month
 *   key, peak W, peak time, 0;
 *   past months, 24 bytes each, oldest first: month key, peak W, peak time.
 *
 * 72 bytes without past months, at most 72 + 13 * 24 = 384. Month keys are
 * local year * 12 + month - 1 as in capacity.h; a computed peak's time is the
 * end of its quarter, so a multiple of 900 s.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/capacity.h"

#define CAPACITY_FILE_VERSION 1
#define CAPACITY_FILE_HEADER 32
#define CAPACITY_FILE_RUNNING 40
#define CAPACITY_FILE_MONTH 24
#define CAPACITY_FILE_MAX \
	(CAPACITY_FILE_HEADER + CAPACITY_FILE_RUNNING + CAPACITY_MONTHS * CAPACITY_FILE_MONTH)

/* Bytes capacity_file_encode() writes for c. */
size_t capacity_file_size(const struct capacity *c);

/* Write c's computed month state into buf. Returns the length, or -ENOBUFS
 * when size is too small. */
int64_t capacity_file_encode(const struct capacity *c, void *buf, size_t size);

/* Put the file's state into c, which must be fresh from capacity_init() (its
 * zone offset is kept). On any error c is left as capacity_init() made it
 * and the error says why:
 *   -ENODATA   shorter than the header (empty, torn at the start)
 *   -EPROTO    not a capacity file (magic, byte order)
 *   -EPROTONOSUPPORT  another format version
 *   -EBADMSG   torn or corrupted (length, checksum)
 *   -EINVAL    a value out of its range (flags, past month keys not
 *              ascending or not among the 13 before the running month, a
 *              peak time that is no quarter's end) */
int capacity_file_decode(struct capacity *c, const void *buf, size_t n);

/* The error's words for the log. */
const char *capacity_file_strerror(int r) __attribute__((const));
