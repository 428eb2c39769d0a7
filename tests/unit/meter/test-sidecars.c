/* SPDX-License-Identifier: MIT */
/*
 * The public telegrams of tests/data against their sidecars: every DSMR object
 * as written, the published values (energy sums, power, phases, clock, ids),
 * the bad/ samples' expected reader behaviour, and the same results whatever
 * the chunking of the byte stream (whole, byte by byte, random splits with a
 * printed seed; SEED=n in the environment repeats a run).
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smartconnectd/outputs/reading-json.h"
#include "smartconnectd/meter/meter-time.h"
#include "smartconnectd/meter/telegram.h"
#include "tap.h"

#define NOW 1700000000 /* host time given to frames without a clock */

struct collected {
	unsigned accepted, rejected;
	char *json[64]; /* compact JSON of each accepted frame */
	enum telegram_error errors[64];
	struct reading *first; /* copy of the first accepted frame */
};

static void on_accept(const struct reading *v, void *userdata)
{
	struct collected *c = userdata;
	struct decode_opts o = DECODE_OPTS_DEFAULT;
	json_t *j = reading_json_telegram(v, &o);

	if (c->accepted < 64)
		c->json[c->accepted] = json_dumps(j, READING_JSON_DUMP_FLAGS);
	if (!c->first) {
		c->first = malloc(sizeof(*c->first));
		memcpy(c->first, v, sizeof(*v));
	}
	c->accepted++;
	json_decref(j);
}

static void on_reject(const struct telegram_reject *r, void *userdata)
{
	struct collected *c = userdata;

	if (c->rejected < 64)
		c->errors[c->rejected] = r->error;
	c->rejected++;
}

static void collected_free(struct collected *c)
{
	for (unsigned i = 0; i < 64; i++)
		free(c->json[i]);
	free(c->first);
	*c = (struct collected){ 0 };
}

/* chunk == 0: whole; chunk == 1: byte by byte; otherwise random sizes 1..chunk. */
static void decode_stream(const char *data, size_t len, size_t chunk, unsigned *seed,
			  const struct decode_opts *o, struct collected *out)
{
	struct telegram *t;

	*out = (struct collected){ 0 };
	if (telegram_new(TELEGRAM_HUNT_ALL, o, on_accept, on_reject, out, &t) < 0)
		abort();

	for (size_t off = 0; off < len;) {
		size_t n = chunk == 0 ? len - off : chunk == 1 ? 1 : 1 + (size_t) rand_r(seed) % chunk;
		if (n > len - off)
			n = len - off;
		telegram_feed(t, data + off, n, NOW);
		off += n;
	}
	telegram_flush(t);
	telegram_free(t);
}

static bool same_results(const struct collected *a, const struct collected *b)
{
	if (a->accepted != b->accepted || a->rejected != b->rejected)
		return false;
	for (unsigned i = 0; i < a->accepted && i < 64; i++)
		if (!a->json[i] || !b->json[i] || strcmp(a->json[i], b->json[i]) != 0)
			return false;
	for (unsigned i = 0; i < a->rejected && i < 64; i++)
		if (a->errors[i] != b->errors[i])
			return false;
	return true;
}

/* Independent of the decoder's own parser: "3432.829" in `unit` to millionths
 * of the base unit of the snapshot field (W, kWh, V, A). */
static int64_t expect_micro(const char *value, const char *unit)
{
	int64_t mant = 0, scale = 1;
	bool point = false, neg = false;
	int exp;

	for (const char *p = value; *p; p++) {
		if (*p == '-')
			neg = true;
		else if (*p == '.')
			point = true;
		else {
			mant = mant * 10 + (*p - '0');
			if (point)
				scale *= 10;
		}
	}
	if (!strcmp(unit, "kW") || !strcmp(unit, "kWh") || !strcmp(unit, "kVA"))
		exp = !strcmp(unit, "kWh") ? 6 : 9;
	else if (!strcmp(unit, "Wh"))
		exp = 3;
	else
		exp = 6; /* W, V, A, VA */
	for (; exp > 0; exp--)
		mant *= 10;
	return (neg ? -mant : mant) / scale;
}

