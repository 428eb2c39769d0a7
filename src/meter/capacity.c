/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff's figures (see capacity.h): the meter's demand objects
 * as sent, and the same figures computed from the import register.
 */
#include <string.h>

#include "smartconnectd/base/macro.h"
#include "smartconnectd/meter/capacity.h"
#include "smartconnectd/meter/meter-time.h"

#define QUARTER 900

void capacity_init(struct capacity *c, int std_offset_min)
{
	*c = (struct capacity){ .std_offset_min = std_offset_min };
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t capacity_month(int64_t utc, int std_offset_min)
{
	int64_t local = utc + (int64_t) std_offset_min * 60 + (meter_time_eu_summer(utc) ? 3600 : 0);
	/* civil_from_days (H. Hinnant): the year and month of a day count. */
	int64_t z = floor_div(local, 86400) + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);

	return year * 12 + month - 1;
}

/* A value of an object as W (the objects are in kW); false when absent or not a number. */
static bool object_watts(const struct reading *v, const struct reading_object *o, unsigned i, int64_t *ret)
{
	struct reading_span s;
	int64_t micro;

	if (!o || o->count <= i)
		return false;
	s = v->values[o->first + i];
	if (reading_parse_scaled(reading_str(v, s), s.len, READING_Q_POWER, "kW", &micro) < 0)
		return false;
	*ret = micro >= 0 ? (micro + 500000) / 1000000 : -((-micro + 500000) / 1000000);
	return true;
}

/* The objects the tariff reads, found in one pass over the telegram (most
 * telegrams carry none of them); the first of each id counts. */
enum { OBJ_AVG, OBJ_MAX, OBJ_MONTHS, OBJ_BE_VERSION, _OBJ_MAX };

struct tariff_objects {
	const struct reading_object *o[_OBJ_MAX];
};

static void find_tariff_objects(const struct reading *v, struct tariff_objects *ret)
{
	static const char ids[_OBJ_MAX][11] = {
		[OBJ_AVG] = "1-0:1.4.0",
		[OBJ_MAX] = "1-0:1.6.0",
		[OBJ_MONTHS] = "0-0:98.1.0",
		[OBJ_BE_VERSION] = "0-0:96.1.4",
	};
	uint64_t head[_OBJ_MAX], w;

	/* Every id sought is 9 or 10 bytes long; their first eight bytes, one
	 * word, set them apart from the other codes of that length. */
	for (unsigned k = 0; k < _OBJ_MAX; k++)
		memcpy(&head[k], ids[k], sizeof(head[k]));
	*ret = (struct tariff_objects){ 0 };
	for (unsigned i = 0; i < v->n_objects; i++) {
		const struct reading_object *o = &v->objects[i];
		const char *t = reading_str(v, o->id);

		if (o->id.len != 9 && o->id.len != 10)
			continue;
		memcpy(&w, t, sizeof(w));
		for (unsigned k = 0; k < _OBJ_MAX; k++)
			if (w == head[k] && !ret->o[k] && o->id.len == strlen(ids[k]) &&
			    memcmp(t + sizeof(w), ids[k] + sizeof(w), o->id.len - sizeof(w)) == 0)
				ret->o[k] = o;
	}
}

static void read_measured(struct capacity *c, const struct reading *v, const struct tariff_objects *objs)
{
	const struct reading_object *avg = objs->o[OBJ_AVG], *max = objs->o[OBJ_MAX];
	struct capacity_figures *m = &c->meter;

	*m = (struct capacity_figures){ 0 };
	m->has_demand = object_watts(v, avg, 0, &m->demand_w);
	m->has_peak = object_watts(v, max, 1, &m->peak_w);
	if (m->has_peak) {
		struct reading_span t = v->values[max->first];

		/* 632525252525W: no valid time; with 0 kW, a month without a peak yet. */
		if (meter_time_parse_tst(reading_str(v, t), t.len, c->std_offset_min, &m->peak_time) < 0)
			m->peak_time = 0;
		if (m->peak_time == 0 && m->peak_w == 0)
			m->has_peak = false;
	}
	c->measured = m->has_demand || m->has_peak;
}

/* 0-0:98.1.0(z)(1-0:1.6.0)(1-0:1.6.0) then (month closed)(peak time)(kW) per month. */
static void read_months(struct capacity *c, const struct reading *v, const struct tariff_objects *objs)
{
	const struct reading_object *o = objs->o[OBJ_MONTHS];

	c->n_meter_months = 0;
	c->has_meter_months = o && objs->o[OBJ_BE_VERSION];
	for (unsigned i = 3; c->has_meter_months && i + 2 < o->count && c->n_meter_months < CAPACITY_MONTHS;
	     i += 3) {
		struct reading_span closed = v->values[o->first + i], at = v->values[o->first + i + 1];
		struct capacity_month *m = &c->meter_months[c->n_meter_months];
		int64_t t;

		if (meter_time_parse_tst(reading_str(v, closed), closed.len, c->std_offset_min, &t) < 0 ||
		    !object_watts(v, o, i + 2, &m->peak_w))
			continue;
		/* The month ends at the stamp: its last second is the month's. */
		m->month = capacity_month(t - 1, c->std_offset_min);
		if (meter_time_parse_tst(reading_str(v, at), at.len, c->std_offset_min, &m->peak_time) < 0)
			m->peak_time = 0;
		c->n_meter_months++;
	}
}

