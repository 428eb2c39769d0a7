/* SPDX-License-Identifier: MIT */
/*
 * The streaming framer (see telegram.h). A byte-at-a-time state machine over
 * one fixed buffer: the text of the frame being collected is the text[] of the
 * reading the decoder fills, so an accepted frame is never copied.
 *
 * Pure. No I/O. Never logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/telegram.h"

#define STX 0x02
#define ETX 0x03
#define EOT 0x04
#define DLMS_GLO_CIPHERING 0xDB
#define DLMS_HEADER_LEN 18 /* tag, title length, title (8), 0x82, length (2), SC, counter (4) */
#define DSMR_TRAILER_MAX 8 /* "!" + up to 4 CRC digits + CR, with slack */

enum framer_state {
	FRAMER_HUNT,         /* between frames */
	FRAMER_DSMR,         /* after '/', before '!' */
	FRAMER_DSMR_TRAILER, /* after '!', until LF */
	FRAMER_TIC,          /* after STX, before ETX */
	FRAMER_DLMS_HEADER,  /* 0xDB seen, checking the ciphering header */
	FRAMER_DLMS_BODY,    /* skipping an encrypted frame */
};

struct telegram {
	unsigned hunt;
	struct decode_opts opts;
	telegram_accept_fn on_accept;
	telegram_reject_fn on_reject;
	void *userdata;

	enum framer_state state;
	uint64_t offset;       /* bytes fed so far */
	uint64_t frame_offset; /* offset of the current frame's first byte */
	size_t line_start;     /* DSMR: offset in text of the current line */
	size_t trailer;        /* DSMR: bytes after '!' */
	int64_t now_s;

	uint8_t dlms[DLMS_HEADER_LEN];
	size_t dlms_len;
	size_t dlms_left; /* body bytes still to skip */

	struct telegram_counters counters;
	struct reading v; /* last member: large */
};

static const char *const error_names[] = {
	[TELEGRAM_ERR_CRC] = "CRC mismatch",
	[TELEGRAM_ERR_CRC_MISSING] = "CRC missing",
	[TELEGRAM_ERR_CHECKSUM] = "checksum error",
	[TELEGRAM_ERR_SYNTAX] = "malformed",
	[TELEGRAM_ERR_LINE_TOO_LONG] = "line too long",
	[TELEGRAM_ERR_TOO_LONG] = "frame too long",
	[TELEGRAM_ERR_TRUNCATED] = "truncated",
	[TELEGRAM_ERR_INTERRUPTED] = "interrupted",
	[TELEGRAM_ERR_ENCRYPTED] = "encrypted",
	[TELEGRAM_ERR_EMPTY] = "no data",
};

_Static_assert(ARRAY_SIZE(error_names) == _TELEGRAM_ERR_MAX, "a name for every error");
DEFINE_STRING_TABLE_TO(telegram_error, enum telegram_error, error_names)

int telegram_new(unsigned hunt, const struct decode_opts *o, telegram_accept_fn on_accept,
		 telegram_reject_fn on_reject, void *userdata, struct telegram **ret)
{
	struct telegram *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;

	t->hunt = hunt;
	t->opts = o ? *o : DECODE_OPTS_DEFAULT;
	t->on_accept = on_accept;
	t->on_reject = on_reject;
	t->userdata = userdata;
	t->state = FRAMER_HUNT;
	t->offset = t->frame_offset = 0;
	t->line_start = t->trailer = 0;
	t->now_s = 0;
	t->dlms_len = t->dlms_left = 0;
	t->counters = (struct telegram_counters){ 0 };
	t->v.text_len = 0;
	reading_reset(&t->v);

	*ret = t;
	return 0;
}

struct telegram *telegram_free(struct telegram *t)
{
	free(t);
	return NULL;
}

void telegram_set_hunt(struct telegram *t, unsigned hunt)
{
	t->hunt = hunt;
	t->state = FRAMER_HUNT;
	t->v.text_len = 0;
}

void telegram_set_opts(struct telegram *t, const struct decode_opts *o)
{
	t->opts = *o;
}

const struct telegram_counters *telegram_counters(const struct telegram *t)
{
	return &t->counters;
}

uint64_t telegram_frame_offset(const struct telegram *t)
{
	return t->frame_offset;
}

bool telegram_in_frame(const struct telegram *t)
{
	return t->state != FRAMER_HUNT;
}

/* The driver of the frame in progress: known from its start marker, and for
 * TIC from the separators ("historique", the factory default, while none has
 * come yet). NULL between frames and for encrypted DLMS, which no driver reads. */
