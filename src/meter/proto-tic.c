/* SPDX-License-Identifier: MIT */
/*
 * Enedis TIC decoder (smartconnectd(8), THE METER): one STX..ETX frame in
 * historique mode (SP separators, checksum method 1) or standard mode (HT
 * separators, optional horodate, checksum method 2). Every group becomes an
 * object, in frame order; the normalised fields are the snapshot keys of
 * smartconnect-decode(1), OUTPUT.
 * A group that fails its checksum or cannot be split rejects the whole frame.
 *
 * Pure. No I/O, no allocation. Never logs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/meter-time.h"
#include "smartconnectd/meter/proto.h"
#include "smartconnectd/meter/reading.h"

#define STX '\x02'
#define ETX '\x03'
#define HT '\t'
#define LF '\n'
#define CR '\r'
#define SP ' '

/*
 * The longest legal group (9-character label, horodate, 98 data characters,
 * three separators and the checksum) has 124 characters between LF and CR.
 */
#define TIC_GROUP_MAX 128
/*
 * Known labels have up to 9 characters (SMAXSN1-1). The margin leaves room for
 * labels of later specification versions and still stops a run of garbage.
 */
#define TIC_LABEL_MAX 16
#define TIC_HORODATE_LEN 13

/* STGE (Linky status register): operating mode and direction of the active energy. */
#define STGE_PRODUCER (1u << 8)
#define STGE_INJECTING (1u << 9)

struct tic_ctx {
	struct reading *v;
	char sep;       /* HT in standard mode, SP in historique mode */
	unsigned index; /* 1-based number of the group being parsed, for messages */
	enum telegram_error *ret_error;
	char *detail;
};

/* One group between its LF and CR. The body is label .. checksum. */
struct tic_group {
	uint16_t off, len;
	uint16_t label_len;
	struct reading_span stamp, data;
};

_printf_(3, 4) static int tic_reject(struct tic_ctx *c, enum telegram_error e, const char *fmt, ...)
{
	va_list ap;

	if (c->ret_error)
		*c->ret_error = e;
	if (c->detail) {
		va_start(ap, fmt);
		vsnprintf(c->detail, TELEGRAM_DETAIL_MAX, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/*
 * How much of a damaged group can be quoted as its label in a message: the
 * printable characters up to the first separator, never more than a label.
 */
static int quotable_label(const char *s, size_t n)
{
	size_t k = 0;

	while (k < n && k < TIC_LABEL_MAX && s[k] > SP && s[k] < 0x7f)
		k++;
	return (int) k;
}

/* "group 17 (EASD01): why", for a group whose body starts at s. */
_printf_(5, 6) static int group_reject(struct tic_ctx *c, enum telegram_error e, const char *s, size_t n,
				       const char *fmt, ...)
{
	va_list ap;
	int k;

	if (c->ret_error)
		*c->ret_error = e;
	if (c->detail) {
		k = snprintf(c->detail, TELEGRAM_DETAIL_MAX, "group %u (%.*s): ", c->index,
			     quotable_label(s, n), s);
		va_start(ap, fmt);
		if (k > 0 && k < TELEGRAM_DETAIL_MAX)
			vsnprintf(c->detail + k, TELEGRAM_DETAIL_MAX - (size_t) k, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static char tic_checksum(const char *s, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (unsigned char) s[i];
	return (char) ((sum & 0x3f) + 0x20);
}

static int measure_fail(struct tic_ctx *c, const char *s, size_t n, bool at_etx)
{
	if (n > TIC_GROUP_MAX)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "longer than %d characters", TIC_GROUP_MAX);
	if (at_etx)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "no CR before ETX");
	if (s[n] == LF)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "no CR before the next LF");
	return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "control character 0x%02x", (unsigned char) s[n]);
}

/*
 * Find the CR that ends the group whose body starts at pos. Everything before it
 * must be printable or the mode's separator: a CR lost on the line makes the
 * group run into the next LF, and that must not be read as data.
 */
static int group_measure(struct tic_ctx *c, size_t pos, size_t end, size_t *ret_len)
{
	const char *s = c->v->text + pos;
	size_t limit = end - pos < TIC_GROUP_MAX + 1u ? end - pos : TIC_GROUP_MAX + 1u;
	size_t n;

	for (n = 0; n < limit; n++) {
		unsigned char ch = (unsigned char) s[n];

		if (ch >= 0x20 && ch <= 0x7e)
			continue;
		if (ch == CR) {
			*ret_len = n;
			return 0;
		}
		if (ch != (unsigned char) c->sep)
			break;
	}
	return measure_fail(c, s, n, pos + n >= end);
}

/*
 * Method 1 (historique) sums label SP data; method 2 (standard) also takes the
 * HT in front of the checksum. Either way the checksum is the body's last byte
 * and the separator its second to last.
 */
static int group_verify(struct tic_ctx *c, const struct tic_group *g)
{
	const char *s = c->v->text + g->off;
	char computed;

	if (g->len == 0)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, 0, "empty");
	if (g->len < 3 || s[g->len - 2] != c->sep)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, g->len, "no separator before the checksum");

	computed = tic_checksum(s, c->sep == HT ? g->len - 1u : g->len - 2u);
	if (computed != s[g->len - 1])
		return tic_reject(c, TELEGRAM_ERR_CHECKSUM,
				  "checksum error in group %.*s (stated '%c', computed '%c')",
				  quotable_label(s, g->len), s, s[g->len - 1], computed);
	return 0;
}

