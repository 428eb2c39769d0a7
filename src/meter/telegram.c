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
#include "telegram-words.h"

#define STX 0x02
#define ETX 0x03
#define EOT 0x04
#define DSMR_TRAILER_MAX 8 /* "!" + up to 4 CRC digits + CR, with slack */

enum framer_state {
	FRAMER_HUNT,         /* between frames */
	FRAMER_DSMR,         /* after '/', before '!' */
	FRAMER_DSMR_TRAILER, /* after '!', until LF */
	FRAMER_TIC,          /* after STX, before ETX */
	FRAMER_DLMS_HEADER,  /* 0xDB seen, checking the ciphering header */
	FRAMER_DLMS_BODY,    /* collecting an encrypted frame */
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
	bool high;             /* DSMR: a byte of the frame has bit 7 set */
	int64_t now_s;

	size_t frame_len; /* bytes on the line of the frame last accepted */

	/* Encrypted frames: header, then ciphertext and tag into cipher[]. */
	uint8_t dlms[DLMS_HEADER_MAX];
	size_t dlms_len;
	struct dlms_header dh;
	size_t body_len;
	size_t slash;   /* offset in cipher[] of the last '/', SIZE_MAX when none */
	bool replaying; /* bytes of a failed encrypted frame fed again: no 0xDB hunt */
	struct dlms_cipher *cipher;
	bool have_counter; /* last_title and last_counter hold an accepted frame's */
	uint8_t last_title[DLMS_TITLE_LEN];
	uint32_t last_counter;

	struct telegram_counters counters;
	uint8_t body[READING_TEXT_MAX + DLMS_TAG_LEN];
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
	[TELEGRAM_ERR_EMPTY] = "no data",
	[TELEGRAM_ERR_NO_KEY] = "encrypted, no DecryptionKey set",
	[TELEGRAM_ERR_WRONG_KEY] = "wrong key (tag mismatch)",
	[TELEGRAM_ERR_LENGTH] = "length out of bounds",
	[TELEGRAM_ERR_REPLAY] = "frame counter not increasing",
};

_Static_assert(ARRAY_SIZE(error_names) == _TELEGRAM_ERR_MAX, "a name for every error");
DEFINE_STRING_TABLE_TO(telegram_error, enum telegram_error, error_names)

