/* SPDX-License-Identifier: MIT */
/*
 * The history's save file format (the daemon writes it atomically, see
 * core/daemon-history.c): a 40-byte header, then the used records of the
 * minute ring, then those of the quarter ring, each record as in memory
 * (56 bytes, host byte order: the file never leaves the gateway).
 *
 *   magic "SCHIST\r\n", version, byte-order mark 0x01020304, record size,
 *   minute records, quarter records, 0, FNV-1a 64 of every byte after the
 *   header.
 *
 * Only used slots are written: a new gateway saves a few bytes, a full
 * history 40 + 50 208 * 56 = 2 811 688 bytes.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/history.h"

#define HISTORY_FILE_VERSION 1
#define HISTORY_FILE_HEADER 40

/* Bytes history_file_encode() writes for h. */
size_t history_file_size(const struct history *h);

/* Write h's closed records into buf (history_file_size() bytes). Returns the
 * length, or -ENOBUFS when size is too small. */
int64_t history_file_encode(const struct history *h, void *buf, size_t size);

/* Replace h's rings with the file's records; the periods being built are
 * cleared. On any error h is left empty and the error says why:
 *   -ENODATA   shorter than the header (empty, torn at the start)
 *   -EPROTO    not a history file of this build (magic, byte order, record size)
 *   -EPROTONOSUPPORT  another format version
 *   -EBADMSG   torn or corrupted (length does not match the counts, checksum)
 *   -EINVAL    a record is malformed (history_rec_ok()) */
int history_file_decode(struct history *h, const void *buf, size_t n);

/* The error's words for the log. */
const char *history_file_strerror(int r) __attribute__((const));