static int64_t pow10i(unsigned n)
{
	int64_t x = 1;

	while (n--)
		x *= 10;
	return x;
}

static bool has_value(json_t *q)
{
	return json_is_object(q) && json_is_string(json_object_get(q, "value"));
}

static int64_t q_micro(json_t *q)
{
	return expect_micro(json_string_value(json_object_get(q, "value")),
			    json_string_value(json_object_get(q, "unit")));
}

static void check_objects(const char *name, const struct reading *v, json_t *objects)
{
	size_t i;
	json_t *o;
	bool all = json_array_size(objects) == v->n_objects;

	tap_ok(all, "%s: %zu objects (decoded %u)", name, json_array_size(objects), v->n_objects);
	json_array_foreach (objects, i, o) {
		if (i >= v->n_objects)
			break;
		const struct reading_object *mo = &v->objects[i];
		const char *id = json_string_value(json_array_get(o, 0));
		json_t *vals = json_array_get(o, 1);
		bool ok = strlen(id) == mo->id.len && !memcmp(id, reading_str(v, mo->id), mo->id.len) &&
			  json_array_size(vals) == mo->count;

		for (unsigned k = 0; ok && k < mo->count; k++) {
			const char *want = json_string_value(json_array_get(vals, k));
			struct reading_span s = v->values[mo->first + k];
			ok = strlen(want) == s.len && !memcmp(want, reading_str(v, s), s.len);
		}
		if (!ok)
			all = false;
		if (!ok)
			tap_ok(false, "%s: object %zu %s as written", name, i, id);
	}
	tap_ok(all, "%s: every object and value as written", name);
}

static void check_field(const char *name, const struct reading *v, enum reading_field f, bool known,
			int64_t want)
{
	if (!known) {
		tap_ok(!reading_has(v, f), "%s: %s is null", name, reading_field_to_string(f));
		return;
	}
	tap_ok(reading_has(v, f) && v->field[f] == want, "%s: %s = %lld (decoded %lld)", name,
	       reading_field_to_string(f), (long long) want, (long long) v->field[f]);
}

/* E_IMPORT / E_EXPORT: the total register when sent, else the sum of the tariffs. */
static void check_energy(const char *name, const struct reading *v, json_t *e, enum reading_field f)
{
	const char *k;
	json_t *q;
	int64_t sum = 0;
	bool any = false;

	if (has_value(json_object_get(e, "total"))) {
		check_field(name, v, f, true, q_micro(json_object_get(e, "total")));
		return;
	}
	json_object_foreach (e, k, q) {
		if (!strncmp(k, "tariff_", 7) && has_value(q)) {
			sum += q_micro(q);
			any = true;
		}
	}
	check_field(name, v, f, any, sum);
}

/* A meter that sends only L1 and no phase powers: L1 is the total (doc/protocols.md, current signs). */
static bool single_phase_total(json_t *phases)
{
	json_t *l1 = json_object_get(phases, "L1");

	return json_object_size(phases) == 1 && l1 && !json_object_get(l1, "power_import") &&
	       !json_object_get(l1, "power_export");
}

static void check_phases(const char *name, const struct reading *v, json_t *phases, bool have_total,
			 int64_t total)
{
	static const char *const ln[3] = { "L1", "L2", "L3" };
	bool single = single_phase_total(phases);

	for (unsigned x = 0; x < 3; x++) {
		json_t *ph = json_object_get(phases, ln[x]);
		json_t *pi = json_object_get(ph, "power_import"), *pe = json_object_get(ph, "power_export");
		json_t *u = json_object_get(ph, "voltage"), *i = json_object_get(ph, "current");
		bool have_p = has_value(pi) || has_value(pe);
		int64_t p = (has_value(pi) ? q_micro(pi) : 0) - (has_value(pe) ? q_micro(pe) : 0);

		if (v->flags & READING_FLAG_DELTA_GRID)
			continue;
		check_field(name, v, (enum reading_field)(READING_P1 + x), have_p, p);
		check_field(name, v, (enum reading_field)(READING_U1 + x), has_value(u),
			    has_value(u) ? q_micro(u) : 0);
		if (has_value(i)) {
			int64_t mag = q_micro(i);
			if (single && have_total)
				have_p = true, p = total;
			check_field(name, v, (enum reading_field)(READING_I1 + x), true,
				    have_p && p < 0 ? -mag : mag);
		} else
			check_field(name, v, (enum reading_field)(READING_I1 + x), false, 0);
	}
}

