/* SPDX-License-Identifier: MIT */
/*
 * proto_tic_decode() and proto_tic_unit(): the checksum examples of
 * tic-enedis.md §3, every capture in $TESTDATA/tic against its sidecar, the
 * damaged captures in $TESTDATA/bad, and hand-made hostile frames.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"
#include "tap.h"

#define NOW INT64_C(1700000000)
#define STX "\x02"
#define ETX "\x03"

static struct reading V;
static enum telegram_error err;
static char detail[TELEGRAM_DETAIL_MAX];

static int decode_with(const void *buf, size_t n, const struct decode_opts *o)
{
	if (n > READING_TEXT_MAX)
		n = READING_TEXT_MAX;
	memset(&V, 0xa5, sizeof(V)); /* the decoder must not rely on a clean struct */
	memcpy(V.text, buf, n);
	V.text_len = (uint16_t) n;
	err = _TELEGRAM_ERR_MAX;
	detail[0] = '\0';
	return proto_tic_decode(&V, o, NOW, &err, detail);
}

static int decode(const void *buf, size_t n)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;

	return decode_with(buf, n, &o);
}

/* ---- frame builder ---------------------------------------------------- */

struct fb {
	char buf[READING_TEXT_MAX];
	size_t n;
	char sep;
};

static char ref_checksum(const char *s, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (unsigned char) s[i];
	return (char) ((sum & 0x3f) + 0x20);
}

static void fb_raw(struct fb *f, const char *s, size_t n)
{
	if (f->n + n > sizeof(f->buf)) {
		tap_diag("frame builder overflow");
		abort();
	}
	memcpy(f->buf + f->n, s, n);
	f->n += n;
}

static void fb_str(struct fb *f, const char *s)
{
	fb_raw(f, s, strlen(s));
}

static void fb_begin(struct fb *f, char sep)
{
	f->n = 0;
	f->sep = sep;
	fb_str(f, STX);
}

static void fb_end(struct fb *f)
{
	fb_str(f, ETX);
}

/* One group; cs = 0 computes the checksum with the mode's method. */
static char fb_group_cs(struct fb *f, const char *label, const char *stamp, const char *data, char cs)
{
	size_t start;

	fb_str(f, "\n");
	start = f->n;
	fb_str(f, label);
	fb_raw(f, &f->sep, 1);
	if (stamp) {
		fb_str(f, stamp);
		fb_raw(f, &f->sep, 1);
	}
	fb_str(f, data);
	fb_raw(f, &f->sep, 1);
	/* Method 2 (standard) includes the separator just written, method 1 does not. */
	if (!cs)
		cs = ref_checksum(f->buf + start, f->n - start - (f->sep == ' '));
	fb_raw(f, &cs, 1);
	fb_str(f, "\r");
	return cs;
}

static void fb_group(struct fb *f, const char *label, const char *stamp, const char *data)
{
	fb_group_cs(f, label, stamp, data, 0);
}

static int fb_decode(const struct fb *f)
{
	return decode(f->buf, f->n);
}

/* ---- helpers on the result -------------------------------------------- */

static bool span_is(const struct reading *v, struct reading_span s, const char *want)
{
	size_t n = want ? strlen(want) : 0;

	return s.len == n && (size_t) s.off + s.len <= v->text_len &&
	       (n == 0 || memcmp(v->text + s.off, want, n) == 0);
}

/* Label, stamp and data of object i, or empty spans when there is no object i. */
static struct reading_span obj_id(const struct reading *v, unsigned i)
{
	return i < v->n_objects ? v->objects[i].id : (struct reading_span){ 0, 0 };
}

static struct reading_span obj_stamp(const struct reading *v, unsigned i)
{
	return i < v->n_objects ? v->objects[i].stamp : (struct reading_span){ 0, 0 };
}

static struct reading_span obj_data(const struct reading *v, unsigned i)
{
	if (i >= v->n_objects || v->objects[i].count != 1 || v->objects[i].first >= v->n_values)
		return (struct reading_span){ 0, 0 };
	return v->values[v->objects[i].first];
}

static bool field_is(const struct reading *v, enum reading_field f, int64_t micro)
{
	return reading_has(v, f) && v->field[f] == micro;
}

static const char *error_name(enum telegram_error e)
{
	static const char *const names[_TELEGRAM_ERR_MAX] = {
		[TELEGRAM_ERR_CRC] = "crc",
		[TELEGRAM_ERR_CRC_MISSING] = "crc-missing",
		[TELEGRAM_ERR_CHECKSUM] = "checksum",
		[TELEGRAM_ERR_SYNTAX] = "syntax",
		[TELEGRAM_ERR_LINE_TOO_LONG] = "line-too-long",
		[TELEGRAM_ERR_TOO_LONG] = "too-long",
		[TELEGRAM_ERR_TRUNCATED] = "truncated",
		[TELEGRAM_ERR_INTERRUPTED] = "interrupted",
		[TELEGRAM_ERR_EMPTY] = "empty",
		[TELEGRAM_ERR_NO_KEY] = "no-key",
		[TELEGRAM_ERR_WRONG_KEY] = "wrong-key",
		[TELEGRAM_ERR_LENGTH] = "length",
		[TELEGRAM_ERR_REPLAY] = "replay",
	};

	return (unsigned) e < _TELEGRAM_ERR_MAX ? names[e] : "none";
}

static void expect_reject(int r, enum telegram_error want, const char *what)
{
	tap_ok(r == -EBADMSG && err == want, "%s: rejected as %s (got %d, %s: %s)", what, error_name(want), r,
	       error_name(err), detail);
}

