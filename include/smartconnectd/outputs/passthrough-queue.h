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
 * Pure. No I/O. Never logs. Allocates only in passthrough_chunk_new().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smartconnectd/base/macro.h"

enum passthrough_chunk_kind {
	PASSTHROUGH_CHUNK_NOISE,    /* bytes outside any frame */
	PASSTHROUGH_CHUNK_ACCEPTED, /* a frame that passed its CRC or checksums */
	PASSTHROUGH_CHUNK_REJECTED, /* a frame the framer rejected */
	_PASSTHROUGH_CHUNK_KIND_MAX,
};

struct passthrough_chunk {
	unsigned refs;
	enum passthrough_chunk_kind kind;
	uint64_t offset; /* stream offset of data[0] */
	size_t len;
	uint8_t data[];
};

/* A chunk holding a copy of data, with one reference for the caller. NULL on OOM. */
struct passthrough_chunk *passthrough_chunk_new(enum passthrough_chunk_kind kind, uint64_t offset,
						const void *data, size_t len);
/* Drop one reference; the last frees. NULL-safe, returns NULL. */
struct passthrough_chunk *passthrough_chunk_unref(struct passthrough_chunk *c);

static inline bool passthrough_chunk_is_frame(const struct passthrough_chunk *c)
{
	return c->kind != PASSTHROUGH_CHUNK_NOISE;
}

/* Slots per queue: also bounds a flood of tiny noise chunks. */
#define PASSTHROUGH_QUEUE_SLOTS 256

struct passthrough_queue {
	struct passthrough_chunk *slot[PASSTHROUGH_QUEUE_SLOTS];
	unsigned head, n;
	size_t done;  /* bytes of the head chunk already written */
	size_t bytes; /* unwritten bytes queued */
	size_t limit; /* at most this many unwritten bytes */
};

/* An empty queue holding at most limit unwritten bytes. */
void passthrough_queue_init(struct passthrough_queue *q, size_t limit);
/* Drop every reference. */
void passthrough_queue_clear(struct passthrough_queue *q);

/* Take a reference to c when it fits (an empty queue takes any chunk). False:
 * not taken, the caller counts the drop. */
bool passthrough_queue_push(struct passthrough_queue *q, struct passthrough_chunk *c);

static inline bool passthrough_queue_empty(const struct passthrough_queue *q)
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
typedef ssize_t (*passthrough_queue_write_fn)(const void *buf, size_t n, void *userdata);
int passthrough_queue_flush(struct passthrough_queue *q, passthrough_queue_write_fn write_fn, void *userdata,
			    uint64_t *ret_frames, uint64_t *ret_bytes);