static int label_check(struct tic_ctx *c, const char *s, size_t n)
{
	if (n == 0)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, 0, "empty label");
	if (n > TIC_LABEL_MAX)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "label longer than %d characters",
				    TIC_LABEL_MAX);
	if (memchr(s, SP, n))
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, n, "space in the label");
	return 0;
}

/*
 * Split a verified body into label, optional horodate and data. Only the
 * separators count: standard data contain spaces, the historique checksum may
 * be one, DATE has empty data and DPMx/FPMx a horodate that starts with a space.
 */
static int group_split(struct tic_ctx *c, struct tic_group *g)
{
	const char *s = c->v->text + g->off;
	size_t last = g->len - 2u; /* the separator in front of the checksum */
	const char *p1 = memchr(s, c->sep, last), *p2 = NULL;
	size_t start;
	int r;

	if (!p1)
		return group_reject(c, TELEGRAM_ERR_SYNTAX, s, g->len, "no separator after the label");

	g->label_len = (uint16_t) (p1 - s);
	r = label_check(c, s, g->label_len);
	if (r < 0)
		return r;

	start = g->label_len + 1u;
	if (c->sep == HT)
		p2 = memchr(s + start, HT, last - start);
	if (p2) {
		size_t stamp_len = (size_t) (p2 - s) - start;

		if (memchr(p2 + 1, HT, last - (size_t) (p2 + 1 - s)))
			return group_reject(c, TELEGRAM_ERR_SYNTAX, s, g->label_len, "too many fields");
		if (stamp_len != TIC_HORODATE_LEN)
			return group_reject(c, TELEGRAM_ERR_SYNTAX, s, g->label_len,
					    "horodate of %zu characters", stamp_len);
		g->stamp = (struct reading_span){ (uint16_t) (g->off + start), (uint16_t) stamp_len };
		start += stamp_len + 1u;
	}
	g->data = (struct reading_span){ (uint16_t) (g->off + start), (uint16_t) (last - start) };
	return 0;
}

static int group_store(struct tic_ctx *c, const struct tic_group *g)
{
	struct reading *v = c->v;
	int idx = reading_add_object(v, g->off, g->label_len);

	if (idx < 0)
		return tic_reject(c, TELEGRAM_ERR_TOO_LONG, "more than %d groups", READING_OBJECTS_MAX);
	v->objects[idx].stamp = g->stamp;

	if (reading_add_value(v, g->data.off, g->data.len) < 0)
		return tic_reject(c, TELEGRAM_ERR_TOO_LONG, "more than %d values", READING_VALUES_MAX);
	return 0;
}

