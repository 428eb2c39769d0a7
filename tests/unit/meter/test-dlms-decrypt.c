/* SPDX-License-Identifier: MIT */
/*
 * Encrypted P1 through the framer: frames sealed here with OpenSSL
 * (dlms-seal.h) around public plaintext telegrams, with several keys, frame
 * counters, lengths on both sides of 128 bytes, with and without a tag; every
 * failure rejected with its own reason, nothing accepted, the next good frame
 * accepted. Also the DSMR CRC over the bytes as received, and a false 0xDB
 * header in front of plaintext telegrams.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlms-seal.h"
#include "smartconnectd/meter/crc.h"
#include "smartconnectd/meter/dlms-decrypt.h"
#include "smartconnectd/meter/telegram.h"
#include "tap.h"

#define NOW 1700000000

static const uint8_t TITLE[8] = { 'S', 'A', 'G', 'g', 'p', 0x70, 0x01, 0xBD };

struct result {
	unsigned accepted, rejected;
	enum telegram_error last_error;
	uint32_t last_flags;
	int64_t last_p;
	size_t last_len;
};

static void on_accept(const struct reading *v, void *userdata)
{
	struct result *r = userdata;

	r->accepted++;
	r->last_flags = v->flags;
	r->last_p = reading_has(v, READING_P) ? v->field[READING_P] : INT64_MIN;
	r->last_len = v->text_len;
}

static void on_reject(const struct telegram_reject *rej, void *userdata)
{
	struct result *r = userdata;

	r->rejected++;
	r->last_error = rej->error;
}

static struct telegram *framer(const struct decode_opts *o, struct result *r)
{
	struct telegram *t;

	*r = (struct result){ .last_error = _TELEGRAM_ERR_MAX };
	if (telegram_new(TELEGRAM_HUNT_ALL, o, on_accept, on_reject, r, &t) < 0)
		abort();
	return t;
}

/* A DSMR telegram with a correct CRC; pad lengthens it by a text message. */
static size_t telegram(char *buf, size_t size, const char *ident, int watts, size_t pad)
{
	size_t n = (size_t) snprintf(buf, size, "/%s\r\n\r\n1-3:0.2.8(42)\r\n1-0:1.7.0(%02d.%03d*kW)\r\n",
				     ident, watts / 1000, watts % 1000);

	if (pad) {
		n += (size_t) snprintf(buf + n, size - n, "0-0:96.13.0(");
		for (size_t i = 0; i < pad; i++)
			buf[n++] = "0123456789ABCDEF"[i % 16];
		n += (size_t) snprintf(buf + n, size - n, ")\r\n");
	}
	buf[n++] = '!';
	n += (size_t) snprintf(buf + n, size - n, "%04X\r\n", crc16_arc(buf, n));
	return n;
}

static size_t seal(const uint8_t key[16], const uint8_t auth[16], uint32_t counter, uint8_t sc,
		   const char *plain, size_t n, uint8_t *out, size_t size)
{
	size_t k = dlms_seal(key, auth, TITLE, counter, sc, plain, n, out, size);

	if (k == 0)
		abort();
	return k;
}

static struct decode_opts keyed(uint8_t enc, const uint8_t *auth)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;

	o.keys.has_enc = true;
	memset(o.keys.enc, enc, sizeof(o.keys.enc));
	if (auth) {
		o.keys.has_auth = true;
		memcpy(o.keys.auth, auth, sizeof(o.keys.auth));
	}
	return o;
}

static void test_key_parse(void)
{
	uint8_t k[16];

	tap_ok(dlms_key_parse("00112233445566778899aabbccddeeff", k) == 0 &&
		   memcmp(k, DLMS_SMARTY_AUTH_KEY, 16) == 0,
	       "a key in lower case parses");
	tap_ok(dlms_key_parse("00112233445566778899AABBCCDDEEF", k) == -EINVAL, "31 digits are refused");
	tap_ok(dlms_key_parse("00112233445566778899AABBCCDDEEFG", k) == -EINVAL,
	       "a non-hex digit is refused");
	tap_ok(dlms_key_parse("", k) == -EINVAL, "an empty key is refused");
}

