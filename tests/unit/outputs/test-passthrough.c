/* SPDX-License-Identifier: MIT */
/*
 * The passthrough's pure parts and its chunking, without a daemon: the queue
 * (budget, slots, partial writes), AllowFrom matching, the [Passthrough]
 * config keys, and the stream cut by the real framer's verdicts, fed in random
 * splits (seed printed, SEED= to repeat) to a client on a socketpair: raw
 * output is the input byte for byte, ValidOnly output is the accepted frames.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "../../../src/outputs/passthrough.c"
#include "smartconnectd/core/config.h"
#include "smartconnectd/meter/telegram.h"
#include "tap.h"

/* ---- helpers ---- */

static uint8_t *load(const char *rel, size_t *ret_len)
{
	char path[1024];
	const char *base = getenv("TESTDATA");
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base ? base : "tests/data", rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		abort();
	buf = malloc((size_t) st.st_size + 1);
	if (!buf || read(fd, buf, (size_t) st.st_size) != st.st_size)
		abort();
	close(fd);
	*ret_len = (size_t) st.st_size;
	return buf;
}

struct bytes {
	uint8_t *data;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* ---- the rig: framer + tap as meter.c wires them, a client on a socketpair ---- */

struct rig {
	sd_event *event;
	struct passthrough *p;
	struct meter_tap tap;
	struct telegram *framer;
	struct bytes input, accepted, out;
	int peer;
};

static void rig_on_accept(const struct reading *v, void *userdata)
{
	struct rig *r = userdata;
	uint64_t off = telegram_frame_offset(r->framer);

	bytes_add(&r->accepted, r->input.data + off, v->text_len);
	r->tap.on_frame(off, v->text_len, true, r->tap.userdata);
}

static void rig_on_reject(const struct telegram_reject *rej, void *userdata)
{
	struct rig *r = userdata;

	r->tap.on_frame(rej->offset, rej->raw_len, false, r->tap.userdata);
}

static void rig_sync(struct rig *r)
{
	const struct telegram *t = r->framer;

	r->tap.on_sync(telegram_in_frame(t) ? telegram_frame_offset(t) : telegram_counters(t)->bytes,
		       r->tap.userdata);
}

/* Run the loop and read what the client got until nothing moves. */
static void rig_pump(struct rig *r)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = read(r->peer, buf, sizeof(buf));

		(void) sd_event_run(r->event, 0);
		if (n > 0) {
			bytes_add(&r->out, buf, (size_t) n);
			continue;
		}
		if (n < 0 && errno == EAGAIN && sd_event_run(r->event, 0) == 0)
			return;
	}
}

static void rig_feed(struct rig *r, const uint8_t *buf, size_t n)
{
	bytes_add(&r->input, buf, n);
	r->tap.on_bytes(telegram_counters(r->framer)->bytes, buf, n, TTY_SETTING_115200_8N1, r->tap.userdata);
	telegram_feed(r->framer, buf, n, 0);
	rig_sync(r);
	rig_pump(r);
}

static int rig_client(struct rig *r)
{
	const struct sockaddr sa = { .sa_family = AF_UNIX };
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	ptclient_new(sv[0], &sa, "rig", r->p);
	return sv[1];
}

static void rig_init(struct rig *r, bool valid_only)
{
	const struct passthrough_settings s = {
		.listen = { .host = "127.0.0.1" },
		.valid_only = valid_only,
		.max_clients = 16,
		.queue_size = 16 << 20,
	};

	*r = (struct rig){ 0 };
	if (sd_event_new(&r->event) < 0 || passthrough_new(r->event, &s, &r->p) < 0 ||
	    passthrough_start(r->p, -1) < 0 ||
	    telegram_new(TELEGRAM_HUNT_ALL, NULL, rig_on_accept, rig_on_reject, r, &r->framer) < 0)
		abort();
	r->tap = passthrough_tap(r->p);
	r->peer = rig_client(r);
}

static void rig_done(struct rig *r)
{
	r->p = passthrough_free(r->p);
	telegram_free(r->framer);
	r->event = sd_event_unref(r->event);
	close(r->peer);
	free(r->input.data);
	free(r->accepted.data);
	free(r->out.data);
}

