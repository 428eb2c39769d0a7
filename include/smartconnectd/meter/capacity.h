/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff (Belgium): the quarter-hour average demand of import
 * power and the month's highest quarter, in meter time as the bill.
 *
 * Measured: when the meter sends them, 1-0:1.4.0 (the running quarter's
 * demand so far) and 1-0:1.6.0 (this month's peak and its time; 0 kW at the
 * "no valid time" stamp 632525252525W is no peak yet).
 * Computed, always, from the import register: a quarter's demand is the
 * energy imported from its start to its end, in kWh, times 4 (kW). The
 * register at a boundary is the one of the first telegram at or after it,
 * when that telegram comes within CAPACITY_EDGE_SEC of the boundary; a
 * quarter whose start or end was not seen so (start-up, a gap) is
 * incomplete: its demand is unknown and it never becomes the month's peak. The running quarter's
 * demand so far counts the energy from its start to now the same way, so it
 * rises through the quarter and ends at the quarter's demand (what e-MUCS
 * meters send as 1.4.0). The peak's time is the end of its quarter, as the
 * meter's capture time. Months are local months: meter time is UTC plus
 * the zone's standard offset, plus one hour under EU summer time.
 *
 * Past months: the meter's 13-month history 0-0:98.1.0 as sent (Belgian
 * telegrams, with 0-0:96.1.4, only: other meters use the code otherwise),
 * else the computed peaks of the months that closed (kept across restarts by
 * capacity-file.h): at most the 13 months before the running one.
 *
 * Restored state (capacity-file.h) holds the running month's key and peak
 * and the closed months, nothing of the running quarter: the first telegram
 * after a start never sees its quarter's start, so that quarter stays
 * incomplete (no straight line across the downtime). That first telegram
 * also tells the meter's month: a restored month before it closes into the
 * past months, one after it is dropped (the saved clock was ahead), past
 * months older than the 13 before it are dropped; until that telegram the
 * restored peak is not shown.
 *
 * The projection: at the present import power, the quarter ends at
 * demand so far + P * (seconds left) / 900.
 *
 * Pure. No I/O. Never logs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "smartconnectd/meter/reading.h"

#define CAPACITY_EDGE_SEC 30
#define CAPACITY_MONTHS 13

/* A closed month's peak. */
struct capacity_month {
	int64_t month; /* local year * 12 + month - 1 */
	int64_t peak_w;
	int64_t peak_time; /* UTC; 0 when the meter gives no time */
};

struct capacity_figures {
	bool has_demand, has_peak;
	int64_t demand_w;  /* running quarter's demand so far */
	int64_t peak_w;    /* this month's highest quarter */
	int64_t peak_time; /* UTC end of that quarter; 0 when the meter gives no time */
};

struct capacity {
	int std_offset_min;

	/* computed */
	int64_t q_start;   /* UTC start of the running quarter; 0 before any telegram */
	bool q_whole;      /* its start energy is known */
	int64_t q_start_e; /* import register at its start, mWh */
	int64_t last_ts;   /* last telegram's meter time */
	bool has_month;    /* month and computed.has_peak/peak_* are known (seen or restored) */
	int64_t month;     /* local year * 12 + month of the running quarter */
	struct capacity_figures computed;
	struct capacity_month months[CAPACITY_MONTHS]; /* closed months seen, oldest first */
	unsigned n_months;

	/* from the last telegram */
	bool measured; /* it carried 1-0:1.4.0 or 1-0:1.6.0 */
	struct capacity_figures meter;
	bool has_power;
	int64_t power_w;       /* present import power (P, 0 when exporting) */
	bool has_meter_months; /* it carried 0-0:98.1.0 (Belgian telegrams only) */
	struct capacity_month meter_months[CAPACITY_MONTHS];
	unsigned n_meter_months;
};

/* What the outputs show. */
struct capacity_view {
	bool measured;               /* figures from the meter's own objects */
	struct capacity_figures now; /* measured when the meter sends them, else computed */
	struct capacity_figures computed;
	int64_t quarter_start, quarter_end; /* UTC; 0 before any telegram */
	bool has_projection;
	int64_t projection_w; /* the quarter's end at the present rate */
	bool has_over_peak;
	int64_t over_peak_w; /* projection - month's peak; > 0: a new peak */
	/* Past months: the meter's 0-0:98.1.0 when it sends it (measured), else
	 * the computed peaks of the closed months (kept across restarts). */
	struct capacity_month months[CAPACITY_MONTHS];
	unsigned n_months;
};

void capacity_init(struct capacity *c, int std_offset_min);

/* One accepted telegram. Telegrams without a meter clock (the host's receive
 * time) count the same way; one older than the last is ignored. */
void capacity_add(struct capacity *c, const struct reading *v);

void capacity_view(const struct capacity *c, struct capacity_view *ret);

/* Local year * 12 + (month - 1) of a UTC instant in meter time. */
int64_t capacity_month(int64_t utc, int std_offset_min) __attribute__((const));