static const struct proto_driver *frame_driver(const struct telegram *t)
{
	switch (t->state) {
	case FRAMER_DSMR:
	case FRAMER_DSMR_TRAILER:
		return &proto_dsmr;
	case FRAMER_TIC:
		return memchr(t->v.text, '\t', t->v.text_len) ? &proto_tic_standard : &proto_tic_historique;
	case FRAMER_HUNT:
	case FRAMER_DLMS_HEADER:
	case FRAMER_DLMS_BODY:
		break;
	}
	return NULL;
}

static enum reading_protocol state_protocol(const struct telegram *t)
{
	const struct proto_driver *d = frame_driver(t);

	return d ? d->id : READING_PROTO_NONE;
}

static void reject(struct telegram *t, enum telegram_error e, const char *detail, const char *raw,
		   size_t raw_len, enum reading_protocol proto)
{
	t->counters.rejected++;
	t->counters.by_error[e]++;

	if (t->on_reject) {
		struct telegram_reject r = {
			.error = e,
			.protocol = proto,
			.detail = detail ? detail : "",
			.raw = raw,
			.raw_len = raw_len,
			.offset = t->frame_offset,
		};
		t->on_reject(&r, t->userdata);
	}
}

/* A start marker followed by less than one line is line noise that happened to
 * contain '/' or STX, not a frame: it is counted as noise, not as a rejection. */
static bool has_content(const struct telegram *t)
{
	char end = t->state == FRAMER_TIC ? '\r' : '\n';

	return t->state == FRAMER_DSMR_TRAILER || memchr(t->v.text, end, t->v.text_len) != NULL;
}

/* Report the frame in progress as rejected and go back to hunting. */
static void drop_frame(struct telegram *t, enum telegram_error e, const char *detail)
{
	if (e != TELEGRAM_ERR_TRUNCATED || has_content(t))
		reject(t, e, detail, t->v.text, t->v.text_len, state_protocol(t));
	else
		t->counters.noise_bytes += t->v.text_len;
	t->state = FRAMER_HUNT;
	t->v.text_len = 0;
}

static void complete_frame(struct telegram *t)
{
	char detail[TELEGRAM_DETAIL_MAX] = "";
	enum telegram_error e = TELEGRAM_ERR_SYNTAX;
	int r;

	/* Called once per frame, so the indirect call costs nothing per byte. */
	r = frame_driver(t)->decode(&t->v, &t->opts, t->now_s, &e, detail);

	if (r < 0) {
		drop_frame(t, e, detail);
		return;
	}

	t->counters.accepted++;
	if (t->on_accept)
		t->on_accept(&t->v, t->userdata);
	t->state = FRAMER_HUNT;
	t->v.text_len = 0;
}

static void start_frame(struct telegram *t, enum framer_state s, char first)
{
	t->state = s;
	t->frame_offset = t->offset;
	t->v.text[0] = first;
	t->v.text_len = 1;
	t->line_start = 0;
	t->trailer = 0;
}

/* Append a byte; false (and the frame rejected) when the buffer is full. */
static bool append(struct telegram *t, char c)
{
	if (t->v.text_len >= READING_TEXT_MAX) {
		char detail[TELEGRAM_DETAIL_MAX];

		snprintf(detail, sizeof(detail), "more than %d bytes", READING_TEXT_MAX);
		drop_frame(t, TELEGRAM_ERR_TOO_LONG, detail);
		return false;
	}
	t->v.text[t->v.text_len++] = c;
	return true;
}

static void feed_byte(struct telegram *t, uint8_t b);

static void hunt_byte(struct telegram *t, uint8_t b)
{
	char c = (char) (b & 0x7f);

	if (b == DLMS_GLO_CIPHERING && (t->hunt & TELEGRAM_HUNT_DSMR)) {
		t->state = FRAMER_DLMS_HEADER;
		t->frame_offset = t->offset;
		t->dlms[0] = b;
		t->dlms_len = 1;
	} else if (c == '/' && (t->hunt & TELEGRAM_HUNT_DSMR))
		start_frame(t, FRAMER_DSMR, c);
	else if (c == STX && (t->hunt & TELEGRAM_HUNT_TIC))
		start_frame(t, FRAMER_TIC, c);
	else
		t->counters.noise_bytes++;
}

static void dsmr_line_end(struct telegram *t)
{
	size_t len = t->v.text_len - t->line_start;

	if (len > TELEGRAM_LINE_MAX) {
		char detail[TELEGRAM_DETAIL_MAX];

		snprintf(detail, sizeof(detail), "a line of %zu bytes (limit %d)", len, TELEGRAM_LINE_MAX);
		drop_frame(t, TELEGRAM_ERR_LINE_TOO_LONG, detail);
		return;
	}
	t->line_start = t->v.text_len;
}

