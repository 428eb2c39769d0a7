/* SPDX-License-Identifier: MIT */
/*
 * Shared part of the framer fuzzers (fuzz-dsmr, fuzz-tic, fuzz-telegram).
 *
 * One input is fed through a fresh framer twice: whole, then in chunks whose
 * sizes derive from the input. Every frame the callbacks see is checked
 * against the contract of reading.h, proto.h and telegram.h, and the two runs
 * must report the same frames in the same order with the same counters:
 * framing bugs live at chunk boundaries. A broken invariant aborts, so
 * libFuzzer and the corpus replay both stop on the offending input.
 *
 * Included by exactly one harness per binary, hence the static functions.
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/telegram.h"
#include "smartconnectd/meter/reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any fixed time: both runs must see the same one, and frames without a
 * clock must report exactly this as ts. */
#define FUZZ_NOW_S INT64_C(1700000000)

#define STX 0x02
#define ETX 0x03

#define FUZZ_FLAGS_KNOWN                                                                   \
	(READING_FLAG_TS_HOST | READING_FLAG_P_APPARENT | READING_FLAG_I_UNSIGNED |        \
	 READING_FLAG_DELTA_GRID | READING_FLAG_SHORT_FRAME | READING_FLAG_CRC_7BIT |      \
	 READING_FLAG_ENCRYPTED | READING_FLAG_TAG_UNVERIFIED | READING_FLAG_CRC_PRESENT | \
	 READING_FLAG_ENERGY_NEGATIVE)

#define fuzz_assert(cond)                                     \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

__attribute__((noreturn, unused)) static void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* FNV-1a: only equality of two runs matters, not the quality of the hash. */
static uint64_t fuzz_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

#define FUZZ_HASH_INIT UINT64_C(0xcbf29ce484222325)

/* splitmix64, seeded from the input so a crash reproduces from the file alone. */
static uint64_t fuzz_rand(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Decoder options vary with the input so the grid, time-zone, line-bits and
 * key paths are reached without a separate harness. The encrypted frames of
 * the corpus are sealed with the public sample's keys (0xAA.., 0xBB..). */
__attribute__((unused)) static struct decode_opts fuzz_opts(uint64_t seed)
{
	static const int offsets[] = { 60, 60, 0, -300, 840, -720 };
	static const unsigned bits[] = { 0, 0, 8, 7 };
	struct decode_opts o = DECODE_OPTS_DEFAULT;

	o.grid = (enum decode_grid)(seed % 3);
	o.std_offset_min = offsets[(seed >> 8) % (sizeof(offsets) / sizeof(offsets[0]))];
	o.line_bits = bits[(seed >> 16) % 4];
	if ((seed >> 24) % 8 != 0) {
		o.keys.has_enc = true;
		memset(o.keys.enc, 0xAA, sizeof(o.keys.enc));
		o.keys.has_auth = (seed >> 28) % 4 != 0;
		memset(o.keys.auth, 0xBB, sizeof(o.keys.auth));
	}
	return o;
}

static bool fuzz_span_ok(const struct reading *v, struct reading_span s)
{
	return (uint32_t) s.off + s.len <= v->text_len;
}

static bool fuzz_is_tic(enum reading_protocol p)
{
	return p == READING_PROTO_TIC_HISTORIQUE || p == READING_PROTO_TIC_STANDARD;
}

/* Everything reading.h promises about a decoded frame. */
static void fuzz_check_values(const struct reading *v, unsigned hunt)
{
	fuzz_assert(v->text_len > 0 && v->text_len <= READING_TEXT_MAX);
	if (v->protocol == READING_PROTO_DSMR) {
		fuzz_assert(hunt & TELEGRAM_HUNT_DSMR);
		fuzz_assert(v->text[0] == '/');
	} else {
		fuzz_assert(fuzz_is_tic(v->protocol));
		fuzz_assert(hunt & TELEGRAM_HUNT_TIC);
		fuzz_assert(v->text[0] == STX);
	}

	for (size_t i = 0; i < v->text_len; i++)
		fuzz_assert(!(v->text[i] & 0x80));

	/* Known fields carry their bit; unknown ones are null, which reading_reset
	 * and reading_clear both leave as 0. */
	fuzz_assert((v->valid >> _READING_FIELD_MAX) == 0);
	for (unsigned f = 0; f < _READING_FIELD_MAX; f++)
		fuzz_assert(reading_has(v, f) || v->field[f] == 0);
	fuzz_assert((v->flags & ~(uint32_t) FUZZ_FLAGS_KNOWN) == 0);
	if (v->flags & READING_FLAG_TS_HOST)
		fuzz_assert(v->ts == FUZZ_NOW_S);

	fuzz_assert(memchr(v->version, 0, sizeof(v->version)));
	fuzz_assert(memchr(v->id, 0, sizeof(v->id)));

	fuzz_assert(v->n_objects <= READING_OBJECTS_MAX);
	fuzz_assert(v->n_values <= READING_VALUES_MAX);
	for (unsigned i = 0; i < v->n_objects; i++) {
		const struct reading_object *o = &v->objects[i];

		fuzz_assert(fuzz_span_ok(v, o->id));
		fuzz_assert(fuzz_span_ok(v, o->stamp));
		fuzz_assert((uint32_t) o->first + o->count <= v->n_values);
	}
	for (unsigned i = 0; i < v->n_values; i++)
		fuzz_assert(fuzz_span_ok(v, v->values[i]));

	/* Counters are never published below 0; an M-Bus kind is a live channel or nothing. */
	fuzz_assert(!reading_has(v, READING_E_IMPORT) || v->field[READING_E_IMPORT] >= 0);
	fuzz_assert(!reading_has(v, READING_E_EXPORT) || v->field[READING_E_EXPORT] >= 0);
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++) {
		const struct reading_mbus *m = &v->mbus[k];

		fuzz_assert(m->channel <= 4 && m->mant >= 0 && m->decimals <= 18);
		fuzz_assert(fuzz_span_ok(v, m->unit) && fuzz_span_ok(v, m->id));
		fuzz_assert(m->channel || (m->mant == 0 && m->ts == 0));
	}
}