static int group_parse(struct tic_ctx *c, size_t pos, size_t end, size_t *ret_len)
{
	struct tic_group g = { .off = (uint16_t) pos };
	size_t len = 0;
	int r;

	r = group_measure(c, pos, end, &len);
	if (r < 0)
		return r;
	g.len = (uint16_t) len;

	r = group_verify(c, &g);
	if (r < 0)
		return r;

	r = group_split(c, &g);
	if (r < 0)
		return r;

	*ret_len = len;
	return group_store(c, &g);
}

/*
 * The framer hands over STX .. ETX; anything else here is a caller's bug or a
 * fuzzer, and must still end in a clean rejection.
 */
static int frame_check(struct tic_ctx *c)
{
	const char *t = c->v->text;
	size_t n = c->v->text_len;

	if (n > READING_TEXT_MAX)
		return tic_reject(c, TELEGRAM_ERR_TOO_LONG, "frame of %zu bytes", n);
	if (n == 0)
		return tic_reject(c, TELEGRAM_ERR_EMPTY, "empty frame");
	if (t[0] != STX)
		return tic_reject(c, TELEGRAM_ERR_SYNTAX, "frame does not start with STX");
	if (n < 2 || t[n - 1] != ETX)
		return tic_reject(c, TELEGRAM_ERR_TRUNCATED, "frame does not end with ETX");
	return 0;
}

static int frame_parse(struct tic_ctx *c)
{
	const char *t = c->v->text;
	size_t end = c->v->text_len - 1u; /* the ETX */
	size_t pos = 1, len;
	int r;

	while (pos < end) {
		c->index++;
		if (t[pos] != LF)
			return tic_reject(c, TELEGRAM_ERR_SYNTAX,
					  "byte 0x%02x at offset %zu where group %u should start",
					  (unsigned char) t[pos], pos, c->index);

		r = group_parse(c, pos + 1, end, &len);
		if (r < 0)
			return r;
		pos += len + 2u;
	}

	if (c->v->n_objects == 0)
		return tic_reject(c, TELEGRAM_ERR_EMPTY, "frame without groups");
	return 0;
}

static void frame_set_mode(struct reading *v, bool standard)
{
	v->protocol = standard ? READING_PROTO_TIC_STANDARD : READING_PROTO_TIC_HISTORIQUE;
	snprintf(v->version, sizeof(v->version), "%s", standard ? "standard" : "historique");
	/* Nominal only: a cycle is the frame's length at the line speed. */
	v->interval_s = standard ? 2 : 3;
}

/*
 * The labels the normaliser reads. Looked up once per frame; the first group
 * with a label wins, so a repeated label cannot be counted twice. Each mode's
 * labels stay together (view_collect), the index labels contiguous
 * (historique_energy) and every phase triple in the order 1, 2, 3, like the
 * fields it fills (set_phases).
 */
enum tic_slot {
	/* historique */
	T_ADCO,
	T_PAPP,
	T_IINST,
	T_IINST1,
	T_IINST2,
	T_IINST3,
	T_ADIR1,
	T_ADIR2,
	T_ADIR3,
	T_BASE,
	T_HCHC,
	T_HCHP,
	T_EJPHN,
	T_EJPHPM,
	T_BBRHCJB,
	T_BBRHPJB,
	T_BBRHCJW,
	T_BBRHPJW,
	T_BBRHCJR,
	T_BBRHPJR,
	/* standard */
	T_ADSC,
	T_DATE,
	T_STGE,
	T_EAST,
	T_EAIT,
	T_SINSTS,
	T_SINSTI,
	T_URMS1,
	T_URMS2,
	T_URMS3,
	T_IRMS1,
	T_IRMS2,
	T_IRMS3,
	T_SINSTS1,
	T_SINSTS2,
	T_SINSTS3,
	_T_MAX,
};

struct tic_name {
	const char *s;
	uint8_t len;
};

