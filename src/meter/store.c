/* SPDX-License-Identifier: MIT */
/*
 * The snapshot store (see store.h): current snapshot, generation, staleness,
 * a free list that makes publishing allocation-free once warm, and a watch
 * list that tolerates (un)registration from inside a notification.
 *
 * Not here: deciding what is stale enough to tell anybody (meter.c) or any
 * output format.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/meter/store.h"

/* Freed snapshots kept for reuse. Two cover the steady state (current + the one
 * being filled); the rest absorbs consumers that briefly hold references. */
#define STORE_FREE_MAX 4

struct store_watch {
	unsigned id;
	bool removed;
	store_watch_fn fn;
	void *userdata;
};

struct store {
	uint64_t max_age_usec;
	uint64_t allocations;

	struct snapshot *current;
	struct snapshot *live; /* every snapshot handed out and not yet released */
	struct snapshot *free; /* released, for reuse */
	unsigned n_free;

	struct store_watch *watches;
	size_t n_watches, allocated_watches;
	unsigned next_watch_id;
	unsigned notify_depth; /* > 0 while watchers are being called */
	bool watches_dirty;    /* an unwatch happened during a notification */
};

static void list_push(struct snapshot **head, struct snapshot *n)
{
	n->prev = NULL;
	n->next = *head;
	if (*head)
		(*head)->prev = n;
	*head = n;
}

static void list_remove(struct snapshot **head, struct snapshot *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		*head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

int store_new(uint64_t max_age_usec, struct store **ret)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->max_age_usec = max_age_usec;
	s->next_watch_id = 1;
	*ret = s;
	return 0;
}

struct store *store_free(struct store *s)
{
	struct snapshot *n;

	if (!s)
		return NULL;

	snapshot_unref(s->current);
	s->current = NULL;

	/* Consumers may still hold references: those snapshots outlive us and are
	 * freed by their last unref. */
	while ((n = s->live)) {
		list_remove(&s->live, n);
		n->owner = NULL;
	}
	while ((n = s->free)) {
		list_remove(&s->free, n);
		free(n);
	}

	free(s->watches);
	free(s);
	return NULL;
}

void store_set_max_age(struct store *s, uint64_t max_age_usec)
{
	s->max_age_usec = max_age_usec;
}

uint64_t store_get_max_age(const struct store *s)
{
	return s->max_age_usec;
}

static struct snapshot *snapshot_get(struct store *s)
{
	struct snapshot *n = s->free;

	if (n) {
		list_remove(&s->free, n);
		s->n_free--;
	} else {
		n = malloc(sizeof(*n));
		if (!n)
			return NULL;
		s->allocations++;
	}
	list_push(&s->live, n);
	return n;
}

/* Copy only what is in use: a telegram is a few hundred bytes of a 16 KiB text
 * buffer and a few dozen entries of the object and value tables. */
static void values_copy(struct reading *dst, const struct reading *src)
{
	uint16_t n_objects = MIN(src->n_objects, (uint16_t) READING_OBJECTS_MAX);
	uint16_t n_values = MIN(src->n_values, (uint16_t) READING_VALUES_MAX);
	uint16_t text_len = MIN(src->text_len, (uint16_t) READING_TEXT_MAX);

	memcpy(dst, src, offsetof(struct reading, objects));
	dst->n_objects = n_objects;
	dst->n_values = n_values;
	dst->text_len = text_len;
	memcpy(dst->objects, src->objects, n_objects * sizeof(src->objects[0]));
	memcpy(dst->values, src->values, n_values * sizeof(src->values[0]));
	memcpy(dst->text, src->text, text_len);
	if (text_len < READING_TEXT_MAX)
		dst->text[text_len] = '\0';
}

static void store_prune_watches(struct store *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_watches; i++)
		if (!s->watches[i].removed)
			s->watches[j++] = s->watches[i];
	s->n_watches = j;
	s->watches_dirty = false;
}

static void store_notify(struct store *s, struct snapshot *snap)
{
	/* Only the watchers present now; ones added by a callback wait for the
	 * next publish. Index, not pointer: a callback may grow the array. */
	size_t n = s->n_watches;

	snapshot_ref(snap); /* a watcher may publish again and replace it */
	s->notify_depth++;
	for (size_t i = 0; i < n; i++) {
		struct store_watch w = s->watches[i];

		if (!w.removed)
			w.fn(snap, w.userdata);
	}
	s->notify_depth--;
	if (s->notify_depth == 0 && s->watches_dirty)
		store_prune_watches(s);
	snapshot_unref(snap);
}

int store_publish(struct store *s, const struct reading *v, uint64_t mono_usec, uint64_t real_usec)
{
	struct snapshot *n = snapshot_get(s);

	if (!n)
		return -ENOMEM;

	n->generation = s->current ? s->current->generation + 1 : 1;
	n->mono_usec = mono_usec;
	n->real_usec = real_usec;
	n->refs = 1;
	n->owner = s;
	values_copy(&n->v, v);

	snapshot_unref(s->current);
	s->current = n;
	store_notify(s, n);
	return 0;
}

const struct snapshot *store_current(const struct store *s)
{
	return s->current;
}

uint64_t store_stale_at(const struct store *s)
{
	if (!s->current)
		return UINT64_MAX;
	if (s->max_age_usec >= UINT64_MAX - s->current->mono_usec)
		return UINT64_MAX;
	return s->current->mono_usec + s->max_age_usec + 1;
}

bool store_is_stale(const struct store *s, uint64_t now_mono_usec)
{
	return !s->current || now_mono_usec >= store_stale_at(s);
}

uint64_t store_allocations(const struct store *s)
{
	return s->allocations;
}

struct snapshot *snapshot_ref(const struct snapshot *snap)
{
	/* The count is bookkeeping, not content: snapshots stay immutable. */
	struct snapshot *n = (struct snapshot *) snap;

	if (n)
		n->refs++;
	return n;
}

struct snapshot *snapshot_unref(const struct snapshot *snap)
{
	struct snapshot *n = (struct snapshot *) snap;
	struct store *s;

	if (!n || --n->refs > 0)
		return NULL;

	s = n->owner;
	if (!s) {
		free(n);
		return NULL;
	}
	list_remove(&s->live, n);
	if (s->n_free >= STORE_FREE_MAX) {
		free(n);
		return NULL;
	}
	n->owner = NULL;
	list_push(&s->free, n);
	s->n_free++;
	return NULL;
}

int store_watch(struct store *s, store_watch_fn fn, void *userdata, unsigned *ret_id)
{
	if (s->n_watches == s->allocated_watches) {
		size_t m = s->allocated_watches ? s->allocated_watches * 2 : 4;
		struct store_watch *w = reallocarray(s->watches, m, sizeof(*w));

		if (!w)
			return -ENOMEM;
		s->watches = w;
		s->allocated_watches = m;
	}

	s->watches[s->n_watches++] = (struct store_watch){
		.id = s->next_watch_id,
		.fn = fn,
		.userdata = userdata,
	};
	if (ret_id)
		*ret_id = s->next_watch_id;
	s->next_watch_id++;
	return 0;
}

void store_unwatch(struct store *s, unsigned id)
{
	for (size_t i = 0; i < s->n_watches; i++) {
		if (s->watches[i].id != id || s->watches[i].removed)
			continue;
		s->watches[i].removed = true;
		if (s->notify_depth > 0)
			s->watches_dirty = true;
		else
			store_prune_watches(s);
		return;
	}
}
