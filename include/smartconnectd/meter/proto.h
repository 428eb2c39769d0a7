/* SPDX-License-Identifier: MIT */
/*
 * The protocol drivers, as chrony's refclock drivers: each protocol file
 * (proto-dsmr.c, proto-tic.c) exports one const struct proto_driver saying
 * everything the rest of the daemon needs to know about its protocol: its
 * name, the framer's hunt bit, the serial settings to try, the decoder, and
 * how its objects are read (units, object kinds). The meter input, the JSON
 * formatter, the configuration and the value model read the table
 * (proto_driver()); none of them switches on the protocol.
 *
 * The decoders check one complete frame each: the framer (telegram.c) finds
 * frame boundaries; they check integrity (DSMR CRC, TIC group checksums), split
 * the frame into objects and fill the normalised fields.
 *
 * Adding a protocol (SML, say): a proto-sml.c with its decoder and its
 * `const struct proto_driver proto_sml`, a READING_PROTO_SML value (reading.h)
 * and one row in proto.c's table. A protocol whose frames start with a marker
 * the framer does not know yet also needs its hunt bit below and a start
 * state in telegram.c, which stays byte-level code without indirect calls.
 *
 * Pure. No I/O, no logging, no allocation; time is passed in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartconnectd/meter/dlms-decrypt.h"
#include "smartconnectd/meter/reading.h"
#include "smartconnectd/meter/tty.h"

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
	TELEGRAM_ERR_EMPTY,         /* frame with no data object */
	/* Encrypted frames (DLMS general-glo-ciphering, 0xDB; dlms-decrypt.h): */
	TELEGRAM_ERR_NO_KEY,    /* no DecryptionKey= configured */
	TELEGRAM_ERR_WRONG_KEY, /* the tag does not verify and the plaintext has no valid CRC */
	TELEGRAM_ERR_LENGTH,    /* the length field is out of bounds, or a plaintext telegram
				 * inside it showed that it lied */
	TELEGRAM_ERR_REPLAY,    /* frame counter not above the last accepted one */
	_TELEGRAM_ERR_MAX,
};

const char *telegram_error_to_string(enum telegram_error e) __attribute__((const));

/* Grid layout, for the Belgian 3x230 V case (smartconnect.conf(5), Grid=). */
enum decode_grid {
	DECODE_GRID_AUTO,  /* detect: L2 voltage 0 with L1/L3 present on an e-MUCS meter */
	DECODE_GRID_WYE,   /* 3N x 400 V or single phase: phase quantities as sent */
	DECODE_GRID_DELTA, /* 3 x 230 V without neutral: U12/U32, no phase values */
};

struct decode_opts {
	int std_offset_min; /* meter zone's standard-time UTC offset, minutes (CET: 60) */
	enum decode_grid grid;
	/* Data bits of the line: 8 (the CRC covers the bytes as received), 7 (bit 7
	 * is parity and is stripped first), or 0 when unknown (detection, files):
	 * either CRC is accepted and READING_FLAG_CRC_7BIT says which matched. */
	unsigned line_bits;
	/* Per frame, from the framer: no byte of the text has bit 7 set, so there
	 * is nothing to strip. Callers that do not know leave it false. */
	bool ascii;
	struct dlms_keys keys; /* encrypted P1 */
};

#define DECODE_OPTS_DEFAULT ((struct decode_opts){ .std_offset_min = 60, .grid = DECODE_GRID_AUTO })

/* Short explanation of a rejection, e.g. "stated 6796, computed 0E9E". */
#define TELEGRAM_DETAIL_MAX 96

/*
 * Decode the frame in v->text[0 .. v->text_len), which the framer filled
 * from its start marker to its end marker. Fills v's objects and fields.
 * now_s is the host's UTC time, used as ts when the frame has no clock.
 * Returns 0, or -EBADMSG with *ret_error and detail filled.
 */
typedef int (*proto_decode_fn)(struct reading *v, const struct decode_opts *o, int64_t now_s,
			       enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX]);

/* Start markers the framer hunts for, one bit per driver. TIC's two modes
 * share STX: either bit makes the framer hunt for it, and the decoder tells
 * the mode from the separators. */
enum {
	TELEGRAM_HUNT_DSMR = 1u << 0,           /* '/', and 0xDB for encrypted DLMS */
	TELEGRAM_HUNT_TIC_HISTORIQUE = 1u << 1, /* STX */
	TELEGRAM_HUNT_TIC_STANDARD = 1u << 2,   /* STX */
	TELEGRAM_HUNT_TIC = TELEGRAM_HUNT_TIC_HISTORIQUE | TELEGRAM_HUNT_TIC_STANDARD,
	TELEGRAM_HUNT_ALL = TELEGRAM_HUNT_DSMR | TELEGRAM_HUNT_TIC,
};