#define NAME(x)                  \
	{                        \
		x, sizeof(x) - 1 \
	}

static const struct tic_name slot_names[_T_MAX] = {
	[T_ADCO] = NAME("ADCO"),       [T_PAPP] = NAME("PAPP"),       [T_IINST] = NAME("IINST"),
	[T_IINST1] = NAME("IINST1"),   [T_IINST2] = NAME("IINST2"),   [T_IINST3] = NAME("IINST3"),
	[T_ADIR1] = NAME("ADIR1"),     [T_ADIR2] = NAME("ADIR2"),     [T_ADIR3] = NAME("ADIR3"),
	[T_BASE] = NAME("BASE"),       [T_HCHC] = NAME("HCHC"),       [T_HCHP] = NAME("HCHP"),
	[T_EJPHN] = NAME("EJPHN"),     [T_EJPHPM] = NAME("EJPHPM"),   [T_BBRHCJB] = NAME("BBRHCJB"),
	[T_BBRHPJB] = NAME("BBRHPJB"), [T_BBRHCJW] = NAME("BBRHCJW"), [T_BBRHPJW] = NAME("BBRHPJW"),
	[T_BBRHCJR] = NAME("BBRHCJR"), [T_BBRHPJR] = NAME("BBRHPJR"), [T_ADSC] = NAME("ADSC"),
	[T_DATE] = NAME("DATE"),       [T_STGE] = NAME("STGE"),       [T_EAST] = NAME("EAST"),
	[T_EAIT] = NAME("EAIT"),       [T_SINSTS] = NAME("SINSTS"),   [T_SINSTI] = NAME("SINSTI"),
	[T_URMS1] = NAME("URMS1"),     [T_URMS2] = NAME("URMS2"),     [T_URMS3] = NAME("URMS3"),
	[T_IRMS1] = NAME("IRMS1"),     [T_IRMS2] = NAME("IRMS2"),     [T_IRMS3] = NAME("IRMS3"),
	[T_SINSTS1] = NAME("SINSTS1"), [T_SINSTS2] = NAME("SINSTS2"), [T_SINSTS3] = NAME("SINSTS3"),
};

struct tic_view {
	struct reading *v;
	const struct reading_object *found[_T_MAX];
};

static bool name_is(const char *s, size_t len, const struct tic_name *n)
{
	return len == n->len && s[0] == n->s[0] && memcmp(s, n->s, len) == 0;
}

/* Only the labels of the frame's mode are looked for. */
static void view_collect(struct tic_view *tv)
{
	const struct reading *v = tv->v;
	bool standard = v->protocol == READING_PROTO_TIC_STANDARD;
	enum tic_slot first = standard ? T_ADSC : T_ADCO, end = standard ? _T_MAX : T_ADSC;

	for (unsigned i = 0; i < v->n_objects; i++) {
		const char *label = v->text + v->objects[i].id.off;
		size_t len = v->objects[i].id.len;

		for (enum tic_slot s = first; s < end; s++)
			if (!tv->found[s] && name_is(label, len, &slot_names[s])) {
				tv->found[s] = &v->objects[i];
				break;
			}
	}
}

static bool view_has(const struct tic_view *tv, enum tic_slot s)
{
	return tv->found[s] != NULL;
}

static bool view_has_any(const struct tic_view *tv, const enum tic_slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (view_has(tv, s[i]))
			return true;
	return false;
}

static struct reading_span view_data(const struct tic_view *tv, enum tic_slot s)
{
	return tv->v->values[tv->found[s]->first];
}

/*
 * TIC numbers are fixed-width, zero-padded, unsigned and without unit. The
 * widest numeric field has 9 digits; 12 keeps any sum of scaled indexes far
 * from overflowing.
 */
static int tic_uint(const char *s, size_t n, int64_t *ret)
{
	int64_t x = 0;

	if (n == 0 || n > 12)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		x = x * 10 + (s[i] - '0');
	}
	*ret = x;
	return 0;
}

