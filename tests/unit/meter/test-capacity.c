/* SPDX-License-Identifier: MIT */
/*
 * Tests of the capacity tariff's figures over synthetic e-MUCS telegram
 * streams (decoded by the DSMR driver, so meter time is the telegram's
 * local time with its S/W letter): quarter-hour boundaries, the running
 * demand and the projection, the month's peak and its time, local month
 * changes in winter and summer, both DST change nights, gaps, a start in
 * the middle of a quarter, and the meter's own 1.4.0 / 1.6.0 objects.
 */
#include <string.h>

#include "capacity-stream.h"

static void test_quarters(void)
{
	struct capacity c;
	struct capacity_view cv;
	int64_t e = 0, q1 = W0 + 10 * Q;

	capacity_init(&c, 60);
	/* Start 100 s before a boundary: that quarter is incomplete. */
	run(&c, q1 - 100, q1, 1, 3600, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.measured, 0, "no meter objects: computed");
	TAP_EQ_INT(cv.now.has_demand, 0, "a quarter seen from its middle has no demand");
	TAP_EQ_INT(cv.quarter_start, q1 - Q, "running quarter");

	/* 3600 W for 450 s: 450 Wh so far, demand so far 1800 W. */
	run(&c, q1, q1 + 451, 1, 3600, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.has_demand, 1, "a whole quarter has its demand");
	TAP_EQ_INT(cv.now.demand_w, 1800, "energy so far * 4 (Wh to W over 15 min)");
	TAP_EQ_INT(cv.has_projection, 1, "projection");
	TAP_EQ_INT(cv.projection_w, 1800 + 3600 * 450 / 900, "so far + P * seconds left / 900");
	TAP_EQ_INT(cv.now.has_peak, 0, "no closed quarter yet: no peak");
	TAP_EQ_INT(cv.has_over_peak, 0, "no peak to exceed");

	run(&c, q1 + 451, q1 + Q + 1, 1, 3600, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.has_peak, 1, "the quarter closed: a peak");
	TAP_EQ_INT(cv.now.peak_w, 3600, "3600 W for a whole quarter");
	TAP_EQ_INT(cv.now.peak_time, q1 + Q, "peak time: the quarter's end");

	/* A lower quarter does not replace it, a higher one does. */
	run(&c, q1 + Q + 1, q1 + 2 * Q, 1, 2000, &e);
	run(&c, q1 + 2 * Q, q1 + 3 * Q, 1, 5000, &e);
	run(&c, q1 + 3 * Q, q1 + 3 * Q + 301, 1, 3600, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 5000, "higher quarter is the peak");
	TAP_EQ_INT(cv.now.peak_time, q1 + 3 * Q, "at its end");
	TAP_EQ_INT(cv.now.demand_w, 1200, "the new quarter's demand so far (300 s at 3.6 kW)");
	TAP_EQ_INT(cv.over_peak_w, cv.projection_w - 5000, "projection against the peak");
	tap_ok(cv.over_peak_w < 0, "below the peak");
}

static void test_gap(void)
{
	struct capacity c;
	struct capacity_view cv;
	int64_t e = 0, q1 = W0 + 20 * Q;

	capacity_init(&c, 60);
	run(&c, q1, q1 + 600, 10, 8000, &e);
	/* Silent from 600 s to 2 minutes past the next boundary. */
	e += 8000 * 420;
	run(&c, q1 + Q + 120, q1 + 2 * Q + 60, 10, 1000, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.computed.has_peak, 0, "quarters around a gap never become the peak");
	TAP_EQ_INT(cv.now.has_demand, 1, "the next whole quarter has a demand again");

	/* A late first telegram (40 s after the boundary) leaves its quarter incomplete. */
	run(&c, q1 + 3 * Q + 40, q1 + 3 * Q + 100, 10, 1000, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.has_demand, 0, "start not seen within 30 s: no demand");
	TAP_EQ_INT(cv.has_projection, 0, "and no projection");
}

static void test_months(void)
{
	struct capacity c;
	struct capacity_view cv;
	int64_t e = 0;
	int64_t jan_end = 1706742000LL; /* 2024-01-31 23:00 UTC = 2024-02-01 00:00 CET */
	int64_t may_end = 1717192800LL; /* 2024-05-31 22:00 UTC = 2024-06-01 00:00 CEST */

	TAP_EQ_INT(capacity_month(jan_end - 1, 60), 2024 * 12 + 0, "23:59:59 CET is January");
	TAP_EQ_INT(capacity_month(jan_end, 60), 2024 * 12 + 1, "00:00 CET is February");
	TAP_EQ_INT(capacity_month(may_end - 1, 60), 2024 * 12 + 4, "23:59:59 CEST is May");
	TAP_EQ_INT(capacity_month(may_end, 60), 2024 * 12 + 5, "00:00 CEST is June");
	TAP_EQ_INT(capacity_month(-1, 0), 1969 * 12 + 11, "before the epoch");

	capacity_init(&c, 60);
	run(&c, jan_end - 2 * Q, jan_end, 1, 6000, &e);
	run(&c, jan_end, jan_end + 60, 1, 500, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.has_peak, 0, "a new local month starts without a peak");
	TAP_EQ_INT(cv.n_months, 1, "January closed: one past month");
	TAP_EQ_INT(cv.months[0].month, 2024 * 12 + 0, "January");
	TAP_EQ_INT(cv.months[0].peak_w, 6000, "its peak");
	TAP_EQ_INT(cv.months[0].peak_time, jan_end - Q, "the first of two equal quarters: 23:45 local");
	run(&c, jan_end + 60, jan_end + Q + 1, 1, 500, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 500, "February's first quarter is its peak");
	TAP_EQ_INT(cv.now.peak_time, jan_end + Q, "at 00:15 local");

	capacity_init(&c, 60);
	run(&c, may_end - Q, may_end + Q + 1, 1, 2000, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 2000, "summer: June's first quarter, the last of May forgotten");
	TAP_EQ_INT(cv.now.peak_time, may_end + Q, "June 1 00:15 CEST");
}

