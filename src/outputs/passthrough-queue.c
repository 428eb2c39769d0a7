/* SPDX-License-Identifier: MIT */
/*
 * Passthrough chunks and queues (see passthrough-queue.h): a ring of chunk references
 * with a byte budget.
 *
 * Pure. No I/O. Never logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/outputs/passthrough-queue.h"

struct passthrough_chunk *passthrough_chunk_new(enum passthrough_chunk_kind kind, uint64_t offset,
						const void *data, size_t len)
{
	struct passthrough_chunk *c = malloc(sizeof(*c) + len);

	if (!c)
		return NULL;
	c->refs = 1;
	c->kind = kind;
	c->offset = offset;
	c->len = len;
	memcpy(c->data, data, len);
	return c;
}

struct passthrough_chunk *passthrough_chunk_unref(struct passthrough_chunk *c)
{
	if (c && --c->refs == 0)
		free(c);
	return NULL;
}

void passthrough_queue_init(struct passthrough_queue *q, size_t limit)
{
	*q = (struct passthrough_queue){ .limit = limit };
}

void passthrough_queue_clear(struct passthrough_queue *q)
{
	while (q->n > 0) {
		(void) passthrough_chunk_unref(q->slot[q->head]);
		q->head = (q->head + 1) % PASSTHROUGH_QUEUE_SLOTS;
		q->n--;
	}
	q->head = 0;
	q->done = 0;
	q->bytes = 0;
}

bool passthrough_queue_push(struct passthrough_queue *q, struct passthrough_chunk *c)
{
	if (c->len == 0)
		return true;
	if (q->n == PASSTHROUGH_QUEUE_SLOTS || (q->n > 0 && q->bytes + c->len > q->limit))
		return false;

	c->refs++;
	q->slot[(q->head + q->n) % PASSTHROUGH_QUEUE_SLOTS] = c;
	q->n++;
	q->bytes += c->len;
	return true;
}

int passthrough_queue_flush(struct passthrough_queue *q, passthrough_queue_write_fn write_fn, void *userdata,
			    uint64_t *ret_frames, uint64_t *ret_bytes)
{
	while (q->n > 0) {
		struct passthrough_chunk *c = q->slot[q->head];
		ssize_t k = write_fn(c->data + q->done, c->len - q->done, userdata);

		if (k <= 0)
			return k < 0 ? (int) k : -EAGAIN;

		q->done += (size_t) k;
		q->bytes -= (size_t) k;
		if (ret_bytes)
			*ret_bytes += (uint64_t) k;
		if (q->done < c->len)
			continue;

		if (ret_frames && passthrough_chunk_is_frame(c))
			(*ret_frames)++;
		q->done = 0;
		q->head = (q->head + 1) % PASSTHROUGH_QUEUE_SLOTS;
		q->n--;
		(void) passthrough_chunk_unref(c);
	}
	q->head = 0;
	return 0;
}