/* Every sample file, a good telegram first so the client has a frame start. */
static struct bytes corpus(void)
{
	static const char *const dirs[] = { "dsmr", "tic", "bad" };
	struct bytes all = { 0 };
	size_t n;
	uint8_t *first = load("dsmr/nl_dsmr50_iskra-am550_three-phase_basjes.raw", &n);

	bytes_add(&all, first, n);
	free(first);
	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		char path[512];
		struct dirent **list;
		int k;

		snprintf(path, sizeof(path), "%s/%s", getenv("TESTDATA") ?: "tests/data", dirs[d]);
		k = scandir(path, &list, NULL, alphasort);
		for (int i = 0; i < k; i++) {
			size_t len = strlen(list[i]->d_name);

			if (len > 4 && strcmp(list[i]->d_name + len - 4, ".raw") == 0) {
				char rel[512];
				uint8_t *buf;

				snprintf(rel, sizeof(rel), "%s/%s", dirs[d], list[i]->d_name);
				buf = load(rel, &n);
				bytes_add(&all, buf, n);
				free(buf);
			}
			free(list[i]);
		}
		free(list);
	}
	return all;
}

static void test_stream(bool valid_only, unsigned seed)
{
	struct bytes all = corpus();
	struct rig r;
	const char *mode = valid_only ? "ValidOnly" : "raw";

	srand(seed);
	rig_init(&r, valid_only);
	for (size_t off = 0; off < all.len;) {
		size_t want = (size_t) (rand() % 700) + 1, k = MIN(all.len - off, want);

		rig_feed(&r, all.data + off, k);
		off += k;
	}
	telegram_flush(r.framer);
	rig_sync(&r);
	rig_pump(&r);

	if (valid_only)
		tap_ok(r.out.len == r.accepted.len && memcmp(r.out.data, r.accepted.data, r.out.len) == 0,
		       "%s, seed %u: the client got exactly the %zu bytes of accepted frames (%zu)", mode,
		       seed, r.accepted.len, r.out.len);
	else if (r.out.len != all.len || memcmp(r.out.data, all.data, all.len) != 0) {
		size_t i = 0;

		while (i < r.out.len && i < all.len && r.out.data[i] == all.data[i])
			i++;
		tap_diag("first difference at %zu: %.*s", i, (int) (r.out.len - i), r.out.data + i);
	}
	if (!valid_only)
		tap_ok(r.out.len == all.len && memcmp(r.out.data, all.data, all.len) == 0,
		       "%s, seed %u: the client got all %zu bytes byte for byte (%zu)", mode, seed, all.len,
		       r.out.len);
	tap_ok(r.p->pend_len == 0, "%s: nothing left held back after the flush (%zu)", mode, r.p->pend_len);
	rig_done(&r);
	free(all.data);
}

static void test_late_join(void)
{
	size_t n;
	uint8_t *t = load("dsmr/nl_dsmr42_kaifa_dsmrparser.raw", &n);
	struct rig r;
	int late;
	struct bytes want = { 0 };
	uint8_t buf[8192];
	ssize_t k;

	rig_init(&r, false);
	rig_feed(&r, t, n / 2);
	late = rig_client(&r);
	rig_feed(&r, t + n / 2, n - n / 2);
	rig_feed(&r, (const uint8_t *) "xx", 2);
	rig_feed(&r, t, n);
	bytes_add(&want, t, n);
	k = read(late, buf, sizeof(buf));
	tap_ok(k == (ssize_t) n && memcmp(buf, t, n) == 0,
	       "a client that joins mid-telegram gets the next telegram first, not the noise before it (%zd)",
	       k);
	tap_ok(r.out.len == 2 * n + 2, "the other client got everything (%zu)", r.out.len);
	close(late);
	rig_done(&r);
	free(want.data);
	free(t);
}

/* ---- the queue ---- */

static ssize_t write_some(const void *buf, size_t n, void *userdata)
{
	struct bytes *b = userdata;
	size_t k = MIN(n, (size_t) 3);

	if (b->len >= 30)
		return -EAGAIN;
	bytes_add(b, buf, k);
	return (ssize_t) k;
}

