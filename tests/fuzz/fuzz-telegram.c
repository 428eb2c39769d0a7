/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the whole input path of smartconnect-decode and the
 * daemon: the framer hunting for every protocol at once, and each accepted
 * frame turned into its JSON line. The JSON must serialise, parse back to the
 * same value, list every object of the frame, and be null exactly where the
 * snapshot field is unknown.
 */
#include <jansson.h>

#include "fuzz-framer.h"
#include "smartconnectd/outputs/reading-json.h"

/* Key in the object, null iff the field is unknown, a number otherwise. */
static void check_field(json_t *obj, const char *key, const struct reading *v, enum reading_field f)
{
	json_t *j = json_object_get(obj, key);

	fuzz_assert(j);
	if (reading_has(v, f))
		fuzz_assert(json_is_number(j));
	else
		fuzz_assert(json_is_null(j));
}

/* Active power under "P"; apparent power (VA) under "S" with "P" null. */
static void check_power(json_t *obj, const struct reading *v, enum reading_field f)
{
	if (v->flags & READING_FLAG_P_APPARENT) {
		fuzz_assert(json_is_null(json_object_get(obj, "P")));
		check_field(obj, "S", v, f);
	} else {
		check_field(obj, "P", v, f);
		fuzz_assert(!json_object_get(obj, "S"));
	}
}

static void check_phase(json_t *root, const char *key, const struct reading *v, enum reading_field u,
			enum reading_field i, enum reading_field p)
{
	json_t *l = json_object_get(root, key);

	fuzz_assert(json_is_object(l));
	check_field(l, "U", v, u);
	check_field(l, "I", v, i);
	check_power(l, v, p);
}

/* An M-Bus kind is an object exactly when the frame has a live channel of it. */
static void check_mbus(json_t *root, const struct reading *v)
{
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++) {
		json_t *m = json_object_get(root, reading_mbus_kind_to_string(k));

		fuzz_assert(!m == !v->mbus[k].channel);
		if (m)
			fuzz_assert(json_is_number(json_object_get(m, "value")) &&
				    json_integer_value(json_object_get(m, "channel")) == v->mbus[k].channel);
	}
}

static void check_json(const struct reading *v, const struct decode_opts *o)
{
	json_t *j, *back, *objects;
	json_error_t error;
	char *s;

	j = reading_json_telegram(v, o);
	fuzz_assert(j); /* NULL only on OOM */

	check_power(j, v, READING_P);
	check_mbus(j, v);
	check_field(j, "E_IMPORT", v, READING_E_IMPORT);
	check_field(j, "E_EXPORT", v, READING_E_EXPORT);
	check_field(j, "U12", v, READING_U12);
	check_field(j, "U31", v, READING_U31);
	check_field(j, "U32", v, READING_U32);
	check_phase(j, "l1", v, READING_U1, READING_I1, READING_P1);
	check_phase(j, "l2", v, READING_U2, READING_I2, READING_P2);
	check_phase(j, "l3", v, READING_U3, READING_I3, READING_P3);
	fuzz_assert(json_is_object(json_object_get(j, "meter")));

	objects = json_object_get(j, "objects");
	fuzz_assert(json_is_array(objects));
	fuzz_assert(json_array_size(objects) == v->n_objects);

	/* The frame text may hold any 7-bit byte, NUL included: a consumer's
	 * parser must get it back, so allow the escaped NUL when reading. */
	s = json_dumps(j, JSON_COMPACT);
	fuzz_assert(s);
	back = json_loads(s, JSON_ALLOW_NUL, &error);
	if (!back) {
		fprintf(stderr, "json_loads: %s at %d: %s\n", error.text, error.position, s);
		fuzz_fail(__FILE__, __LINE__, "reading_json output parses back");
	}
	fuzz_assert(json_equal(j, back));

	json_decref(back);
	free(s);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_framer(data, size, TELEGRAM_HUNT_ALL, check_json);
	return 0;
}