/* ISO "2019-03-24T15:05:41+01:00" to UTC seconds, without the library's code. */
static int64_t iso_to_utc(const char *iso)
{
	int y, mo, d, h, mi, s, oh, om;
	char sign;

	if (sscanf(iso, "%d-%d-%dT%d:%d:%d%c%d:%d", &y, &mo, &d, &h, &mi, &s, &sign, &oh, &om) != 9)
		return -1;
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s
	};
	int64_t t = (int64_t) timegm(&tm);
	return t - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
}

/* The sidecar's M-Bus channels: each live one of a known device type is the
 * reading of its kind (the samples have at most one live channel per kind),
 * with its value, unit and own capture time; a dead one gives nothing. */
static void check_mbus(const char *name, const struct reading *v, json_t *mbus)
{
	static const struct {
		int type, kind;
	} kinds[] = { { 3, READING_MBUS_GAS }, { 7, READING_MBUS_WATER }, { 4, READING_MBUS_HEAT } };
	bool found[_READING_MBUS_KIND_MAX] = { false };
	size_t i;
	json_t *ch;

	json_array_foreach (mbus, i, ch) {
		json_t *rd = json_object_get(ch, "reading"), *ts = json_object_get(rd, "timestamp");
		const char *type = json_string_value(json_object_get(ch, "device_type"));
		const char *iso = json_string_value(json_object_get(ts, "iso"));
		int kind = -1;

		for (size_t k = 0; type && k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (atoi(type) == kinds[k].type)
				kind = kinds[k].kind;
		if (kind < 0 || !iso || !has_value(rd))
			continue;
		const struct reading_mbus *m = &v->mbus[kind];
		const char *unit = json_string_value(json_object_get(rd, "unit")) ?: "";
		found[kind] = true;
		/* DSMR 2.2/3.0 profile times carry no season: the sidecar gives local time. */
		char zoned[64];
		bool naive = strlen(iso) == 19;
		snprintf(zoned, sizeof(zoned), "%s%s", iso, naive ? "+01:00" : "");
		int64_t want = iso_to_utc(zoned);
		tap_ok(m->channel == json_integer_value(json_object_get(ch, "channel")) &&
			   (m->ts == want || (naive && m->ts == want - 3600)) &&
			   m->unit.len == strlen(unit) && !memcmp(reading_str(v, m->unit), unit, m->unit.len),
		       "%s: %s on channel %u at its own time", name, reading_mbus_kind_to_string(kind),
		       m->channel);
		tap_ok(expect_micro(json_string_value(json_object_get(rd, "value")), "") ==
			   expect_micro("0", "") + m->mant * 1000000 / (int64_t) pow10i(m->decimals),
		       "%s: %s value", name, reading_mbus_kind_to_string(kind));
	}
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++)
		if (!found[k])
			tap_ok(v->mbus[k].channel == 0, "%s: no live %s channel, no %s", name,
			       reading_mbus_kind_to_string(k), reading_mbus_kind_to_string(k));
}

