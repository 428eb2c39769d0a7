/* SPDX-License-Identifier: MIT */
/*
 * The capacity tariff's state across a restart: its save file (round trip,
 * the exact bytes again; torn, truncated, zero-length, oversized, garbage,
 * wrong checksum, another version, values out of range: refused, the state
 * left as new) and what a restored state does at the first telegram: the
 * same month keeps its peak and time; a later month closes the restored one
 * into the past months; past months older than 13 months are dropped; a
 * meter clock behind the saved month drops it; the quarter in progress at
 * the stop stays incomplete whatever the register did meanwhile; restarts
 * across both DST change nights and a summer month end in meter time; the
 * meter's own objects still win over a restored state.
 */
#include <errno.h>
#include <string.h>

#include "smartconnectd/meter/capacity-file.h"
#include "smartconnectd/meter/history-file.h"
#include "capacity-stream.h"

#define MONTH(y, m) ((int64_t) (y) *12 + (m) -1)
#define JAN_END 1706742000LL /* 2024-02-01 00:00 CET */
#define FEB_END 1709247600LL /* 2024-03-01 00:00 CET */

static uint8_t file[CAPACITY_FILE_MAX + 64];

/* Save `from` and restore into `to` (fresh); the file's length. */
static int64_t restart(const struct capacity *from, struct capacity *to)
{
	int64_t n = capacity_file_encode(from, file, sizeof(file));

	capacity_init(to, 60);
	if (n < 0 || capacity_file_decode(to, file, (size_t) n) != 0)
		tap_ok(false, "saved state restores");
	return n;
}

/* A February with a peak of 5000 W ending at W0 + 3 * Q, January closed before it. */
static void february(struct capacity *c, int64_t *e)
{
	capacity_init(c, 60);
	run(c, JAN_END - 2 * Q, JAN_END, 10, 4000, e);
	run(c, JAN_END, W0 + 2 * Q, 10, 2000, e);
	run(c, W0 + 2 * Q, W0 + 3 * Q, 10, 5000, e);
	run(c, W0 + 3 * Q, W0 + 3 * Q + 400, 10, 1000, e);
}

static void test_round_trip(void)
{
	struct capacity a, b;
	struct capacity_view cv;
	uint8_t again[CAPACITY_FILE_MAX];
	int64_t e = 0, n;

	capacity_init(&a, 60);
	TAP_EQ_INT(capacity_file_size(&a), 72, "no telegram yet: 72 bytes");
	n = restart(&a, &b);
	TAP_EQ_INT(n, 72, "written as sized");
	TAP_EQ_INT(b.has_month, 0, "an empty state restores empty");

	february(&a, &e);
	n = restart(&a, &b);
	TAP_EQ_INT(n, 72 + 24, "a past month: 96 bytes");
	TAP_EQ_INT(b.has_month && b.month == MONTH(2024, 2), 1, "the running month");
	TAP_EQ_INT(b.computed.has_peak && b.computed.peak_w == 5000, 1, "its peak");
	TAP_EQ_INT(b.computed.peak_time, W0 + 3 * Q, "its time");
	TAP_EQ_INT(b.n_months, 1, "one past month");
	TAP_EQ_INT(memcmp(b.months, a.months, sizeof(a.months)), 0, "January as it was");
	TAP_EQ_INT(b.months[0].peak_w, 4000, "January's peak");
	TAP_EQ_INT(capacity_file_encode(&b, again, sizeof(again)), n, "saved again");
	TAP_EQ_INT(memcmp(again, file, (size_t) n), 0, "the same bytes");
	TAP_EQ_INT(capacity_file_encode(&b, again, (size_t) n - 1), -ENOBUFS, "a short buffer is refused");

	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.now.has_peak, 0, "before the first telegram the restored peak is not shown");
	TAP_EQ_INT(cv.has_projection || cv.quarter_start != 0, 0, "nor a quarter");
	TAP_EQ_INT(cv.n_months, 1, "the past months are");

	/* Thirteen past months: the largest file. */
	for (unsigned i = 0; i < CAPACITY_MONTHS; i++)
		a.months[i] = (struct capacity_month){ MONTH(2023, 1) + i, 1000 + i, W0 - Q * (100 - i) };
	a.n_months = CAPACITY_MONTHS;
	n = restart(&a, &b);
	TAP_EQ_INT(n, CAPACITY_FILE_MAX, "13 past months: 384 bytes, the largest");
	TAP_EQ_INT(b.n_months == 13 && b.months[12].peak_w == 1012, 1, "all 13 back");
}

