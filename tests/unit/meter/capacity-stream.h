/* SPDX-License-Identifier: MIT */
/*
 * For the capacity tests: synthetic e-MUCS telegrams in Belgian legal time
 * (the telegram's local time with its S/W letter), decoded by the DSMR
 * driver into one reading, and a constant-power stream of them.
 */
#pragma once

#include <stdio.h>
#include <time.h>

#include "smartconnectd/meter/capacity.h"
#include "smartconnectd/meter/meter-time.h"
#include "decode-frame.h"
#include "tap.h"

#define Q 900
#define W0 1706745600LL /* 2024-02-01 00:00 UTC, winter */

static struct reading v;

/* "YYMMDDhhmmssX" of a UTC instant in Belgian legal time. */
__attribute__((unused)) static void local_tst(int64_t utc, char *buf, size_t size)
{
	bool summer = meter_time_eu_summer(utc);
	time_t local = (time_t) (utc + 3600 + (summer ? 3600 : 0));
	struct tm tm;

	gmtime_r(&local, &tm);
	snprintf(buf, size, "%02d%02d%02d%02d%02d%02d%c", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, summer ? 'S' : 'W');
}

/* An e-MUCS telegram at utc: import e_wh (tariff 1 and 2 split), power p W;
 * extra: more object lines (1.4.0, 1.6.0) or "". */
__attribute__((unused)) static void telegram(int64_t utc, int64_t e_wh, int64_t p, const char *extra)
{
	char frame[1024], tst[64];

	local_tst(utc, tst, sizeof(tst));
	snprintf(frame, sizeof(frame),
		 "/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:1.0.0(%s)\r\n"
		 "1-0:1.8.1(%06lld.%03lld*kWh)\r\n1-0:1.8.2(000100.000*kWh)\r\n"
		 "1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n%s"
		 "1-0:1.7.0(%02lld.%03lld*kW)\r\n1-0:2.7.0(00.000*kW)\r\n!",
		 tst, (long long) (e_wh / 1000), (long long) (e_wh % 1000), extra, (long long) (p / 1000),
		 (long long) (p % 1000));
	reading_reset(&v);
	if (decode_frame(&v, frame, utc) != 0)
		tap_ok(false, "telegram at %s decodes", tst);
}

/* Feed telegrams every `every` s over [from, to) at constant power p W,
 * the register rising with it (whole Wh as a meter shows it; *e_ws keeps
 * the exact energy in W s). */
__attribute__((unused)) static void run(struct capacity *c, int64_t from, int64_t to, int every, int64_t p,
					int64_t *e_ws)
{
	for (int64_t t = from; t < to; t += every) {
		telegram(t, 100000 + *e_ws / 3600, p, "");
		capacity_add(c, &v);
		*e_ws += p * every;
	}
}