/* Several keys, counters and lengths, with and without a tag, fed whole and byte by byte. */
static void test_roundtrip(void)
{
	static const size_t pads[] = { 0, 100, 2000 };
	static const uint8_t keys[] = { 0x00, 0x5A, 0xFF };
	uint8_t frame[4096], auth[16];
	char plain[4096];

	memset(auth, 0x42, sizeof(auth));
	for (size_t k = 0; k < sizeof(keys); k++)
		for (size_t p = 0; p < 3; p++)
			for (unsigned sc = 0; sc < 2; sc++) {
				struct decode_opts o = keyed(keys[k], auth);
				struct result r;
				struct telegram *t = framer(&o, &r);
				size_t n = telegram(plain, sizeof(plain), "SAG5 Smarty", 1234, pads[p]);
				size_t f = seal(o.keys.enc, auth, 1000 + (uint32_t) p, sc ? 0x20 : 0x30,
						plain, n, frame, sizeof(frame));

				for (size_t i = 0; i < f; i++)
					telegram_feed(t, frame + i, 1, NOW);
				tap_ok(
				    r.accepted == 1 && r.rejected == 0 && r.last_len == n &&
					r.last_p == 1234000000 && (r.last_flags & READING_FLAG_ENCRYPTED) &&
					!(r.last_flags & READING_FLAG_TAG_UNVERIFIED),
				    "key %02X, %zu bytes of text (%s length form), %s: decrypted, P = 1234 W",
				    keys[k], n, f - n > 30 ? "long" : "short",
				    sc ? "no tag (0x20)" : "tag (0x30)");
				tap_ok(telegram_frame_len(t) == f, "the frame's length on the line is %zu",
				       f);
				telegram_free(t);
			}
}

struct case_frame {
	const char *what;
	enum telegram_error error;
};

/* Feed one bad frame, then a good one: the bad one rejected for its reason,
 * the good one accepted. */
static void expect(struct telegram *t, struct result *r, const uint8_t *bad, size_t n, const uint8_t *good,
		   size_t gn, const struct case_frame *c)
{
	unsigned acc = r->accepted, rej = r->rejected;

	telegram_feed(t, bad, n, NOW);
	if (c->error == TELEGRAM_ERR_TRUNCATED)
		telegram_flush(t);
	tap_ok(r->rejected == rej + 1 && r->accepted == acc && r->last_error == c->error,
	       "%s: rejected as \"%s\" (%u, got \"%s\")", c->what, telegram_error_to_string(c->error),
	       r->rejected - rej, telegram_error_to_string(r->last_error));
	telegram_feed(t, good, gn, NOW);
	tap_ok(r->accepted == acc + 1, "%s: the next good frame is accepted", c->what);
}

static void test_failures(void)
{
	uint8_t good[1024], bad[1024], auth[16];
	struct decode_opts o = keyed(0x11, NULL), none = DECODE_OPTS_DEFAULT;
	char plain[512];
	struct result r;
	struct telegram *t = framer(&o, &r);
	size_t n = telegram(plain, sizeof(plain), "SAG5 Smarty", 500, 50), gn, bn;
	uint32_t counter = 7;

	memcpy(auth, DLMS_SMARTY_AUTH_KEY, 16);
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	telegram_feed(t, good, gn, NOW);
	TAP_EQ_INT(r.accepted, 1, "a Smarty frame with the published authentication key");

	/* Wrong decryption key: the tag fails and the text has no CRC. */
	uint8_t other[16];
	memset(other, 0x12, sizeof(other));
	bn = seal(other, auth, counter++, 0x30, plain, n, bad, sizeof(bad));
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, bad, bn, good, gn, &(struct case_frame){ "wrong key", TELEGRAM_ERR_WRONG_KEY });

	/* A flipped bit in the tag: the CRC still vouches for the text. */
	bn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, bad, sizeof(bad));
	bad[bn - 1] ^= 0x01;
	telegram_feed(t, bad, bn, NOW);
	tap_ok(r.accepted == 3 && (r.last_flags & READING_FLAG_TAG_UNVERIFIED) &&
		   telegram_counters(t)->tag_unverified == 1,
	       "a bit-flipped tag with a good CRC: accepted, counted as tag not verified");

	/* A flipped bit in the text: tag and CRC both fail. */
	bn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, bad, sizeof(bad));
	bad[40] ^= 0x04;
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, bad, bn, good, gn, &(struct case_frame){ "bit-flipped text", TELEGRAM_ERR_WRONG_KEY });

	/* The same frame again, and an older one. */
	memcpy(bad, good, gn);
	bn = gn;
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, bad, bn, good, gn,
	       &(struct case_frame){ "repeated frame counter", TELEGRAM_ERR_REPLAY });
	bn = seal(o.keys.enc, auth, 3, 0x30, plain, n, bad, sizeof(bad));
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, bad, bn, good, gn, &(struct case_frame){ "older frame counter", TELEGRAM_ERR_REPLAY });

	/* Cut off: the line falls silent. */
	bn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, bad, sizeof(bad));
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, bad, bn / 2, good, gn, &(struct case_frame){ "truncated", TELEGRAM_ERR_TRUNCATED });

	/* A length the buffer cannot hold. */
	uint8_t huge[] = { 0xDB, 0x08, 'S',  'A',  'G',  'g', 'p', 0x70, 0x01,
			   0xBD, 0x82, 0xFF, 0xF0, 0x30, 0,   0,   0,    1 };
	gn = seal(o.keys.enc, auth, counter++, 0x30, plain, n, good, sizeof(good));
	expect(t, &r, huge, sizeof(huge), good, gn,
	       &(struct case_frame){ "length out of bounds", TELEGRAM_ERR_LENGTH });

	/* New keys: the counters start afresh. */
	telegram_set_opts(t, &none);
	bn = seal(o.keys.enc, auth, 1, 0x30, plain, n, bad, sizeof(bad));
	telegram_set_opts(t, &o);
	telegram_set_opts(t, &none);
	telegram_feed(t, bad, bn, NOW);
	tap_ok(r.last_error == TELEGRAM_ERR_NO_KEY, "no key: rejected as \"%s\"",
	       telegram_error_to_string(TELEGRAM_ERR_NO_KEY));
	telegram_set_opts(t, &o);
	telegram_feed(t, bad, bn, NOW);
	tap_ok(r.accepted == 9, "after a key change a low frame counter is accepted again (%u)", r.accepted);
	telegram_free(t);
}

