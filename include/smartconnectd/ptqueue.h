/* SPDX-License-Identifier: MIT */
/*
 * Shared, refcounted chunks of the meter's byte stream and the bounded queue
 * each passthrough output keeps of them. A chunk is one unit of the stream: a
 * whole frame (accepted or rejected) or a run of noise between frames. Every
 * output queues references to the same chunk, never a copy.
 *
 * A queue takes a chunk whole or not at all, and a chunk it started to write is
 * always finished before the next one: a slow reader loses whole telegrams and
 * never sees half of one spliced onto the next.
 *
 * Pure. No I/O. Never logs. Allocates only in ptchunk_new().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smartconnectd/macro.h"

enum ptchunk_kind {
	PTCHUNK_NOISE,    /* bytes outside any frame */
	PTCHUNK_ACCEPTED, /* a frame that passed its CRC or checksums */
	PTCHUNK_REJECTED, /* a frame the framer rejected */
	_PTCHUNK_KIND_MAX,
};

struct ptchunk {
	unsigned refs;
	enum ptchunk_kind kind;
	uint64_t offset; /* stream offset of data[0] */
	size_t len;
	uint8_t data[];
};

/* A chunk holding a copy of data, with one reference for the caller. NULL on OOM. */
struct ptchunk *ptchunk_new(enum ptchunk_kind kind, uint64_t offset, const void *data, size_t len);
/* Drop one reference; the last frees. NULL-safe, returns NULL. */
struct ptchunk *ptchunk_unref(struct ptchunk *c);

static inline bool ptchunk_is_frame(const struct ptchunk *c)
{
	return c->kind != PTCHUNK_NOISE;
}

/* Slots per queue: also bounds a flood of tiny noise chunks. */
#define PTQUEUE_SLOTS 256

struct ptqueue {
	struct ptchunk *slot[PTQUEUE_SLOTS];
	unsigned head, n;
	size_t done;  /* bytes of the head chunk already written */
	size_t bytes; /* unwritten bytes queued */
	size_t limit; /* at most this many unwritten bytes */
};

/* An empty queue holding at most limit unwritten bytes. */
void ptqueue_init(struct ptqueue *q, size_t limit);
/* Drop every reference. */
void ptqueue_clear(struct ptqueue *q);

/* Take a reference to c when it fits (an empty queue takes any chunk). False:
 * not taken, the caller counts the drop. */
bool ptqueue_push(struct ptqueue *q, struct ptchunk *c);

static inline bool ptqueue_empty(const struct ptqueue *q)
{
	return q->n == 0;
}

/*
 * Write what is queued through write_fn until it is all written or write_fn
 * returns 0 or a negative errno (-EAGAIN: try again later). write_fn returns
 * the number of bytes it took (at least 1 to make progress). ret_frames (may
 * be NULL) is increased by the frames finished, ret_bytes by the bytes written.
 * Returns 0 when the queue is empty, -EAGAIN when bytes remain, or the error.
 */
typedef ssize_t (*ptqueue_write_fn)(const void *buf, size_t n, void *userdata);
int ptqueue_flush(struct ptqueue *q, ptqueue_write_fn write_fn, void *userdata, uint64_t *ret_frames,
		  uint64_t *ret_bytes);