/*
 * A group's data in millionths of the field's unit, scaled from the unit the
 * specification fixes for its label. -ENOENT when the group is absent,
 * -EINVAL when its data is not a number: a group that passes its checksum can
 * still be wrong, and must then leave the field null.
 */
static int view_micro(const struct tic_view *tv, enum tic_slot s, enum reading_quantity q, int64_t *ret)
{
	const struct tic_name *n = &slot_names[s];
	const char *unit = proto_tic_unit(n->s, n->len);
	struct reading_number num = { 0 };
	struct reading_span d;
	int r;

	if (!view_has(tv, s))
		return -ENOENT;
	if (!unit)
		return -EINVAL;

	d = view_data(tv, s);
	r = tic_uint(tv->v->text + d.off, d.len, &num.mant);
	if (r < 0)
		return r;
	return reading_scale(&num, q, unit, ret);
}

/* Set a field from a group when the group is there and numeric. */
static bool view_set(const struct tic_view *tv, enum reading_field f, enum tic_slot s,
		     enum reading_quantity q)
{
	int64_t x;

	if (view_micro(tv, s, q, &x) < 0)
		return false;
	reading_set(tv->v, f, x);
	return true;
}

static void view_copy_id(const struct tic_view *tv, enum tic_slot s)
{
	struct reading_span d;

	if (!view_has(tv, s))
		return;
	d = view_data(tv, s);
	if (d.len > 0 && d.len < READING_ID_MAX) {
		memcpy(tv->v->id, tv->v->text + d.off, d.len);
		tv->v->id[d.len] = '\0';
	}
}

/*
 * Sum of the index groups present. One unreadable index makes the sum unknown:
 * a total that silently lacks a tariff would look like a meter going backwards.
 */
static int historique_energy(const struct tic_view *tv, int64_t *ret)
{
	int64_t sum = 0, x;
	bool any = false;

	for (enum tic_slot s = T_BASE; s <= T_BBRHPJR; s++) {
		int r = view_micro(tv, s, READING_Q_ENERGY, &x);

		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		sum += x;
		any = true;
	}
	if (!any)
		return -ENOENT;
	*ret = sum;
	return 0;
}

static void set_phases(const struct tic_view *tv, enum reading_field first, enum tic_slot s,
		       enum reading_quantity q)
{
	for (unsigned i = 0; i < 3; i++)
		view_set(tv, (enum reading_field)(first + i), (enum tic_slot)(s + i), q);
}

static bool any_phase_current(const struct reading *v)
{
	return reading_has(v, READING_I1) || reading_has(v, READING_I2) || reading_has(v, READING_I3);
}

/* Historique: PAPP is the only power and has no direction; no voltages. */
static void normalise_historique(const struct tic_view *tv, int64_t now_s)
{
	static const enum tic_slot adir[] = { T_ADIR1, T_ADIR2, T_ADIR3 };
	static const enum tic_slot phases[] = {
		T_IINST1, T_IINST2, T_IINST3, T_ADIR1, T_ADIR2, T_ADIR3,
	};
	struct reading *v = tv->v;
	int64_t e;

	v->ts = now_s;
	v->flags |= READING_FLAG_TS_HOST;
	view_copy_id(tv, T_ADCO);
	view_set(tv, READING_P, T_PAPP, READING_Q_POWER);
	if (historique_energy(tv, &e) == 0)
		reading_set(v, READING_E_IMPORT, e);

	if (view_has_any(tv, phases, ARRAY_SIZE(phases))) {
		set_phases(tv, READING_I1, T_IINST1, READING_Q_AMPERE);
		/* Short frames (overcurrent) carry ADIRx but no PAPP and no index. */
		if (!view_has(tv, T_PAPP) && view_has_any(tv, adir, ARRAY_SIZE(adir)))
			v->flags |= READING_FLAG_SHORT_FRAME;
	} else {
		view_set(tv, READING_I1, T_IINST, READING_Q_AMPERE);
		if (reading_has(v, READING_P))
			reading_set(v, READING_P1, v->field[READING_P]);
	}
	if (any_phase_current(v))
		v->flags |= READING_FLAG_I_UNSIGNED;
}

