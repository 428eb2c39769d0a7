/* SPDX-License-Identifier: MIT */
/*
 * The streaming framer: resynchronisation, noise, limits, ciphered frames, TIC
 * interruptions, flushing, protocol masks, 7E1 bytes read as 8N1, counters.
 */
#include <stdarg.h>
#include <stdio.h>

#include "smartconnectd/meter/crc.h"
#include "smartconnectd/meter/telegram.h"
#include "tap.h"

struct result {
	unsigned accepted, rejected;
	enum telegram_error last_error;
	uint64_t last_offset;
	enum reading_protocol last_protocol;
	char last_id[READING_ID_MAX];
	char log[512]; /* one entry per frame: "A" or "R<error>@<offset>:<detail>" */
};

static void log_event(struct result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_event(struct result *r, const char *fmt, ...)
{
	size_t k = strlen(r->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->log + k, sizeof(r->log) - k, fmt, ap);
	va_end(ap);
}

static void on_accept(const struct reading *v, void *userdata)
{
	struct result *r = userdata;

	r->accepted++;
	log_event(r, "A%u;", v->text_len);
	r->last_protocol = v->protocol;
	memcpy(r->last_id, v->id, sizeof(r->last_id));
}

static void on_reject(const struct telegram_reject *rj, void *userdata)
{
	struct result *r = userdata;

	r->rejected++;
	log_event(r, "R%d@%llu:%s;", rj->error, (unsigned long long) rj->offset, rj->detail);
	r->last_error = rj->error;
	r->last_offset = rj->offset;
}

static struct telegram *framer(unsigned hunt, struct result *r)
{
	struct telegram *t;

	*r = (struct result){ .last_error = _TELEGRAM_ERR_MAX };
	if (telegram_new(hunt, NULL, on_accept, on_reject, r, &t) < 0)
		abort();
	return t;
}

static void feed(struct telegram *t, const void *p, size_t n)
{
	telegram_feed(t, p, n, 1700000000);
}

static void feeds(struct telegram *t, const char *s)
{
	feed(t, s, strlen(s));
}

/* A valid DSMR 4 telegram with its CRC, into buf; returns its length. */
static size_t telegram(char *buf, size_t size, const char *id_hex)
{
	int n = snprintf(buf, size,
			 "/KFM5KAIFA-METER\r\n\r\n1-3:0.2.8(42)\r\n0-0:96.1.1(%s)\r\n"
			 "1-0:1.8.1(000671.578*kWh)\r\n1-0:1.7.0(00.318*kW)\r\n!",
			 id_hex);
	return (size_t) n +
	       (size_t) snprintf(buf + n, size - (size_t) n, "%04X\r\n", crc16_arc(buf, (size_t) n));
}

/* "ADCO 021528603314 :" etc.: checksums from the Enedis worked examples. */
static const char tic_frame[] = "\x02\nADCO 021528603314 :\r\nHCHP 001742238 .\r\nIINST 001 X\r\x03";

static void test_noise_and_restart(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	char tg[512], tg2[512];
	size_t n = telegram(tg, sizeof(tg), "41"), n2 = telegram(tg2, sizeof(tg2), "42");

	feeds(t, "abc");
	feed(t, tg, n);
	feeds(t, "xyz");
	tap_ok(r.accepted == 1 && r.rejected == 0, "noise around a telegram is skipped");
	TAP_EQ_STR(r.last_id, "A", "the telegram's values");
	TAP_EQ_INT(telegram_counters(t)->noise_bytes, 6, "noise counted in bytes");
	TAP_EQ_INT(telegram_counters(t)->bytes, n + 6, "every byte counted");

	feeds(t, "x/y\r");
	feed(t, tg2, n2);
	tap_ok(r.accepted == 2 && r.rejected == 0, "a '/' in noise without a line is not a rejected frame");
	TAP_EQ_STR(r.last_id, "B", "the telegram after it");

	feed(t, tg, n / 2);
	uint64_t off = telegram_counters(t)->bytes;
	feed(t, tg2, n2);
	tap_ok(r.accepted == 3 && r.rejected == 1 && r.last_error == TELEGRAM_ERR_TRUNCATED,
	       "a new header cuts off the unfinished telegram");
	TAP_EQ_INT(r.last_offset, off - n / 2, "the rejection names the frame's offset");
	TAP_EQ_STR(r.last_id, "B", "and the new telegram is accepted whole");
	telegram_free(t);
}

static void test_limits(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	static char buf[40000];
	char tg[512];
	size_t n = telegram(tg, sizeof(tg), "43");

	size_t k = (size_t) sprintf(buf, "/XXX5\r\n\r\n0-0:96.13.0(");
	memset(buf + k, 'A', 5000);
	k += 5000;
	k += (size_t) sprintf(buf + k, ")\r\n!0000\r\n");
	feed(t, buf, k);
	feed(t, tg, n);
	tap_ok(r.rejected == 1 && r.last_error == TELEGRAM_ERR_LINE_TOO_LONG, "a 5000-byte line is rejected");
	tap_ok(r.accepted == 1 && !strcmp(r.last_id, "C"), "the next telegram is accepted");

	k = (size_t) sprintf(buf, "/XXX5\r\n\r\n");
	while (k < 20000)
		k += (size_t) sprintf(buf + k, "0-0:96.13.0(%080d)\r\n", 0);
	feed(t, buf, k);
	feed(t, tg, n);
	tap_ok(r.rejected == 2 && r.last_error == TELEGRAM_ERR_TOO_LONG, "a 20 kB telegram is rejected");
	TAP_EQ_INT(r.accepted, 2, "the next telegram is accepted");

	buf[0] = 0x02;
	for (k = 1; k < 20000; k++)
		buf[k] = (k % 50) ? 'A' : '\r';
	feed(t, buf, k);
	feed(t, tic_frame, sizeof(tic_frame) - 1);
	tap_ok(r.rejected == 3 && r.last_error == TELEGRAM_ERR_TOO_LONG, "a 20 kB TIC frame is rejected");
	TAP_EQ_INT(r.accepted, 3, "the next TIC frame is accepted");
	telegram_free(t);
}

static void test_dlms(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	uint8_t frame[100] = { 0xDB, 0x08, 'S', 'Y', 'S', 'T', 'E', 'M', 'I', 'D', 0x82, 0x00, 0x50, 0x30 };
	char tg[512];
	size_t n = telegram(tg, sizeof(tg), "44");

	/* L = 0x50: 13 + 0x50 = 93 bytes in all, with '/' and STX inside the ciphertext. */
	for (unsigned i = 14; i < 93; i++)
		frame[i] = (uint8_t) (i % 3 == 0 ? '/' : i % 3 == 1 ? 0x02 : '!');
	feed(t, frame, 93);
	tap_ok(r.rejected == 1 && r.last_error == TELEGRAM_ERR_NO_KEY && r.accepted == 0,
	       "a ciphered frame without a key is rejected whole, its payload not parsed");
	feed(t, tg, n);
	TAP_EQ_INT(r.accepted, 1, "the telegram after it is accepted");

	/* 0xDB in line noise, a '/' inside what looked like the system title. */
	uint8_t noise[4] = { 0xDB, 0x08, 0x00, 0x01 };
	feed(t, noise, sizeof(noise));
	feed(t, tg, n);
	tap_ok(r.accepted == 2 && r.rejected == 1, "0xDB in noise does not swallow the next telegram");

	feed(t, "\xDB", 1);
	feed(t, tg, n);
	tap_ok(r.accepted == 3 && r.rejected == 1, "a lone 0xDB before a header");
	telegram_free(t);
}

static void test_tic_interruptions(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);

	feeds(t, "\x02\nADCO 021528603314 :\r\nHCHP 00");
	feeds(t, "\x04");
	tap_ok(r.rejected == 1 && r.last_error == TELEGRAM_ERR_INTERRUPTED, "EOT aborts the frame");
	feeds(t, "\x02\nADCO 021528603314 :\r");
	feed(t, tic_frame, sizeof(tic_frame) - 1);
	tap_ok(r.rejected == 2 && r.last_error == TELEGRAM_ERR_TRUNCATED, "a new STX cuts off the frame");
	tap_ok(r.accepted == 1 && r.last_protocol == READING_PROTO_TIC_HISTORIQUE,
	       "the next frame is accepted");
	feeds(t, "\x02\x02");
	feed(t, tic_frame, sizeof(tic_frame) - 1);
	tap_ok(r.rejected == 2 && r.accepted == 2, "STX without a group is noise");
	telegram_free(t);
}

