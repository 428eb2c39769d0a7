/* SPDX-License-Identifier: MIT */
/*
 * Tests of the snapshot store: generations, staleness at exactly the max age,
 * what a snapshot holds, references that survive later publishes, watchers
 * (including (un)registration from inside a notification and nested
 * publishes), the free list (no allocation in steady state) and a store freed
 * while snapshots are still referenced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/store.h"
#include "tap.h"

#define SEC 1000000ULL

/* Too big for the stack of a test, and reused. */
static struct reading v1, v2;

static void fill(struct reading *v, const char *text, int64_t p)
{
	reading_reset(v);
	v->text_len = (uint16_t) strlen(text);
	memcpy(v->text, text, v->text_len);
	reading_set(v, READING_P, p);
	v->protocol = READING_PROTO_DSMR;
	v->interval_s = 1;
	snprintf(v->version, sizeof(v->version), "5.0");
	v->n_objects = 0;
	v->n_values = 0;
	reading_add_object(v, 0, 3);
	reading_add_value(v, 4, 2);
}

static void test_generations(void)
{
	struct store *s;

	tap_ok(store_new(5 * SEC, &s) == 0, "store_new");
	tap_ok(store_current(s) == NULL, "no snapshot before the first publish");
	tap_ok(store_is_stale(s, 0), "no data counts as stale");
	TAP_EQ_INT(store_stale_at(s) == UINT64_MAX, 1, "no stale time without data");

	fill(&v1, "abc(12)", 433 * READING_SCALE);
	for (uint64_t g = 1; g <= 3; g++) {
		tap_ok(store_publish(s, &v1, g * SEC, 1000 * g * SEC) == 0, "publish %llu",
		       (unsigned long long) g);
		TAP_EQ_INT(store_current(s)->generation, g, "generation");
		TAP_EQ_INT(store_current(s)->mono_usec, g * SEC, "mono time stamped");
		TAP_EQ_INT(store_current(s)->real_usec, 1000 * g * SEC, "real time stamped");
	}
	store_free(s);
}

static void test_staleness(void)
{
	struct store *s;

	store_new(5 * SEC, &s);
	TAP_EQ_INT(store_get_max_age(s), 5 * SEC, "max age");
	fill(&v1, "x", 0);
	store_publish(s, &v1, 100 * SEC, 0);

	tap_ok(!store_is_stale(s, 100 * SEC), "fresh at publish time");
	tap_ok(!store_is_stale(s, 105 * SEC - 1), "fresh just before max age");
	tap_ok(!store_is_stale(s, 105 * SEC), "fresh at exactly max age");
	tap_ok(store_is_stale(s, 105 * SEC + 1), "stale one microsecond after");
	TAP_EQ_INT(store_stale_at(s), 105 * SEC + 1, "stale_at is the first stale instant");

	store_set_max_age(s, 2 * SEC);
	tap_ok(store_is_stale(s, 103 * SEC), "a shorter max age applies at once");
	store_set_max_age(s, UINT64_MAX);
	tap_ok(!store_is_stale(s, UINT64_MAX - 1) && store_stale_at(s) == UINT64_MAX,
	       "an endless max age does not overflow");
	store_free(s);
}