/* Everything a rejected or accepted frame leaves must stay inside the arrays. */
static bool spans_in_bounds(const struct reading *v)
{
	if (v->n_objects > READING_OBJECTS_MAX || v->n_values > READING_VALUES_MAX)
		return false;
	for (unsigned i = 0; i < v->n_objects; i++) {
		const struct reading_object *o = &v->objects[i];

		if (o->id.off + o->id.len > v->text_len || o->stamp.off + o->stamp.len > v->text_len ||
		    o->first + o->count > v->n_values)
			return false;
	}
	for (unsigned i = 0; i < v->n_values; i++)
		if (v->values[i].off + v->values[i].len > v->text_len)
			return false;
	return true;
}

/* ---- §3 worked examples ----------------------------------------------- */

static void test_checksum_examples(void)
{
	static const struct {
		char sep;
		const char *label, *stamp, *data;
		char cs;
	} ex[] = {
		{ ' ', "IINST", NULL, "001", 'X' },
		{ ' ', "ADCO", NULL, "021528603314", ':' },
		{ ' ', "HCHP", NULL, "001742238", '.' },
		{ ' ', "PTEC", NULL, "HP..", ' ' },
		{ '\t', "IRMS1", NULL, "007", '5' },
		{ '\t', "URMS1", NULL, "239", 'H' },
		{ '\t', "EAST", NULL, "099765794", 'G' },
		{ '\t', "STGE", NULL, "013A0000", ':' },
		{ '\t', "DATE", "E240924225642", "", 'H' },
		{ '\t', "SMAXSN", "E240924022201", "05125", '3' },
		{ '\t', "NGTF", NULL, "     TEMPO      ", 'F' },
	};

	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		struct fb f;
		char wrong = (char) (ex[i].cs == 0x5f ? 0x20 : ex[i].cs + 1), want[32];
		int r;

		fb_begin(&f, ex[i].sep);
		fb_group_cs(&f, ex[i].label, ex[i].stamp, ex[i].data, ex[i].cs);
		fb_end(&f);
		r = fb_decode(&f);
		tap_ok(r == 0 && V.n_objects == 1 && span_is(&V, obj_data(&V, 0), ex[i].data) &&
			   span_is(&V, obj_id(&V, 0), ex[i].label),
		       "checksum example %s '%c' accepted (%d %s)", ex[i].label, ex[i].cs, r, detail);

		fb_begin(&f, ex[i].sep);
		fb_group_cs(&f, ex[i].label, ex[i].stamp, ex[i].data, wrong);
		fb_end(&f);
		r = fb_decode(&f);
		snprintf(want, sizeof(want), "computed '%c'", ex[i].cs);
		tap_ok(r == -EBADMSG && err == TELEGRAM_ERR_CHECKSUM && strstr(detail, want) &&
			   strstr(detail, ex[i].label),
		       "checksum example %s with '%c' rejected: %s", ex[i].label, wrong, detail);
	}
}

/* ---- captures and sidecars -------------------------------------------- */

static int64_t value_of(json_t *entry)
{
	const char *s = json_string_value(json_object_get(entry, "value"));

	return s ? strtoll(s, NULL, 10) : -1;
}

/*
 * The objects must be the sidecar's groups, in order, with the checksum that
 * followed each data field still in place behind it.
 */
static void check_groups(const struct reading *v, json_t *groups, char sep, const char *name)
{
	size_t n = json_array_size(groups), bad = 0;

	for (size_t i = 0; i < n && i < v->n_objects; i++) {
		json_t *g = json_array_get(groups, i);
		const struct reading_object *o = &v->objects[i];
		const char *label = json_string_value(json_array_get(g, 0));
		const char *stamp = json_string_value(json_array_get(g, 1));
		const char *data = json_string_value(json_array_get(g, 2));
		const char *cs = json_string_value(json_array_get(g, 3));
		struct reading_span d = v->values[o->first];
		bool ok = o->count == 1 && span_is(v, o->id, label) && span_is(v, o->stamp, stamp) &&
			  span_is(v, d, data) && v->text[d.off + d.len] == sep &&
			  v->text[d.off + d.len + 1] == cs[0];

		if (!ok && bad++ < 3)
			tap_diag("%s: group %zu (%s) differs", name, i, label);
	}
	tap_ok(bad == 0 && v->n_objects == n, "%s: %zu groups match the sidecar (decoded %u)", name, n,
	       v->n_objects);
}