static void test_flush(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	char tg[512];
	size_t n = telegram(tg, sizeof(tg), "45");

	telegram_flush(t);
	TAP_EQ_INT(r.rejected, 0, "flush between frames does nothing");
	feed(t, tg, n - 2);
	tap_ok(telegram_in_frame(t), "in a frame before the final line end");
	telegram_flush(t);
	tap_ok(r.accepted == 1 && !telegram_in_frame(t), "flush after '!' completes the telegram");
	feed(t, tg, 40);
	telegram_flush(t);
	tap_ok(r.rejected == 1 && r.last_error == TELEGRAM_ERR_TRUNCATED, "flush mid-telegram: truncated");
	feed(t, tg, n);
	TAP_EQ_INT(r.accepted, 2, "next telegram after a flush");
	telegram_free(t);
}

static void test_hunt_masks(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_TIC, &r);
	char tg[512];
	size_t n = telegram(tg, sizeof(tg), "46");

	feed(t, tg, n);
	tap_ok(r.accepted == 0 && r.rejected == 0, "DSMR is noise when hunting TIC only");
	feed(t, tic_frame, sizeof(tic_frame) - 1);
	TAP_EQ_INT(r.accepted, 1, "TIC accepted");

	telegram_set_hunt(t, TELEGRAM_HUNT_DSMR);
	feed(t, tic_frame, sizeof(tic_frame) - 1);
	tap_ok(r.accepted == 1 && r.rejected == 0, "TIC is noise when hunting DSMR only");
	feed(t, tg, n);
	tap_ok(r.accepted == 2 && r.last_protocol == READING_PROTO_DSMR, "DSMR accepted");
	telegram_free(t);
}