int telegram_new(unsigned hunt, const struct decode_opts *o, telegram_accept_fn on_accept,
		 telegram_reject_fn on_reject, void *userdata, struct telegram **ret)
{
	struct telegram *t = malloc(sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	t->cipher = NULL;
	r = dlms_cipher_new(&t->cipher);
	if (r < 0) {
		free(t);
		return r;
	}

	t->hunt = hunt;
	t->opts = o ? *o : DECODE_OPTS_DEFAULT;
	t->on_accept = on_accept;
	t->on_reject = on_reject;
	t->userdata = userdata;
	t->state = FRAMER_HUNT;
	t->offset = t->frame_offset = 0;
	t->line_start = t->trailer = 0;
	t->now_s = 0;
	t->dlms_len = t->body_len = t->frame_len = 0;
	t->replaying = t->have_counter = false;
	t->counters = (struct telegram_counters){ 0 };
	t->v.text_len = 0;
	reading_reset(&t->v);

	*ret = t;
	return 0;
}

struct telegram *telegram_free(struct telegram *t)
{
	if (!t)
		return NULL;
	dlms_cipher_free(t->cipher);
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
	/* Other keys, perhaps another meter: its counters start anywhere. */
	if (memcmp(&t->opts.keys, &o->keys, sizeof(o->keys)) != 0)
		t->have_counter = false;
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

size_t telegram_frame_len(const struct telegram *t)
{
	return t->frame_len;
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
		   size_t raw_len, size_t frame_len, enum reading_protocol proto)
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
			.frame_len = frame_len,
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
	if (e != TELEGRAM_ERR_TRUNCATED || has_content(t)) {
		/* The CRC was over the bytes as received; the report is 7-bit text. */
		for (size_t i = 0; i < t->v.text_len; i++)
			t->v.text[i] &= 0x7f;
		reject(t, e, detail, t->v.text, t->v.text_len, t->v.text_len, state_protocol(t));
	} else
		t->counters.noise_bytes += t->v.text_len;
	t->state = FRAMER_HUNT;
	t->v.text_len = 0;
}

/* An accepted frame, and the values its decoder had to drop (null with a reason). */
static void count_accepted(struct telegram *t)
{
	t->counters.accepted++;
	if (t->v.flags & READING_FLAG_ENERGY_NEGATIVE)
		t->counters.energy_negative++;
}

static void complete_frame(struct telegram *t)
{
	char detail[TELEGRAM_DETAIL_MAX] = "";
	enum telegram_error e = TELEGRAM_ERR_SYNTAX;
	int r;

	/* Called once per frame, so the indirect call costs nothing per byte. */
	t->opts.ascii = !t->high;
	r = frame_driver(t)->decode(&t->v, &t->opts, t->now_s, &e, detail);

	if (r < 0) {
		drop_frame(t, e, detail);
		return;
	}

	count_accepted(t);
	t->frame_len = t->v.text_len;
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
	t->high = false;
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

	if (b == DLMS_GLO_CIPHERING && (t->hunt & TELEGRAM_HUNT_DSMR) && !t->replaying) {
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

/* c is b without bit 7, which decides the structure; the text keeps b, as
 * the CRC covers the bytes as received on an 8-bit line. */
static void dsmr_byte(struct telegram *t, uint8_t b, char c)
{
	if (c == '/') {
		/* A new header: the unfinished telegram was cut off. */
		drop_frame(t, TELEGRAM_ERR_TRUNCATED, "a new telegram started before '!'");
		start_frame(t, FRAMER_DSMR, c);
		return;
	}
	t->high |= b & 0x80;
	/* The '!' is stored as the framer read it, so the decoder finds it too. */
	if (!append(t, c == '!' ? c : (char) b))
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

/* Feed bytes that were already counted again, from stream offset start on;
 * the last of them is the byte being fed now. A ciphered frame's own bytes
 * are fed without hunting for 0xDB, which would collect into body[]. */
static void refeed(struct telegram *t, const uint8_t *p, size_t n, uint64_t start, bool from_body)
{
	t->replaying = from_body;
	for (size_t i = 0; i < n; i++) {
		t->offset = start + i;
		feed_byte(t, p[i]);
	}
	t->replaying = false;
}

/* The bytes of a header that turned out not to be one are fed again after the
 * 0xDB, so a '/' hidden among them still starts a telegram. */
static void dlms_not_a_frame(struct telegram *t)
{
	uint8_t again[DLMS_HEADER_MAX];
	size_t n = t->dlms_len - 1;

	memcpy(again, t->dlms + 1, n);
	t->counters.noise_bytes++;
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
	refeed(t, again, n, t->frame_offset + 1, false);
}

static void dlms_title(const struct telegram *t, char ret[2 * DLMS_TITLE_LEN + 1])
{
	for (unsigned i = 0; i < DLMS_TITLE_LEN; i++)
		snprintf(ret + 2 * i, 3, "%02X", t->dh.title[i]);
}

/* A well-formed header with a length the buffer cannot hold: the header is
 * the rejected frame, up to a '/' in it, which may start a telegram. Its other
 * bytes are not fed again: 0x82 would read as STX. */
static void dlms_too_long(struct telegram *t)
{
	char detail[TELEGRAM_DETAIL_MAX];
	size_t n = t->dlms_len, k = 1;
	uint8_t again[DLMS_HEADER_MAX];

	while (k < n && (t->dlms[k] & 0x7f) != '/')
		k++;
	memcpy(again, t->dlms + k, n - k);
	snprintf(detail, sizeof(detail), "a ciphered frame of %zu bytes (limit %d)", t->dh.frame_len,
		 READING_TEXT_MAX);
	reject(t, TELEGRAM_ERR_LENGTH, detail, NULL, 0, k, READING_PROTO_NONE);
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
	refeed(t, again, n - k, t->frame_offset + k, false);
}

static void dlms_header_byte(struct telegram *t, uint8_t b)
{
	int r;

	t->dlms[t->dlms_len++] = b;
	r = dlms_header_parse(t->dlms, t->dlms_len, &t->dh);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		dlms_not_a_frame(t);
		return;
	}
	if (t->dh.cipher_len > READING_TEXT_MAX) {
		dlms_too_long(t);
		return;
	}
	t->body_len = 0;
	t->slash = SIZE_MAX;
	t->state = FRAMER_DLMS_BODY;
}

/* Reject the ciphered frame as far as `end` of body[] and feed the rest again. */
static void dlms_cut(struct telegram *t, enum telegram_error e, const char *detail, size_t end)
{
	size_t n = t->body_len - end;

	reject(t, e, detail, NULL, 0, t->dh.header_len + end, READING_PROTO_NONE);
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
	if (n > 0)
		refeed(t, t->body + end, n, t->frame_offset + t->dh.header_len + end, true);
}

static bool is_letter(uint8_t c)
{
	c &= 0x7f;
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A failed ciphered frame: a DSMR identification line ("/XXX5") that starts
 * in it and has not ended is a plaintext telegram the length field hid. */
static void dlms_fail(struct telegram *t, enum telegram_error e, const char *detail)
{
	size_t k = t->slash;
	/* No '/' seen yet: k is SIZE_MAX and must not index body[]. */
	const uint8_t *p = k != SIZE_MAX ? t->body + k : NULL;
	bool header = p && t->body_len - k >= 5 && is_letter(p[1]) && is_letter(p[2]) && is_letter(p[3]) &&
		      !memchr(p, '!', t->body_len - k);

	dlms_cut(t, e, detail, header ? k : t->body_len);
}

/* On each LF inside a ciphered frame: do the bytes since the last '/' end in
 * "!CRC" CR LF, with a CRC that checks out? Then they are a plaintext
 * telegram, and the header that claimed them lied. */
static bool dlms_plaintext_inside(struct telegram *t)
{
	const char *text = (const char *) t->body;
	size_t end = t->body_len - 1, k = t->slash, bang;
	unsigned stated = 0;

	if (k == SIZE_MAX || end < k + 7 || text[end - 1] != '\r' || text[end - 6] != '!')
		return false;
	bang = end - 6;
	for (size_t i = bang + 1; i < end - 1; i++) {
		int d = reading_hex_digit(text[i]);

		if (d < 0)
			return false;
		stated = stated << 4 | (unsigned) d;
	}
	if (proto_dsmr_crc(text + k, bang - k, stated, t->opts.line_bits) < 0)
		return false;

	dlms_cut(t, TELEGRAM_ERR_LENGTH, "a plaintext telegram inside its stated length", k);
	return true;
}

/* Decrypt and decode into v; the error and detail are set on failure. */
static int dlms_open(struct telegram *t, enum telegram_error *e, char *detail)
{
	struct decode_opts o = t->opts;
	enum dlms_tag tag;
	int r;

	r = dlms_decrypt(t->cipher, &t->opts.keys, &t->dh, t->body, (uint8_t *) t->v.text, &tag);
	if (r < 0) {
		*e = TELEGRAM_ERR_WRONG_KEY;
		snprintf(detail, TELEGRAM_DETAIL_MAX, "decryption failed");
		return r;
	}
	t->v.text_len = (uint16_t) t->dh.cipher_len;
	/* The plaintext is exact: every bit of it is data. */
	o.line_bits = 8;
	o.ascii = false;
	r = proto_dsmr_decode(&t->v, &o, t->now_s, e, detail);
	if (tag != DLMS_TAG_MISMATCH)
		return r;
	/* A user without the operator's authentication key still gets data the
	 * telegram's own CRC vouches for. */
	if (r == 0 && (t->v.flags & READING_FLAG_CRC_PRESENT)) {
		t->v.flags |= READING_FLAG_TAG_UNVERIFIED;
		return 0;
	}
	*e = TELEGRAM_ERR_WRONG_KEY;
	snprintf(detail, TELEGRAM_DETAIL_MAX, "the tag does not verify and the text has no valid CRC");
	return -EBADMSG;
}

static void dlms_finish(struct telegram *t)
{
	char detail[TELEGRAM_DETAIL_MAX], title[2 * DLMS_TITLE_LEN + 1];
	enum telegram_error e = TELEGRAM_ERR_SYNTAX;
	bool same_meter = t->have_counter && memcmp(t->last_title, t->dh.title, DLMS_TITLE_LEN) == 0;

	dlms_title(t, title);
	if (!t->opts.keys.has_enc) {
		snprintf(detail, sizeof(detail), "system title %s", title);
		dlms_fail(t, TELEGRAM_ERR_NO_KEY, detail);
		return;
	}
	if (same_meter && t->dh.counter <= t->last_counter) {
		snprintf(detail, sizeof(detail), "frame counter %08X after %08X", t->dh.counter,
			 t->last_counter);
		dlms_cut(t, TELEGRAM_ERR_REPLAY, detail, t->body_len);
		return;
	}
	if (dlms_open(t, &e, detail) < 0) {
		dlms_fail(t, e, detail);
		return;
	}

	t->v.flags |= READING_FLAG_ENCRYPTED;
	count_accepted(t);
	t->counters.encrypted++;
	if (t->v.flags & READING_FLAG_TAG_UNVERIFIED)
		t->counters.tag_unverified++;
	t->have_counter = true;
	t->last_counter = t->dh.counter;
	memcpy(t->last_title, t->dh.title, DLMS_TITLE_LEN);
	t->frame_len = t->dh.frame_len;
	if (t->on_accept)
		t->on_accept(&t->v, t->userdata);
	t->state = FRAMER_HUNT;
	t->dlms_len = 0;
	t->v.text_len = 0;
}

static void dlms_body_byte(struct telegram *t, uint8_t b)
{
	t->body[t->body_len++] = b;
	if ((b & 0x7f) == '/')
		t->slash = t->body_len - 1;
	else if (b == '\n' && dlms_plaintext_inside(t))
		return;
	if (t->body_len == t->dh.frame_len - t->dh.header_len)
		dlms_finish(t);
}

static void feed_byte(struct telegram *t, uint8_t b)
{
	char c = (char) (b & 0x7f);

	switch (t->state) {
	case FRAMER_HUNT:
		hunt_byte(t, b);
		break;
	case FRAMER_DSMR:
		dsmr_byte(t, b, c);
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
		dlms_body_byte(t, b);
		break;
	}
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

/* Move line_start past the last line end in text[from, to), if any. A byte
 * with bit 7 may be a line end too (parity on a 7-bit line), as in dsmr_byte(). */
static void dsmr_find_line_start(struct telegram *t, size_t from, size_t to)
{
	const char *text = t->v.text;

	if (!t->high) {
		const char *lf = memrchr(text + from, '\n', to - from);

		if (lf)
			t->line_start = (size_t) (lf - text) + 1;
		return;
	}
	for (size_t k = to; k > from; k--)
		if ((text[k - 1] & 0x7f) == '\n') {
			t->line_start = k;
			return;
		}
}

/* The common case, a DSMR body: copy bytes until '/' or '!' needs the state
 * machine. Line ends need no stop: the copy runs to the current line's limit
 * at most, and only there, or at the end, is the last line end looked up.
 * Stops early at the frame or line limit so that feed_byte() reports it.
 * Returns the number of bytes consumed. Not inlined, as tic_fast(): inside
 * telegram_feed() the word loops lose registers, an instruction a word. */
__attribute__((noinline)) static size_t dsmr_fast(struct telegram *t, const uint8_t *p, size_t n)
{
	char *out = t->v.text + t->v.text_len; /* out[i] receives p[i] */
	size_t base = t->v.text_len, i = 0, scanned = 0;
	size_t max = fast_limit(t, base, n);
	uint64_t high = 0;

	for (;;) {
		i = dsmr_copy(out, p, i, max, &high);
		t->high |= (high & BYTES_80) != 0;
		dsmr_find_line_start(t, base + scanned, base + i);
		scanned = i;
		/* At the line's limit with a line end since: a new limit. */
		if (i != max || i == n || fast_limit(t, base, n) == max)
			break;
		max = fast_limit(t, base, n);
	}
	t->v.text_len = (uint16_t) (base + i);
	return i;
}

/* The common case inside a TIC frame: copy until STX, ETX, EOT or a byte with
 * bit 7 set, eight bytes at a time. Returns the number of bytes consumed. */
__attribute__((noinline)) static size_t tic_fast(struct telegram *t, const uint8_t *p, size_t n)
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
		reject(t, TELEGRAM_ERR_TRUNCATED, "a ciphered frame stopped before its end", NULL, 0,
		       t->dh.header_len + t->body_len, READING_PROTO_NONE);
		t->state = FRAMER_HUNT;
		t->dlms_len = 0;
		return;
	}
}