static void dsmr_byte(struct telegram *t, char c)
{
	if (c == '/') {
		/* A new header: the unfinished telegram was cut off. */
		drop_frame(t, TELEGRAM_ERR_TRUNCATED, "a new telegram started before '!'");
		start_frame(t, FRAMER_DSMR, c);
		return;
	}
	if (!append(t, c))
		return;
	if (c == '\n')
		dsmr_line_end(t);
	else if (c == '!') {
		dsmr_line_end(t);
		if (t->state == FRAMER_DSMR)
			t->state = FRAMER_DSMR_TRAILER;
	} else if (t->v.text_len - t->line_start > TELEGRAM_LINE_MAX)
		dsmr_line_end(t); /* reject now, do not wait for the line's end */
}

static void dsmr_trailer_byte(struct telegram *t, uint8_t b, char c)
{
	bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');

	if (c == '\n') {
		if (append(t, c))
			complete_frame(t);
		return;
	}
	if ((hex || c == '\r') && t->trailer < DSMR_TRAILER_MAX) {
		t->trailer++;
		(void) append(t, c);
		return;
	}
	/* The trailer ended without its line end: decode what came, then let the
	 * byte start whatever comes next. */
	complete_frame(t);
	feed_byte(t, b);
}

static void tic_byte(struct telegram *t, char c)
{
	if (c == STX) {
		drop_frame(t, TELEGRAM_ERR_TRUNCATED, "a new frame started before ETX");
		start_frame(t, FRAMER_TIC, c);
		return;
	}
	if (c == EOT) {
		drop_frame(t, TELEGRAM_ERR_INTERRUPTED, "the meter aborted the frame (EOT)");
		return;
	}
	if (append(t, c) && c == ETX)
		complete_frame(t);
}

/* The bytes of a header that turned out not to be one are fed again after the
 * 0xDB, so a '/' hidden among them still starts a telegram. */
static void dlms_not_a_frame(struct telegram *t)
{
	uint8_t again[DLMS_HEADER_LEN];
	size_t n = t->dlms_len - 1;
	uint64_t start = t->frame_offset; /* offset of the 0xDB */

	memcpy(again, t->dlms + 1, n);
	t->counters.noise_bytes++;
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
	/* The last of these bytes is the one being fed now, at t->offset. */
	for (size_t i = 0; i < n; i++) {
		t->offset = start + 1 + i;
		feed_byte(t, again[i]);
	}
}

static void dlms_header_byte(struct telegram *t, uint8_t b)
{
	size_t i = t->dlms_len;

	t->dlms[t->dlms_len++] = b;

	if ((i == 1 && b != 0x08) || (i == 10 && b != 0x82) || (i == 13 && b != 0x30)) {
		dlms_not_a_frame(t);
		return;
	}
	if (t->dlms_len < DLMS_HEADER_LEN)
		return;

	/* L counts everything after the length field: SC, counter, ciphertext, tag. */
	size_t l = (size_t) t->dlms[11] << 8 | t->dlms[12];
	if (l < 17 + 1) {
		dlms_not_a_frame(t);
		return;
	}
	t->dlms_left = l - 5;
	t->state = FRAMER_DLMS_BODY;
}

static void dlms_finish(struct telegram *t)
{
	char detail[TELEGRAM_DETAIL_MAX], title[17];
	size_t l = (size_t) t->dlms[11] << 8 | t->dlms[12];

	for (unsigned i = 0; i < 8; i++)
		snprintf(title + 2 * i, 3, "%02X", t->dlms[2 + i]);
	snprintf(detail, sizeof(detail),
		 "DLMS ciphered frame of %zu bytes from system title %s, decryption not supported", l + 13,
		 title);

	char raw[DLMS_HEADER_LEN];
	for (unsigned i = 0; i < DLMS_HEADER_LEN; i++)
		raw[i] = (char) (t->dlms[i] & 0x7f);
	reject(t, TELEGRAM_ERR_ENCRYPTED, detail, raw, DLMS_HEADER_LEN, READING_PROTO_NONE);
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
}

static void feed_byte(struct telegram *t, uint8_t b)
{
	char c = (char) (b & 0x7f);

	switch (t->state) {
	case FRAMER_HUNT:
		hunt_byte(t, b);
		break;
	case FRAMER_DSMR:
		dsmr_byte(t, c);
		break;
	case FRAMER_DSMR_TRAILER:
		dsmr_trailer_byte(t, b, c);
		break;
	case FRAMER_TIC:
		tic_byte(t, c);
		break;
	case FRAMER_DLMS_HEADER:
		dlms_header_byte(t, b);
		break;
	case FRAMER_DLMS_BODY:
		if (--t->dlms_left == 0)
			dlms_finish(t);
		break;
	}
}

#define BYTES_01 0x0101010101010101ULL
#define BYTES_80 0x8080808080808080ULL