static void test_queue(void)
{
	struct passthrough_queue q;
	struct passthrough_chunk *a = passthrough_chunk_new(PASSTHROUGH_CHUNK_ACCEPTED, 0, "0123456789", 10);
	struct passthrough_chunk *big =
	    passthrough_chunk_new(PASSTHROUGH_CHUNK_REJECTED, 10, "abcdefghijklmnopqrstuvwxyz", 26);
	struct passthrough_chunk *noise = passthrough_chunk_new(PASSTHROUGH_CHUNK_NOISE, 36, "~", 1);
	struct bytes out = { 0 };
	uint64_t frames = 0, bytes = 0;
	int r;

	passthrough_queue_init(&q, 20);
	tap_ok(passthrough_queue_push(&q, big), "an empty queue takes a chunk larger than its budget");
	tap_ok(!passthrough_queue_push(&q, a), "a full queue refuses a whole chunk");
	passthrough_queue_clear(&q);
	tap_ok(big->refs == 1, "clear drops the queue's reference");

	passthrough_queue_init(&q, 40);
	tap_ok(passthrough_queue_push(&q, a) && passthrough_queue_push(&q, noise) && a->refs == 2,
	       "chunks are shared, not copied");
	tap_ok(passthrough_queue_push(&q, big) && q.bytes == 37, "37 bytes queued within a budget of 40");
	r = passthrough_queue_flush(&q, write_some, &out, &frames, &bytes);
	tap_ok(r == -EAGAIN && out.len == 32 && bytes == 32 && frames == 1,
	       "partial writes: %zu bytes out, %" PRIu64 " frame finished, -EAGAIN", out.len, frames);
	tap_ok(memcmp(out.data, "0123456789~abcdefghijklmnopqrstu", 32) == 0, "in order, nothing twice");
	tap_ok(q.n == 1 && q.done == 21 && q.bytes == 5, "the head chunk is kept with its progress");
	tap_ok(passthrough_queue_push(&q, big) && q.bytes == 31 && !passthrough_queue_push(&q, a),
	       "the budget counts unwritten bytes only");
	passthrough_queue_clear(&q);

	passthrough_queue_init(&q, 1 << 20);
	unsigned taken = 0;
	for (unsigned i = 0; i < PASSTHROUGH_QUEUE_SLOTS + 10; i++)
		taken += passthrough_queue_push(&q, noise);
	tap_ok(taken == PASSTHROUGH_QUEUE_SLOTS, "a flood of tiny chunks stops at %u slots (%u)",
	       PASSTHROUGH_QUEUE_SLOTS, taken);
	passthrough_queue_clear(&q);
	tap_ok(noise->refs == 1 && a->refs == 1 && big->refs == 1, "every reference returned");
	passthrough_chunk_unref(a);
	passthrough_chunk_unref(big);
	passthrough_chunk_unref(noise);
	free(out.data);
}

/* ---- AllowFrom and the config keys ---- */

static bool allowed(const char *list, const char *addr)
{
	struct config *c = config_new();
	char text[256];
	struct sockaddr_storage ss = { 0 };
	bool ok;

	snprintf(text, sizeof(text), "[Passthrough]\nAllowFrom=%s\n", list);
	if (config_parse(c, "t", text, strlen(text), NULL, NULL) < 0)
		abort();
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &in->sin_addr);
	}
	ok = listener_allowed(&c->passthrough_allow, (struct sockaddr *) &ss);
	config_free(c);
	return ok;
}