/* Expected UTC of a horodate, computed with libc instead of meter-time.c. */
static int64_t horodate_utc(const char *h, int std_offset_min)
{
	struct tm tm = { 0 };

	if (sscanf(h + 1, "%2d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return -1;
	tm.tm_year += 100;
	tm.tm_mon -= 1;
	return (int64_t) timegm(&tm) - std_offset_min * 60 - (h[0] == 'E' ? 3600 : 0);
}

static void check_historique(const struct reading *v, json_t *sum, const char *name)
{
	json_t *idx = json_object_get(sum, "indexes"), *cur = json_object_get(sum, "currents");
	json_t *papp = json_object_get(json_object_get(sum, "powers"), "PAPP"), *e;
	const char *key, *id = json_string_value(json_object_get(sum, "meter_address_ADCO"));
	int64_t total = 0;
	bool three = json_object_get(cur, "IINST1") != NULL;

	json_object_foreach (idx, key, e) {
		total += value_of(e) * 1000;
	}
	tap_ok(id && strcmp(v->id, id) == 0, "%s: id = ADCO %s", name, v->id);
	tap_ok(v->protocol == READING_PROTO_TIC_HISTORIQUE && strcmp(v->version, "historique") == 0 &&
		   v->interval_s == 3,
	       "%s: historique mode", name);
	tap_ok(json_object_size(idx) ? field_is(v, READING_E_IMPORT, total)
				     : !reading_has(v, READING_E_IMPORT),
	       "%s: E_IMPORT = sum of %zu indexes = %" PRId64, name, json_object_size(idx), total);
	tap_ok(papp ? field_is(v, READING_P, value_of(papp) * READING_SCALE) &&
			  (v->flags & READING_FLAG_P_APPARENT)
		    : !reading_has(v, READING_P),
	       "%s: P = +PAPP", name);
	tap_ok(v->ts == NOW && (v->flags & READING_FLAG_TS_HOST), "%s: ts is host time", name);
	tap_ok(!(v->valid & (1u << READING_E_EXPORT | 1u << READING_U1 | 1u << READING_U2 | 1u << READING_U3 |
			     1u << READING_U12 | 1u << READING_U31 | 1u << READING_U32)),
	       "%s: no export, no voltage", name);
	if (three) {
		bool ok = (v->flags & READING_FLAG_I_UNSIGNED) && !reading_has(v, READING_P1) &&
			  !reading_has(v, READING_P2) && !reading_has(v, READING_P3);
		const char *lab[3] = { "IINST1", "IINST2", "IINST3" };

		for (int i = 0; i < 3; i++)
			ok &= field_is(v, (enum reading_field)(READING_I1 + i),
				       value_of(json_object_get(cur, lab[i])) * READING_SCALE);
		tap_ok(ok, "%s: I1..I3 = IINST1..3 unsigned, P1..P3 null", name);
	} else {
		tap_ok(
		    field_is(v, READING_I1, value_of(json_object_get(cur, "IINST")) * READING_SCALE) &&
			(v->flags & READING_FLAG_I_UNSIGNED) && !reading_has(v, READING_I2) &&
			(papp ? field_is(v, READING_P1, v->field[READING_P]) : !reading_has(v, READING_P1)),
		    "%s: I1 = IINST unsigned, P1 = P", name);
	}
}

static int64_t micro_of(json_t *group, const char *label, int64_t scale)
{
	json_t *e = json_object_get(group, label);

	return e ? value_of(e) * scale : INT64_MIN;
}

static bool field_is_opt(const struct reading *v, enum reading_field f, int64_t micro)
{
	return micro == INT64_MIN ? !reading_has(v, f) : field_is(v, f, micro);
}

static void check_standard_phases(const struct reading *v, json_t *sum, bool prod, bool inj, const char *name)
{
	json_t *cur = json_object_get(sum, "currents"), *volt = json_object_get(sum, "voltages");
	json_t *pow = json_object_get(sum, "powers");
	bool three = json_object_get(cur, "IRMS2") || json_object_get(volt, "URMS2") ||
		     json_object_get(pow, "SINSTS1");
	static const char *const u[3] = { "URMS1", "URMS2", "URMS3" },
				 *const i[3] = { "IRMS1", "IRMS2", "IRMS3" },
				 *const s[3] = { "SINSTS1", "SINSTS2", "SINSTS3" };
	bool ok = true;

	if (!three) {
		int64_t i1 = micro_of(cur, "IRMS1", READING_SCALE);

		tap_ok(field_is(v, READING_U1, micro_of(volt, "URMS1", READING_SCALE)) &&
			   field_is(v, READING_I1, inj ? -i1 : i1) && !(v->flags & READING_FLAG_I_UNSIGNED) &&
			   (reading_has(v, READING_P) ? field_is(v, READING_P1, v->field[READING_P])
						      : !reading_has(v, READING_P1)) &&
			   !reading_has(v, READING_U2) && !reading_has(v, READING_I3) &&
			   !reading_has(v, READING_P2),
		       "%s: single phase U1, signed I1, P1 = P", name);
		return;
	}
	for (int k = 0; k < 3; k++) {
		int64_t p = micro_of(pow, s[k], READING_SCALE);

		ok &= field_is_opt(v, (enum reading_field)(READING_U1 + k),
				   micro_of(volt, u[k], READING_SCALE));
		ok &=
		    field_is_opt(v, (enum reading_field)(READING_I1 + k), micro_of(cur, i[k], READING_SCALE));
		ok &= field_is_opt(v, (enum reading_field)(READING_P1 + k), prod || inj ? INT64_MIN : p);
	}
	tap_ok(ok && (v->flags & READING_FLAG_I_UNSIGNED), "%s: three phases U, unsigned I, P = SINSTSx",
	       name);
}

static void check_standard(const struct reading *v, json_t *sum, const char *name)
{
	json_t *idx = json_object_get(sum, "indexes"), *pow = json_object_get(sum, "powers");
	const char *id = json_string_value(json_object_get(sum, "meter_address_ADSC"));
	const char *date = json_string_value(json_object_get(json_object_get(sum, "DATE"), "horodate"));
	unsigned long stge = strtoul(json_string_value(json_object_get(sum, "STGE")), NULL, 16);
	bool prod = stge & 0x100, inj = stge & 0x200;
	int64_t p = INT64_MIN;

	if (!inj)
		p = micro_of(pow, "SINSTS", READING_SCALE);
	else if (prod && json_object_get(pow, "SINSTI"))
		p = -micro_of(pow, "SINSTI", READING_SCALE);

	tap_ok(id && strcmp(v->id, id) == 0, "%s: id = ADSC %s", name, v->id);
	tap_ok(v->protocol == READING_PROTO_TIC_STANDARD && strcmp(v->version, "standard") == 0 &&
		   v->interval_s == 2,
	       "%s: standard mode", name);
	tap_ok(v->ts == horodate_utc(date, 60) && !(v->flags & READING_FLAG_TS_HOST),
	       "%s: ts from DATE %s = %" PRId64, name, date, v->ts);
	tap_ok(field_is(v, READING_E_IMPORT, micro_of(idx, "EAST", 1000)), "%s: E_IMPORT = EAST", name);
	tap_ok(field_is_opt(v, READING_E_EXPORT, prod ? micro_of(idx, "EAIT", 1000) : INT64_MIN),
	       "%s: E_EXPORT = EAIT on a producer only", name);
	tap_ok(field_is_opt(v, READING_P, p) && (p == INT64_MIN || (v->flags & READING_FLAG_P_APPARENT)),
	       "%s: P from SINSTS/SINSTI and STGE %08lx", name, stge);
	tap_ok(!reading_has(v, READING_U12) && !reading_has(v, READING_U31) && !reading_has(v, READING_U32),
	       "%s: no line-to-line voltage", name);
	check_standard_phases(v, sum, prod, inj, name);
}

/*
 * Frames as a framer would cut them: from an STX to the next ETX, restarting
 * at any STX on the way.
 */
static bool next_frame(const char *buf, size_t n, size_t *pos, size_t *ret_off, size_t *ret_len)
{
	size_t start = SIZE_MAX;

	for (size_t i = *pos; i < n; i++) {
		if (buf[i] == '\x02')
			start = i;
		else if (buf[i] == '\x03' && start != SIZE_MAX) {
			*ret_off = start;
			*ret_len = i + 1 - start;
			*pos = i + 1;
			return true;
		}
	}
	return false;
}

static json_t *integrity_frame(json_t *side, size_t off)
{
	json_t *frames = json_object_get(json_object_get(side, "integrity"), "frames"), *f;
	size_t i;

	json_array_foreach (frames, i, f) {
		if ((size_t) json_integer_value(json_object_get(f, "offset")) == off)
			return f;
	}
	return NULL;
}

/*
 * Decode every complete frame of a capture. A frame the sidecar calls fully
 * valid must be accepted, any other must be rejected for its checksum or its
 * syntax; the sidecar's complete frames must be exactly the ones found.
 * Returns the number accepted.
 */
static unsigned check_frames(const char *buf, size_t n, json_t *side, const char *name)
{
	json_t *frames = json_object_get(json_object_get(side, "integrity"), "frames"), *f;
	size_t pos = 0, off, len, i, complete = 0;
	unsigned found = 0, accepted = 0, wrong = 0;

	json_array_foreach (frames, i, f) {
		complete += json_is_true(json_object_get(f, "complete"));
	}

	while (next_frame(buf, n, &pos, &off, &len)) {
		json_t *fr = integrity_frame(side, off);
		bool valid = fr && json_is_true(json_object_get(fr, "all_valid"));
		int r = decode(buf + off, len);

		found++;
		accepted += r == 0;
		if (!fr || (size_t) json_integer_value(json_object_get(fr, "length")) != len ||
		    (valid ? r != 0
			   : !(r == -EBADMSG &&
			       (err == TELEGRAM_ERR_CHECKSUM || err == TELEGRAM_ERR_SYNTAX))) ||
		    !spans_in_bounds(&V)) {
			wrong++;
			tap_diag("%s: frame at %zu: %d %s (%s), sidecar says %s", name, off, r,
				 error_name(err), detail, valid ? "valid" : "invalid");
		}
	}
	tap_ok(found == complete && wrong == 0, "%s: %u frames, %u accepted, as the sidecar says", name,
	       found, accepted);
	return accepted;
}

static void check_capture(const char *dir, const char *file)
{
	char path[4096];
	size_t n = 0;
	char *buf;
	json_t *side, *exp, *fr;
	json_error_t jerr;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf = tap_read_file(path, &n);
	snprintf(path + strlen(path) - 4, 6, ".json");
	side = json_load_file(path, 0, &jerr);
	if (!tap_ok(buf && side, "%s: raw and sidecar load", file))
		goto out;

	check_frames(buf, n, side, file);

	exp = json_object_get(side, "expected");
	fr = json_array_get(json_object_get(json_object_get(side, "integrity"), "frames"),
			    (size_t) json_integer_value(json_object_get(exp, "frame_index")));
	r = decode(buf + json_integer_value(json_object_get(fr, "offset")),
		   (size_t) json_integer_value(json_object_get(fr, "length")));
	if (!tap_ok(r == 0, "%s: expected frame accepted (%s)", file, detail))
		goto out;
	if (strcmp(json_string_value(json_object_get(exp, "mode")), "standard") == 0) {
		check_groups(&V, json_object_get(exp, "groups"), '\t', file);
		check_standard(&V, json_object_get(exp, "summary"), file);
	} else {
		check_groups(&V, json_object_get(exp, "groups"), ' ', file);
		check_historique(&V, json_object_get(exp, "summary"), file);
	}
out:
	json_decref(side);
	free(buf);
}

/* The 10-frame stream: every frame has its own index and power. */
static void check_stream(const char *dir)
{
	static const char file[] = "fr_tic-historique_tempo-bbr_stream-10-frames_pyteleinfo";
	char path[4096];
	size_t n = 0, i;
	char *buf;
	json_t *side, *f;
	unsigned bad = 0, count = 0;

	snprintf(path, sizeof(path), "%s/%s.raw", dir, file);
	buf = tap_read_file(path, &n);
	snprintf(path, sizeof(path), "%s/%s.json", dir, file);
	side = json_load_file(path, 0, NULL);
	if (!tap_ok(buf && side, "stream: loaded"))
		goto out;

	json_array_foreach (json_object_get(json_object_get(side, "expected"), "frames"), i, f) {
		size_t off = (size_t) json_integer_value(json_object_get(f, "offset")), pos = off, fo, fl;
		static const char *const bbr[] = { "BBRHCJB", "BBRHPJB", "BBRHCJW",
						   "BBRHPJW", "BBRHCJR", "BBRHPJR" };
		const struct reading_object *o;
		int64_t sum = 0;

		count++;
		if (!next_frame(buf, n, &pos, &fo, &fl) || fo != off || decode(buf + fo, fl) != 0) {
			bad++;
			continue;
		}
		/* The index data are followed by the separator, so strtoll stops there. */
		for (size_t k = 0; k < 6; k++) {
			o = reading_find(&V, bbr[k]);
			sum += o ? strtoll(V.text + V.values[o->first].off, NULL, 10) * 1000 : INT64_MIN / 8;
		}
		o = reading_find(&V, "BBRHCJB");
		if (!o ||
		    !span_is(&V, V.values[o->first], json_string_value(json_object_get(f, "BBRHCJB"))) ||
		    !field_is(&V, READING_P,
			      strtoll(json_string_value(json_object_get(f, "PAPP")), NULL, 10) *
				  READING_SCALE) ||
		    !field_is(&V, READING_I1,
			      strtoll(json_string_value(json_object_get(f, "IINST")), NULL, 10) *
				  READING_SCALE) ||
		    !field_is(&V, READING_E_IMPORT, sum)) {
			tap_diag("stream: frame at %zu differs", off);
			bad++;
		}
	}
	tap_ok(count == 10 && bad == 0, "stream: %u frames decoded with their own values", count);
out:
	json_decref(side);
	free(buf);
}

static int raw_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".raw") == 0;
}