/* The running month ends, `month` begins: the running month's peak joins
 * the past months if time went forward; past months keep to the 13 before
 * `month` (a restored list can be older, or ahead of a meter clock). */
static void close_month(struct capacity *c, int64_t month)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->n_months; i++)
		if (c->months[i].month < month && c->months[i].month >= month - CAPACITY_MONTHS)
			c->months[k++] = c->months[i];
	c->n_months = k;
	if (!c->has_month || !c->computed.has_peak || c->month >= month || c->month < month - CAPACITY_MONTHS)
		return;
	if (c->n_months == CAPACITY_MONTHS)
		memmove(c->months, c->months + 1, --c->n_months * sizeof(c->months[0]));
	c->months[c->n_months++] = (struct capacity_month){
		.month = c->month,
		.peak_w = c->computed.peak_w,
		.peak_time = c->computed.peak_time,
	};
}

static int64_t demand_w(int64_t from_mwh, int64_t to_mwh)
{
	int64_t mw = (to_mwh - from_mwh) * (3600 / QUARTER);

	return mw >= 0 ? (mw + 500) / 1000 : -((-mw + 500) / 1000);
}

/* The running quarter ended at the boundary of the telegram (ts, e). */
static void close_quarter(struct capacity *c, int64_t qs, int64_t ts, bool has_e, int64_t e)
{
	struct capacity_figures *f = &c->computed;
	int64_t w;

	if (!c->q_whole || !has_e || qs != c->q_start + QUARTER || ts - qs > CAPACITY_EDGE_SEC)
		return;
	w = demand_w(c->q_start_e, e);
	if (!f->has_peak || w > f->peak_w) {
		f->has_peak = true;
		f->peak_w = w;
		f->peak_time = qs;
	}
}

static void start_quarter(struct capacity *c, int64_t qs, int64_t ts, bool has_e, int64_t e)
{
	int64_t month = capacity_month(qs, c->std_offset_min);

	if (!c->has_month || month != c->month) {
		close_month(c, month);
		c->has_month = true;
		c->month = month;
		c->computed.has_peak = false;
		c->computed.peak_w = c->computed.peak_time = 0;
	}
	c->q_start = qs;
	c->q_whole = has_e && ts - qs <= CAPACITY_EDGE_SEC;
	c->q_start_e = e;
}

void capacity_add(struct capacity *c, const struct reading *v)
{
	bool has_e = reading_has(v, READING_E_IMPORT);
	int64_t e = has_e ? v->field[READING_E_IMPORT] : 0;
	int64_t ts = v->ts, qs;
	struct tariff_objects objs;

	if (ts <= 0 || ts < c->last_ts)
		return;
	find_tariff_objects(v, &objs);
	read_measured(c, v, &objs);
	read_months(c, v, &objs);
	c->has_power = reading_has(v, READING_P);
	c->power_w = c->has_power ? MAX(v->field[READING_P], 0) / 1000000 : 0;

	qs = ts - ts % QUARTER;
	if (qs != c->q_start) {
		if (c->q_start != 0)
			close_quarter(c, qs, ts, has_e, e);
		start_quarter(c, qs, ts, has_e, e);
	}
	c->computed.has_demand = c->q_whole && has_e;
	c->computed.demand_w = c->computed.has_demand ? demand_w(c->q_start_e, e) : 0;
	c->last_ts = ts;
}

void capacity_view(const struct capacity *c, struct capacity_view *ret)
{
	struct capacity_figures computed = c->computed;

	/* A restored month is this month only once a telegram says so. */
	computed.has_peak = computed.has_peak && c->q_start != 0;
	*ret = (struct capacity_view){
		.measured = c->measured,
		.now = c->measured ? c->meter : computed,
		.computed = computed,
	};
	if (c->has_meter_months) {
		ret->n_months = c->n_meter_months;
		memcpy(ret->months, c->meter_months, sizeof(ret->months));
	} else {
		ret->n_months = c->n_months;
		memcpy(ret->months, c->months, sizeof(ret->months));
	}
	if (c->q_start == 0)
		return;
	ret->quarter_start = c->q_start;
	ret->quarter_end = c->q_start + QUARTER;
	if (!ret->now.has_demand || !c->has_power)
		return;
	ret->has_projection = true;
	ret->projection_w = ret->now.demand_w + c->power_w * (ret->quarter_end - c->last_ts) / QUARTER;
	if (ret->now.has_peak) {
		ret->has_over_peak = true;
		ret->over_peak_w = ret->projection_w - ret->now.peak_w;
	}
}
