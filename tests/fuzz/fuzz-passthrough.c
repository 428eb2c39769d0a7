/* SPDX-License-Identifier: MIT */
/*
 * The passthrough's stream cutting: any bytes, in chunks chosen by the input,
 * through the real framer and the tap exactly as meter.c wires them, to one
 * raw client and one ValidOnly client on socketpairs. The raw client must get
 * the input byte for byte; the ValidOnly client exactly the bytes of the
 * frames the framer accepted; the bytes held back stay bounded. The static
 * functions of passthrough.c are reached by including it (ARCHITECTURE.md, "Tests").
 *
 * Input: byte 0 seeds the chunk sizes, the rest is the line.
 */
#include <assert.h>
#include <sys/socket.h>

#include "../../src/outputs/passthrough.c"
#include "smartconnectd/meter/telegram.h"

struct sink {
	int fd;
	uint8_t *data;
	size_t len, cap;
};

struct rig {
	struct passthrough *raw, *valid;
	struct telegram *framer;
	const uint8_t *input;
	uint8_t *accepted;
	size_t accepted_len;
};

static void rig_frame(struct rig *r, uint64_t off, size_t len, bool ok)
{
	struct meter_tap a = passthrough_tap(r->raw), b = passthrough_tap(r->valid);

	a.on_frame(off, len, ok, a.userdata);
	b.on_frame(off, len, ok, b.userdata);
}

static void on_accept(const struct reading *v, void *userdata)
{
	struct rig *r = userdata;
	uint64_t off = telegram_frame_offset(r->framer);

	memcpy(r->accepted + r->accepted_len, r->input + off, v->text_len);
	r->accepted_len += v->text_len;
	rig_frame(r, off, v->text_len, true);
}

static void on_reject(const struct telegram_reject *rej, void *userdata)
{
	rig_frame(userdata, rej->offset, rej->raw_len, false);
}

static void rig_sync(struct rig *r)
{
	const struct telegram *t = r->framer;
	uint64_t at = telegram_in_frame(t) ? telegram_frame_offset(t) : telegram_counters(t)->bytes;

	pt_on_sync(at, r->raw);
	pt_on_sync(at, r->valid);
}

static void drain(struct sink *s)
{
	ssize_t n;

	while (s->len < s->cap && (n = recv(s->fd, s->data + s->len, s->cap - s->len, MSG_DONTWAIT)) > 0)
		s->len += (size_t) n;
}

static struct passthrough *server(sd_event *e, bool valid_only, struct sink *s, size_t size)
{
	const struct passthrough_settings set = {
		.listen = { .host = "127.0.0.1" },
		.valid_only = valid_only,
		.max_clients = 16,
		.queue_size = 16 << 20,
	};
	struct passthrough *p;
	int sv[2];

	if (passthrough_new(e, &set, &p) < 0 || passthrough_start(p, -1) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	(void) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
	ptclient_new(sv[0], &(struct sockaddr){ .sa_family = AF_UNIX }, "fuzz", p);
	p->clients->synced = true; /* there from the first byte on */
	/* Room for more than expected, so that too much shows in the length. */
	*s = (struct sink){ .fd = sv[1], .data = malloc(size + 4096), .cap = size + 4096 };
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig r = { 0 };
	struct sink raw, valid;
	sd_event *e = NULL;
	unsigned seed;

	if (size < 1)
		return 0;
	seed = data[0];
	data++;
	size--;

	log_set_max_level(LOG_ERR);
	if (sd_event_new(&e) < 0)
		abort();
	r.raw = server(e, false, &raw, size);
	r.valid = server(e, true, &valid, size);
	r.input = data;
	r.accepted = malloc(size + 1);
	if (!r.accepted || !raw.data || !valid.data ||
	    telegram_new(TELEGRAM_HUNT_ALL, NULL, on_accept, on_reject, &r, &r.framer) < 0)
		abort();

	for (size_t off = 0; off < size;) {
		size_t want = 1 + (seed * 131 + off * 7) % 997, k = MIN(size - off, want);

		pt_on_bytes(off, data + off, k, TTY_SETTING_115200_8N1, r.raw);
		pt_on_bytes(off, data + off, k, TTY_SETTING_115200_8N1, r.valid);
		telegram_feed(r.framer, data + off, k, 0);
		rig_sync(&r);
		assert(r.raw->pend_len <= PT_PENDING_MAX && r.valid->pend_len <= PT_PENDING_MAX);
		while (sd_event_run(e, 0) > 0)
			;
		drain(&raw);
		drain(&valid);
		off += k;
	}
	telegram_flush(r.framer);
	rig_sync(&r);
	while (sd_event_run(e, 0) > 0)
		;
	drain(&raw);
	drain(&valid);

	/* The raw client: every byte, in order. ValidOnly: the accepted frames. */
	assert(raw.len == size && memcmp(raw.data, data, size) == 0);
	assert(valid.len == r.accepted_len && memcmp(valid.data, r.accepted, valid.len) == 0);
	assert(r.raw->pend_len == 0 && r.raw->counters.telegrams_dropped == 0);

	telegram_free(r.framer);
	passthrough_free(r.raw);
	passthrough_free(r.valid);
	close(raw.fd);
	close(valid.fd);
	free(raw.data);
	free(valid.data);
	free(r.accepted);
	sd_event_unref(e);
	return 0;
}