static void test_parity_bits(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	char tg[512];
	uint8_t wire[512];
	size_t n = telegram(tg, sizeof(tg), "47");

	/* 7E1 characters read at 8N1: the even parity bit shows up as bit 7. */
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t) tg[i];
		wire[i] = (uint8_t) (c | (__builtin_parity(c) << 7));
	}
	feed(t, wire, n);
	tap_ok(r.accepted == 1 && !strcmp(r.last_id, "G"), "parity bits are cleared before decoding");

	feed(t, "\xAF", 1); /* '/' with its parity bit */
	feed(t, tg + 1, n - 1);
	TAP_EQ_INT(r.accepted, 2, "a start marker with its parity bit");
	telegram_free(t);
}

/* An accepted telegram with a negative energy register: counted, not rejected. */
static void test_negative_energy_counted(void)
{
	struct result r;
	struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);
	const char *body = "/XXX5\r\n\r\n1-0:1.8.1(-000001.000*kWh)\r\n1-0:1.7.0(00.100*kW)\r\n!";
	char buf[256], good[512];
	size_t n = (size_t) snprintf(buf, sizeof(buf), "%s%04X\r\n", body, crc16_arc(body, strlen(body)));
	size_t n2 = telegram(good, sizeof(good), "48");

	feed(t, buf, n);
	feed(t, good, n2);
	feed(t, buf, n);
	tap_ok(r.accepted == 3 && r.rejected == 0, "telegrams with a negative register are accepted");
	TAP_EQ_INT(telegram_counters(t)->energy_negative, 2, "and counted as such, once each");
	telegram_free(t);
}