static void check_summary(const char *name, const struct reading *v, json_t *sum)
{
	json_t *ts = json_object_get(sum, "timestamp"), *eq = json_object_get(sum, "equipment_id");
	json_t *pi = json_object_get(sum, "power_import"), *pe = json_object_get(sum, "power_export");
	const char *ident = json_string_value(json_object_get(sum, "identification"));

	if (ident)
		tap_ok(strlen(ident) == v->ident.len &&
			   !memcmp(ident, reading_str(v, v->ident), v->ident.len),
		       "%s: identification line", name);

	if (json_is_object(ts) && json_is_string(json_object_get(ts, "iso")))
		TAP_EQ_INT(v->ts, iso_to_utc(json_string_value(json_object_get(ts, "iso"))),
			   "ts from the meter clock");
	else
		tap_ok(v->ts == NOW && (v->flags & READING_FLAG_TS_HOST), "%s: no clock: host time", name);

	if (json_is_string(json_object_get(eq, "ascii")))
		TAP_EQ_STR(v->id, json_string_value(json_object_get(eq, "ascii")), "equipment id decoded");

	check_energy(name, v, json_object_get(sum, "energy_import"), READING_E_IMPORT);
	check_energy(name, v, json_object_get(sum, "energy_export"), READING_E_EXPORT);
	int64_t p = (has_value(pi) ? q_micro(pi) : 0) - (has_value(pe) ? q_micro(pe) : 0);
	check_field(name, v, READING_P, has_value(pi), p);
	if (json_object_get(sum, "phases"))
		check_phases(name, v, json_object_get(sum, "phases"), has_value(pi), p);
	check_mbus(name, v, json_object_get(sum, "mbus"));
	for (enum reading_field f = READING_U12; f <= READING_U32; f++)
		if (!(v->flags & READING_FLAG_DELTA_GRID))
			check_field(name, v, f, false, 0);
}

/* The published keys of an encrypted sample, from its sidecar. */
static struct decode_opts sidecar_opts(json_t *side)
{
	struct decode_opts o = DECODE_OPTS_DEFAULT;
	json_t *keys = json_object_get(side, "keys");
	const char *enc = json_string_value(json_object_get(keys, "encryption_key"));
	const char *auth = json_string_value(json_object_get(keys, "authentication_key"));

	o.keys.has_enc = enc && dlms_key_parse(enc, o.keys.enc) == 0;
	o.keys.has_auth = auth && dlms_key_parse(auth, o.keys.auth) == 0;
	return o;
}

/* An encrypted sample decrypts to exactly its plaintext sibling, whose
 * sidecar then holds the expected objects and values. */
static void check_encrypted_sample(const char *dir, const char *base, json_t *side, const struct collected *c)
{
	const char *plain = json_string_value(json_object_get(side, "plaintext_file"));
	const char *datadir = getenv("TESTDATA");
	char path[4096], *raw, *js;
	size_t len, jlen;
	json_t *pside;

	if (!tap_ok(c->accepted == 1 && c->rejected == 0 && plain,
		    "%s: decrypted and accepted (%u, %u rejected)", base, c->accepted, c->rejected))
		return;
	tap_ok(c->first->flags & READING_FLAG_ENCRYPTED, "%s: marked encrypted", base);
	snprintf(path, sizeof(path), "%s/%s/%s", datadir, dir, plain);
	raw = tap_read_file(path, &len);
	for (size_t i = 0; raw && i < len; i++)
		raw[i] &= 0x7f;
	tap_ok(raw && len == c->first->text_len && memcmp(raw, c->first->text, len) == 0,
	       "%s: the plaintext is exactly %s", base, plain);
	snprintf(path + strlen(path) - 4, 6, ".json");
	js = tap_read_file(path, &jlen);
	pside = js ? json_loads(js, 0, NULL) : NULL;
	if (tap_ok(pside != NULL, "%s: plaintext sidecar loads", base)) {
		check_objects(base, c->first, json_object_get(json_object_get(pside, "expected"), "objects"));
		check_summary(base, c->first, json_object_get(json_object_get(pside, "expected"), "summary"));
	}
	json_decref(pside);
	free(js);
	free(raw);
}

static void check_dsmr_sample(const char *dir, const char *base, json_t *side, const struct collected *c)
{
	json_t *exp = json_object_get(side, "expected");

	if (!strcmp(json_string_value(json_object_get(side, "kind")), "smarty-encrypted")) {
		check_encrypted_sample(dir, base, side, c);
		return;
	}
	if (!tap_ok(c->accepted == 1 && c->rejected == 0, "%s/%s: one telegram accepted (%u, %u rejected)",
		    dir, base, c->accepted, c->rejected))
		return;
	tap_ok(c->first->protocol == READING_PROTO_DSMR, "%s: protocol dsmr", base);
	check_objects(base, c->first, json_object_get(exp, "objects"));
	check_summary(base, c->first, json_object_get(exp, "summary"));
}