/* A decoder's answer for one frame, accepted or not. */
__attribute__((unused)) static void fuzz_check_decode(int r, const struct reading *v, unsigned hunt,
						      enum telegram_error err,
						      const char detail[TELEGRAM_DETAIL_MAX])
{
	if (r == 0) {
		fuzz_check_values(v, hunt);
		return;
	}
	fuzz_assert(r == -EBADMSG);
	fuzz_assert((unsigned) err < _TELEGRAM_ERR_MAX);
	fuzz_assert(memchr(detail, 0, TELEGRAM_DETAIL_MAX));
}

static uint64_t fuzz_hash_values(const struct reading *v)
{
	uint64_t h = FUZZ_HASH_INIT;

	h = fuzz_hash(h, v->text, v->text_len);
	h = fuzz_hash(h, v->field, sizeof(v->field));
	h = fuzz_hash(h, &v->valid, sizeof(v->valid));
	h = fuzz_hash(h, &v->flags, sizeof(v->flags));
	h = fuzz_hash(h, &v->ts, sizeof(v->ts));
	h = fuzz_hash(h, &v->protocol, sizeof(v->protocol));
	h = fuzz_hash(h, &v->interval_s, sizeof(v->interval_s));
	h = fuzz_hash(h, v->version, strlen(v->version));
	h = fuzz_hash(h, v->id, strlen(v->id));
	h = fuzz_hash(h, &v->n_objects, sizeof(v->n_objects));
	h = fuzz_hash(h, &v->n_values, sizeof(v->n_values));
	h = fuzz_hash(h, v->objects, v->n_objects * sizeof(v->objects[0]));
	return fuzz_hash(h, v->values, v->n_values * sizeof(v->values[0]));
}

enum { FUZZ_ACCEPT, FUZZ_REJECT };

struct fuzz_event {
	uint8_t kind; /* FUZZ_ACCEPT, FUZZ_REJECT */
	uint8_t code; /* protocol or error */
	uint16_t len; /* text_len or raw_len */
	uint64_t hash;
};

typedef void (*fuzz_accept_hook)(const struct reading *v, const struct decode_opts *o);

struct fuzz_run {
	const uint8_t *data; /* the input, to check reported offsets against */
	size_t size;
	struct telegram *t;
	unsigned hunt;
	struct decode_opts opts;
	fuzz_accept_hook hook; /* extra per-frame check; NULL for none */
	size_t max_events;     /* frame starts in the input: no run may report more */
	size_t n_events;
	struct fuzz_event *events;
};