static int stge_parse(const struct tic_view *tv, uint32_t *ret)
{
	struct reading_span d;
	uint32_t x = 0;

	if (!view_has(tv, T_STGE))
		return -ENOENT;
	d = view_data(tv, T_STGE);
	if (d.len != 8)
		return -EINVAL;
	for (unsigned i = 0; i < d.len; i++) {
		char ch = tv->v->text[d.off + i];
		unsigned nib;

		if (ch >= '0' && ch <= '9')
			nib = (unsigned) (ch - '0');
		else if (ch >= 'A' && ch <= 'F')
			nib = (unsigned) (ch - 'A' + 10);
		else if (ch >= 'a' && ch <= 'f')
			nib = (unsigned) (ch - 'a' + 10);
		else
			return -EINVAL;
		x = x << 4 | nib;
	}
	*ret = x;
	return 0;
}

/*
 * The meter's clock when it vouches for it; a degraded or missing clock
 * falls back to the host's receive time.
 */
static void standard_ts(const struct tic_view *tv, const struct decode_opts *o, int64_t now_s)
{
	struct reading *v = tv->v;
	const struct reading_object *d = tv->found[T_DATE];
	int offset = o ? o->std_offset_min : DECODE_OPTS_DEFAULT.std_offset_min;
	int64_t ts;

	if (d && meter_time_parse_horodate(v->text + d->stamp.off, d->stamp.len, offset, &ts) == 0) {
		v->ts = ts;
		return;
	}
	v->ts = now_s;
	v->flags |= READING_FLAG_TS_HOST;
}

/*
 * SINSTS is drawn and SINSTI injected apparent power; STGE bit 9 tells which
 * applies. A consumer-mode meter that injects sends no SINSTI, and without
 * STGE the direction is unknown: P stays null in both cases.
 */
static void standard_power(const struct tic_view *tv, bool have_stge, uint32_t stge)
{
	struct reading *v = tv->v;
	int64_t s;

	if (!have_stge)
		return;
	if (!(stge & STGE_INJECTING))
		view_set(tv, READING_P, T_SINSTS, READING_Q_POWER);
	else if ((stge & STGE_PRODUCER) && view_micro(tv, T_SINSTI, READING_Q_POWER, &s) == 0)
		reading_set(v, READING_P, -s);
}

/* Single phase: the total direction is the phase's direction. */
static void standard_phase1(const struct tic_view *tv, bool have_stge, uint32_t stge)
{
	struct reading *v = tv->v;

	view_set(tv, READING_U1, T_URMS1, READING_Q_VOLT);
	if (view_set(tv, READING_I1, T_IRMS1, READING_Q_AMPERE)) {
		if (!have_stge)
			v->flags |= READING_FLAG_I_UNSIGNED;
		else if (stge & STGE_INJECTING)
			v->field[READING_I1] = -v->field[READING_I1];
	}
	if (reading_has(v, READING_P))
		reading_set(v, READING_P1, v->field[READING_P]);
}

/*
 * Three phases: IRMSx have no sign and SINSTSx count drawn power only, so a
 * phase that might inject has no known power. Only a consumer-mode meter whose
 * total draws is taken to draw on every phase.
 */
static void standard_phase3(const struct tic_view *tv, bool have_stge, uint32_t stge)
{
	struct reading *v = tv->v;

	set_phases(tv, READING_U1, T_URMS1, READING_Q_VOLT);
	set_phases(tv, READING_I1, T_IRMS1, READING_Q_AMPERE);
	if (any_phase_current(v))
		v->flags |= READING_FLAG_I_UNSIGNED;
	if (have_stge && !(stge & (STGE_PRODUCER | STGE_INJECTING)))
		set_phases(tv, READING_P1, T_SINSTS1, READING_Q_POWER);
}

