/* SPDX-License-Identifier: MIT */
/*
 * The Modbus RTU server's request path: bytes from the line, in pieces whose
 * sizes come from the data, with a frame gap (the silence timer firing) after
 * the pieces the data marks. The line is a socketpair. Every answer must be a
 * frame of our unit id with a valid CRC, and nothing may be answered to a
 * frame of another unit id or a broadcast. The static functions of
 * modbus-rtu.c are reached by including it (ARCHITECTURE.md, "Tests").
 */
#include <assert.h>
#include <sys/socket.h>

#include "../../src/outputs/modbus-rtu.c"

#define UNIT 7

/* The harness's own check of the answers, independent of libmodbus. */
static unsigned crc16(const uint8_t *p, size_t n)
{
	unsigned crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (crc >> 1) ^ 0xA001 : crc >> 1;
	}
	return crc;
}

/* One answer per frame gap at most: whole, ours, with a good CRC. */
static void check_answer(int fd, bool may_answer)
{
	uint8_t rsp[1024];
	ssize_t n = recv(fd, rsp, sizeof(rsp), MSG_DONTWAIT);

	if (n <= 0)
		return;
	assert(may_answer);
	assert(n >= 5 && n <= MODBUS_RTU_MAX_ADU_LENGTH);
	assert(rsp[0] == UNIT);
	assert(crc16(rsp, (size_t) n - 2) == ((unsigned) rsp[n - 1] << 8 | rsp[n - 2]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reading v;
	sd_event *e = NULL;
	struct store *store = NULL;
	struct modbus_rtu *m = NULL;
	int sv[2];

	if (size < 1)
		return 0;
	if (sd_event_new(&e) < 0 || store_new(10 * USEC_PER_SEC, &store) < 0)
		abort();
	/* The first byte picks the template and whether there is fresh data (bit 3). */
	const struct modbus_map_template *const *all = modbus_map_templates();
	unsigned n_templates = 0;
	while (all[n_templates])
		n_templates++;
	struct modbus_rtu_settings s = {
		.device = "/dev/null",
		.baud = 9600,
		.parity = 'N',
		.stop_bits = 1,
		.unit_id = UNIT,
		.template = all[data[0] % n_templates],
		.stale_policy = (enum modbus_server_stale_policy)((data[0] >> 4) % _MODBUS_SERVER_STALE_MAX),
		.ident = { "SC1", "0.1" },
	};
	if (data[0] & 8) {
		v.valid = (1u << _READING_FIELD_MAX) - 1;
		for (unsigned f = 0; f < _READING_FIELD_MAX; f++)
			v.field[f] = (int64_t) f * 123456789 - 500000000;
		uint64_t now = 0;

		/* Published now, so the stale policy only applies when the data say so. */
		(void) sd_event_now(e, CLOCK_MONOTONIC, &now);
		(void) store_publish(store, &v, now, 1);
	}
	if (modbus_rtu_new(e, store, &s, &m) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0)
		abort();
	(void) modbus_set_socket(m->line, sv[0]);
	m->fd = sv[0];

	/* A piece's length byte: low 6 bits the size, bit 7 a frame gap after it. */
	bool ours = false;
	for (size_t off = 1; off < size;) {
		size_t k = 1 + data[off] % 64;
		bool gap = data[off] & 0x80;
		off++;
		if (k > size - off)
			k = size - off;
		if (k > 0 && m->len == 0)
			ours = data[off] == UNIT;
		if (k > 0 && send(sv[1], data + off, k, MSG_NOSIGNAL) != (ssize_t) k)
			break;
		off += k;
		(void) rtu_on_io(NULL, sv[0], EPOLLIN, m);
		assert(m->len <= sizeof(m->buf));
		if (gap || off >= size) {
			(void) rtu_on_gap(NULL, 0, m);
			check_answer(sv[1], ours);
		}
	}

	(void) modbus_set_socket(m->line, -1);
	m->fd = -EBADF;
	close(sv[0]);
	close(sv[1]);
	modbus_rtu_free(m);
	store_free(store);
	sd_event_unref(e);
	return 0;
}
