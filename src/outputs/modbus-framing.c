/* SPDX-License-Identifier: MIT */
/*
 * MBAP or RTU on a Modbus TCP connection (see modbus-framing.h): the RTU
 * request lengths, the detection of a connection's framing, and the codec
 * through which libmodbus computes every RTU CRC.
 */
#include <errno.h>
#include <modbus.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smartconnectd/outputs/modbus-framing.h"
#include "smartconnectd/outputs/modbus-server.h"

#define MBAP_HEADER 7 /* transaction id, protocol id, length, unit id */
#define RTU_CRC 2

struct modbus_framing_codec {
	modbus_t *rtu;
	int fd[2]; /* libmodbus writes into fd[0]; its frames are read from fd[1] */
};

const char *const modbus_framing_names[_MODBUS_FRAMING_MAX] = {
	[MODBUS_FRAMING_AUTO] = "auto",
	[MODBUS_FRAMING_TCP] = "tcp",
	[MODBUS_FRAMING_RTU] = "rtu",
};

DEFINE_STRING_TABLE_TO(modbus_framing, enum modbus_framing, modbus_framing_names)

/* A request's length in bytes, CRC included: fixed by the function code, or
 * given by a byte count at a fixed place. */
ssize_t modbus_framing_rtu_len(const uint8_t *buf, size_t n)
{
	size_t len, at;

	if (n < 2)
		return 0;
	switch (buf[1]) {
	case 0x01 ... 0x06: /* reads, single writes: address and count or value */
	case 0x08:          /* diagnostics: sub-function and one word */
		return 8;
	case 0x07: /* exception status, comm event counter and log, server id */
	case 0x0B:
	case 0x0C:
	case 0x11:
		return 4;
	case 0x18: /* FIFO queue: one address */
		return 6;
	case 0x2B: /* encapsulated interface: MEI type, read code, object id */
		return 7;
	case 0x0F: /* multiple writes: address, count, byte count, values */
	case 0x10:
		len = 9, at = 6;
		break;
	case 0x17: /* read/write multiple: two address/count pairs, byte count, values */
		len = 13, at = 10;
		break;
	default:
		return -EBADMSG;
	}
	if (n <= at)
		return 0;
	len += buf[at];
	return len <= MODBUS_FRAMING_RTU_MAX ? (ssize_t) len : -EBADMSG;
}