static void fuzz_on_accept(const struct reading *v, void *userdata)
{
	struct fuzz_run *run = userdata;

	uint64_t off = telegram_frame_offset(run->t);

	fuzz_assert(run->n_events < run->max_events);
	fuzz_check_values(v, run->hunt);

	/* The frame starts where the framer says it does: its '/', STX or, for
	 * an encrypted one, its 0xDB. */
	fuzz_assert(off < run->size);
	if (v->flags & READING_FLAG_ENCRYPTED)
		fuzz_assert(run->data[off] == 0xdb && telegram_frame_len(run->t) > v->text_len);
	else
		fuzz_assert((run->data[off] & 0x7f) == v->text[0] &&
			    telegram_frame_len(run->t) == v->text_len);
	fuzz_assert(off + telegram_frame_len(run->t) <= run->size);

	if (run->hook)
		run->hook(v, &run->opts);

	run->events[run->n_events++] = (struct fuzz_event){
		.kind = FUZZ_ACCEPT,
		.code = (uint8_t) v->protocol,
		.len = v->text_len,
		.hash = fuzz_hash_values(v),
	};
}

static void fuzz_on_reject(const struct telegram_reject *r, void *userdata)
{
	struct fuzz_run *run = userdata;
	uint64_t h = FUZZ_HASH_INIT;

	fuzz_assert(run->n_events < run->max_events);
	fuzz_assert((unsigned) r->error < _TELEGRAM_ERR_MAX);
	fuzz_assert((unsigned) r->protocol < _READING_PROTO_MAX);
	fuzz_assert(r->detail);
	fuzz_assert(strlen(r->detail) < TELEGRAM_DETAIL_MAX);
	fuzz_assert(r->raw || r->raw_len == 0);
	fuzz_assert(r->raw_len <= READING_TEXT_MAX);
	for (size_t i = 0; i < r->raw_len; i++)
		fuzz_assert(!(r->raw[i] & 0x80));

	/* Every rejected frame began at a start marker that is really there. */
	fuzz_assert(r->offset < run->size);
	fuzz_assert(r->frame_len <= run->size - r->offset);
	fuzz_assert(r->offset == telegram_frame_offset(run->t));
	if (r->raw_len > 0)
		fuzz_assert((run->data[r->offset] & 0x7f) == r->raw[0]);
	else
		fuzz_assert(run->data[r->offset] == 0xdb);

	/* The reason and the protocol must agree (proto.h). */
	switch (r->error) {
	case TELEGRAM_ERR_CRC:
	case TELEGRAM_ERR_CRC_MISSING:
	case TELEGRAM_ERR_LINE_TOO_LONG:
		fuzz_assert(r->protocol == READING_PROTO_DSMR);
		break;
	case TELEGRAM_ERR_CHECKSUM:
	case TELEGRAM_ERR_INTERRUPTED:
		fuzz_assert(fuzz_is_tic(r->protocol));
		break;
	case TELEGRAM_ERR_NO_KEY:
	case TELEGRAM_ERR_WRONG_KEY:
	case TELEGRAM_ERR_LENGTH:
	case TELEGRAM_ERR_REPLAY:
		fuzz_assert(r->protocol == READING_PROTO_NONE && r->raw_len == 0);
		fuzz_assert(run->data[r->offset] == 0xdb && r->frame_len >= 1);
		break;
	default:
		break;
	}
	if (r->protocol == READING_PROTO_DSMR)
		fuzz_assert(run->hunt & TELEGRAM_HUNT_DSMR);
	if (fuzz_is_tic(r->protocol))
		fuzz_assert(run->hunt & TELEGRAM_HUNT_TIC);

	/* Hashing reads every raw byte: a span past the buffer shows up under ASan. */
	h = fuzz_hash(h, r->raw, r->raw_len);
	h = fuzz_hash(h, r->detail, strlen(r->detail));
	h = fuzz_hash(h, &r->protocol, sizeof(r->protocol));
	h = fuzz_hash(h, &r->offset, sizeof(r->offset));
	run->events[run->n_events++] = (struct fuzz_event){
		.kind = FUZZ_REJECT,
		.code = (uint8_t) r->error,
		.len = (uint16_t) r->raw_len,
		.hash = h,
	};
}

/* An upper bound on frames: each one, accepted or rejected, begins at its
 * own start marker ('/', STX, or 0xDB; the framer clears bit 7 first). */
static size_t fuzz_count_starts(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++) {
		uint8_t c = data[i] & 0x7f;

		if (c == '/' || c == STX || data[i] == 0xdb)
			n++;
	}
	return n;
}