static void test_allow(void)
{
	static const struct {
		const char *list, *addr;
		bool ok;
	} cases[] = {
		{ "", "203.0.113.9", true },
		{ "192.168.1.0/24", "192.168.1.77", true },
		{ "192.168.1.0/24", "192.168.2.77", false },
		{ "10.0.0.0/7", "11.255.0.1", true },
		{ "10.0.0.0/7", "12.0.0.1", false },
		{ "192.168.1.7", "192.168.1.7", true },
		{ "192.168.1.7", "192.168.1.6", false },
		{ "0.0.0.0/0", "8.8.8.8", true },
		{ "127.0.0.0/8", "::ffff:127.0.0.5", true },
		{ "::1", "::1", true },
		{ "::1", "127.0.0.1", false },
		{ "fd00::/8, 10.1.2.3", "fd12:3456::1", true },
		{ "fd00::/8 10.1.2.3", "fe80::1", false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tap_ok(allowed(cases[i].list, cases[i].addr) == cases[i].ok, "AllowFrom=%s %s %s",
		       cases[i].list, cases[i].ok ? "allows" : "refuses", cases[i].addr);
}

static void on_error(const char *msg, void *userdata)
{
	snprintf(userdata, 512, "%s", msg);
}

static void test_config(void)
{
	static const struct {
		const char *text, *error; /* NULL: valid */
	} cases[] = {
		{ "Listen=", NULL },
		{ "Listen=0.0.0.0:1502", NULL },
		{ "Listen=[::]:0", NULL },
		{ "Listen=1502", "not an IPv4 address" },
		{ "ValidOnly=yes\nMaxClients=1024\nQueueSize=16384", NULL },
		{ "MaxClients=0", "out of range" },
		{ "QueueSize=1000", "out of range" },
		{ "AllowFrom=192.168.1.0/33", "prefix length" },
		{ "AllowFrom=::1/129", "prefix length" },
		{ "AllowFrom=300.1.1.1", "not an IPv4 address" },
		{ "AllowFrom=1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 8.8.8.8 9.9.9.9 1.0.0.1 "
		  "1.0.0.2 1.0.0.3 1.0.0.4 1.0.0.5 1.0.0.6 1.0.0.7 1.0.0.8",
		  "more than 16" },
		{ "Device=", NULL },
		{ "Device=/dev/ttyAMA1", NULL },
		{ "Device=ttyAMA1", "absolute path" },
		{ "Device=/dev/ttyUSB0", "same device as [Meter] Device" },
		{ "Listen=127.0.0.1:502\n[Modbus]\nListen=127.0.0.1:502", "same address" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config *c = config_new();
		char text[512], err[512] = "", what[48];
		int r;

		snprintf(text, sizeof(text), "[Passthrough]\n%s\n", cases[i].text);
		snprintf(what, sizeof(what), "%s", cases[i].text);
		for (char *q = what; *q; q++)
			if (*q == '\n')
				*q = ' ';
		r = config_parse(c, "t.conf", text, strlen(text), on_error, err);
		if (cases[i].error)
			tap_ok(r < 0 && strstr(err, cases[i].error), "[Passthrough] %s: refused (%s)", what,
			       err);
		else
			tap_ok(r == 0, "[Passthrough] %s: accepted %s", what, err);
		config_free(c);
	}

	/* A dump reads back as the same config, the list included. */
	struct config *a = config_new(), *b = config_new();
	const char *text = "[Passthrough]\nListen=[::1]:1502\nAllowFrom=10.0.0.0/8 fd00::/8 192.168.1.7\n"
			   "Device=/dev/ttyAMA1\n";
	char *dump = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);

	config_parse(a, "t", text, strlen(text), NULL, NULL);
	config_dump(a, f, true);
	fclose(f);
	tap_ok(config_parse(b, "dump", dump, len, NULL, NULL) == 0 && config_diff(a, b) == 0 &&
		   strstr(dump, "AllowFrom=10.0.0.0/8 fd00::/8 192.168.1.7/32"),
	       "config_dump round trip of the [Passthrough] keys");
	config_free(b);
	b = config_new();
	tap_ok(config_diff(b, a) == CONFIG_APPLY_PASSTHROUGH, "they apply as 'passthrough'");
	free(dump);
	config_free(a);
	config_free(b);
}

static void test_json(void)
{
	struct rig r;
	json_t *o = json_object();

	rig_init(&r, false);
	tap_ok(
	    passthrough_status_json(r.p, o) == 0 && json_integer_value(json_object_get(o, "clients")) == 1 &&
		json_is_integer(json_object_get(o, "bytes_sent")) &&
		json_is_integer(json_object_get(o, "telegrams_sent")) &&
		json_is_integer(json_object_get(o, "telegrams_dropped")) &&
		json_is_integer(json_object_get(o, "clients_refused")) &&
		json_is_null(json_object_get(o, "device")),
	    "status object: clients, bytes_sent, telegrams_sent, telegrams_dropped, clients_refused, device");
	json_decref(o);
	rig_done(&r);
}

int main(void)
{
	unsigned seed = getenv("SEED") ? (unsigned) strtoul(getenv("SEED"), NULL, 10) : (unsigned) time(NULL);

	log_set_max_level(LOG_ERR);
	tap_diag("seed %u (SEED= to repeat)", seed);
	test_queue();
	test_allow();
	test_config();
	test_stream(false, seed);
	test_stream(true, seed + 1);
	test_stream(false, 1);
	test_late_join();
	test_json();
	return tap_done();
}