static void test_same_month(void)
{
	struct capacity a, b;
	struct capacity_view cv;
	int64_t e = 0, q = W0 + 3 * Q;

	february(&a, &e);
	restart(&a, &b);
	/* Stopped at q + 400; back at q + 700 in the same quarter after 30 kWh
	 * went through the register: that quarter is no 120 kW peak. */
	e += 30000LL * 3600;
	run(&b, q + 700, q + Q + 200, 10, 1000, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.now.has_peak, 1, "the same month keeps its peak");
	TAP_EQ_INT(cv.now.peak_w, 5000, "its value");
	TAP_EQ_INT(cv.now.peak_time, W0 + 3 * Q, "and its time");
	TAP_EQ_INT(cv.measured, 0, "computed");
	TAP_EQ_INT(cv.n_months, 1, "January still a past month");

	/* Stopped in a quarter, back in the next one: the stop's quarter is incomplete too. */
	restart(&b, &a);
	e += 30000LL * 3600;
	run(&a, q + 2 * Q + 5, q + 3 * Q, 5, 3000, &e);
	capacity_view(&a, &cv);
	TAP_EQ_INT(cv.now.peak_w, 5000, "a quarter spanning the downtime is not counted");
	TAP_EQ_INT(cv.now.has_demand, 1, "the whole quarter after it has its demand");
	run(&a, q + 3 * Q, q + 4 * Q + 10, 5, 6000, &e);
	capacity_view(&a, &cv);
	TAP_EQ_INT(cv.now.peak_w == 6000 && cv.now.peak_time == q + 4 * Q, 1,
		   "a higher whole quarter beats it");
}

static void test_month_change(void)
{
	struct capacity a, b;
	struct capacity_view cv;
	int64_t e = 0;

	february(&a, &e);
	restart(&a, &b);
	run(&b, FEB_END + 100, FEB_END + Q + 10, 10, 700, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.n_months, 2, "down over the month end: February closed into the past months");
	TAP_EQ_INT(cv.months[1].month, MONTH(2024, 2), "February");
	TAP_EQ_INT(cv.months[1].peak_w == 5000 && cv.months[1].peak_time == W0 + 3 * Q, 1,
		   "with its peak and time");
	TAP_EQ_INT(cv.months[0].month, MONTH(2024, 1), "January before it");
	TAP_EQ_INT(cv.now.has_peak, 0, "March's first quarter was not whole: no peak yet");

	/* 14 months later: the saved months all older than 13 months. */
	restart(&a, &b);
	run(&b, 1743462000LL + 100, 1743462000LL + 200, 10, 700, &e); /* 2025-04-01 01:01 CEST */
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.n_months, 0, "April 2025: February 2024 and January 2024 dropped");
	restart(&a, &b);
	run(&b, 1740783600LL + 100, 1740783600LL + 200, 10, 700, &e); /* 2025-03-01 00:01 CET */
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.n_months == 1 && cv.months[0].month == MONTH(2024, 2), 1,
		   "March 2025: February 2024 is 13 months back and kept, January dropped");

	/* The saved state ahead of the meter's clock: dropped, nothing wrong shown. */
	restart(&a, &b);
	run(&b, JAN_END - 3 * Q, JAN_END - 2 * Q, 10, 700, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.n_months == 0 && !cv.now.has_peak, 1,
		   "a meter in January: February and January dropped");
}

static void test_dst(void)
{
	struct capacity a, b;
	struct capacity_view cv;
	int64_t e = 0;
	int64_t spring = 1711846800LL;  /* 2024-03-31 01:00 UTC: 02:00 CET becomes 03:00 CEST */
	int64_t autumn = 1729990800LL;  /* 2024-10-27 01:00 UTC: 03:00 CEST becomes 02:00 CET */
	int64_t may_end = 1717192800LL; /* 2024-05-31 22:00 UTC = 2024-06-01 00:00 CEST */

	/* Stopped at 01:50 W, back at 03:05 S: an hour of wall clock, 15 minutes of meter time. */
	capacity_init(&a, 60);
	run(&a, spring - 2 * Q, spring - 300, 10, 2500, &e);
	restart(&a, &b);
	run(&b, spring + 300, spring + 2 * Q + 10, 10, 1500, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.now.peak_w == 2500 && cv.now.peak_time == spring - Q, 1,
		   "spring night: the peak of 01:45 W kept");

	/* Stopped at 02:50 S, back at 02:20 W (the repeated hour, later in UTC). */
	capacity_init(&a, 60);
	run(&a, autumn - 2 * Q, autumn - 600, 10, 3000, &e);
	restart(&a, &b);
	run(&b, autumn + 1200, autumn + 3 * Q + 10, 10, 3500, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.now.peak_w, 3500, "autumn night: the repeated hour's whole quarter counts");
	TAP_EQ_INT(cv.now.peak_time, autumn + 3 * Q, "at 02:45 W");
	TAP_EQ_INT(cv.n_months, 0, "still October: no month closed");

	/* Stopped on 31 May 23:50 CEST, back at 00:10 CEST: UTC still says May, the meter June. */
	capacity_init(&a, 60);
	run(&a, may_end - 3 * Q, may_end - 600, 10, 2200, &e);
	restart(&a, &b);
	run(&b, may_end + 600, may_end + 700, 10, 2200, &e);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.n_months == 1 && cv.months[0].month == MONTH(2024, 5), 1,
		   "June in meter time: May closed");
	TAP_EQ_INT(cv.months[0].peak_time, may_end - 2 * Q,
		   "May's peak: the first of equal quarters, 23:30 CEST");
}

