/* SPDX-License-Identifier: MIT */
/*
 * The history rings (see history.h): per telegram, sums into the minute and
 * the quarter being built; a telegram of a later period closes it into its
 * ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "smartconnectd/meter/history.h"

static const unsigned step_seconds[_HISTORY_STEP_MAX] = { 60, 900 };
static const uint32_t ring_size[_HISTORY_STEP_MAX] = { HISTORY_MINUTES, HISTORY_QUARTERS };

unsigned history_step_seconds(enum history_step s)
{
	return s < _HISTORY_STEP_MAX ? step_seconds[s] : 0;
}

int history_new(struct history **ret)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	*ret = h;
	return 0;
}

struct history *history_free(struct history *h)
{
	free(h);
	return NULL;
}

void history_clear(struct history *h)
{
	memset(h, 0, sizeof(*h));
}

static const uint32_t block_size[_HISTORY_STEP_MAX] = { HISTORY_MINUTE_BLOCK, HISTORY_QUARTER_BLOCK };

/* Round a / b to the nearest integer, halves away from zero. */
static int64_t div_round(int64_t a, int64_t b)
{
	return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

static int32_t clamp32(int64_t x)
{
	return (int32_t) (x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x);
}

static uint16_t clamp16(int64_t x)
{
	return (uint16_t) (x > UINT16_MAX ? UINT16_MAX : x < 0 ? 0 : x);
}

static int16_t clamp16s(int64_t x)
{
	return (int16_t) (x > INT16_MAX ? INT16_MAX : x < INT16_MIN ? INT16_MIN : x);
}

#define POWER_KNEE 16384 /* W: 1 W steps below, 4 W steps above */

int16_t history_power_encode(int64_t w)
{
	int64_t a = w < 0 ? -w : w;

	if (a > POWER_KNEE)
		a = POWER_KNEE + div_round(a - POWER_KNEE, 4);
	a = MIN(a, (int64_t) INT16_MAX);
	return (int16_t) (w < 0 ? -a : a);
}

int32_t history_power_decode(int16_t c)
{
	int32_t a = c < 0 ? -(int32_t) c : c;

	if (a > POWER_KNEE)
		a = POWER_KNEE + (a - POWER_KNEE) * 4;
	return c < 0 ? -a : a;
}

/* The record of what an accumulator holds. */
static void acc_to_rec(const struct history_acc *a, struct history_rec *r)
{
	*r = (struct history_rec){
		.start_min = a->start_min,
		.samples = (uint16_t) MIN(a->samples, (uint32_t) UINT16_MAX),
		.valid = a->valid,
		.e_import = a->e_import,
		.e_export = a->e_export,
	};
	if (a->n_p > 0) {
		r->p_mean = clamp32(div_round(a->p_sum, a->n_p));
		r->p_min = a->p_min;
		r->p_max = a->p_max;
		r->valid |= HISTORY_HAS_P_MIN;
	}
	for (unsigned k = 0; k < 3; k++) {
		if (a->n_i[k] > 0)
			r->i_mean[k] = clamp32(div_round(a->i_sum[k], a->n_i[k]));
		if (a->n_u[k] > 0)
			r->u_mean[k] = clamp16(div_round(a->u_sum[k], a->n_u[k]));
	}
}

/* Which block holds period n. */
static uint32_t block_slot(enum history_step s, uint32_t n)
{
	return n % ring_size[s] / block_size[s];
}

/* Make n's block hold n's hour or half day: a block of an earlier lap is emptied. */
static struct history_block *block_claim(struct history *h, enum history_step s, uint32_t n)
{
	struct history_block *b =
	    &(s == HISTORY_STEP_MINUTE ? h->minute_blocks : h->quarter_blocks)[block_slot(s, n)];
	uint32_t first = n % ring_size[s] / block_size[s] * block_size[s];

	if (b->index == n / block_size[s] + 1)
		return b;
	*b = (struct history_block){ .index = n / block_size[s] + 1 };
	if (s == HISTORY_STEP_MINUTE)
		memset(&h->minutes[first], 0, HISTORY_MINUTE_BLOCK * sizeof(h->minutes[0]));
	else
		memset(&h->quarters[first], 0, HISTORY_QUARTER_BLOCK * sizeof(h->quarters[0]));
	return b;
}

/* The register mwh as Wh above the block's base (set by the block's first
 * register): false when it does not fit in max. */
static bool energy_offset(struct history_block *b, unsigned bit, int64_t mwh, uint32_t max, uint32_t *ret)
{
	int64_t wh = div_round(mwh, 1000);
	uint32_t *base = bit == HISTORY_HAS_E_IMPORT ? &b->e_import : &b->e_export;

	if (wh < 0 || wh > UINT32_MAX)
		return false;
	if (!(b->base & bit)) {
		*base = (uint32_t) wh;
		b->base |= bit;
	}
	if (wh < *base || wh - *base > max)
		return false;
	*ret = (uint32_t) (wh - *base);
	return true;
}

/* Both registers as offsets; the bits of those that do not fit are cleared from *valid. */
static void energy_offsets(struct history_block *b, const struct history_rec *r, uint32_t max,
			   uint32_t off[2], uint16_t *valid)
{
	off[0] = off[1] = 0;
	if ((*valid & HISTORY_HAS_E_IMPORT) &&
	    !energy_offset(b, HISTORY_HAS_E_IMPORT, r->e_import, max, &off[0]))
		*valid &= (uint16_t) ~HISTORY_HAS_E_IMPORT;
	if ((*valid & HISTORY_HAS_E_EXPORT) &&
	    !energy_offset(b, HISTORY_HAS_E_EXPORT, r->e_export, max, &off[1]))
		*valid &= (uint16_t) ~HISTORY_HAS_E_EXPORT;
}

uint32_t history_qtr_energy(const struct history_qtr *q, unsigned k)
{
	const uint8_t *e = q->e;

	if (k == 0)
		return e[0] | (uint32_t) e[1] << 8 | (uint32_t) (e[2] & 0x0f) << 16;
	return e[2] >> 4 | (uint32_t) e[3] << 4 | (uint32_t) e[4] << 12;
}

void history_qtr_set_energy(struct history_qtr *q, uint32_t e_import, uint32_t e_export)
{
	q->e[0] = (uint8_t) e_import;
	q->e[1] = (uint8_t) (e_import >> 8);
	q->e[2] = (uint8_t) ((e_import >> 16 & 0x0f) | (e_export & 0x0f) << 4);
	q->e[3] = (uint8_t) (e_export >> 4);
	q->e[4] = (uint8_t) (e_export >> 12);
}

#define QTR_FIELDS (HISTORY_HAS_P | HISTORY_HAS_E_IMPORT | HISTORY_HAS_E_EXPORT)
#define QTR_USED HISTORY_QTR_USED
#define QTR_SAMPLES_MAX 4095u

#define META_SAMPLES_SHIFT 10
#define META_U_SHIFT 22
#define META_U_BITS 14

uint64_t history_min_meta(uint16_t valid, uint32_t samples, const uint16_t u_mean[3])
{
	uint64_t x = (valid & HISTORY_HAS_MASK) | (uint64_t) MIN(samples, HISTORY_MIN_SAMPLES_MAX)
						      << META_SAMPLES_SHIFT;

	for (unsigned k = 0; k < 3; k++)
		x |= (uint64_t) MIN(u_mean[k], HISTORY_MIN_U_MAX) << (META_U_SHIFT + META_U_BITS * k);
	return x;
}

uint16_t history_min_valid(const struct history_min *m)
{
	return (uint16_t) (m->meta & HISTORY_HAS_MASK);
}

uint16_t history_min_samples(const struct history_min *m)
{
	return (uint16_t) (m->meta >> META_SAMPLES_SHIFT & HISTORY_MIN_SAMPLES_MAX);
}

uint16_t history_min_u(const struct history_min *m, unsigned k)
{
	return (uint16_t) (m->meta >> (META_U_SHIFT + META_U_BITS * k) & HISTORY_MIN_U_MAX);
}

static void store_minute(struct history *h, const struct history_rec *r)
{
	uint32_t n = r->start_min, off[2];
	struct history_block *b = block_claim(h, HISTORY_STEP_MINUTE, n);
	uint16_t valid = r->valid;
	struct history_min m = {
		.p_mean = history_power_encode(r->p_mean),
		.p_min = history_power_encode(r->p_min),
		.p_max = history_power_encode(r->p_max),
	};

	energy_offsets(b, r, UINT16_MAX, off, &valid);
	m.meta = history_min_meta(valid, r->samples, r->u_mean);
	m.e_import = (uint16_t) off[0];
	m.e_export = (uint16_t) off[1];
	for (unsigned k = 0; k < 3; k++)
		m.i_mean[k] = clamp16s(div_round(r->i_mean[k], 10));
	h->minutes[n % HISTORY_MINUTES] = m;
}

static void store_quarter(struct history *h, const struct history_rec *r)
{
	uint32_t n = r->start_min / 15, off[2];
	struct history_block *b = block_claim(h, HISTORY_STEP_QUARTER, n);
	uint16_t valid = r->valid & QTR_FIELDS;
	struct history_qtr *q = &h->quarters[n % HISTORY_QUARTERS];

	energy_offsets(b, r, HISTORY_QTR_E_MAX, off, &valid);
	q->meta = (uint16_t) (valid | QTR_USED | MIN((uint32_t) r->samples, QTR_SAMPLES_MAX) << 4);
	history_qtr_set_energy(q, off[0], off[1]);
	q->p_mean = history_power_encode(r->p_mean);
	q->p_max = history_power_encode(r->p_max);
}

/* The stored record of period n (minute or quarter index) into *r: false for a gap. */
static bool load_minute(const struct history *h, uint32_t n, struct history_rec *r)
{
	const struct history_block *b = &h->minute_blocks[block_slot(HISTORY_STEP_MINUTE, n)];
	const struct history_min *m = &h->minutes[n % HISTORY_MINUTES];

	if (b->index != n / HISTORY_MINUTE_BLOCK + 1 || history_min_samples(m) == 0)
		return false;
	*r = (struct history_rec){
		.start_min = n,
		.samples = history_min_samples(m),
		.valid = history_min_valid(m),
		.e_import = ((int64_t) b->e_import + m->e_import) * 1000,
		.e_export = ((int64_t) b->e_export + m->e_export) * 1000,
		.p_mean = history_power_decode(m->p_mean),
		.p_min = history_power_decode(m->p_min),
		.p_max = history_power_decode(m->p_max),
	};
	for (unsigned k = 0; k < 3; k++) {
		r->i_mean[k] = m->i_mean[k] * 10;
		r->u_mean[k] = history_min_u(m, k);
	}
	return true;
}

static bool load_quarter(const struct history *h, uint32_t n, struct history_rec *r)
{
	const struct history_block *b = &h->quarter_blocks[block_slot(HISTORY_STEP_QUARTER, n)];
	const struct history_qtr *q = &h->quarters[n % HISTORY_QUARTERS];

	if (b->index != n / HISTORY_QUARTER_BLOCK + 1 || !(q->meta & QTR_USED))
		return false;
	*r = (struct history_rec){
		.start_min = n * 15,
		.samples = q->meta >> 4,
		.valid = q->meta & QTR_FIELDS,
		.e_import = ((int64_t) b->e_import + history_qtr_energy(q, 0)) * 1000,
		.e_export = ((int64_t) b->e_export + history_qtr_energy(q, 1)) * 1000,
		.p_mean = history_power_decode(q->p_mean),
		.p_max = history_power_decode(q->p_max),
	};
	return true;
}

bool history_slot_get(const struct history *h, enum history_step s, uint32_t slot, struct history_rec *ret)
{
	const struct history_block *b;
	uint32_t n;

	if (s >= _HISTORY_STEP_MAX || slot >= ring_size[s])
		return false;
	b = s == HISTORY_STEP_MINUTE ? &h->minute_blocks[slot / HISTORY_MINUTE_BLOCK]
				     : &h->quarter_blocks[slot / HISTORY_QUARTER_BLOCK];
	if (b->index == 0)
		return false;
	/* The period of this slot in the block's hour or half day. */
	n = (b->index - 1) * block_size[s] + slot % block_size[s];
	return s == HISTORY_STEP_MINUTE ? load_minute(h, n, ret) : load_quarter(h, n, ret);
}

static void acc_close(struct history *h, enum history_step s)
{
	struct history_acc *a = &h->acc[s];
	struct history_rec r;

	if (a->start_min == 0)
		return;
	if (a->samples > 0) {
		acc_to_rec(a, &r);
		if (s == HISTORY_STEP_MINUTE)
			store_minute(h, &r);
		else
			store_quarter(h, &r);
	}
	*a = (struct history_acc){ 0 };
}

static void acc_add_p(struct history_acc *a, int64_t micro)
{
	int32_t w = clamp32(div_round(micro, 1000000));

	if (a->n_p == 0 || w < a->p_min)
		a->p_min = w;
	if (a->n_p == 0 || w > a->p_max)
		a->p_max = w;
	a->p_sum += w;
	a->n_p++;
	a->valid |= HISTORY_HAS_P;
}

static void acc_add(struct history_acc *a, const struct reading *v)
{
	a->samples++;
	if (reading_has(v, READING_P))
		acc_add_p(a, v->field[READING_P]);
	/* The register at the end of the period: the last telegram's value. */
	if (reading_has(v, READING_E_IMPORT)) {
		a->e_import = v->field[READING_E_IMPORT];
		a->valid |= HISTORY_HAS_E_IMPORT;
	}
	if (reading_has(v, READING_E_EXPORT)) {
		a->e_export = v->field[READING_E_EXPORT];
		a->valid |= HISTORY_HAS_E_EXPORT;
	}
	for (unsigned k = 0; k < 3; k++) {
		if (reading_has(v, READING_I1 + k)) {
			a->i_sum[k] += div_round(v->field[READING_I1 + k], 1000);
			a->n_i[k]++;
			a->valid |= HISTORY_HAS_I1 << k;
		}
		if (reading_has(v, READING_U1 + k)) {
			a->u_sum[k] += div_round(v->field[READING_U1 + k], 100000);
			a->n_u[k]++;
			a->valid |= HISTORY_HAS_U1 << k;
		}
	}
}

void history_add(struct history *h, const struct reading *v, int64_t now_sec)
{
	/* Minute 0 marks an empty slot; the first minute of 1970 is no loss. */
	if (now_sec < 60 || now_sec / 60 > UINT32_MAX)
		return;
	for (enum history_step s = 0; s < _HISTORY_STEP_MAX; s++) {
		uint32_t start = (uint32_t) (now_sec / step_seconds[s] * (step_seconds[s] / 60));
		struct history_acc *a = &h->acc[s];

		if (a->start_min != start) {
			acc_close(h, s);
			a->start_min = start;
		}
		acc_add(a, v);
	}
}

void history_flush(struct history *h)
{
	for (enum history_step s = 0; s < _HISTORY_STEP_MAX; s++)
		acc_close(h, s);
}

/* The period being built as the ring will keep it, so that a partial record
 * and a closed one say the same. */
static void quantize(struct history_rec *r, enum history_step s)
{
	r->e_import = div_round(r->e_import, 1000) * 1000;
	r->e_export = div_round(r->e_export, 1000) * 1000;
	r->p_mean = history_power_decode(history_power_encode(r->p_mean));
	r->p_min = history_power_decode(history_power_encode(r->p_min));
	r->p_max = history_power_decode(history_power_encode(r->p_max));
	for (unsigned k = 0; k < 3; k++) {
		r->i_mean[k] = clamp16s(div_round(r->i_mean[k], 10)) * 10;
		r->u_mean[k] = (uint16_t) MIN(r->u_mean[k], HISTORY_MIN_U_MAX);
	}
	r->samples = (uint16_t) MIN((uint32_t) r->samples, HISTORY_MIN_SAMPLES_MAX);
	if (s == HISTORY_STEP_QUARTER) {
		*r = (struct history_rec){ .start_min = r->start_min,
					   .samples = (uint16_t) MIN((uint32_t) r->samples, QTR_SAMPLES_MAX),
					   .valid = r->valid & QTR_FIELDS,
					   .e_import = r->e_import,
					   .e_export = r->e_export,
					   .p_mean = r->p_mean,
					   .p_max = r->p_max };
	}
}

int history_get(const struct history *h, enum history_step s, int64_t start_sec, struct history_rec *ret,
		bool *ret_partial)
{
	uint32_t start;

	*ret_partial = false;
	if (s >= _HISTORY_STEP_MAX || start_sec < 60 || start_sec % step_seconds[s] != 0 ||
	    start_sec / 60 > UINT32_MAX)
		return 0;
	start = (uint32_t) (start_sec / 60);
	if (h->acc[s].start_min == start && h->acc[s].samples > 0) {
		acc_to_rec(&h->acc[s], ret);
		quantize(ret, s);
		*ret_partial = true;
		return 1;
	}
	if (s == HISTORY_STEP_MINUTE)
		return load_minute(h, start, ret);
	return load_quarter(h, start / 15, ret);
}

bool history_rec_ok(const struct history_rec *r, enum history_step s)
{
	if (s >= _HISTORY_STEP_MAX || r->start_min == 0 || r->start_min % (step_seconds[s] / 60) != 0)
		return false;
	if (r->samples == 0 || (r->valid & ~HISTORY_HAS_MASK) || r->reserved != 0)
		return false;
	if ((r->valid & HISTORY_HAS_P) && r->p_mean > r->p_max)
		return false;
	if ((r->valid & HISTORY_HAS_P_MIN) && (!(r->valid & HISTORY_HAS_P) || r->p_min > r->p_mean))
		return false;
	return true;
}

static bool minute_ok(const struct history *h, uint32_t slot, const struct history_block *b)
{
	static const struct history_min empty;
	const struct history_min *m = &h->minutes[slot];
	struct history_rec r;

	if (m->meta == 0)
		return memcmp(m, &empty, sizeof(empty)) == 0;
	if (history_min_samples(m) == 0 ||
	    (history_min_valid(m) & (HISTORY_HAS_E_IMPORT | HISTORY_HAS_E_EXPORT) & ~b->base))
		return false;
	return history_slot_get(h, HISTORY_STEP_MINUTE, slot, &r) && history_rec_ok(&r, HISTORY_STEP_MINUTE);
}

static bool quarter_ok(const struct history *h, uint32_t slot, const struct history_block *b)
{
	static const struct history_qtr empty;
	const struct history_qtr *q = &h->quarters[slot];
	struct history_rec r;

	if (q->meta == 0)
		return memcmp(q, &empty, sizeof(empty)) == 0;
	if (!(q->meta & QTR_USED) || (q->meta & (HISTORY_HAS_E_IMPORT | HISTORY_HAS_E_EXPORT) & ~b->base))
		return false;
	return history_slot_get(h, HISTORY_STEP_QUARTER, slot, &r) &&
	       history_rec_ok(&r, HISTORY_STEP_QUARTER);
}

bool history_block_ok(const struct history *h, enum history_step s, uint32_t block)
{
	const struct history_block *b;

	if (s >= _HISTORY_STEP_MAX || block >= ring_size[s] / block_size[s])
		return false;
	b = s == HISTORY_STEP_MINUTE ? &h->minute_blocks[block] : &h->quarter_blocks[block];
	if (b->index == 0 || (b->index - 1) % (ring_size[s] / block_size[s]) != block ||
	    (b->base & ~(uint32_t) (HISTORY_HAS_E_IMPORT | HISTORY_HAS_E_EXPORT)))
		return false;
	for (uint32_t i = block * block_size[s]; i < (block + 1) * block_size[s]; i++)
		if (!(s == HISTORY_STEP_MINUTE ? minute_ok(h, i, b) : quarter_ok(h, i, b)))
			return false;
	return true;
}