static void check_tic_sample(const char *base, json_t *side, const struct collected *c)
{
	json_t *frames = json_object_get(json_object_get(side, "integrity"), "frames");
	size_t i, valid = 0;
	json_t *f;

	json_array_foreach (frames, i, f)
		valid += json_is_true(json_object_get(f, "all_valid"));
	tap_ok(c->accepted == valid && c->rejected == 0, "%s: %zu frames accepted (%u, %u rejected)", base,
	       valid, c->accepted, c->rejected);
}

/* What the bad/ samples' expected_reader_behaviour asks of this reader. A TIC
 * frame with one bad group is dropped whole (proto.h), so "accept" entries that
 * only a group-wise reader would deliver count as 0 here. Ciphered frames are
 * decrypted with the keys of their sidecar and judged strictly. */
static const struct {
	const char *file;
	unsigned accepted;
	enum telegram_error error; /* of the first rejection; _TELEGRAM_ERR_MAX: none expected */
	const char *crc[2];        /* CRC trailers of the accepted telegrams, in order */
} bad_expectations[] = {
	{ "bad_dsmr40_overlong-line_then-valid", 1, TELEGRAM_ERR_LINE_TOO_LONG, { "6796" } },
	{ "bad_dsmr42_flipped-byte_bad-crc", 0, TELEGRAM_ERR_CRC, {} },
	{ "bad_dsmr42_line-removed_bad-crc_dsmrparser", 0, TELEGRAM_ERR_CRC, {} },
	{ "bad_dsmr50_capture-starting-mid-telegram_basjes", 2, TELEGRAM_ERR_TRUNCATED, { "D4BA", "3B12" } },
	{ "bad_dsmr50_cut-off-then-new-telegram_basjes", 1, TELEGRAM_ERR_TRUNCATED, { "34B6" } },
	{ "bad_dsmr50_garbage-before-header", 1, _TELEGRAM_ERR_MAX, { "6EEE" } },
	{ "bad_dsmr50_missing-crc", 0, TELEGRAM_ERR_CRC_MISSING, {} },
	{ "bad_dsmr50_truncated", 0, TELEGRAM_ERR_TRUNCATED, {} },
	{ "bad_dsmr_two-telegrams-with-noise-between", 2, _TELEGRAM_ERR_MAX, { "C4B0", "6EEE" } },
	/* The tag verifies with the published keys; the inner CRC does not. */
	{ "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab", 0, TELEGRAM_ERR_CRC, {} },
	{ "bad_lu_smarty_encrypted_inner-crc-mismatch_openhab_plaintext", 0, TELEGRAM_ERR_CRC, {} },
	{ "bad_tic-historique_group-bad-checksum", 0, TELEGRAM_ERR_CHECKSUM, {} },
	{ "bad_tic-historique_incomplete-stream_teleinfo-nom", 0, TELEGRAM_ERR_TRUNCATED, {} },
	{ "bad_tic-standard_group-bad-checksum", 0, TELEGRAM_ERR_CHECKSUM, {} },
	{ "bad_tic-standard_real-capture-with-line-errors_teleinfo-nom", 2, TELEGRAM_ERR_SYNTAX, {} },
	{ "bad_tic-standard_single-group-bad-checksum_linkytic", 0, _TELEGRAM_ERR_MAX, {} },
	{ "bad_tic-standard_truncated-frame-then-next", 1, TELEGRAM_ERR_TRUNCATED, {} },
};

