/* SPDX-License-Identifier: MIT */
/* Meter clock to UTC: season letters, the EU rule, placeholders, bad input. */
#include <errno.h>

#include "smartconnectd/meter/meter-time.h"
#include "tap.h"

static int64_t tst(const char *s)
{
	int64_t t = -1;
	return meter_time_parse_tst(s, strlen(s), 60, &t) < 0 ? -1 : t;
}

int main(void)
{
	int64_t t;

	TAP_EQ_INT(meter_time_days_from_civil(1970, 1, 1), 0, "epoch day");
	TAP_EQ_INT(meter_time_days_from_civil(2000, 3, 1), 11017, "2000-03-01 (leap century)");

	/* 2024-03-15 14:30:00 winter time = 13:30:00 UTC (reference §13). */
	TAP_EQ_INT(tst("240315143000W"), 1710509400, "W: UTC = local - 1 h");
	TAP_EQ_INT(tst("180417201458S"), 1523988898, "S: UTC = local - 2 h");
	TAP_EQ_INT(tst("180417201458s"), 1523988898, "lower-case season letter accepted");
	TAP_EQ_INT(tst("632525252525W"), -1, "placeholder 632525252525W is no time");
	TAP_EQ_INT(tst("000101000001W"), 946681201,
		   "the power-failure log's year-2000 filler decodes as written");
	TAP_EQ_INT(tst("230231000000W"), -1, "31 February is no date");
	TAP_EQ_INT(tst("240229120000W"), 1709204400, "29 February of a leap year");
	TAP_EQ_INT(tst("230229120000W"), -1, "29 February of another year");
	TAP_EQ_INT(tst("2403151430X"), -1, "short");
	TAP_EQ_INT(tst("240315143000X"), -1, "unknown season letter");
	TAP_EQ_INT(tst("24031514300aW"), -1, "non-digit");

	/* No letter: the EU rule. 2016-03-15 21:00 is winter, 2016-07-01 12:00 summer. */
	TAP_EQ_INT(tst("160315210000"), 1458072000, "TST12 in winter");
	TAP_EQ_INT(tst("160701120000"), 1467367200, "TST12 in summer");
	/* 2023-10-29 02:30 local happens twice; winter time is assumed. */
	TAP_EQ_INT(tst("231029023000"), 1698543000, "repeated October hour taken as winter time");

	tap_ok(meter_time_eu_summer(1698539000 - 3600), "summer until the last Sunday of October 01:00 UTC");
	tap_ok(!meter_time_eu_summer(1698541200), "winter after it");
	tap_ok(!meter_time_eu_summer(1711846799), "winter before the last Sunday of March 01:00 UTC");
	tap_ok(meter_time_eu_summer(1711846800), "summer from it");

	TAP_EQ_INT(meter_time_parse_horodate("H081225223518", 13, 60, &t), 0, "horodate H");
	TAP_EQ_INT(t, 1230240918, "H081225223518 = 2008-12-25 21:35:18 UTC");
	TAP_EQ_INT(meter_time_parse_horodate("E240924225642", 13, 60, &t), 0, "horodate E");
	TAP_EQ_INT(t, 1727211402, "E: UTC = local - 2 h");
	TAP_EQ_INT(meter_time_parse_horodate("e240924225642", 13, 60, &t), 1, "lower case: degraded clock");
	TAP_EQ_INT(meter_time_parse_horodate(" 200214060000", 13, 60, &t), 0, "space: EU rule");
	TAP_EQ_INT(t, 1581656400, "2020-02-14 06:00 winter");
	TAP_EQ_INT(meter_time_parse_horodate("X200214060000", 13, 60, &t), -EINVAL, "unknown season");
	TAP_EQ_INT(meter_time_parse_horodate("H2002140600", 11, 60, &t), -EINVAL, "short horodate");
	TAP_EQ_INT(meter_time_parse_tst("240315143000W", 13, 0, &t), 0, "another zone offset");
	TAP_EQ_INT(t, 1710513000, "offset 0: UTC = local");
	return tap_done();
}