int modbus_framing_codec_new(struct modbus_framing_codec **ret)
{
	_cleanup_(modbus_framing_codec_freep) struct modbus_framing_codec *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd[0] = c->fd[1] = -EBADF;
	/* Datagrams: one write of libmodbus is one frame to read back. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, c->fd) < 0)
		return -errno;
	/* The device is never opened: the context only encodes. */
	c->rtu = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
	/* The socket never changes: the server writes its MBAP answers through
	 * a context of its own. */
	if (!c->rtu || modbus_set_socket(c->rtu, c->fd[0]) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(c);
	return 0;
}

struct modbus_framing_codec *modbus_framing_codec_free(struct modbus_framing_codec *c)
{
	if (!c)
		return NULL;
	if (c->rtu)
		modbus_free(c->rtu); /* does not close the socket we gave it */
	for (size_t i = 0; i < 2; i++)
		if (c->fd[i] >= 0)
			close(c->fd[i]);
	free(c);
	return NULL;
}

/* The frame libmodbus wrote into the socketpair: its length, 0 when there is none. */
static size_t modbus_framing_codec_take(struct modbus_framing_codec *c, uint8_t *buf, size_t size)
{
	ssize_t k = recv(c->fd[1], buf, size, MSG_DONTWAIT);

	return k > 0 ? (size_t) k : 0;
}

/* Read back the one frame libmodbus wrote: want bytes, or -EIO. Whatever is
 * left after a mismatch is read away, so that it is no part of the next. */
static ssize_t codec_collect(struct modbus_framing_codec *c, uint8_t *out, size_t want)
{
	size_t k = modbus_framing_codec_take(c, out, MODBUS_FRAMING_RTU_MAX);

	if (k == want)
		return (ssize_t) k;
	while (modbus_framing_codec_take(c, out, MODBUS_FRAMING_RTU_MAX) > 0)
		;
	return -EIO;
}

/* libmodbus's RTU frame of unit id + PDU (n bytes), CRC appended, into out. */
static ssize_t codec_encode(struct modbus_framing_codec *c, const uint8_t *adu, size_t n, uint8_t *out)
{
	if (modbus_send_raw_request(c->rtu, adu, (int) n) < 0)
		return -EIO;
	return codec_collect(c, out, n + RTU_CRC);
}

ssize_t modbus_framing_to_rtu(struct modbus_framing_codec *c, const uint8_t *mbap, size_t n, uint8_t *out)
{
	if (n < MBAP_HEADER + 1 || n - (MBAP_HEADER - 1) + RTU_CRC > MODBUS_FRAMING_RTU_MAX)
		return -EBADMSG;
	/* A bus master never hears from anyone about a broadcast. */
	if (mbap[MBAP_HEADER - 1] == 0)
		return 0;
	return codec_encode(c, mbap + MBAP_HEADER - 1, n - (MBAP_HEADER - 1), out);
}

ssize_t modbus_framing_rtu_reply(struct modbus_framing_codec *c, const uint8_t *mbap, size_t n,
				 modbus_mapping_t *map, uint8_t *out)
{
	uint8_t req[MODBUS_FRAMING_RTU_MAX];
	size_t body = n - (MBAP_HEADER - 1);
	ssize_t k;

	if (n < MBAP_HEADER + 1 || body + RTU_CRC > sizeof(req))
		return -EBADMSG;
	/* modbus_reply() drops the last two bytes as the CRC without reading them. */
	memcpy(req, mbap + MBAP_HEADER - 1, body);
	req[body] = req[body + 1] = 0;
	if (modbus_reply(c->rtu, req, (int) (body + RTU_CRC), map) < 0)
		return -EIO;
	if (req[0] == 0) {
		/* Broadcast: libmodbus sends nothing; should one ever come, it goes. */
		while (modbus_framing_codec_take(c, out, MODBUS_FRAMING_RTU_MAX) > 0)
			;
		return 0;
	}
	k = (ssize_t) modbus_framing_codec_take(c, out, MODBUS_FRAMING_RTU_MAX);
	return k > 0 ? k : -EIO;
}

/* 1 when buf starts with a complete RTU request whose CRC libmodbus agrees
 * with (its length in *len), 0 when more bytes are needed, -EBADMSG. */
static int rtu_check(struct modbus_framing_codec *c, const uint8_t *buf, size_t n, size_t *len)
{
	uint8_t frame[MODBUS_FRAMING_RTU_MAX];
	ssize_t l = modbus_framing_rtu_len(buf, n), k;

	if (l <= 0)
		return (int) l;
	if ((size_t) l > n)
		return 0;
	k = codec_encode(c, buf, (size_t) l - RTU_CRC, frame);
	if (k < 0)
		return (int) k;
	if (memcmp(frame + l - RTU_CRC, buf + l - RTU_CRC, RTU_CRC) != 0)
		return -EBADMSG;
	*len = (size_t) l;
	return 1;
}

/* The RTU frame as the MBAP ADU the request handling reads. */
static size_t rtu_to_mbap(const uint8_t *frame, size_t len, uint8_t *mbap)
{
	size_t body = len - RTU_CRC; /* unit id and PDU */

	mbap[0] = mbap[1] = mbap[2] = mbap[3] = 0;
	mbap[4] = (uint8_t) (body >> 8);
	mbap[5] = (uint8_t) body;
	memcpy(mbap + MBAP_HEADER - 1, frame, body);
	return body + MBAP_HEADER - 1;
}

/* Length of the MBAP request buf starts with, for a connection whose framing
 * is not known yet: only when its length field is the one its function code
 * asks for, so that the first bytes of an RTU frame do not pass for an MBAP
 * header by chance (0 when more bytes are needed, -EBADMSG). */
static ssize_t mbap_consistent(const uint8_t *buf, size_t n)
{
	ssize_t len = modbus_server_frame_len(buf, n);

	if (len <= 0)
		return len;
	if (modbus_framing_rtu_len(buf + MBAP_HEADER - 1, (size_t) len - (MBAP_HEADER - 1)) !=
	    len - (MBAP_HEADER - 1) + RTU_CRC)
		return -EBADMSG;
	return len;
}

ssize_t modbus_framing_next(struct modbus_framing_codec *c, enum modbus_framing *framing, const uint8_t *buf,
			    size_t n, uint8_t *mbap, size_t *mbap_len)
{
	ssize_t tcp = 0;
	size_t len = 0;
	int rtu = 0;

	if (*framing != MODBUS_FRAMING_TCP)
		rtu = rtu_check(c, buf, n, &len);
	if (*framing == MODBUS_FRAMING_TCP)
		tcp = modbus_server_frame_len(buf, n);
	else if (*framing == MODBUS_FRAMING_AUTO && rtu <= 0)
		tcp = mbap_consistent(buf, n);

	if (rtu > 0) {
		*framing = MODBUS_FRAMING_RTU;
		*mbap_len = rtu_to_mbap(buf, len, mbap);
		return (ssize_t) len;
	}
	if (tcp > 0) {
		*framing = MODBUS_FRAMING_TCP;
		memcpy(mbap, buf, (size_t) tcp);
		*mbap_len = (size_t) tcp;
		return tcp;
	}
	/* Undecided: wait while either reading may still complete. */
	if (*framing == MODBUS_FRAMING_AUTO)
		return rtu < 0 && tcp < 0 ? -EBADMSG : 0;
	return *framing == MODBUS_FRAMING_RTU ? rtu : tcp;
}