static void test_captures(const char *testdata)
{
	char dir[1024];
	struct dirent **names;
	int n, done = 0;

	snprintf(dir, sizeof(dir), "%s/tic", testdata);
	n = scandir(dir, &names, raw_filter, alphasort);
	for (int i = 0; i < n; i++) {
		check_capture(dir, names[i]->d_name);
		done++;
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	tap_ok(done >= 8, "%d captures in %s", done, dir);
	check_stream(dir);
}

/* ---- damaged captures ---------------------------------------------- */

static int bad_tic_filter(const struct dirent *d)
{
	return strncmp(d->d_name, "bad_tic-", 8) == 0 && raw_filter(d);
}

/*
 * The sidecar's incomplete frames never reach the decoder through the framer;
 * fed directly they must still be refused.
 */
static void check_incomplete(const char *buf, size_t n, json_t *side, const char *name)
{
	json_t *frames = json_object_get(json_object_get(side, "integrity"), "frames"), *f;
	size_t i;

	json_array_foreach (frames, i, f) {
		size_t off = (size_t) json_integer_value(json_object_get(f, "offset"));
		size_t len = (size_t) json_integer_value(json_object_get(f, "length"));
		int r;

		if (json_is_true(json_object_get(f, "complete")) || off + len > n)
			continue;
		r = decode(buf + off, len);
		tap_ok(r == -EBADMSG && spans_in_bounds(&V), "%s: incomplete frame at %zu refused (%s: %s)",
		       name, off, error_name(err), detail);
	}
}

/* A frame without junk fails on its first bad group, which the message names. */
static void check_first_error(const char *buf, json_t *side, const char *name)
{
	json_t *frames = json_object_get(json_object_get(side, "integrity"), "frames"), *f;
	size_t i;

	json_array_foreach (frames, i, f) {
		json_t *inv = json_object_get(f, "invalid_groups");
		const char *g = json_string_value(json_array_get(inv, 0));
		char label[32];

		if (!json_is_true(json_object_get(f, "complete")) ||
		    json_array_size(json_object_get(f, "junk")) || !g)
			continue;
		snprintf(label, sizeof(label), "group %.*s ", (int) strcspn(g, "\t "), g);
		decode(buf + json_integer_value(json_object_get(f, "offset")),
		       (size_t) json_integer_value(json_object_get(f, "length")));
		tap_ok(err == TELEGRAM_ERR_CHECKSUM && strstr(detail, label),
		       "%s: frame at %" JSON_INTEGER_FORMAT " names the bad group: %s", name,
		       json_integer_value(json_object_get(f, "offset")), detail);
	}
}

static void check_bad(const char *dir, const char *file)
{
	char path[4096];
	size_t n = 0, valid = 0, i;
	unsigned accepted;
	char *buf;
	json_t *side, *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	buf = tap_read_file(path, &n);
	snprintf(path + strlen(path) - 4, 6, ".json");
	side = json_load_file(path, 0, NULL);
	if (!tap_ok(buf && side, "%s: raw and sidecar load", file))
		goto out;

	json_array_foreach (json_object_get(json_object_get(side, "integrity"), "frames"), i, f) {
		valid += json_is_true(json_object_get(f, "complete")) &&
			 json_is_true(json_object_get(f, "all_valid"));
	}
	accepted = check_frames(buf, n, side, file);
	tap_ok(accepted == valid, "%s: accepted %u frames = %zu fully valid frames", file, accepted, valid);
	check_incomplete(buf, n, side, file);
	check_first_error(buf, side, file);
out:
	json_decref(side);
	free(buf);
}

static void test_bad(const char *testdata)
{
	char dir[1024];
	struct dirent **names;
	int n, done = 0;

	snprintf(dir, sizeof(dir), "%s/bad", testdata);
	n = scandir(dir, &names, bad_tic_filter, alphasort);
	for (int i = 0; i < n; i++) {
		check_bad(dir, names[i]->d_name);
		done++;
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	tap_ok(done >= 6, "%d damaged captures in %s", done, dir);
}

static void test_real_capture_frames(const char *testdata)
{
	char path[4096];
	size_t n = 0, pos = 0, off, len;
	char *buf;
	unsigned k = 0, accepted_mask = 0;

	snprintf(path, sizeof(path), "%s/bad/bad_tic-standard_real-capture-with-line-errors_teleinfo-nom.raw",
		 testdata);
	buf = tap_read_file(path, &n);
	while (buf && next_frame(buf, n, &pos, &off, &len))
		if (k++ < 32 && decode(buf + off, len) == 0)
			accepted_mask |= 1u << k;
	free(buf);
	tap_ok(k == 7 && accepted_mask == (1u << 1 | 1u << 7),
	       "real capture: 7 frames, exactly 1 and 7 accepted");
}

/* ---- hand-made frames ------------------------------------------------- */

static void test_empty(void)
{
	struct fb f;

	expect_reject(decode("", 0), TELEGRAM_ERR_EMPTY, "empty frame");
	expect_reject(decode(STX ETX, 2), TELEGRAM_ERR_EMPTY, "STX ETX");
	expect_reject(decode(STX, 1), TELEGRAM_ERR_TRUNCATED, "STX only");
	fb_begin(&f, ' ');
	fb_group(&f, "IINST", NULL, "001");
	expect_reject(fb_decode(&f), TELEGRAM_ERR_TRUNCATED, "no ETX");
	expect_reject(decode("\nIINST 001 X\r" ETX, 13), TELEGRAM_ERR_SYNTAX, "no STX");
}

static void test_framing(void)
{
	static const char no_cr[] = STX "\nADCO 021528603314 :\nIINST 001 X\r" ETX;
	static const char no_cr_end[] = STX "\nADCO 021528603314 :" ETX;
	static const char junk[] = STX "\nIINST 001 X\rZZ\nIINST 001 X\r" ETX;
	static const char crlf[] = STX "\nIINST 001 X\r\n\r\nIINST 001 X\r" ETX;
	static const char high[] = STX "\nIINST 0\xb1"
				       "1 X\r" ETX;
	static const char no_sep[] = STX "\nIINST001X\r" ETX;
	struct fb f;

	expect_reject(decode(no_cr, sizeof(no_cr) - 1), TELEGRAM_ERR_SYNTAX, "group without CR");
	tap_ok(strstr(detail, "ADCO") != NULL, "missing CR names the group: %s", detail);
	expect_reject(decode(no_cr_end, sizeof(no_cr_end) - 1), TELEGRAM_ERR_SYNTAX, "last group without CR");
	expect_reject(decode(junk, sizeof(junk) - 1), TELEGRAM_ERR_SYNTAX, "junk between groups");
	expect_reject(decode(crlf, sizeof(crlf) - 1), TELEGRAM_ERR_SYNTAX, "empty group");
	expect_reject(decode(high, sizeof(high) - 1), TELEGRAM_ERR_SYNTAX, "byte with bit 7 set");
	expect_reject(decode(no_sep, sizeof(no_sep) - 1), TELEGRAM_ERR_SYNTAX, "group without separator");

	/* A historique group inside a standard frame has no HT before its checksum. */
	fb_begin(&f, '\t');
	fb_group(&f, "ADSC", NULL, "041776199277");
	f.sep = ' ';
	fb_group(&f, "IINST", NULL, "001");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "historique group in a standard frame");

	/* Four fields: label, horodate, data and one too many. */
	fb_begin(&f, '\t');
	fb_group(&f, "SMAXSN", "E240924022201", "05125\t00000");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "group with too many fields");

	fb_begin(&f, '\t');
	fb_group(&f, "SMAXSN", "E2409240222", "05125");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "horodate of 11 characters");
}