static void test_measured_wins(void)
{
	struct capacity a, b;
	struct capacity_view cv;
	int64_t e = 0, t = W0 + 3 * Q + 700;

	february(&a, &e);
	restart(&a, &b);
	telegram(t, 300000, 2000,
		 "1-0:1.4.0(01.234*kW)\r\n1-0:1.6.0(240201011500W)(03.064*kW)\r\n"
		 "0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(240201000000W)(240115100000W)(04.100*kW)\r\n");
	capacity_add(&b, &v);
	capacity_view(&b, &cv);
	TAP_EQ_INT(cv.measured, 1, "after a restore the meter's own objects still win");
	TAP_EQ_INT(cv.now.peak_w, 3064, "its 1.6.0");
	TAP_EQ_INT(cv.computed.peak_w, 5000, "the restored computed peak on the computed side");
	TAP_EQ_INT(cv.n_months == 1 && cv.months[0].peak_w == 4100, 1, "its 98.1.0 over the restored months");
}

/* Refused, and the state as capacity_init() made it. */
static void refused(const uint8_t *p, size_t n, int want, const char *what)
{
	struct capacity c, fresh;

	capacity_init(&c, 60);
	capacity_init(&fresh, 60);
	int r = capacity_file_decode(&c, p, n);

	tap_ok(r == want, "%s: refused (%s), got %d", what, capacity_file_strerror(want), r);
	tap_ok(memcmp(&c, &fresh, sizeof(c)) == 0, "%s: the state left new", what);
}

/* Put an int64 at off and make the checksum right again. */
static void forge(uint8_t *p, size_t n, size_t off, int64_t x)
{
	uint64_t sum;

	memcpy(p + off, &x, sizeof(x));
	sum = history_file_checksum(p + CAPACITY_FILE_HEADER, n - CAPACITY_FILE_HEADER);
	memcpy(p + 24, &sum, sizeof(sum));
}

static void test_broken(void)
{
	struct capacity a;
	uint8_t good[CAPACITY_FILE_MAX], bad[sizeof(file)];
	int64_t e = 0;
	size_t n;
	uint32_t version = CAPACITY_FILE_VERSION + 1;

	february(&a, &e);
	n = (size_t) capacity_file_encode(&a, good, sizeof(good));
	refused(good, 0, -ENODATA, "zero-length");
	refused(good, 20, -ENODATA, "torn in the header");
	refused(good, n - 1, -EBADMSG, "torn by one byte");
	refused(good, n - 24, -EBADMSG, "torn at a month's edge");
	memset(bad, 0xa5, sizeof(bad));
	refused(bad, n, -EPROTO, "garbage");
	memcpy(bad, good, n);
	bad[n] = 0;
	refused(bad, n + 1, -EBADMSG, "one byte more");
	refused(bad, sizeof(bad), -EBADMSG, "oversized");
	bad[50] ^= 1;
	refused(bad, n, -EBADMSG, "a bit flipped: wrong checksum");
	memcpy(bad, good, n);
	memcpy(bad + 8, &version, sizeof(version));
	refused(bad, n, -EPROTONOSUPPORT, "a future version");
	memcpy(bad, good, n);
	bad[12] = 1, bad[13] = 2, bad[14] = 3, bad[15] = 4; /* the byte-order mark of the other order */
	refused(bad, n, -EPROTO, "another byte order");

	memcpy(bad, good, n);
	forge(bad, n, 32, 4);
	refused(bad, n, -EINVAL, "an unknown flag");
	memcpy(bad, good, n);
	forge(bad, n, 56, W0 + 3 * Q + 1);
	refused(bad, n, -EINVAL, "a peak time that is no quarter's end");
	memcpy(bad, good, n);
	forge(bad, n, 48, 2000000000000LL);
	refused(bad, n, -EINVAL, "a peak out of range");
	memcpy(bad, good, n);
	forge(bad, n, 72, MONTH(2024, 2));
	refused(bad, n, -EINVAL, "a past month that is the running month");
	memcpy(bad, good, n);
	forge(bad, n, 64, 1);
	refused(bad, n, -EINVAL, "the reserved field set");
	memcpy(bad, good, n);
	forge(bad, n, 32, 2);
	refused(bad, n, -EINVAL, "a peak without a month");
	TAP_EQ_INT(strcmp(capacity_file_strerror(-EIO), "unreadable"), 0, "words for any other error");
}

int main(void)
{
	test_round_trip();
	test_same_month();
	test_month_change();
	test_dst();
	test_measured_wins();
	test_broken();
	return tap_done();
}