/* Feed data through a new framer, in one piece when seed is 0, else in
 * chunks drawn from the seed; then flush and check the counters. */
static void fuzz_feed(struct fuzz_run *run, const uint8_t *data, size_t size, uint64_t seed,
		      struct telegram_counters *ret_counters)
{
	struct telegram *t = NULL;
	const struct telegram_counters *c;
	uint64_t accepted = 0, rejected = 0, by_error = 0;

	fuzz_assert(telegram_new(run->hunt, &run->opts, fuzz_on_accept, fuzz_on_reject, run, &t) == 0);
	fuzz_assert(!telegram_in_frame(t));
	run->t = t;

	if (seed == 0)
		telegram_feed(t, data, size, FUZZ_NOW_S);
	else {
		/* Mostly tiny chunks, sometimes large ones: both shapes occur on a tty. */
		static const size_t max_chunk[] = { 1, 2, 7, 64, 1024, 8192 };
		uint64_t state = seed;

		for (size_t off = 0; off < size;) {
			uint64_t r = fuzz_rand(&state);
			size_t n = 1 + (size_t) (r >> 8) % max_chunk[r % 6];

			if (n > size - off)
				n = size - off;
			telegram_feed(t, data + off, n, FUZZ_NOW_S);
			off += n;
		}
	}
	telegram_flush(t);
	fuzz_assert(!telegram_in_frame(t));

	c = telegram_counters(t);
	for (size_t i = 0; i < run->n_events; i++) {
		if (run->events[i].kind == FUZZ_ACCEPT)
			accepted++;
		else
			rejected++;
	}
	for (unsigned e = 0; e < _TELEGRAM_ERR_MAX; e++)
		by_error += c->by_error[e];

	fuzz_assert(c->accepted == accepted);
	fuzz_assert(c->rejected == rejected);
	fuzz_assert(by_error == c->rejected);
	fuzz_assert(c->accepted + c->rejected <= run->max_events);
	fuzz_assert(c->bytes == size);
	fuzz_assert(c->noise_bytes <= c->bytes);

	/* A flush between frames reports nothing, and a second one never does. */
	telegram_flush(t);
	fuzz_assert(telegram_counters(t)->rejected == c->rejected);

	*ret_counters = *c;
	run->t = telegram_free(t);
}

/* The whole harness for one hunt mask: whole and split runs must agree. */
__attribute__((unused)) static void fuzz_framer(const uint8_t *data, size_t size, unsigned hunt,
						fuzz_accept_hook hook)
{
	uint64_t seed = fuzz_hash(FUZZ_HASH_INIT, data, size);
	size_t max_events = fuzz_count_starts(data, size);
	struct fuzz_run whole = {
		.data = data,
		.size = size,
		.hunt = hunt,
		.opts = fuzz_opts(seed),
		.hook = hook,
		.max_events = max_events,
	};
	struct fuzz_run split = whole;
	struct telegram_counters cw, cs;

	/* +1 so an empty array is still a valid pointer; the bound check
	 * uses max_events. */
	whole.events = calloc(max_events + 1, sizeof(struct fuzz_event));
	split.events = calloc(max_events + 1, sizeof(struct fuzz_event));
	fuzz_assert(whole.events && split.events);
	split.hook = NULL; /* the hook looks at content, which the hash compares */

	fuzz_feed(&whole, data, size, 0, &cw);
	fuzz_feed(&split, data, size, seed | 1, &cs);

	fuzz_assert(whole.n_events == split.n_events);
	for (size_t i = 0; i < whole.n_events; i++) {
		const struct fuzz_event *a = &whole.events[i], *b = &split.events[i];

		if (a->kind != b->kind || a->code != b->code || a->len != b->len || a->hash != b->hash) {
			fprintf(stderr, "frame %zu differs: whole %s %u len %u, split %s %u len %u\n", i,
				a->kind == FUZZ_ACCEPT ? "accept" : "reject", a->code, a->len,
				b->kind == FUZZ_ACCEPT ? "accept" : "reject", b->code, b->len);
			fuzz_fail(__FILE__, __LINE__, "whole and split feeding give the same frames");
		}
	}
	fuzz_assert(memcmp(cw.by_error, cs.by_error, sizeof(cw.by_error)) == 0);
	fuzz_assert(cw.noise_bytes == cs.noise_bytes);

	free(whole.events);
	free(split.events);
}
