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

static struct history_rec *ring(struct history *h, enum history_step s)
{
	return s == HISTORY_STEP_MINUTE ? h->minutes : h->quarters;
}

static const struct history_rec *ring_const(const struct history *h, enum history_step s)
{
	return s == HISTORY_STEP_MINUTE ? h->minutes : h->quarters;
}

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
	}
	for (unsigned k = 0; k < 3; k++) {
		if (a->n_i[k] > 0)
			r->i_mean[k] = clamp32(div_round(a->i_sum[k], a->n_i[k]));
		if (a->n_u[k] > 0)
			r->u_mean[k] = clamp16(div_round(a->u_sum[k], a->n_u[k]));
	}
}

static void acc_close(struct history *h, enum history_step s)
{
	struct history_acc *a = &h->acc[s];

	if (a->start_min == 0)
		return;
	if (a->samples > 0)
		acc_to_rec(a, &ring(h, s)[(a->start_min / (step_seconds[s] / 60)) % ring_size[s]]);
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

int history_get(const struct history *h, enum history_step s, int64_t start_sec, struct history_rec *ret,
		bool *ret_partial)
{
	const struct history_rec *r;
	uint32_t start;

	*ret_partial = false;
	if (s >= _HISTORY_STEP_MAX || start_sec < 60 || start_sec % step_seconds[s] != 0 ||
	    start_sec / 60 > UINT32_MAX)
		return 0;
	start = (uint32_t) (start_sec / 60);
	if (h->acc[s].start_min == start && h->acc[s].samples > 0) {
		acc_to_rec(&h->acc[s], ret);
		*ret_partial = true;
		return 1;
	}
	r = &ring_const(h, s)[(start / (step_seconds[s] / 60)) % ring_size[s]];
	if (r->start_min != start)
		return 0;
	*ret = *r;
	return 1;
}

bool history_rec_ok(const struct history_rec *r, enum history_step s)
{
	if (s >= _HISTORY_STEP_MAX || r->start_min == 0 || r->start_min % (step_seconds[s] / 60) != 0)
		return false;
	if (r->samples == 0 || (r->valid & ~HISTORY_HAS_MASK) || r->reserved != 0)
		return false;
	if ((r->valid & HISTORY_HAS_P) && (r->p_min > r->p_mean || r->p_mean > r->p_max))
		return false;
	return true;
}