static void test_sizes(void)
{
	char data[300], label[32];
	struct fb f;

	memset(data, 'A', sizeof(data));
	data[290] = '\0';
	fb_begin(&f, ' ');
	fb_group(&f, "MSG1", NULL, data);
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "group of 300 characters");

	/* 98 data characters (PJOURF+1) with a horodate is the longest legal group. */
	data[98] = '\0';
	fb_begin(&f, '\t');
	fb_group(&f, "PJOURF+1", "E240924022201", data);
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0, "longest legal group accepted (%s)", detail);

	fb_begin(&f, ' ');
	for (int i = 0; i < 300; i++)
		fb_group(&f, "IINST", NULL, "001");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_TOO_LONG, "300 groups");
	tap_ok(spans_in_bounds(&V), "300 groups: nothing out of bounds");

	fb_begin(&f, ' ');
	for (int i = 0; i < READING_OBJECTS_MAX; i++)
		fb_group(&f, "IINST", NULL, "001");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && V.n_objects == READING_OBJECTS_MAX, "%d groups accepted",
	       READING_OBJECTS_MAX);

	memset(label, 'L', sizeof(label));
	label[20] = '\0';
	fb_begin(&f, ' ');
	fb_group(&f, label, NULL, "001");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "label of 20 characters");
	label[16] = '\0';
	fb_begin(&f, ' ');
	fb_group(&f, label, NULL, "001");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0, "label of 16 characters accepted");

	fb_begin(&f, ' ');
	fb_group(&f, "", NULL, "001");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "empty label");

	fb_begin(&f, '\t');
	fb_group(&f, "MSG1", NULL, "PAS DE\x01MESSAGE");
	fb_end(&f);
	expect_reject(fb_decode(&f), TELEGRAM_ERR_SYNTAX, "control character in data");
	tap_ok(strstr(detail, "0x01") && strstr(detail, "MSG1"), "control character named: %s", detail);
}