/* Non-zero when some byte of w equals c (exact for "any", see Hacker's Delight 6-1). */
static inline uint64_t word_has(uint64_t w, uint8_t c)
{
	uint64_t x = w ^ (BYTES_01 * c);
	return (x - BYTES_01) & ~x & BYTES_80;
}

/* How many of n input bytes may be copied without passing the frame limit or
 * the current line's limit; the byte that would is left to dsmr_byte(). */
static size_t fast_limit(const struct telegram *t, size_t base, size_t n)
{
	size_t line_end = t->line_start + TELEGRAM_LINE_MAX;

	if (base >= line_end || base >= READING_TEXT_MAX)
		return 0;
	return MIN(MIN(n, READING_TEXT_MAX - base), line_end - base);
}

/* The common case, a DSMR body: copy bytes until '/' or '!' needs the state
 * machine, eight at a time while a word holds no '/', '!', LF or byte with bit
 * 7 set; line ends are handled here too. Stops early at the frame or line limit
 * so that feed_byte() reports it. Returns the number of bytes consumed. */
static size_t dsmr_fast(struct telegram *t, const uint8_t *p, size_t n)
{
	char *out = t->v.text + t->v.text_len; /* out[i] receives p[i] */
	size_t base = t->v.text_len, i = 0;
	size_t max = fast_limit(t, base, n);

	while (i < max) {
		char c;

		if (i + 8 <= max) {
			uint64_t w, special;

			memcpy(&w, p + i, 8);
			special = (w & BYTES_80) | word_has(w, '/') | word_has(w, '!') | word_has(w, '\n');
			/* The word is stored whole (it fits: i + 8 <= max) but only the
			 * bytes before the lowest flagged one, which is exact, count. */
			memcpy(out + i, &w, 8);
			if (!special) {
				i += 8;
				continue;
			}
			i += (size_t) __builtin_ctzll(special) >> 3;
		}

		c = (char) (p[i] & 0x7f);
		if (c == '/' || c == '!')
			break;
		out[i++] = c;
		if (c == '\n') {
			/* A line ended within the limit: the next one gets its own. */
			t->line_start = base + i;
			max = fast_limit(t, base, n);
		}
	}
	t->v.text_len = (uint16_t) (base + i);
	return i;
}

/* Non-zero when some byte of w is below n (n <= 128, bytes without bit 7). */
static inline uint64_t word_has_less(uint64_t w, uint8_t n)
{
	return (w - BYTES_01 * n) & ~w & BYTES_80;
}

/* The common case inside a TIC frame: copy until STX, ETX, EOT or a byte with
 * bit 7 set, eight bytes at a time. Returns the number of bytes consumed. */
static size_t tic_fast(struct telegram *t, const uint8_t *p, size_t n)
{
	char *out = t->v.text + t->v.text_len;
	size_t base = t->v.text_len, i = 0;
	size_t max = MIN(n, READING_TEXT_MAX - base);

	while (i + 8 <= max) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if ((w & BYTES_80) | word_has_less(w, EOT + 1))
			break;
		memcpy(out + i, &w, 8);
		i += 8;
	}
	for (; i < max; i++) {
		char c = (char) (p[i] & 0x7f);
		if (c <= EOT)
			break;
		out[i] = c;
	}
	t->v.text_len = (uint16_t) (base + i);
	return i;
}

void telegram_feed(struct telegram *t, const void *buf, size_t n, int64_t now_s)
{
	const uint8_t *p = buf;

	t->now_s = now_s;
	t->counters.bytes += n;

	for (size_t i = 0; i < n;) {
		if (t->state == FRAMER_DSMR || t->state == FRAMER_TIC) {
			size_t k =
			    t->state == FRAMER_DSMR ? dsmr_fast(t, p + i, n - i) : tic_fast(t, p + i, n - i);
			i += k;
			t->offset += k;
			if (i >= n)
				break;
		}
		feed_byte(t, p[i]);
		i++;
		t->offset++;
	}
}

void telegram_flush(struct telegram *t)
{
	switch (t->state) {
	case FRAMER_HUNT:
		return;
	case FRAMER_DSMR_TRAILER:
		/* '!' was seen: the telegram is complete but for its line end. */
		complete_frame(t);
		return;
	case FRAMER_DSMR:
	case FRAMER_TIC:
		drop_frame(t, TELEGRAM_ERR_TRUNCATED, "the frame stopped before its end");
		return;
	case FRAMER_DLMS_HEADER:
		t->counters.noise_bytes += t->dlms_len;
		t->state = FRAMER_HUNT;
		t->dlms_len = 0;
		return;
	case FRAMER_DLMS_BODY:
		reject(t, TELEGRAM_ERR_TRUNCATED, "a DLMS ciphered frame stopped before its end", NULL, 0,
		       READING_PROTO_NONE);
		t->state = FRAMER_HUNT;
		t->dlms_len = 0;
		return;
	}
}
