/* SPDX-License-Identifier: MIT */
/*
 * Passthrough chunks and queues (see ptqueue.h): a ring of chunk references
 * with a byte budget.
 *
 * Pure. No I/O. Never logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/ptqueue.h"

struct ptchunk *ptchunk_new(enum ptchunk_kind kind, uint64_t offset, const void *data, size_t len)
{
	struct ptchunk *c = malloc(sizeof(*c) + len);

	if (!c)
		return NULL;
	c->refs = 1;
	c->kind = kind;
	c->offset = offset;
	c->len = len;
	memcpy(c->data, data, len);
	return c;
}

struct ptchunk *ptchunk_unref(struct ptchunk *c)
{
	if (c && --c->refs == 0)
		free(c);
	return NULL;
}

void ptqueue_init(struct ptqueue *q, size_t limit)
{
	*q = (struct ptqueue){ .limit = limit };
}

void ptqueue_clear(struct ptqueue *q)
{
	while (q->n > 0) {
		(void) ptchunk_unref(q->slot[q->head]);
		q->head = (q->head + 1) % PTQUEUE_SLOTS;
		q->n--;
	}
	q->head = 0;
	q->done = 0;
	q->bytes = 0;
}

bool ptqueue_push(struct ptqueue *q, struct ptchunk *c)
{
	if (c->len == 0)
		return true;
	if (q->n == PTQUEUE_SLOTS || (q->n > 0 && q->bytes + c->len > q->limit))
		return false;

	c->refs++;
	q->slot[(q->head + q->n) % PTQUEUE_SLOTS] = c;
	q->n++;
	q->bytes += c->len;
	return true;
}

int ptqueue_flush(struct ptqueue *q, ptqueue_write_fn write_fn, void *userdata, uint64_t *ret_frames,
		  uint64_t *ret_bytes)
{
	while (q->n > 0) {
		struct ptchunk *c = q->slot[q->head];
		ssize_t k = write_fn(c->data + q->done, c->len - q->done, userdata);

		if (k <= 0)
			return k < 0 ? (int) k : -EAGAIN;

		q->done += (size_t) k;
		q->bytes -= (size_t) k;
		if (ret_bytes)
			*ret_bytes += (uint64_t) k;
		if (q->done < c->len)
			continue;

		if (ret_frames && ptchunk_is_frame(c))
			(*ret_frames)++;
		q->done = 0;
		q->head = (q->head + 1) % PTQUEUE_SLOTS;
		q->n--;
		(void) ptchunk_unref(c);
	}
	q->head = 0;
	return 0;
}