static void std_frame(struct fb *f, const char *date, const char *stge, const char *east)
{
	fb_begin(f, '\t');
	fb_group(f, "ADSC", NULL, "041776199277");
	if (date)
		fb_group(f, "DATE", date, "");
	fb_group(f, "NGTF", NULL, "     TEMPO      ");
	fb_group(f, "EAST", NULL, east);
	fb_group(f, "URMS1", NULL, "228");
	fb_group(f, "IRMS1", NULL, "005");
	fb_group(f, "SINSTS", NULL, "01150");
	if (stge)
		fb_group(f, "STGE", NULL, stge);
	fb_group(f, "DPM1", " 240924060000", "00");
}

static void test_standard_rules(void)
{
	struct fb f;

	std_frame(&f, "H240924225642", "003A0000", "0000A0000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_E_IMPORT) && reading_find(&V, "EAST"),
	       "non-numeric EAST: frame kept, E_IMPORT null");
	tap_ok(field_is(&V, READING_P, 1150 * READING_SCALE) &&
		   field_is(&V, READING_P1, 1150 * READING_SCALE) &&
		   field_is(&V, READING_I1, 5 * READING_SCALE) &&
		   field_is(&V, READING_U1, 228 * READING_SCALE) && !reading_has(&V, READING_E_EXPORT) &&
		   (V.flags & READING_FLAG_P_APPARENT) && !(V.flags & READING_FLAG_I_UNSIGNED),
	       "consumer drawing: P = +SINSTS, I1 positive");
	tap_ok(span_is(&V, obj_data(&V, 2), "     TEMPO      "), "data with spaces kept untrimmed");
	tap_ok(span_is(&V, obj_stamp(&V, 8), " 240924060000") && span_is(&V, obj_data(&V, 8), "00"),
	       "horodate with a space as season kept");
	TAP_EQ_INT(V.ts, horodate_utc("H240924225642", 60), "ts from an 'H' horodate");

	/* Producer injecting: STGE bits 8 and 9, SINSTI is the injected power. */
	std_frame(&f, "E240924225642", "003A0300", "000001000");
	fb_group(&f, "EAIT", NULL, "000032781");
	fb_group(&f, "SINSTI", NULL, "01253");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && field_is(&V, READING_P, -1253 * READING_SCALE) &&
		   field_is(&V, READING_P1, -1253 * READING_SCALE) &&
		   field_is(&V, READING_I1, -5 * READING_SCALE) && field_is(&V, READING_E_EXPORT, 32781000) &&
		   field_is(&V, READING_E_IMPORT, 1000000),
	       "producer injecting: P = -SINSTI, I1 negative, E_EXPORT = EAIT");
	TAP_EQ_INT(V.ts, horodate_utc("E240924225642", 60), "ts from an 'E' horodate");

	std_frame(&f, "E240924225642", "003A0100", "000001000");
	fb_group(&f, "EAIT", NULL, "000032781");
	fb_group(&f, "SINSTI", NULL, "00000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && field_is(&V, READING_P, 1150 * READING_SCALE) &&
		   field_is(&V, READING_I1, 5 * READING_SCALE) && field_is(&V, READING_E_EXPORT, 32781000),
	       "producer drawing: P = +SINSTS");

	/* Consumer injecting: bit 9 without bit 8, no SINSTI: magnitude unknown. */
	std_frame(&f, "E240924225642", "003A0200", "000001000");
	fb_group(&f, "EAIT", NULL, "000032781");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_P) && !reading_has(&V, READING_P1) &&
		   !reading_has(&V, READING_E_EXPORT) && field_is(&V, READING_I1, -5 * READING_SCALE) &&
		   !(V.flags & READING_FLAG_P_APPARENT),
	       "consumer injecting: P null, E_EXPORT null, I1 negative");

	/* Without STGE the direction is unknown. */
	std_frame(&f, "E240924225642", NULL, "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_P) &&
		   field_is(&V, READING_I1, 5 * READING_SCALE) && (V.flags & READING_FLAG_I_UNSIGNED),
	       "no STGE: P null, I1 unsigned");
	std_frame(&f, "E240924225642", "0X3A0000", "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_P), "STGE not hex: P null");
}

