/* SPDX-License-Identifier: MIT */
/*
 * The one shared view of the meter: the snapshot of the last accepted telegram.
 *
 * Snapshots are immutable and reference counted. store_publish() fills a new
 * one, makes it current and tells the watchers; consumers that need a
 * consistent view across asynchronous work take a reference. Each snapshot
 * carries a generation (+1 per publish), so consumers can skip work when
 * nothing changed, and the monotonic time of its telegram, for staleness.
 *
 * Publishing does not allocate in steady state: released snapshots go back to a
 * small free list and are reused. Only the used part of the frame text (and of
 * the object and value tables) is copied.
 *
 * Single threaded, loop only. Pure: no I/O, no logging; time is passed in.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/reading.h"

struct store;

struct snapshot {
	uint64_t generation; /* +1 per accepted telegram, from 1 */
	uint64_t mono_usec;  /* CLOCK_MONOTONIC when the telegram completed */
	uint64_t real_usec;  /* CLOCK_REALTIME at the same moment, for humans */

	/* private: use snapshot_ref/unref */
	unsigned refs;
	struct store *owner;          /* NULL once the store is gone */
	struct snapshot *prev, *next; /* owner's list of live or free snapshots */

	/* Plain data, no pointers. Entries past n_objects, n_values and text_len
	 * are unspecified (text is NUL-terminated when it is shorter than text[]). */
	struct reading v;
};

/* Called with a borrowed snapshot, valid for the duration of the call. */
typedef void (*store_watch_fn)(const struct snapshot *snap, void *userdata);

/* Snapshots older than max_age_usec are stale. -ENOMEM or 0. Owned by the caller. */
int store_new(uint64_t max_age_usec, struct store **ret);
/* NULL-safe, returns NULL. Snapshots still referenced elsewhere stay valid
 * until their last unref. */
struct store *store_free(struct store *s);
DEFINE_FREEP(struct store, store_free)

void store_set_max_age(struct store *s, uint64_t max_age_usec);
uint64_t store_get_max_age(const struct store *s);

/* Copy v into a new current snapshot stamped with the given times, then call
 * the watchers. Returns 0, or -ENOMEM (the current snapshot is unchanged). */
int store_publish(struct store *s, const struct reading *v, uint64_t mono_usec, uint64_t real_usec);

/* Borrowed, valid until the next store_publish(); ref it to keep it longer.
 * NULL before the first publish. */
const struct snapshot *store_current(const struct store *s);

/* True when there is no snapshot or now - mono_usec > max age. Exactly at the
 * max age the data still counts as fresh. */
bool store_is_stale(const struct store *s, uint64_t now_mono_usec);

/* When the current snapshot turns stale (first instant store_is_stale() is
 * true); UINT64_MAX when there is none. */
uint64_t store_stale_at(const struct store *s);

/* Snapshots allocated over the store's life: flat in steady state. */
uint64_t store_allocations(const struct store *s);

struct snapshot *snapshot_ref(const struct snapshot *snap);
struct snapshot *snapshot_unref(const struct snapshot *snap); /* NULL-safe, returns NULL */

/* Register a watcher; *ret_id identifies it for store_unwatch(). Watchers added
 * during a notification are first called on the next publish. -ENOMEM or 0. */
int store_watch(struct store *s, store_watch_fn fn, void *userdata, unsigned *ret_id);
/* Safe from inside a notification, also for the watcher being called. Unknown
 * ids are ignored. */
void store_unwatch(struct store *s, unsigned id);
