/* SPDX-License-Identifier: MIT */
/*
 * Bounded input from the MQTT broker (see mqtt-limits.h). The guard knows
 * where the library stands in the byte stream from the kernel: the bytes
 * the socket received (TCP_INFO) minus the bytes still queued (SIOCINQ) are
 * the bytes the library has read, because nothing else reads this socket.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/outputs/mqtt-limits.h"

#include "mqtt-internal.h"

int mqtt_fixed_header(const uint8_t *buf, size_t n, uint32_t *remaining)
{
	uint32_t value = 0;

	/* Byte 0 is the packet type; 1 to 4 bytes of remaining length follow. */
	for (size_t i = 1; i <= 4; i++) {
		if (i >= n)
			return 0;
		value |= (uint32_t) (buf[i] & 0x7f) << (7 * (i - 1));
		if (!(buf[i] & 0x80)) {
			*remaining = value;
			return (int) i + 1;
		}
	}
	return -EBADMSG;
}

void mqtt_rx_guard_reset(struct mqtt_rx_guard *g)
{
	*g = (struct mqtt_rx_guard){ 0 };
}

/* Bytes of the stream the library has read. The two figures are taken
 * again until no segment arrived between them, so they agree. */
static int stream_consumed(int fd, uint64_t *ret)
{
	for (unsigned tries = 0; tries < 8; tries++) {
		struct tcp_info a = { 0 }, b = { 0 };
		socklen_t la = sizeof(a), lb = sizeof(b);
		int queued = 0;

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &a, &la) < 0 || ioctl(fd, SIOCINQ, &queued) < 0 ||
		    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &b, &lb) < 0)
			return -errno;
		/* tcpi_bytes_received came with Linux 4.1; older kernels give a
		 * shorter structure and the guard cannot work. */
		if (la < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(a.tcpi_bytes_received))
			return -EOPNOTSUPP;
		if (a.tcpi_bytes_received == b.tcpi_bytes_received && queued >= 0 &&
		    (uint64_t) queued <= a.tcpi_bytes_received) {
			*ret = a.tcpi_bytes_received - (uint64_t) queued;
			return 0;
		}
	}
	return -EAGAIN;
}

int mqtt_rx_guard_check(struct mqtt_rx_guard *g, int fd)
{
	uint8_t hdr[5];
	uint64_t consumed;
	uint32_t remaining = 0;
	ssize_t n;
	int r;

	r = stream_consumed(fd, &consumed);
	if (r < 0)
		return r;
	if (consumed < g->next)
		return 0; /* inside a packet whose header was checked */
	if (consumed > g->next)
		return -EPROTO;

	n = recv(fd, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
	if (n == 0)
		return 0; /* end of stream: let the library see it */
	r = mqtt_fixed_header(hdr, (size_t) n, &remaining);
	if (r == 0)
		return 1;
	if (r < 0)
		return r;
	if ((uint64_t) r + remaining > MQTT_RX_PACKET_MAX) {
		g->last_size = (uint32_t) r + remaining;
		return -EMSGSIZE;
	}
	g->next = consumed + (uint64_t) r + remaining;
	return 0;
}

int mqtt_limits_set_connect_properties(struct mosquitto *mosq)
{
	mosquitto_property *props = NULL;
	int rc;

	rc = mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, MQTT_RX_PACKET_MAX);
	if (rc == MOSQ_ERR_SUCCESS) {
		/* No host: the call stores the properties and returns before
		 * connecting (libmosquitto 2.0's connect.c). */
		rc = mosquitto_connect_bind_v5(mosq, NULL, 0, 0, NULL, props);
		if (rc == MOSQ_ERR_INVAL)
			rc = MOSQ_ERR_SUCCESS;
	}
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_NOMEM)
		return -ENOMEM;
	return rc == MOSQ_ERR_SUCCESS ? 0 : -EINVAL;
}

int mqtt_read_bounded(struct mqtt *m)
{
	int r;

	if (m->set.broker.tls)
		return mosquitto_loop_read(m->mosq, 1);
	r = mqtt_rx_guard_check(&m->rx, m->fd);
	m->rx_wait = r == 1;
	if (r == 0)
		return mosquitto_loop_read(m->mosq, 1);
	if (r == 1)
		return MOSQ_ERR_SUCCESS;
	m->counters.rx_refused++;
	/* A peer that sends whole packet headers has taken our MQTT version:
	 * this failure is no reason to try the other one (mqtt-protocol.c). */
	if (r == -EMSGSIZE || r == -EBADMSG)
		m->protocol_known = true;
	if (r == -EMSGSIZE)
		snprintf(m->lib_error, sizeof(m->lib_error),
			 "the broker sent a packet of %" PRIu32 " bytes, over the bound of %u bytes",
			 m->rx.last_size, MQTT_RX_PACKET_MAX);
	else if (r == -EBADMSG)
		snprintf(m->lib_error, sizeof(m->lib_error), "malformed packet header from the broker");
	else
		snprintf(m->lib_error, sizeof(m->lib_error), "cannot follow the packets from the broker: %s",
			 strerror(-r));
	return MQTT_RX_REFUSED;
}