static void test_standard_three_phase_producer(void)
{
	struct fb f;

	fb_begin(&f, '\t');
	fb_group(&f, "ADSC", NULL, "041776199277");
	fb_group(&f, "DATE", "H200214230804", "");
	fb_group(&f, "IRMS1", NULL, "003");
	fb_group(&f, "IRMS2", NULL, "006");
	fb_group(&f, "URMS1", NULL, "237");
	fb_group(&f, "URMS2", NULL, "238");
	fb_group(&f, "SINSTS", NULL, "00000");
	fb_group(&f, "SINSTS1", NULL, "00000");
	fb_group(&f, "SINSTS2", NULL, "00000");
	fb_group(&f, "SINSTI", NULL, "02000");
	fb_group(&f, "STGE", NULL, "003A0300");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && field_is(&V, READING_P, -2000 * READING_SCALE) &&
		   !reading_has(&V, READING_P1) && !reading_has(&V, READING_P2) &&
		   field_is(&V, READING_I1, 3 * READING_SCALE) &&
		   field_is(&V, READING_I2, 6 * READING_SCALE) && !reading_has(&V, READING_I3) &&
		   !reading_has(&V, READING_U3) && (V.flags & READING_FLAG_I_UNSIGNED),
	       "three-phase producer: P = -SINSTI, P1..P3 null, I unsigned, absent phase null");
}

static void test_horodate(void)
{
	struct fb f;
	struct decode_opts utc = { .std_offset_min = 0 };

	std_frame(&f, "e240924225642", "003A0000", "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && V.ts == NOW && (V.flags & READING_FLAG_TS_HOST),
	       "degraded clock 'e': host time");
	std_frame(&f, "h240924225642", "003A0000", "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && V.ts == NOW && (V.flags & READING_FLAG_TS_HOST),
	       "degraded clock 'h': host time");
	std_frame(&f, "H240230225642", "003A0000", "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && V.ts == NOW && (V.flags & READING_FLAG_TS_HOST),
	       "30 February: host time");
	std_frame(&f, NULL, "003A0000", "000001000");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && V.ts == NOW && (V.flags & READING_FLAG_TS_HOST), "no DATE: host time");
	std_frame(&f, "H240924225642", "003A0000", "000001000");
	fb_end(&f);
	tap_ok(decode_with(f.buf, f.n, &utc) == 0 && V.ts == horodate_utc("H240924225642", 0) &&
		   !(V.flags & READING_FLAG_TS_HOST),
	       "std_offset_min is honoured");
}

