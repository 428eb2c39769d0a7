/* SPDX-License-Identifier: MIT */
/*
 * The Modbus server's request path: MBAP framing and request handling of one
 * connection, fed through a socketpair exactly as the event loop feeds it. The
 * input is split into the bytes the client sends; after each read the
 * connection must still hold at most one ADU, and every answer it sent must
 * be a well-formed MBAP frame echoing a transaction id. The static functions
 * of modbus-server.c are reached by including it (ARCHITECTURE.md, "Tests").
 */
#include <assert.h>
#include <sys/socket.h>

#include "../../src/outputs/modbus-server.c"

static void check_answers(int fd)
{
	uint8_t rsp[4096];
	ssize_t n = recv(fd, rsp, sizeof(rsp), MSG_DONTWAIT);

	for (ssize_t off = 0; n > 0 && off < n;) {
		ssize_t len = modbus_server_frame_len(rsp + off, (size_t) (n - off));
		/* Answers are whole frames of at most one ADU. */
		assert(len > 0 && len <= MODBUS_TCP_MAX_ADU_LENGTH);
		off += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reading v;
	sd_event *e = NULL;
	struct store *store = NULL;
	struct modbus_server *m = NULL;
	int sv[2];

	if (size < 1)
		return 0;
	if (sd_event_new(&e) < 0 || store_new(10 * USEC_PER_SEC, &store) < 0)
		abort();
	/* The first byte picks the template and whether there is fresh data. */
	const struct modbus_map_template *const *all = modbus_map_templates();
	unsigned n_templates = 0;
	while (all[n_templates])
		n_templates++;
	struct modbus_server_settings s = {
		.host = "127.0.0.1",
		.template = all[data[0] % n_templates],
		.max_clients = 4,
		.stale_policy = (enum modbus_server_stale_policy)((data[0] >> 4) % _MODBUS_SERVER_STALE_MAX),
		.framing = MODBUS_FRAMING_TCP,
		.ident = { "SC1", "0.1" },
	};
	if (data[0] & 8) {
		v.valid = (1u << _READING_FIELD_MAX) - 1;
		for (unsigned f = 0; f < _READING_FIELD_MAX; f++)
			v.field[f] = (int64_t) f * 123456789 - 500000000;
		(void) store_publish(store, &v, 1, 1);
	}
	if (modbus_server_new(e, store, &s, &m) < 0)
		abort();
	modbus_server_refill(m);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	mbconn_new(sv[0], &(struct sockaddr){ .sa_family = AF_UNIX }, "fuzz", m);
	if (!m->conns)
		abort();

	/* Send in pieces whose sizes come from the data, so frames cross reads. */
	struct mbconn *c = m->conns;
	for (size_t off = 1; off < size && c;) {
		size_t k = 1 + data[off] % 64;
		if (k > size - off)
			k = size - off;
		if (send(sv[1], data + off, k, MSG_NOSIGNAL) != (ssize_t) k)
			break;
		off += k;
		(void) mbconn_on_io(c->io, sv[0], EPOLLIN, c);
		c = m->conns; /* NULL once the server dropped the connection */
		assert(!c || c->len < MODBUS_TCP_MAX_ADU_LENGTH);
		check_answers(sv[1]);
	}

	close(sv[1]);
	modbus_server_free(m);
	store_free(store);
	sd_event_unref(e);
	return 0;
}
