/* SPDX-License-Identifier: MIT */
/*
 * power_instant as text (see reading-json-text.h). Mirrors reading-json.c's
 * tree key for key: a field whole in its unit is an integer, the others an
 * exact decimal of their millionths; apparent-only power goes under "S" with
 * "P" null; M-Bus channels by kind after the phases.
 *
 * Pure. No I/O. Never logs.
 */
#include "smartconnectd/outputs/jbuf.h"
#include "smartconnectd/outputs/reading-json-text.h"

/* Inline, so that each key is a literal whose length the compiler counts: a
 * call would pay a strlen() per member. */
static inline __attribute__((always_inline)) void field(struct jbuf *j, const char *key,
							const struct reading *v, enum reading_field f)
{
	if (!reading_has(v, f))
		jbuf_null(j, key);
	else
		jbuf_decimal(j, key, v->field[f], 6); /* millionths: READING_SCALE */
}

static void phase(struct jbuf *j, const char *key, const struct reading *v, unsigned x, bool apparent)
{
	enum reading_field p = (enum reading_field)(READING_P1 + x);

	jbuf_object(j, key);
	field(j, "U", v, (enum reading_field)(READING_U1 + x));
	field(j, "I", v, (enum reading_field)(READING_I1 + x));
	if (apparent) {
		jbuf_null(j, "P");
		field(j, "S", v, p);
	} else
		field(j, "P", v, p);
	jbuf_end_object(j);
}

/* As mbus_id_json(): hex-encoded text decoded, else as written when printable. */
static void mbus_id(struct jbuf *j, const struct reading *v, struct reading_span s)
{
	char text[READING_ID_MAX];
	const char *raw = reading_str(v, s);
	int n;

	if (s.len == 0) {
		jbuf_null(j, "id");
		return;
	}
	n = reading_hex_to_text(raw, s.len, text, sizeof(text));
	if (n > 0) {
		jbuf_string(j, "id", text, (size_t) n);
		return;
	}
	for (unsigned i = 0; i < s.len; i++)
		if ((unsigned char) raw[i] < 0x20) {
			jbuf_null(j, "id");
			return;
		}
	jbuf_string(j, "id", raw, s.len);
}

static void mbus(struct jbuf *j, const struct reading *v, const struct reading_mbus *m, const char *kind)
{
	jbuf_object(j, kind);
	jbuf_decimal(j, "value", m->mant, m->decimals);
	if (m->unit.len)
		jbuf_string(j, "unit", reading_str(v, m->unit), m->unit.len);
	else
		jbuf_null(j, "unit");
	jbuf_int(j, "timestamp", m->ts);
	jbuf_int(j, "channel", m->channel);
	mbus_id(j, v, m->id);
	jbuf_end_object(j);
}

void reading_json_text_power_instant_to(struct jbuf *j, const char *key, const struct reading *v)
{
	jbuf_object(j, key);
	reading_json_text_power_instant_members(j, v);
	jbuf_end_object(j);
}

/* The members before the M-Bus channels at most: their keys (under 256
 * bytes) and 16 numbers. */
#define FIXED_MAX (256 + 16 * JBUF_DECIMAL_MAX)
_Static_assert(FIXED_MAX < READING_JSON_TEXT_POWER_MAX, "power_instant's own buffer takes the quick way");

/* The quick way, once FIXED_MAX bytes are known to fit: keys with their
 * commas as literals copied whole, numbers by jbuf_write_decimal(), no
 * check per member. Same text as the members written one by one. */
static inline __attribute__((always_inline)) char *put(char *d, const char *text, size_t n)
{
	__builtin_memcpy(d, text, n);
	return d + n;
}

static inline __attribute__((always_inline)) char *put_field(char *d, const char *key, size_t key_len,
							     const struct reading *v, enum reading_field f)
{
	d = put(d, key, key_len);
	if (!reading_has(v, f))
		return put(d, "null", 4);
	return jbuf_write_decimal(d, v->field[f], 6); /* millionths: READING_SCALE */
}