/* A telegram whose body lines are "0-0:96.13.0(AAA...)" CR LF, each `len`
 * bytes long with its line end, then "!CRC"; bit 7 holds even parity when
 * parity is set (7E1 read as 8N1). Returns the length. */
static size_t long_lines(uint8_t *buf, const size_t *len, size_t n_lines, bool parity)
{
	char *s = (char *) buf;
	size_t k = (size_t) sprintf(s, "/XXX5\r\n\r\n");

	for (size_t i = 0; i < n_lines; i++) {
		size_t a = len[i] - strlen("0-0:96.13.0()\r\n");

		k += (size_t) sprintf(s + k, "0-0:96.13.0(");
		memset(s + k, 'A', a);
		k += a;
		k += (size_t) sprintf(s + k, ")\r\n");
	}
	k += (size_t) sprintf(s + k, "1-0:1.7.0(00.318*kW)\r\n!");
	k += (size_t) sprintf(s + k, "%04X\r\n", crc16_arc(s, k));
	for (size_t i = 0; parity && i < k; i++)
		buf[i] = (uint8_t) (buf[i] | (__builtin_parity(buf[i]) << 7));
	return k;
}

/* Feed p whole, byte by byte, in chunks of 7, 8, 9, 4095 and 4097 bytes, and in
 * random splits: every way gives the log `want`. */
static void feed_every_way(const uint8_t *p, size_t n, const char *want, const char *what)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 7, 8, 9, 4095, 4097, 0 };
	unsigned seed = 1207;

	for (size_t c = 0; c < ARRAY_SIZE(chunks); c++) {
		struct result r;
		struct telegram *t = framer(TELEGRAM_HUNT_ALL, &r);

		for (size_t off = 0; off < n;) {
			size_t k = chunks[c] ? chunks[c] : 1 + (size_t) rand_r(&seed) % 300;

			k = MIN(k, n - off);
			feed(t, p + off, k);
			off += k;
		}
		telegram_flush(t);
		if (!tap_ok(strcmp(r.log, want) == 0, "%s, chunks of %zu", what, chunks[c]))
			tap_diag("got %s, want %s", r.log, want);
		telegram_free(t);
	}
}

/* Line ends found while copying whole words: the limit stays exact. */
static void test_line_limit_in_words(void)
{
	static uint8_t buf[16384];
	char want[256];
	size_t n;

	for (int parity = 0; parity <= 1; parity++) {
		const char *p7 = parity ? " (parity bits)" : "";
		char what[96];

		n = long_lines(buf, (size_t[]){ 4096, 30, 4096, 4096 }, 4, parity);
		snprintf(want, sizeof(want), "A%zu;", n);
		snprintf(what, sizeof(what), "lines of exactly the limit with their line end%s", p7);
		feed_every_way(buf, n, want, what);

		n = long_lines(buf, (size_t[]){ 4096, 4097 }, 2, parity);
		snprintf(want, sizeof(want), "R%d@0:a line of 4097 bytes (limit 4096);",
			 TELEGRAM_ERR_LINE_TOO_LONG);
		snprintf(what, sizeof(what), "a line one byte over the limit%s", p7);
		feed_every_way(buf, n, want, what);

		/* The line without its line end reaches the limit, then '!'. */
		n = long_lines(buf, (size_t[]){ 4098 }, 1, parity);
		buf[9 + 4096] = parity ? 0xA1 : (uint8_t) '!'; /* with bit 7 when on a 7E1 line */
		snprintf(what, sizeof(what), "'!' right after a full line%s", p7);
		feed_every_way(buf, 9 + 4097, want, what);
	}
}

int main(void)
{
	test_negative_energy_counted();
	test_noise_and_restart();
	test_limits();
	test_dlms();
	test_tic_interruptions();
	test_flush();
	test_hunt_masks();
	test_parity_bits();
	test_line_limit_in_words();
	TAP_EQ_STR(telegram_error_to_string(TELEGRAM_ERR_CRC), "CRC mismatch", "error names");
	return tap_done();
}