/* A header whose length lies must not hide the plaintext telegrams after it. */
static void test_false_header(void)
{
	struct decode_opts o = keyed(0x11, NULL);
	struct result r;
	struct telegram *t = framer(&o, &r);
	uint8_t forged[] = { 0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x82, 0x3F, 0x00, 0x30, 0, 0, 0, 9 };
	char tg[512];
	size_t n = telegram(tg, sizeof(tg), "ISK5 plain", 321, 0);

	telegram_feed(t, forged, sizeof(forged), NOW);
	for (unsigned i = 0; i < 30; i++)
		telegram_feed(t, tg, n, NOW);
	tap_ok(r.accepted == 30 && r.rejected == 1 && r.last_error == TELEGRAM_ERR_LENGTH,
	       "a false 0xDB header claiming 16 KiB: all 30 telegrams after it accepted (%u, %u rejected)",
	       r.accepted, r.rejected);

	/* A short false length ending inside a telegram: that telegram is read on. */
	uint8_t shortlen[] = { 0xDB, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30, 0, 0, 0, 9 };
	telegram_feed(t, shortlen, sizeof(shortlen), NOW);
	telegram_feed(t, tg, n, NOW);
	telegram_feed(t, tg, n, NOW);
	tap_ok(r.accepted == 32 && r.rejected == 2,
	       "a false length ending inside a telegram hides nothing (%u)", r.accepted);
	telegram_free(t);
}

/* A fresh framer for a line of `bits` data bits, fed one telegram. */
static struct telegram *feed_line(unsigned bits, const char *text, size_t n, struct result *r)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;
	struct telegram *t;

	o.line_bits = bits;
	t = framer(&o, r);
	telegram_feed(t, text, n, NOW);
	return t;
}

/* A header byte >= 0x80 (the "\253" of "/EST5\253...") with the CRC over the
 * bytes as received: accepted on an 8-bit line and where the line is unknown;
 * a CRC over the 7-bit bytes (a parity bit set on the way) the other way round. */
static void test_crc_raw(void)
{
	static const unsigned bits[] = { 0, 8, 7 };
	char tg[512], bad[512], seven[512];
	size_t n = telegram(tg, sizeof(tg),
			    "EST5\xAB"
			    "710000_A",
			    286, 0);
	size_t k = telegram(seven, sizeof(seven), "EST5+710000_A", 286, 0);
	struct result r;
	struct telegram *t;

	memcpy(bad, tg, n);
	bad[n - 3] = bad[n - 3] == '0' ? '1' : '0';
	seven[5] = (char) ('+' | 0x80);
	for (size_t i = 0; i < 3; i++) {
		t = feed_line(bits[i], tg, n, &r);
		if (bits[i] == 7)
			tap_ok(r.accepted == 0 && r.last_error == TELEGRAM_ERR_CRC,
			       "7-bit line: the CRC over the 8-bit bytes does not count");
		else
			tap_ok(r.accepted == 1 && !(r.last_flags & READING_FLAG_CRC_7BIT),
			       "%u-bit line: a header byte 0xAB with the CRC over the raw bytes is accepted",
			       bits[i]);
		telegram_feed(t, bad, n, NOW);
		tap_ok(r.last_error == TELEGRAM_ERR_CRC, "%u-bit line: the same with a wrong CRC is rejected",
		       bits[i]);
		telegram_free(t);

		t = feed_line(bits[i], seven, k, &r);
		if (bits[i] == 8)
			tap_ok(r.accepted == 0, "8-bit line: a parity bit breaks the CRC");
		else
			tap_ok(r.accepted == 1 && (r.last_flags & READING_FLAG_CRC_7BIT),
			       "%u-bit line: a CRC over the 7-bit bytes is accepted and said", bits[i]);
		telegram_free(t);
	}
}

int main(void)
{
	test_key_parse();
	test_roundtrip();
	test_failures();
	test_false_header();
	test_crc_raw();
	return tap_done();
}