/* key: the literal text before the value, quotes, colon and comma included. */
#define PUT(d, key) put(d, key, sizeof(key) - 1)
#define PUT_FIELD(d, key, v, f) put_field(d, key, sizeof(key) - 1, v, f)

static char *fixed_members(char *d, const struct reading *v, bool comma)
{
	static const char phases[3][8] = { ",\"l1\":{", ",\"l2\":{", ",\"l3\":{" };
	bool apparent = v->flags & READING_FLAG_P_APPARENT;

	*d = ',';
	d += comma;
	d = PUT(d, "\"ts\":");
	d = jbuf_write_decimal(d, v->ts, 0);
	d = apparent ? PUT(d, ",\"P\":null") : PUT_FIELD(d, ",\"P\":", v, READING_P);
	d = PUT_FIELD(d, ",\"E_IMPORT\":", v, READING_E_IMPORT);
	d = PUT_FIELD(d, ",\"E_EXPORT\":", v, READING_E_EXPORT);
	d = PUT_FIELD(d, ",\"U12\":", v, READING_U12);
	d = PUT_FIELD(d, ",\"U31\":", v, READING_U31);
	d = PUT_FIELD(d, ",\"U32\":", v, READING_U32);
	for (unsigned x = 0; x < 3; x++) {
		enum reading_field p = (enum reading_field)(READING_P1 + x);

		d = put(d, phases[x], 7);
		d = PUT_FIELD(d, "\"U\":", v, (enum reading_field)(READING_U1 + x));
		d = PUT_FIELD(d, ",\"I\":", v, (enum reading_field)(READING_I1 + x));
		d = apparent ? PUT_FIELD(d, ",\"P\":null,\"S\":", v, p) : PUT_FIELD(d, ",\"P\":", v, p);
		*d++ = '}';
	}
	if (apparent)
		d = PUT_FIELD(d, ",\"S\":", v, READING_P);
	return d;
}

/* The same member by member through jbuf, for a buffer near its end. */
static void fixed_members_slow(struct jbuf *j, const struct reading *v)
{
	static const char *const phases[] = { "l1", "l2", "l3" };
	bool apparent = v->flags & READING_FLAG_P_APPARENT;

	jbuf_int(j, "ts", v->ts);
	if (apparent)
		jbuf_null(j, "P");
	else
		field(j, "P", v, READING_P);
	field(j, "E_IMPORT", v, READING_E_IMPORT);
	field(j, "E_EXPORT", v, READING_E_EXPORT);
	field(j, "U12", v, READING_U12);
	field(j, "U31", v, READING_U31);
	field(j, "U32", v, READING_U32);
	for (unsigned x = 0; x < 3; x++)
		phase(j, phases[x], v, x, apparent);
	if (apparent)
		field(j, "S", v, READING_P);
}

void reading_json_text_power_instant_members(struct jbuf *j, const struct reading *v)
{
	if (FIXED_MAX < j->size - j->len) {
		bool comma = !j->first[j->depth];

		j->first[j->depth] = false;
		j->len = (size_t) (fixed_members(j->buf + j->len, v, comma) - j->buf);
	} else
		fixed_members_slow(j, v);
	/* Only the kinds the meter has: a meter without gas has no "gas" key. */
	for (unsigned k = 0; k < _READING_MBUS_KIND_MAX; k++)
		if (v->mbus[k].channel)
			mbus(j, v, &v->mbus[k], reading_mbus_kind_to_string((enum reading_mbus_kind) k));
}

int reading_json_text_power_instant(const struct reading *v, char *buf, size_t size)
{
	struct jbuf j;

	jbuf_init(&j, buf, size);
	reading_json_text_power_instant_to(&j, NULL, v);
	return jbuf_finish(&j);
}
