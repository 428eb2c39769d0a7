/* SPDX-License-Identifier: MIT */
/*
 * Bounded input from the MQTT broker. libmosquitto 2.0 allocates whatever
 * remaining length a packet header announces (up to 256 MiB) before a single
 * byte of it has arrived; its client side has no bound of its own. Two bounds
 * close that:
 *
 *  - MQTT 5 Maximum Packet Size in CONNECT: a broker keeps to it and never
 *    sends us a bigger packet (it drops such messages for this client);
 *  - on a plain connection, where anything that answers on the port can
 *    pretend to be the broker, each packet header is read ahead of the
 *    library (MSG_PEEK) and a packet over the bound ends the connection
 *    before the library sees its header. Over TLS the broker is the one the
 *    certificate names and the first bound is the one that holds.
 *
 * The guard's exactness rests on two facts of libmosquitto 2.0: its reads
 * never go past the end of the packet it is reading (header byte by byte,
 * then exactly the remaining length), and mosquitto_loop_read() reads one
 * packet per call as long as no QoS 1/2 message of ours is in flight — the
 * publisher sends everything at QoS 0 for that reason.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct mosquitto;

/* The largest packet we take from the broker, fixed header included: room
 * for a command of MQTT_COMMAND_MAX bytes with a long topic and MQTT 5
 * properties (response topic, correlation data). */
#define MQTT_RX_PACKET_MAX (64u * 1024u)

/*
 * An MQTT fixed header at the start of buf (n bytes). Returns its length (2 to
 * 5) and the announced remaining length in *remaining; 0 when buf ends inside
 * the header; -EBADMSG when the variable byte integer runs past 4 bytes.
 */
int mqtt_fixed_header(const uint8_t *buf, size_t n, uint32_t *remaining);

/* The read-ahead of one plain connection. */
struct mqtt_rx_guard {
	uint64_t next;      /* stream offset of the next packet header not yet checked */
	uint32_t last_size; /* size of the last refused packet, for the message */
};

void mqtt_rx_guard_reset(struct mqtt_rx_guard *g);

/*
 * Before each mosquitto_loop_read() on the plain TCP socket fd: 0 when the
 * library may read (inside a checked packet, or at a checked header),
 * 1 when a header is not complete yet (wait for more bytes; do not read),
 * -EMSGSIZE when the next packet is over MQTT_RX_PACKET_MAX
 * (g->last_size says how big), -EBADMSG for a malformed header,
 * -EPROTO when the library read past a packet the guard checked, or another
 * negative errno from the socket calls.
 */
int mqtt_rx_guard_check(struct mqtt_rx_guard *g, int fd);

/*
 * Ask for MQTT 5 with Maximum Packet Size = MQTT_RX_PACKET_MAX in the next
 * CONNECT of mosq. libmosquitto 2.0 takes CONNECT properties only through
 * mosquitto_connect_bind_v5(), which connects blocking; they are stored
 * before its arguments are checked, so the call is made with no host (it
 * returns at once) and mosquitto_connect_bind_async() then sends them.
 * 0 or -ENOMEM/-EINVAL.
 */
int mqtt_limits_set_connect_properties(struct mosquitto *mosq);