static void test_contents(void)
{
	const struct snapshot *snap;
	struct store *s;

	store_new(5 * SEC, &s);

	memset(&v1, 'Z', sizeof(v1));
	fill(&v1, "1-0:1.7.0(00.433*kW)", 433 * READING_SCALE);
	store_publish(s, &v1, SEC, SEC);
	snap = store_current(s);
	tap_ok(snap->v.text_len == v1.text_len && memcmp(snap->v.text, v1.text, v1.text_len) == 0,
	       "text copied");
	tap_ok(snap->v.text[snap->v.text_len] == '\0', "text NUL-terminated");
	tap_ok(reading_has(&snap->v, READING_P) && snap->v.field[READING_P] == 433 * READING_SCALE,
	       "fields copied");
	TAP_EQ_STR(snap->v.version, "5.0", "version copied");
	tap_ok(snap->v.n_objects == 1 && snap->v.objects[0].id.len == 3 && snap->v.n_values == 1 &&
		   snap->v.values[0].off == 4,
	       "objects and values copied");

	/* A long frame, then a short one into recycled memory. */
	char long_text[2000];
	memset(long_text, 'L', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	fill(&v1, long_text, 1);
	store_publish(s, &v1, 2 * SEC, 0);
	fill(&v2, "short", 2);
	store_publish(s, &v2, 3 * SEC, 0);
	fill(&v2, "tiny", 3);
	store_publish(s, &v2, 4 * SEC, 0);
	snap = store_current(s);
	tap_ok(snap->v.text_len == 4 && strcmp(snap->v.text, "tiny") == 0,
	       "short text in reused memory ends where it should");
	store_free(s);
}

static void test_refs(void)
{
	struct snapshot *held;
	struct store *s;

	store_new(5 * SEC, &s);
	fill(&v1, "first", 1);
	store_publish(s, &v1, SEC, 0);
	held = snapshot_ref(store_current(s));

	for (int i = 0; i < 10; i++) {
		fill(&v2, "later telegram, longer than the first", 100 + i);
		store_publish(s, &v2, (uint64_t) (2 + i) * SEC, 0);
	}
	tap_ok(held->generation == 1 && strcmp(held->v.text, "first") == 0 && held->v.field[READING_P] == 1,
	       "a referenced snapshot survives later publishes unchanged");
	TAP_EQ_INT(store_current(s)->generation, 11, "current moved on");
	tap_ok(snapshot_unref(held) == NULL, "unref returns NULL");
	tap_ok(snapshot_unref(NULL) == NULL && snapshot_ref(NULL) == NULL, "NULL-safe ref/unref");

	/* A reference outliving the store stays valid and is freed by its unref. */
	held = snapshot_ref(store_current(s));
	store_free(s);
	TAP_EQ_INT(held->generation, 11, "snapshot valid after store_free");
	snapshot_unref(held);
	tap_ok(store_free(NULL) == NULL, "store_free(NULL)");
}

static void test_no_allocation(void)
{
	const struct snapshot *first, *second;
	struct snapshot *held;
	struct store *s;
	uint64_t warm;

	store_new(5 * SEC, &s);
	fill(&v1, "telegram", 1);
	store_publish(s, &v1, SEC, 0);
	first = store_current(s);
	store_publish(s, &v1, 2 * SEC, 0);
	second = store_current(s);
	store_publish(s, &v1, 3 * SEC, 0);
	tap_ok(store_current(s) == first, "the released snapshot is reused");
	store_publish(s, &v1, 4 * SEC, 0);
	tap_ok(store_current(s) == second, "and so on, alternating");

	warm = store_allocations(s);
	TAP_EQ_INT(warm, 2, "two snapshots allocated to get warm");
	for (uint64_t i = 0; i < 10000; i++)
		store_publish(s, &v1, (5 + i) * SEC, 0);
	TAP_EQ_INT(store_allocations(s), warm, "10000 publishes later: no new allocation");

	/* A consumer holding a reference for a while costs one more, once. */
	held = snapshot_ref(store_current(s));
	for (uint64_t i = 0; i < 100; i++)
		store_publish(s, &v1, (20000 + i) * SEC, 0);
	snapshot_unref(held);
	for (uint64_t i = 0; i < 100; i++)
		store_publish(s, &v1, (30000 + i) * SEC, 0);
	TAP_EQ_INT(store_allocations(s), warm + 1, "a held reference costs one allocation");
	store_free(s);
}

struct recorder {
	struct store *s;
	unsigned calls;
	uint64_t last_generation;
	unsigned id;
	unsigned other_id; /* unwatch this one from the callback, if set */
	bool unwatch_self;
	bool add_watch; /* register `added` from the callback */
	struct recorder *added;
	bool publish_again; /* publish from the callback, once */
};

static void on_snapshot(const struct snapshot *snap, void *userdata)
{
	struct recorder *r = userdata;

	r->calls++;
	r->last_generation = snap->generation;
	if (r->unwatch_self)
		store_unwatch(r->s, r->id);
	if (r->other_id) {
		store_unwatch(r->s, r->other_id);
		r->other_id = 0;
	}
	if (r->add_watch) {
		r->add_watch = false;
		store_watch(r->s, on_snapshot, r->added, &r->added->id);
	}
	if (r->publish_again) {
		r->publish_again = false;
		store_publish(r->s, &v2, 99 * SEC, 0);
		/* The snapshot we were given must still be intact. */
		r->last_generation = snap->generation;
	}
}

static void test_watchers(void)
{
	struct recorder a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct store *s;

	store_new(5 * SEC, &s);
	a.s = b.s = c.s = d.s = s;
	fill(&v1, "w", 1);
	fill(&v2, "nested", 2);

	tap_ok(store_watch(s, on_snapshot, &a, &a.id) == 0 && store_watch(s, on_snapshot, &b, &b.id) == 0,
	       "two watchers");
	tap_ok(a.id != b.id, "distinct ids");
	store_publish(s, &v1, SEC, 0);
	tap_ok(a.calls == 1 && b.calls == 1 && a.last_generation == 1 && b.last_generation == 1,
	       "both called with the new snapshot");

	/* a unwatches itself during the notification: called this time, never again. */
	a.unwatch_self = true;
	store_publish(s, &v1, 2 * SEC, 0);
	store_publish(s, &v1, 3 * SEC, 0);
	tap_ok(a.calls == 2 && b.calls == 3, "self-unwatch inside the callback (a %u, b %u)", a.calls,
	       b.calls);

	/* b removes c (registered after b) before c's turn: c is skipped. */
	store_watch(s, on_snapshot, &c, &c.id);
	b.other_id = c.id;
	store_publish(s, &v1, 4 * SEC, 0);
	tap_ok(b.calls == 4 && c.calls == 0, "a watcher removed during the walk is not called");
	store_publish(s, &v1, 5 * SEC, 0);
	TAP_EQ_INT(c.calls, 0, "and stays removed");

	/* b adds d during the walk: d starts with the next publish. */
	b.add_watch = true;
	b.added = &d;
	store_publish(s, &v1, 6 * SEC, 0);
	TAP_EQ_INT(d.calls, 0, "a watcher added during the walk waits for the next publish");
	store_publish(s, &v1, 7 * SEC, 0);
	tap_ok(d.calls == 1 && d.last_generation == 7, "and gets that one");

	/* A watcher that publishes: everybody sees both, in order, nothing breaks. */
	unsigned before_b = b.calls, before_d = d.calls;
	b.publish_again = true;
	store_publish(s, &v1, 8 * SEC, 0);
	tap_ok(b.calls == before_b + 2 && d.calls == before_d + 2, "nested publish notifies again");
	TAP_EQ_INT(store_current(s)->generation, 9, "nested publish is the current one");
	TAP_EQ_STR(store_current(s)->v.text, "nested", "with its values");

	store_unwatch(s, 12345);
	tap_ok(true, "unknown id ignored");
	store_unwatch(s, b.id);
	store_unwatch(s, d.id);
	store_publish(s, &v1, 10 * SEC, 0);
	tap_ok(b.calls == before_b + 2 && d.calls == before_d + 2, "unwatched outside a notification");
	store_free(s);
}

int main(void)
{
	test_generations();
	test_staleness();
	test_contents();
	test_refs();
	test_no_allocation();
	test_watchers();
	return tap_done();
}