static void normalise_standard(const struct tic_view *tv, const struct decode_opts *o, int64_t now_s)
{
	/* Single-phase meters never send phase 2/3 groups nor per-phase copies. */
	static const enum tic_slot phases[] = {
		T_URMS2, T_URMS3, T_IRMS2, T_IRMS3, T_SINSTS1, T_SINSTS2, T_SINSTS3,
	};
	uint32_t stge = 0;
	bool have_stge = stge_parse(tv, &stge) == 0;

	view_copy_id(tv, T_ADSC);
	standard_ts(tv, o, now_s);
	standard_power(tv, have_stge, stge);
	view_set(tv, READING_E_IMPORT, T_EAST, READING_Q_ENERGY);
	/* EAIT is only meaningful on a producer-mode meter. */
	if (have_stge && (stge & STGE_PRODUCER))
		view_set(tv, READING_E_EXPORT, T_EAIT, READING_Q_ENERGY);

	if (view_has_any(tv, phases, ARRAY_SIZE(phases)))
		standard_phase3(tv, have_stge, stge);
	else
		standard_phase1(tv, have_stge, stge);
}

static void normalise(struct reading *v, const struct decode_opts *o, int64_t now_s)
{
	const uint32_t powers = 1u << READING_P | 1u << READING_P1 | 1u << READING_P2 | 1u << READING_P3;
	struct tic_view tv = { .v = v };

	view_collect(&tv);
	if (v->protocol == READING_PROTO_TIC_STANDARD)
		normalise_standard(&tv, o, now_s);
	else
		normalise_historique(&tv, now_s);

	/* TIC only knows apparent power (VA); it stands in for active power. */
	if (v->valid & powers)
		v->flags |= READING_FLAG_P_APPARENT;
}

int proto_tic_decode(struct reading *v, const struct decode_opts *o, int64_t now_s,
		     enum telegram_error *ret_error, char detail[TELEGRAM_DETAIL_MAX])
{
	struct tic_ctx c = { .v = v, .ret_error = ret_error, .detail = detail };
	bool standard;
	int r;

	reading_reset(v);

	r = frame_check(&c);
	if (r < 0)
		return r;

	/* HT never occurs in a historique frame, and every standard group has two. */
	standard = memchr(v->text, HT, v->text_len) != NULL;
	c.sep = standard ? HT : SP;
	frame_set_mode(v, standard);

	r = frame_parse(&c);
	if (r < 0)
		return r;

	normalise(v, o, now_s);
	return 0;
}

static enum proto_object_kind tic_object_kind(const struct reading *v, const struct reading_object *o)
{
	(void) v;
	(void) o;
	return PROTO_OBJECT_LABELLED;
}

/* Two rows from one decoder, which tells the modes apart by their separator:
 * they differ in name and line speed. A TIC meter sends frame after frame. */
static const enum tty_setting tic_historique_serial[] = { TTY_SETTING_1200_7E1 };
static const enum tty_setting tic_standard_serial[] = { TTY_SETTING_9600_7E1 };

const struct proto_driver proto_tic_historique = {
	.id = READING_PROTO_TIC_HISTORIQUE,
	.name = "tic-historique",
	.title = "TIC historique",
	.continuous = true,
	.hunt = TELEGRAM_HUNT_TIC_HISTORIQUE,
	.settings = tic_historique_serial,
	.n_settings = ARRAY_SIZE(tic_historique_serial),
	.decode = proto_tic_decode,
	.unit = proto_tic_unit,
	.object_kind = tic_object_kind,
};

const struct proto_driver proto_tic_standard = {
	.id = READING_PROTO_TIC_STANDARD,
	.name = "tic-standard",
	.title = "TIC standard",
	.continuous = true,
	.hunt = TELEGRAM_HUNT_TIC_STANDARD,
	.settings = tic_standard_serial,
	.n_settings = ARRAY_SIZE(tic_standard_serial),
	.decode = proto_tic_decode,
	.unit = proto_tic_unit,
	.object_kind = tic_object_kind,
};