static void check_bad_sample(const char *base, const struct collected *c)
{
	for (size_t i = 0; i < sizeof(bad_expectations) / sizeof(bad_expectations[0]); i++) {
		if (strcmp(bad_expectations[i].file, base))
			continue;

		tap_ok(c->accepted == bad_expectations[i].accepted, "%s: %u accepted (%u)", base,
		       bad_expectations[i].accepted, c->accepted);
		if (bad_expectations[i].error == _TELEGRAM_ERR_MAX)
			tap_ok(c->rejected == 0, "%s: noise only, nothing rejected (%u)", base, c->rejected);
		else
			tap_ok(c->rejected >= 1 && c->errors[0] == bad_expectations[i].error,
			       "%s: rejected as %s", base,
			       telegram_error_to_string(bad_expectations[i].error));
		for (unsigned k = 0; k < 2 && bad_expectations[i].crc[k]; k++) {
			char want[16];
			snprintf(want, sizeof(want), "!%s", bad_expectations[i].crc[k]);
			tap_ok(k < c->accepted && c->json[k] && k < 64 &&
				   strstr(c->json[k], "\"objects\"") != NULL,
			       "%s: telegram %u decoded", base, k);
		}
		if (c->first && bad_expectations[i].crc[0]) {
			const char *bang = memchr(c->first->text, '!', c->first->text_len);
			tap_ok(bang && !strncmp(bang + 1, bad_expectations[i].crc[0], 4),
			       "%s: the first accepted telegram is the one with CRC %s", base,
			       bad_expectations[i].crc[0]);
		}
		return;
	}
	tap_ok(false, "%s: no expectation for this bad sample", base);
}

static void run_file(const char *datadir, const char *dir, const char *base, unsigned *seed)
{
	char path[4096];
	size_t len, jlen;

	snprintf(path, sizeof(path), "%s/%s/%s.raw", datadir, dir, base);
	char *data = tap_read_file(path, &len);
	snprintf(path, sizeof(path), "%s/%s/%s.json", datadir, dir, base);
	char *js = tap_read_file(path, &jlen);
	json_t *side = js ? json_loads(js, 0, NULL) : NULL;

	if (!tap_ok(data && side, "%s/%s: raw and sidecar load", dir, base))
		goto out;

	struct collected whole, bytes, split;
	struct decode_opts o = sidecar_opts(side);
	decode_stream(data, len, 0, seed, &o, &whole);
	decode_stream(data, len, 1, seed, &o, &bytes);
	decode_stream(data, len, 97, seed, &o, &split);
	tap_ok(same_results(&whole, &bytes), "%s: byte by byte gives the same frames", base);
	tap_ok(same_results(&whole, &split), "%s: random splits give the same frames", base);

	if (!strcmp(dir, "bad"))
		check_bad_sample(base, &whole);
	else if (!strcmp(dir, "tic"))
		check_tic_sample(base, side, &whole);
	else
		check_dsmr_sample(dir, base, side, &whole);

	collected_free(&whole);
	collected_free(&bytes);
	collected_free(&split);
out:
	json_decref(side);
	free(js);
	free(data);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void run_dir(const char *datadir, const char *dir, unsigned *seed)
{
	char path[4096], *names[128];
	size_t n = 0;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", datadir, dir);
	DIR *d = opendir(path);
	if (!tap_ok(d != NULL, "open %s", path))
		return;
	while ((de = readdir(d)) && n < 128) {
		size_t l = strlen(de->d_name);
		if (l > 4 && !strcmp(de->d_name + l - 4, ".raw"))
			names[n++] = strndup(de->d_name, l - 4);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	tap_ok(n > 0, "%s: %zu samples", dir, n);
	for (size_t i = 0; i < n; i++) {
		run_file(datadir, dir, names[i], seed);
		free(names[i]);
	}
}

int main(void)
{
	const char *datadir = getenv("TESTDATA");
	const char *env_seed = getenv("SEED");
	unsigned seed = env_seed ? (unsigned) strtoul(env_seed, NULL, 10) : (unsigned) time(NULL);

	tap_diag("random splits with seed %u (SEED=%u repeats this run)", seed, seed);
	if (!tap_ok(datadir != NULL, "TESTDATA is set"))
		return tap_done();

	run_dir(datadir, "dsmr", &seed);
	run_dir(datadir, "tic", &seed);
	run_dir(datadir, "bad", &seed);
	return tap_done();
}
