/* SPDX-License-Identifier: MIT */
/*
 * The framing of a Modbus TCP connection: MBAP (Modbus TCP proper) or RTU
 * frames (unit id, function, data, CRC) sent over the TCP stream, as some
 * clients do (evcc's Eastron templates with "rtu: true"). The framing is
 * decided per connection from its first request and kept; the server's
 * request handling only ever sees MBAP, and its answers are turned back into
 * RTU frames here.
 *
 * libmodbus does every CRC: an RTU context (never connected) writes the
 * frames it builds into one end of an AF_UNIX datagram socketpair and the
 * codec reads them back from the other; it also answers reads and writes
 * itself (modbus_reply()), straight in RTU framing. A received frame is checked by
 * having libmodbus encode its unit id and PDU and comparing the CRC it
 * appended. libmodbus has no call that checks or computes a CRC into memory,
 * and its receive path blocks, so this is the one way to use its encoding.
 *
 * An object owned by the Modbus server; never logs.
 */
#pragma once

#include <modbus.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smartconnectd/base/macro.h"

/* [Modbus] Framing=: what a connection may speak. */
enum modbus_framing {
	MODBUS_FRAMING_AUTO, /* decided by the first request */
	MODBUS_FRAMING_TCP,  /* MBAP only */
	MODBUS_FRAMING_RTU,  /* RTU frames only */
	_MODBUS_FRAMING_MAX,
};

/* "auto", "tcp", "rtu", indexed by the framing. */
extern const char *const modbus_framing_names[_MODBUS_FRAMING_MAX];
/* NULL for a value out of range. */
const char *modbus_framing_to_string(enum modbus_framing f) __attribute__((const));

/* Largest RTU frame: unit id, 253 bytes of PDU, CRC. */
#define MODBUS_FRAMING_RTU_MAX 256

/*
 * Length of the RTU request the bytes start with, from its function code
 * (without checking the CRC): 0 when more bytes are needed to tell,
 * -EBADMSG for a function code whose request length cannot be known or a
 * length over MODBUS_FRAMING_RTU_MAX. Pure.
 */
ssize_t modbus_framing_rtu_len(const uint8_t *buf, size_t n);

struct modbus_framing_codec;

/* -ENOMEM, or the errno of socketpair(); 0 and *ret owned by the caller. */
int modbus_framing_codec_new(struct modbus_framing_codec **ret);
struct modbus_framing_codec *modbus_framing_codec_free(struct modbus_framing_codec *c); /* NULL-safe */
DEFINE_FREEP(struct modbus_framing_codec, modbus_framing_codec_free)

/*
 * The next request of a connection: *framing is the connection's framing;
 * AUTO is replaced by TCP or RTU once the first request shows which (an RTU
 * frame with a valid CRC wins over an MBAP reading of the same bytes, whose
 * chance to carry a valid CRC is 1 in 65536). Returns the number of bytes the
 * request takes in buf, with the request as an MBAP ADU (transaction id 0)
 * in mbap[MODBUS_TCP_MAX_ADU_LENGTH] and its length in *mbap_len; 0 when more
 * bytes are needed; -EBADMSG when the bytes are neither (then the stream
 * cannot be followed any further).
 */
ssize_t modbus_framing_next(struct modbus_framing_codec *c, enum modbus_framing *framing, const uint8_t *buf,
			    size_t n, uint8_t *mbap, size_t *mbap_len);

/*
 * An MBAP answer as an RTU frame with libmodbus's CRC: its length in out
 * (at least MODBUS_FRAMING_RTU_MAX bytes), 0 for an answer to the broadcast
 * unit id 0 (never answered on RTU), -EBADMSG for an impossible ADU, -EIO
 * when libmodbus failed.
 */
ssize_t modbus_framing_to_rtu(struct modbus_framing_codec *c, const uint8_t *mbap, size_t n, uint8_t *out);

/*
 * libmodbus's answer (modbus_reply() on the codec's RTU context, from and into
 * map) to a request given as an MBAP ADU, as an RTU frame in out (at least
 * MODBUS_FRAMING_RTU_MAX bytes): its length, 0 for a broadcast (applied, not
 * answered), -EBADMSG, -EIO. One encoding instead of an MBAP answer turned
 * into RTU afterwards.
 */
ssize_t modbus_framing_rtu_reply(struct modbus_framing_codec *c, const uint8_t *mbap, size_t n,
				 modbus_mapping_t *map, uint8_t *out);