/* How the outputs read one object beyond its raw values (reading-json.c). */
enum proto_object_kind {
	PROTO_OBJECT_LABELLED,     /* one value, unit from the label (driver->unit), optional stamp */
	PROTO_OBJECT_MEASURE,      /* values carry their units; a capture time may be among them;
				    * the last value is the reading */
	PROTO_OBJECT_PROFILE,      /* MEASURE, the unit also as the sixth value (DSMR 2.2/3.0 gas) */
	PROTO_OBJECT_TEXT,         /* one hex-encoded text value */
	PROTO_OBJECT_FAILURE_LOG,  /* count, id, then (end time, duration) pairs */
	PROTO_OBJECT_PEAK_HISTORY, /* count, id, id, then (month, time, value) triples */
};

struct proto_driver {
	enum reading_protocol id;
	const char *name;   /* in Protocol= and in the JSON "protocol": "dsmr" */
	const char *title;  /* for humans: "DSMR", "TIC historique" */
	bool title_version; /* the frame's version completes the title (proto_describe()) */
	bool continuous;    /* frames follow each other without pause, paced by the line */
	unsigned hunt;      /* TELEGRAM_HUNT_* bit, unique to the driver */
	/* Serial settings to try while detecting, in order; the first is the usual one. */
	const enum tty_setting *settings;
	size_t n_settings;
	proto_decode_fn decode;
	/* The unit an object's data has by specification, or NULL; NULL itself
	 * when the protocol's values carry their own units. */
	const char *(*unit)(const char *id, size_t len);
	enum proto_object_kind (*object_kind)(const struct reading *v, const struct reading_object *o);
};

extern const struct proto_driver proto_dsmr;           /* DSMR, e-MUCS, Smarty, P1-style text */
extern const struct proto_driver proto_tic_historique; /* Enedis TIC, historique mode */
extern const struct proto_driver proto_tic_standard;   /* Enedis TIC, standard mode */

/* The driver of p, or NULL for READING_PROTO_NONE and values out of range. */
const struct proto_driver *proto_driver(enum reading_protocol p) __attribute__((const));

/* "dsmr" -> READING_PROTO_DSMR, case-insensitive; _READING_PROTO_MAX when unknown. */
enum reading_protocol proto_from_name(const char *name);

/* As a setting (Protocol=, struct meter_settings), READING_PROTO_NONE means
 * "auto": detect among every driver. Its name there is "auto", the others are
 * the drivers' names; NULL out of range. */
const char *proto_setting_to_string(enum reading_protocol p) __attribute__((const));

/* The drivers to try for a setting: p's own, or every one for "auto". */
unsigned proto_setting_hunt(enum reading_protocol p);
/* The serial settings to try for a setting, in order and without duplicates.
 * Returns how many were written to ret (at most _TTY_SETTING_MAX). */
size_t proto_setting_serial(enum reading_protocol p, enum tty_setting ret[_TTY_SETTING_MAX]);

/* For humans, from a frame's protocol and version: "DSMR 5.0", "e-MUCS 1.7
 * (DSMR 5.0.2)", "TIC historique"; "unknown" without a driver. Returns buf. */
const char *proto_describe(enum reading_protocol p, const char *version, char *buf, size_t size);

/* The drivers' decoders, also called directly by tests and fuzzers. DSMR: the
 * frame starts with '/' and ends with the '!' line (CRC digits, CR LF
 * optional). TIC: STX, groups, ETX; the mode (historique or standard) follows
 * from the separator, and a single group with a bad checksum rejects the
 * whole frame: publishing a frame without one of its groups would turn a
 * known value into null for one telegram. */
int proto_dsmr_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		      enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX]);
int proto_tic_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		     enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX]);

/* The DSMR CRC of text[0 .. bang] (bang: the offset of '!') against stated:
 * over the bytes as received unless line_bits is 7, then (line_bits 7 or 0)
 * over the bytes with bit 7 cleared. Returns 0 (raw bytes), 1 (7-bit) or
 * -EBADMSG. Shared by the decoder and the framer's search for a plaintext
 * telegram inside a lying encrypted frame. */
int proto_dsmr_crc(const char *text, size_t bang, unsigned stated, unsigned line_bits);

/* The TIC decoder's label unit table, also the TIC drivers' unit(): "Wh",
 * "VA", "A", "V", "kVA", "W", "min", or NULL for labels that are not quantities. */
const char *proto_tic_unit(const char *label, size_t len);