static void test_dst_nights(void)
{
	struct capacity c;
	struct capacity_view cv;
	int64_t e = 0;
	int64_t spring = 1711846800LL; /* 2024-03-31 01:00 UTC: 02:00 CET becomes 03:00 CEST */
	int64_t autumn = 1729990800LL; /* 2024-10-27 01:00 UTC: 03:00 CEST becomes 02:00 CET */

	capacity_init(&c, 60);
	/* 01:45:00W .. 01:59:59W, then 03:00:00S .. 03:15:00S: one quarter after another. */
	run(&c, spring - Q, spring, 1, 1200, &e);
	run(&c, spring, spring + Q + 1, 1, 2400, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 2400, "the quarter after the jump is whole");
	TAP_EQ_INT(cv.now.peak_time, spring + Q, "03:15 CEST");

	capacity_init(&c, 60);
	/* 02:45:00S .. 02:59:59S, then 02:00:00W again: the repeated hour. */
	run(&c, autumn - Q, autumn + 1, 1, 3000, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 3000, "the last summer quarter");
	TAP_EQ_INT(cv.now.peak_time, autumn, "ends at 03:00 S = 02:00 W");
	run(&c, autumn + 1, autumn + 4 * Q + 1, 1, 4000, &e);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 4000, "the repeated hour's quarters are whole quarters");
	TAP_EQ_INT(cv.now.peak_time, autumn + Q, "the first of them ends at 02:15 W");
	TAP_EQ_INT(cv.now.demand_w, 0, "at the boundary: nothing yet");
}

static void test_measured(void)
{
	struct capacity c;
	struct capacity_view cv;
	int64_t t = W0 + 5 * Q + 300;

	capacity_init(&c, 60);
	telegram(t, 300000, 2000, "1-0:1.4.0(01.234*kW)\r\n1-0:1.6.0(240201011500W)(03.064*kW)\r\n");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.measured, 1, "the meter's objects: measured");
	TAP_EQ_INT(cv.now.demand_w, 1234, "1.4.0");
	TAP_EQ_INT(cv.now.peak_w, 3064, "1.6.0 value");
	TAP_EQ_INT(cv.now.peak_time, W0 + Q, "1.6.0 time (01:15 W local = 00:15 UTC)");
	TAP_EQ_INT(cv.projection_w, 1234 + 2000 * 600 / 900, "projection from the meter's demand");
	TAP_EQ_INT(cv.over_peak_w, cv.projection_w - 3064, "against the meter's peak");
	TAP_EQ_INT(cv.computed.has_demand, 0, "computed side: quarter seen from its middle");

	telegram(t + 1, 300000, 2000, "1-0:1.4.0(00.000*kW)\r\n1-0:1.6.0(632525252525W)(00.000*kW)\r\n");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.has_peak, 0, "no valid time and 0 kW: no peak yet this month");
	TAP_EQ_INT(cv.now.has_demand, 1, "the demand still measured");
	telegram(t + 1, 300000, 2000, "1-0:1.6.0(632525252525W)(01.500*kW)\r\n");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.now.peak_w, 1500, "a peak without a valid time");
	TAP_EQ_INT(cv.now.peak_time, 0, "has no time");
	telegram(t, 300000, 2000, "");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.measured, 1, "an older telegram is ignored");
	telegram(t + 2, 300000, 2000,
		 "0-0:98.1.0(4)(1-0:1.6.0)(1-0:1.6.0)(230801000000S)(632525252525W)(00.000*kW)(230901000000S)"
		 "(230831181500S)(01.862*kW)(231001000000S)(230910183000S)(04.229*kW)(231101000000W)"
		 "(231016130000S)(04.927*kW)\r\n");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.n_months, 4, "the meter's 13-month history: 4 months");
	TAP_EQ_INT(cv.months[0].month, 2023 * 12 + 6, "closed on 1 August: July");
	TAP_EQ_INT(cv.months[0].peak_time, 0, "July without a peak time");
	TAP_EQ_INT(cv.months[3].month, 2023 * 12 + 9, "October");
	TAP_EQ_INT(cv.months[3].peak_w, 4927, "October's peak");
	TAP_EQ_INT(cv.months[3].peak_time, 1697454000, "2023-10-16 13:00 CEST");
	telegram(t + 2, 300000, 2000, "1-0:1.4.0(garbage)\r\n");
	capacity_add(&c, &v);
	capacity_view(&c, &cv);
	TAP_EQ_INT(cv.measured, 0, "a value that is no number is not a measurement");
}

int main(void)
{
	test_quarters();
	test_gap();
	test_months();
	test_dst_nights();
	test_measured();
	return tap_done();
}