static void test_historique_rules(void)
{
	struct fb f;

	fb_begin(&f, ' ');
	fb_group(&f, "ADCO", NULL, "021528603314");
	fb_group(&f, "HCHC", NULL, "001000000");
	fb_group(&f, "HCHP", NULL, "000234567");
	fb_group(&f, "PTEC", NULL, "HP..");
	fb_group(&f, "IINST", NULL, "007");
	fb_group(&f, "PAPP", NULL, "01610");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && field_is(&V, READING_E_IMPORT, 1234567000) &&
		   field_is(&V, READING_P, 1610 * READING_SCALE) &&
		   field_is(&V, READING_P1, 1610 * READING_SCALE) &&
		   field_is(&V, READING_I1, 7 * READING_SCALE) && (V.flags & READING_FLAG_I_UNSIGNED) &&
		   strcmp(V.id, "021528603314") == 0,
	       "historique HC: E_IMPORT = HCHC + HCHP");
	tap_ok(span_is(&V, obj_data(&V, 3), "HP.."), "checksum space after HP..");

	/* CBEMM: no PAPP. */
	fb_begin(&f, ' ');
	fb_group(&f, "ADCO", NULL, "021528603314");
	fb_group(&f, "BASE", NULL, "0012A4567");
	fb_group(&f, "IINST", NULL, "007");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_P) && !reading_has(&V, READING_P1) &&
		   !reading_has(&V, READING_E_IMPORT) && field_is(&V, READING_I1, 7 * READING_SCALE) &&
		   !(V.flags & READING_FLAG_P_APPARENT),
	       "CBEMM without PAPP, non-numeric BASE: P and E_IMPORT null");

	/* Three-phase short frame: overcurrent on phase 2 only. */
	fb_begin(&f, ' ');
	fb_group(&f, "ADIR2", NULL, "062");
	fb_group(&f, "ADCO", NULL, "021528603314");
	fb_group(&f, "IINST1", NULL, "010");
	fb_group(&f, "IINST2", NULL, "062");
	fb_group(&f, "IINST3", NULL, "008");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && (V.flags & READING_FLAG_SHORT_FRAME) && !reading_has(&V, READING_P) &&
		   !reading_has(&V, READING_E_IMPORT) && field_is(&V, READING_I2, 62 * READING_SCALE) &&
		   field_is(&V, READING_I3, 8 * READING_SCALE) && !reading_has(&V, READING_P1) &&
		   (V.flags & READING_FLAG_I_UNSIGNED),
	       "three-phase short frame: flagged, absent values null");

	/* No index at all. */
	fb_begin(&f, ' ');
	fb_group(&f, "ADCO", NULL, "021528603314");
	fb_group(&f, "PAPP", NULL, "00120");
	fb_end(&f);
	tap_ok(fb_decode(&f) == 0 && !reading_has(&V, READING_E_IMPORT) &&
		   !(V.flags & READING_FLAG_SHORT_FRAME),
	       "no index: E_IMPORT null");
}

static void test_units(void)
{
	static const struct {
		const char *label, *unit;
	} u[] = {
		{ "BASE", "Wh" },    { "HCHP", "Wh" },   { "BBRHPJR", "Wh" },   { "EAST", "Wh" },
		{ "EASF10", "Wh" },  { "EASD04", "Wh" }, { "EAIT", "Wh" },      { "ERQ3", "VArh" },
		{ "IINST", "A" },    { "IINST2", "A" },  { "IMAX3", "A" },      { "ADPS", "A" },
		{ "ADIR1", "A" },    { "ISOUSC", "A" },  { "IRMS3", "A" },      { "URMS2", "V" },
		{ "UMOY1", "V" },    { "PAPP", "VA" },   { "PMAX", "VA" },      { "SINSTS", "VA" },
		{ "SINSTS3", "VA" }, { "SINSTI", "VA" }, { "SMAXSN2-1", "VA" }, { "SMAXIN-1", "VA" },
		{ "CCASN", "W" },    { "CCAIN-1", "W" }, { "PREF", "kVA" },     { "PCOUP", "kVA" },
		{ "PEJP", "min" },   { "ADCO", NULL },   { "EASF11", NULL },    { "STGE", NULL },
		{ "DATE", NULL },    { "", NULL },
	};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		const char *got = proto_tic_unit(u[i].label, strlen(u[i].label));

		tap_ok(u[i].unit ? got && strcmp(got, u[i].unit) == 0 : got == NULL, "unit of '%s' is %s",
		       u[i].label, u[i].unit ? u[i].unit : "none");
	}
	tap_ok(proto_tic_unit("BASEX", 4) && !proto_tic_unit("BAS", 3), "unit lookup uses the length");
}

/* Damage a valid frame at random; whatever happens must stay in bounds. */
static void test_mutations(const char *testdata)
{
	char path[4096], frame[READING_TEXT_MAX];
	const char *env = getenv("TIC_SEED");
	unsigned seed = env ? (unsigned) strtoul(env, NULL, 0) : (unsigned) time(NULL);
	size_t n = 0;
	char *buf;
	unsigned bad = 0, accepted = 0;

	snprintf(path, sizeof(path), "%s/tic/fr_tic-standard_three-phase_tempo_teleinfo-nom.raw", testdata);
	buf = tap_read_file(path, &n);
	if (!tap_ok(buf && n < sizeof(frame), "mutation source loaded"))
		return;
	tap_diag("mutations: TIC_SEED=%u", seed);
	srand(seed);
	for (int i = 0; i < 20000; i++) {
		size_t len = n;
		int r;

		memcpy(frame, buf, n);
		for (int k = rand() % 4; k >= 0; k--)
			frame[rand() % (int) len] =
			    (char) (rand() % 2 ? rand() % 128 : frame[rand() % (int) len]);
		if (rand() % 8 == 0)
			len = (size_t) rand() % len;
		r = decode(frame, len);
		accepted += r == 0;
		if ((r != 0 && (r != -EBADMSG || (unsigned) err >= _TELEGRAM_ERR_MAX || !detail[0] ||
				!memchr(detail, '\0', sizeof(detail)) || V.valid != 0)) ||
		    !spans_in_bounds(&V))
			bad++;
	}
	free(buf);
	tap_ok(bad == 0, "20000 mutated frames: clean accept or reject (%u accepted)", accepted);
}

int main(void)
{
	const char *testdata = getenv("TESTDATA");

	if (!testdata)
		testdata = "tests/data";

	test_checksum_examples();
	test_captures(testdata);
	test_bad(testdata);
	test_real_capture_frames(testdata);
	test_empty();
	test_framing();
	test_sizes();
	test_standard_rules();
	test_standard_three_phase_producer();
	test_horodate();
	test_historique_rules();
	test_units();
	test_mutations(testdata);
	return tap_done();
}
